package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Desired is the policy the tenant's resources declare, resource by
// resource. Profiles and Assignments are ordered oldest first (CreatedAt,
// then Ref), the order in which conflicts are decided and new items are
// appended to Entra's lists.
type Desired struct {
	Tenant      DesiredTenant
	Profiles    []DesiredProfile
	Assignments []DesiredAssignment
}

// DesiredTenant is the tenant's method-wide settings.
type DesiredTenant struct {
	// Spec is the input with MethodState in Graph's spelling.
	Spec    TenantSpec
	Problem *Problem
}

// DesiredProfile is one PasskeyProfile's slice: its passkey profile.
type DesiredProfile struct {
	Spec ProfileSpec
	// Profile is what Entra should hold, with Profile.ID the profile's id
	// ("" when the resource has none). Zero but for the ID when Problem is
	// set or the resource is being deleted.
	Profile Profile
	// UsedBy are the GroupAssignments that name this profile, by Ref.
	UsedBy []Ref
	// Problem keeps the resource from being written (or removed).
	Problem *Problem
}

// DesiredAssignment is one GroupAssignment's slice: its include or exclude
// target.
type DesiredAssignment struct {
	Spec AssignmentSpec
	// Target is what Entra should hold, with Target.ID the group id. Only the
	// ID is set when Problem is set or the resource is being deleted.
	Target  Target
	Problem *Problem
}

func (d DesiredProfile) action() action { return d.Spec.action(d.Problem) }

// against is the profile to hold in place of got: the default profile keeps
// the name Entra gave it, since Entra does not let it be renamed (and the
// API gives it no displayName).
func (d DesiredProfile) against(got Profile) Profile {
	want := d.Profile
	if d.Spec.Default {
		want.Name = got.Name
	}
	return want
}
func (d DesiredAssignment) action() action { return d.Spec.action(d.Problem) }

// declares says whether the resource keeps its profile from being treated
// as unmanaged: every resource with an id does, but one whose profile is
// being removed.
func (d DesiredProfile) declares() bool {
	return d.Profile.ID != "" && d.action() != actionRemove
}

// Problems returns every problem Build found, by resource.
func (d Desired) Problems() map[Ref]Problem {
	out := map[Ref]Problem{}
	if d.Tenant.Problem != nil {
		out[d.Tenant.Spec.Ref] = *d.Tenant.Problem
	}
	for _, p := range d.Profiles {
		if p.Problem != nil {
			out[p.Spec.Ref] = *p.Problem
		}
	}
	for _, a := range d.Assignments {
		if a.Problem != nil {
			out[a.Spec.Ref] = *a.Problem
		}
	}
	return out
}

// Build turns the tenant's resources into the desired policy: it resolves
// assignments' profile names (in their own namespace) to ids, decides
// conflicts (the older resource wins), and checks each slice against Entra's
// rules, so one bad resource stalls alone. ids comes from AssignProfileIDs.
func Build(tenant TenantSpec, profiles []ProfileSpec, assignments []AssignmentSpec, ids map[Ref]string) Desired {
	d := Desired{
		Tenant:   buildTenant(tenant),
		Profiles: buildProfiles(profiles, ids),
	}
	d.Assignments = buildAssignments(assignments, d.Profiles)
	setUsedBy(d.Profiles, d.Assignments)
	return d
}

func buildTenant(spec TenantSpec) DesiredTenant {
	if spec.MethodState == "" {
		return DesiredTenant{Spec: spec}
	}
	state, ok := canonical(spec.MethodState, StateEnabled, StateDisabled)
	if !ok {
		p := problemf(ReasonInvalidValue, "method state %q is unknown; use Enabled or Disabled", spec.MethodState)
		return DesiredTenant{Spec: spec, Problem: &p}
	}
	spec.MethodState = state
	return DesiredTenant{Spec: spec}
}

// canonical returns the member of an enumeration that value names, in any
// case: the API spells "RegistrationOnly" where Graph spells "registrationOnly".
func canonical(value string, members ...string) (string, bool) {
	i := slices.IndexFunc(members, func(m string) bool { return strings.EqualFold(m, value) })
	if i < 0 {
		return "", false
	}
	return members[i], true
}

func buildProfiles(specs []ProfileSpec, ids map[Ref]string) []DesiredProfile {
	sorted := oldestFirst(specs)
	conflicts := profileConflicts(sorted)
	owners := map[string]Ref{} // lower-case profile id → the resource that owns it
	out := make([]DesiredProfile, 0, len(sorted))
	for _, spec := range sorted {
		d := DesiredProfile{Spec: spec, Profile: Profile{ID: ids[spec.Ref]}}
		if p, lost := conflicts[spec.Ref]; lost {
			d.Problem = &p
		} else {
			d.Problem = claimProfileID(owners, spec.Ref, d.Profile.ID)
		}
		// A resource on its way out needs only its id: its spec is never
		// written again, so an invalid one must not block the deletion.
		if d.Problem == nil && !spec.Deleting {
			d.Profile, d.Problem = desiredProfile(spec, d.Profile.ID)
		}
		out = append(out, d)
	}
	return out
}

// profileConflicts decides, oldest first, which resources lose a claim on a
// profile name (tenant-wide, any case) or on the default profile. A loser
// claims nothing, so it never blocks a younger resource.
func profileConflicts(sorted []ProfileSpec) map[Ref]Problem {
	problems := map[Ref]Problem{}
	names := map[string]Ref{}
	var defaultOwner *Ref
	for _, spec := range sorted {
		key := strings.ToLower(spec.name())
		if owner, taken := names[key]; taken {
			problems[spec.Ref] = conflict(owner, "the profile name %q", spec.name())
			continue
		}
		if spec.Default && defaultOwner != nil {
			problems[spec.Ref] = conflict(*defaultOwner, "the tenant's default passkey profile (default: true)")
			continue
		}
		names[key] = spec.Ref
		if spec.Default {
			defaultOwner = &spec.Ref
		}
	}
	return problems
}

// claimProfileID gives the id to the first (oldest) resource that has it:
// two resources writing one Entra profile would undo each other.
func claimProfileID(owners map[string]Ref, ref Ref, id string) *Problem {
	if id == "" {
		return nil
	}
	key := strings.ToLower(id)
	if owner, taken := owners[key]; taken {
		p := conflict(owner, "Entra passkey profile %s", id)
		return &p
	}
	owners[key] = ref
	return nil
}

func conflict(winner Ref, format string, args ...any) Problem {
	return problemf(ReasonConflict, "%s, which is older, already claims %s; rename or delete one of them",
		winner, fmt.Sprintf(format, args...))
}

// desiredProfile builds the profile a valid spec asks for.
func desiredProfile(spec ProfileSpec, id string) (Profile, *Problem) {
	types, p := canonicalPasskeyTypes(spec.PasskeyTypes)
	if p != nil {
		return Profile{ID: id}, p
	}
	attestation, ok := canonical(cmp.Or(spec.Attestation, AttestationDisabled), AttestationDisabled, AttestationRegistrationOnly)
	if !ok {
		return Profile{ID: id}, problemPtr(ReasonInvalidValue, "attestation %q is unknown; use Disabled or RegistrationOnly", spec.Attestation)
	}
	if spec.AuthenticatorsProblem != nil {
		return Profile{ID: id}, spec.AuthenticatorsProblem
	}
	restrictions, p := keyRestrictions(spec)
	if p != nil {
		return Profile{ID: id}, p
	}
	profile := Profile{
		ID:                     id,
		Name:                   spec.name(),
		PasskeyTypes:           types,
		AttestationEnforcement: attestation,
		KeyRestrictions:        restrictions,
	}
	if problems := CheckProfile(profile); len(problems) > 0 {
		return Profile{ID: id}, &problems[0]
	}
	return profile, nil
}

// canonicalPasskeyTypes spells the types as Graph does, without repeats, in
// Graph's order (deviceBound before synced).
func canonicalPasskeyTypes(types []string) ([]string, *Problem) {
	for _, t := range types {
		if _, ok := canonical(t, PasskeyDeviceBound, PasskeySynced); !ok {
			return nil, problemPtr(ReasonInvalidValue, "passkey type %q is unknown; use DeviceBound or Synced", t)
		}
	}
	var out []string
	for _, member := range []string{PasskeyDeviceBound, PasskeySynced} {
		if slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, member) }) {
			out = append(out, member)
		}
	}
	return out, nil
}

// keyRestrictions builds fido2KeyRestrictions. With enforcement none the
// list is off; Graph still wants an enforcementType, and block is its default.
func keyRestrictions(spec ProfileSpec) (KeyRestrictions, *Problem) {
	if spec.KeyEnforcement == "" || strings.EqualFold(spec.KeyEnforcement, "none") {
		return KeyRestrictions{EnforcementType: EnforcementBlock}, nil
	}
	enforcement, ok := canonical(spec.KeyEnforcement, EnforcementAllow, EnforcementBlock)
	if !ok {
		return KeyRestrictions{}, problemPtr(ReasonInvalidValue, "key enforcement %q is unknown; use None, Allow or Block", spec.KeyEnforcement)
	}
	return KeyRestrictions{IsEnforced: true, EnforcementType: enforcement, AAGUIDs: slices.Clone(spec.AAGUIDs)}, nil
}

func problemPtr(reason, format string, args ...any) *Problem {
	p := problemf(reason, format, args...)
	return &p
}

// targetKey identifies a target: its list and its id (any case).
type targetKey struct {
	exclude bool
	id      string
}

func buildAssignments(specs []AssignmentSpec, profiles []DesiredProfile) []DesiredAssignment {
	byRef := make(map[Ref]DesiredProfile, len(profiles))
	for _, p := range profiles {
		byRef[p.Spec.Ref] = p
	}
	owners := map[targetKey]Ref{}
	sorted := oldestFirst(specs)
	out := make([]DesiredAssignment, 0, len(sorted))
	for _, spec := range sorted {
		out = append(out, buildAssignment(spec, byRef, owners))
	}
	return out
}

func buildAssignment(spec AssignmentSpec, profiles map[Ref]DesiredProfile, owners map[targetKey]Ref) DesiredAssignment {
	d := DesiredAssignment{Spec: spec, Target: Target{ID: spec.GroupID}}
	if spec.GroupID == "" {
		d.Problem = cmp.Or(spec.GroupProblem, problemPtr(ReasonGroupNotResolved, "the target group is not resolved yet"))
		return d
	}
	key := targetKey{exclude: spec.Exclude, id: strings.ToLower(spec.GroupID)}
	if owner, taken := owners[key]; taken {
		p := conflict(owner, "%s", describeTarget(d.Target, !spec.Exclude))
		d.Problem = &p
		return d
	}
	owners[key] = spec.Ref
	if spec.Deleting {
		return d
	}
	d.Target, d.Problem = desiredTarget(spec, profiles)
	return d
}

func desiredTarget(spec AssignmentSpec, profiles map[Ref]DesiredProfile) (Target, *Problem) {
	t := Target{ID: spec.GroupID, TargetType: TargetTypeGroup}
	if !spec.Exclude {
		ids, p := resolveProfiles(spec, profiles)
		if p != nil {
			return Target{ID: spec.GroupID}, p
		}
		t.IsRegistrationRequired = spec.RegistrationRequired
		t.AllowedPasskeyProfiles = ids
	}
	if problems := CheckTarget(t, !spec.Exclude); len(problems) > 0 {
		return Target{ID: spec.GroupID}, &problems[0]
	}
	return t, nil
}

// resolveProfiles turns profile names into ids. Missing profiles are named
// all at once, so one edit fixes them.
func resolveProfiles(spec AssignmentSpec, profiles map[Ref]DesiredProfile) ([]string, *Problem) {
	var ids, missing []string
	var notReady *Problem
	for _, name := range spec.Profiles {
		ref := Ref{Kind: KindProfile, Namespace: spec.Ref.Namespace, Name: name}
		p, found := profiles[ref]
		if !found {
			missing = append(missing, fmt.Sprintf("%q", name))
			continue
		}
		if problem := usable(p); problem != nil {
			notReady = cmp.Or(notReady, problem)
			continue
		}
		if !slices.ContainsFunc(ids, func(id string) bool { return sameID(id, p.Profile.ID) }) {
			ids = append(ids, p.Profile.ID)
		}
	}
	if len(missing) > 0 {
		return nil, problemPtr(ReasonProfileNotFound, "no PasskeyProfile named %s in namespace %s",
			JoinWords(missing), spec.Ref.Namespace)
	}
	return ids, notReady
}

// usable says why a target cannot name the profile yet, or nil.
func usable(p DesiredProfile) *Problem {
	switch {
	case p.Problem != nil:
		return problemPtr(ReasonProfileNotReady, "%s cannot be written to Entra: %s", p.Spec.Ref, p.Problem)
	case p.Profile.ID == "":
		// New profiles are created first, without an id; a target names one
		// once Entra has given it its id (DESIGN §3).
		return problemPtr(ReasonProfileNotReady, "%s; the target names it once Entra has created it and given it an id", notInEntra(p.Spec))
	default:
		return nil
	}
}

// setUsedBy records which assignments name each profile; one on its way out
// no longer counts.
func setUsedBy(profiles []DesiredProfile, assignments []DesiredAssignment) {
	index := make(map[Ref]int, len(profiles))
	for i, p := range profiles {
		index[p.Spec.Ref] = i
	}
	for _, a := range assignments {
		if a.Spec.Deleting {
			continue
		}
		for _, name := range a.Spec.Profiles {
			i, found := index[Ref{Kind: KindProfile, Namespace: a.Spec.Ref.Namespace, Name: name}]
			if found && !slices.Contains(profiles[i].UsedBy, a.Spec.Ref) {
				profiles[i].UsedBy = append(profiles[i].UsedBy, a.Spec.Ref)
			}
		}
	}
	for i := range profiles {
		slices.SortFunc(profiles[i].UsedBy, compareRefs)
	}
}
