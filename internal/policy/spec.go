package policy

import (
	"cmp"
	"slices"
	"time"
)

// Kinds of the resources a Ref names.
const (
	KindTenant     = "EntraTenant"
	KindProfile    = "PasskeyProfile"
	KindAssignment = "GroupAssignment"
)

// Ref identifies a resource.
type Ref struct {
	Kind      string
	Namespace string // "" for the cluster-scoped EntraTenant
	Name      string
}

// String is "Kind namespace/name", or "Kind name" when cluster-scoped.
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + " " + r.Name
	}
	return r.Kind + " " + r.Namespace + "/" + r.Name
}

func compareRefs(a, b Ref) int {
	return cmp.Or(
		cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace),
		cmp.Compare(a.Name, b.Name))
}

// TenantSpec is what an EntraTenant declares for the policy as a whole.
type TenantSpec struct {
	Ref Ref
	// Authoritative removes profiles and targets no resource declares
	// (management Authoritative); false is management Merge.
	Authoritative bool
	// MethodState is "enabled" or "disabled" (any case); "" means unmanaged.
	MethodState string
	// SelfServiceRegistration is unmanaged when nil.
	SelfServiceRegistration *bool
	// Enforce is the tenant's driftPolicy for the method settings:
	// true for Enforce, false for Report.
	Enforce bool
}

// ProfileSpec is what a PasskeyProfile declares. Enumerations accept
// Graph's spelling or the API's ("DeviceBound", "RegistrationOnly", "None"),
// in any case.
type ProfileSpec struct {
	Ref Ref
	// CreatedAt orders resources for conflicts: the older wins, and among
	// equal times the smaller Ref.
	CreatedAt time.Time
	// Name is the display name in Entra; "" means Ref.Name.
	Name string
	// PasskeyTypes are deviceBound and/or synced.
	PasskeyTypes []string
	// Attestation is disabled or registrationOnly; "" means disabled.
	Attestation string
	// KeyEnforcement is none, allow or block; "" means none.
	KeyEnforcement string
	// AAGUIDs are the models the key restrictions list: those the resource
	// names by AAGUID and those its authenticator names resolved to.
	AAGUIDs []string
	// AuthenticatorsProblem says why the resource's authenticator names
	// could not be resolved to AAGUIDs; the profile is then not written,
	// since a list missing those models would allow or block the wrong ones.
	AuthenticatorsProblem *Problem
	// Default marks the resource that manages the tenant's default profile.
	Default bool
	// KnownID is status.profileID from an earlier pass, "" if none.
	KnownID string
	// PendingName is status.pendingName: the name an earlier pass created
	// the profile under, when Entra's id for it was never recorded.
	PendingName string
	Lifecycle
}

// AssignmentSpec is what a GroupAssignment declares.
type AssignmentSpec struct {
	Ref Ref
	// CreatedAt orders resources for conflicts, as in ProfileSpec.
	CreatedAt time.Time
	// GroupID is the resolved target: a group object id, or AllUsers.
	// "" means the controller could not resolve it (yet).
	GroupID string
	// GroupProblem says why GroupID is "" when the lookup found no group or
	// several (GroupNotFound, GroupNameAmbiguous); nil while not looked up.
	GroupProblem *Problem
	// Profiles are names of PasskeyProfiles in Ref.Namespace.
	Profiles             []string
	RegistrationRequired bool
	// Exclude is mode Exclude: the target goes into excludeTargets.
	Exclude bool
	// Applied are the targets earlier passes wrote to Entra for this
	// resource: the one a read-back confirmed (status.appliedTarget) and
	// those written but not confirmed (status.pendingTargets). Each one that
	// differs from the target declared now is left over from a move, and
	// Merge takes it out.
	Applied []AppliedTarget
	Lifecycle
}

// AppliedTarget is where an assignment's target is, or may be, in Entra.
type AppliedTarget struct {
	GroupID string
	Exclude bool
}

// Same says whether a and b are the same target: list and group id (any
// case).
func (a AppliedTarget) Same(b AppliedTarget) bool {
	return a.Exclude == b.Exclude && sameID(a.GroupID, b.GroupID)
}

// in says whether the policy holds the target.
func (a AppliedTarget) in(p Policy) bool {
	if a.Exclude {
		return HasTarget(p.ExcludeTargets, a.GroupID)
	}
	return HasTarget(p.IncludeTargets, a.GroupID)
}

// Lifecycle says how a resource's slice of the document is treated; it is
// the same for profiles and assignments.
type Lifecycle struct {
	// Enforce is the resolved driftPolicy: true for Enforce (write the spec
	// to Entra), false for Report (only report drift).
	Enforce bool
	// Suspended resources are neither written nor diffed.
	Suspended bool
	// Deleting is set once the resource has a deletion timestamp; Orphan is
	// deletionPolicy Orphan (leave the slice in Entra).
	Deleting bool
	Orphan   bool
}

// action is what Merge does with one resource's slice.
type action int

const (
	// actionKeep leaves Entra's slice exactly as it is.
	actionKeep action = iota
	// actionWrite puts the desired slice in place.
	actionWrite
	// actionRemove takes the slice out of the document.
	actionRemove
)

// action follows Flux: a suspended resource is not written even while it
// is deleted, and a resource with a problem is never written at all. The
// deletion policy wins over the drift policy: deleting a Report resource
// with deletionPolicy Delete removes its slice.
func (l Lifecycle) action(problem *Problem) action {
	switch {
	case problem != nil, l.Suspended, l.Deleting && l.Orphan:
		return actionKeep
	case l.Deleting:
		return actionRemove
	case l.Enforce:
		return actionWrite
	default:
		return actionKeep
	}
}

// diffed says whether drift is worth reporting: not for a resource that is
// suspended, on its way out, or cannot be built.
func (l Lifecycle) diffed(problem *Problem) bool {
	return problem == nil && !l.Suspended && !l.Deleting
}

// name is the profile's display name in Entra.
func (s ProfileSpec) name() string {
	if s.Name == "" {
		return s.Ref.Name
	}
	return s.Name
}

func (s ProfileSpec) age() (time.Time, Ref)    { return s.CreatedAt, s.Ref }
func (s AssignmentSpec) age() (time.Time, Ref) { return s.CreatedAt, s.Ref }

// incumbent says whether an earlier pass already wrote the resource to
// Entra as it is declared now: it holds a profile id (its identity, whatever
// its name), or the very target it declares (one that held another target
// and was moved is a newcomer to this one).
func (s ProfileSpec) incumbent() bool { return s.KnownID != "" }
func (s AssignmentSpec) incumbent() bool {
	return slices.ContainsFunc(s.Applied, s.declared().Same)
}

// declared is the target the resource declares now.
func (s AssignmentSpec) declared() AppliedTarget {
	return AppliedTarget{GroupID: s.GroupID, Exclude: s.Exclude}
}

type aged interface {
	age() (time.Time, Ref)
	incumbent() bool
}

// compareAge orders the older first. creationTimestamp has one-second
// resolution, so among equal times the resource already in Entra goes first
// (a newcomer created in the same second must not take its place), then the
// smaller Ref, so the outcome never depends on input order.
func compareAge[T aged](a, b T) int {
	ta, ra := a.age()
	tb, rb := b.age()
	return cmp.Or(ta.Compare(tb), compareIncumbent(a.incumbent(), b.incumbent()), compareRefs(ra, rb))
}

func compareIncumbent(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	default:
		return 1
	}
}

// oldestFirst returns a sorted copy.
func oldestFirst[T aged](items []T) []T {
	out := slices.Clone(items)
	slices.SortFunc(out, compareAge)
	return out
}
