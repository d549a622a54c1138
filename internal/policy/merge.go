package policy

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// MergeReport is what Merge found besides the document itself.
type MergeReport struct {
	// Changed says the merged document differs from the observed one, so it
	// needs a PATCH.
	Changed bool
	// Problems are new problems, by resource: TooManyProfiles for a profile
	// that was not created, ProfileNotReady for a target that waits for a
	// profile not in Entra, DefaultProfileFixed. Those resources were left as
	// Entra has them.
	Problems map[Ref]Problem
	// Kept are profiles that were to be removed but stay, in document order.
	Kept []KeptProfile
	// Removed describes each profile and target taken out, for events.
	Removed []string
	// Written are the resources whose slice the merged document changes:
	// not those refused, waiting, or already as declared.
	Written map[Ref]bool
}

// KeptProfile is a profile that stays in Entra although its resource is
// being deleted (or, under Authoritative, no resource declares it).
type KeptProfile struct {
	// Ref is the resource being deleted; zero for an undeclared profile.
	Ref  Ref
	ID   string
	Name string
	// Default: the tenant's default profile, which is never removed.
	Default bool
	// Assignments are the GroupAssignments that still name the profile.
	Assignments []Ref
	// Targets are the include targets in Entra (group ids or all_users)
	// that still allow it; Entra refuses to remove it while they do.
	Targets []string
}

// Merge computes the document to PATCH, starting from what Entra holds:
//   - an Enforce resource puts its profile (by id) or target (by group id,
//     in its list) in place, keeping the properties we do not model;
//   - Report and suspended resources, and resources with a problem, leave
//     Entra's slice exactly as it is;
//   - a deleted resource's slice is removed, unless deletionPolicy is Orphan;
//   - under Authoritative, profiles and targets no resource declares are
//     removed; under Merge they are kept byte for byte, in their order, and
//     new items are appended;
//   - a profile that a GroupAssignment still names, or that a remaining
//     include target allows, is kept, and so is the default profile, always
//     (see MergeReport.Kept);
//   - if the result would hold more than MaxProfiles profiles, the newest
//     new profiles are refused and nothing else changes because of them but
//     the targets that name them, which wait.
//
// The result never breaks an Entra rule that the observed document kept.
func Merge(observed Policy, desired Desired) (Policy, MergeReport) {
	refused := map[Ref]bool{}
	for {
		m := newMerge(observed, desired, refused)
		m.run()
		if len(m.doc.Profiles) <= MaxProfiles || len(m.added) == 0 {
			m.reportRefusals()
			m.report.Changed = !reflect.DeepEqual(observed, m.doc)
			return m.doc, m.report
		}
		// Refuse the newest profile this pass added and merge again from
		// scratch: the targets naming it now wait, which can keep another
		// profile in use, so the count is only known after a full pass.
		refused[m.added[len(m.added)-1]] = true
	}
}

// merge is one pass of Merge.
type merge struct {
	desired Desired
	refused map[Ref]bool
	// byID finds the resource that owns a profile id (lower case).
	byID   map[string]DesiredProfile
	doc    Policy
	added  []Ref // profiles this pass created, oldest first
	report MergeReport
}

func newMerge(observed Policy, desired Desired, refused map[Ref]bool) *merge {
	m := &merge{
		desired: desired,
		refused: refused,
		byID:    map[string]DesiredProfile{},
		doc:     observed.Clone(),
		report:  MergeReport{Problems: map[Ref]Problem{}, Written: map[Ref]bool{}},
	}
	for _, d := range desired.Profiles {
		if d.Problem == nil && d.Profile.ID != "" {
			m.byID[strings.ToLower(d.Profile.ID)] = d
		}
	}
	return m
}

func (m *merge) run() {
	m.mergeMethod()
	m.writeProfiles()
	// Targets may name any profile the document holds before removals;
	// removals then spare every profile a target still names.
	available := profileIDs(m.doc.Profiles)
	m.doc.IncludeTargets = m.mergeTargets(m.doc.IncludeTargets, false, available)
	m.doc.ExcludeTargets = m.mergeTargets(m.doc.ExcludeTargets, true, available)
	m.removeProfiles()
}

func (m *merge) authoritative() bool { return m.desired.Tenant.Spec.Authoritative }

// problem records the first problem found for a resource.
func (m *merge) problem(ref Ref, p Problem) {
	if _, seen := m.report.Problems[ref]; !seen {
		m.report.Problems[ref] = p
	}
}

func (m *merge) mergeMethod() {
	t := m.desired.Tenant
	if t.Problem != nil || !t.Spec.Enforce {
		return
	}
	if t.Spec.MethodState != "" && !strings.EqualFold(t.Spec.MethodState, m.doc.State) {
		m.doc.State = t.Spec.MethodState
		m.report.Written[t.Spec.Ref] = true
	}
	want, got := t.Spec.SelfServiceRegistration, m.doc.SelfServiceRegistration
	if want != nil && (got == nil || *want != *got) {
		v := *want
		m.doc.SelfServiceRegistration = &v
		m.report.Written[t.Spec.Ref] = true
	}
}

func (m *merge) writeProfiles() {
	for _, d := range m.desired.Profiles {
		if d.action() != actionWrite || m.refused[d.Spec.Ref] {
			continue
		}
		if p, fixed := m.defaultFixed(d); fixed {
			m.problem(d.Spec.Ref, p)
			continue
		}
		if d.Spec.Default && m.doc.DefaultProfileID == "" {
			// Entra makes the default profile itself, when it moves the
			// tenant to passkey profiles; a profile we created would not
			// become it.
			m.problem(d.Spec.Ref, problemf(ReasonNoDefaultProfile, NoDefaultProfile))
			continue
		}
		i := findProfile(m.doc.Profiles, d.Profile.ID)
		if i < 0 {
			if AttestationWithSynced(d.Profile) {
				m.problem(d.Spec.Ref, attestationWrittenAnew())
				continue
			}
			m.doc.Profiles = append(m.doc.Profiles, d.Profile.clone())
			m.added = append(m.added, d.Spec.Ref)
			m.report.Written[d.Spec.Ref] = true
			continue
		}
		got := m.doc.Profiles[i]
		want := d.against(got)
		if len(profileDrift(want, got)) == 0 {
			continue
		}
		if p, refused := refuseUpdate(want, got); refused {
			m.problem(d.Spec.Ref, p)
			continue
		}
		m.doc.Profiles[i] = applyProfile(want, got)
		m.report.Written[d.Spec.Ref] = true
	}
}

// refuseUpdate says why the operator leaves got as Entra holds it rather
// than write want over it: it would make attestation with synced passkeys
// anew, or rewrite a value this version does not know.
func refuseUpdate(want, got Profile) (Problem, bool) {
	if AttestationWithSynced(want) && !AttestationWithSynced(got) {
		return attestationWrittenAnew(), true
	}
	if unknown := UnknownValues(got); len(unknown) > 0 {
		return problemf(ReasonUnknownValue,
			"Entra holds %s, which this version of the operator does not know, so it leaves the profile as it is rather than "+
				"rewrite that value; upgrade the operator, or set driftPolicy Report", strings.Join(unknown, " and ")), true
	}
	return Problem{}, false
}

func attestationWrittenAnew() Problem {
	return problemf(ReasonAttestationNeedsDeviceBoundOnly,
		"Entra holds attestation with synced passkeys allowed only where its migration left it, and the operator does not "+
			"write it anew (whether Entra accepts it is not known); remove Synced from passkeyTypes or set attestation to Disabled")
}

// defaultFixed: Entra never changes which profile is the default, so a
// resource asking to be the default while another profile is cannot be
// written. AssignProfileIDs avoids this by giving it the default's id.
func (m *merge) defaultFixed(d DesiredProfile) (Problem, bool) {
	current := m.doc.DefaultProfileID
	if !d.Spec.Default || current == "" || sameID(current, d.Profile.ID) {
		return Problem{}, false
	}
	return problemf(ReasonDefaultProfileFixed,
		"the tenant's default passkey profile is %s and Entra never changes it, but this resource manages profile %s",
		current, d.Profile.ID), true
}

// applyProfile writes the fields we manage over the observed profile. With
// the key restrictions off, Entra's type and list stay as they were.
func applyProfile(want, got Profile) Profile {
	out := got.clone()
	out.Name = want.Name
	out.PasskeyTypes = slices.Clone(want.PasskeyTypes)
	out.AttestationEnforcement = want.AttestationEnforcement
	if want.KeyRestrictions.IsEnforced {
		// Properties of Entra's key restrictions that we do not model stay.
		kept := out.KeyRestrictions
		out.KeyRestrictions = want.KeyRestrictions.clone()
		out.KeyRestrictions.Extra, out.KeyRestrictions.Unset = kept.Extra, kept.Unset
	} else {
		out.KeyRestrictions.IsEnforced = false
		out.KeyRestrictions.EnforcementType = cmp.Or(out.KeyRestrictions.EnforcementType, EnforcementBlock)
	}
	return out
}

// mergeTargets merges one list: include targets, or exclude ones.
func (m *merge) mergeTargets(list []Target, exclude bool, available idSet) []Target {
	owners := m.targetOwners(exclude)
	left := m.leftTargets(exclude, owners)
	out := emptyLike(list)
	for _, t := range list {
		key := strings.ToLower(t.ID)
		d, declared := owners[key]
		moved, wasLeft := left[key]
		switch {
		case wasLeft && moved.movesOut():
			m.removed(describeTarget(t, !exclude))
		case wasLeft:
			// Still this resource's until it can move (Report, suspended,
			// a problem such as an unresolved group) or for good (Orphan):
			// not undeclared, even under Authoritative.
			out = append(out, t)
		case !declared && m.authoritative(), declared && d.action() == actionRemove:
			m.removed(describeTarget(t, !exclude))
		case declared && d.action() == actionWrite:
			out = append(out, m.writeTarget(d, t, available))
		default:
			out = append(out, t)
		}
	}
	for _, d := range m.desired.Assignments {
		if d.Spec.Exclude != exclude || d.action() != actionWrite || findTarget(list, d.Target.ID) >= 0 {
			continue
		}
		if m.ready(d, available) {
			out = append(out, d.Target.clone())
			m.report.Written[d.Spec.Ref] = true
		}
	}
	return out
}

// targetOwners maps each group id (lower case) of one list to the resource
// that declares it: the oldest, which won any conflict.
func (m *merge) targetOwners(exclude bool) map[string]DesiredAssignment {
	owners := map[string]DesiredAssignment{}
	for _, d := range m.desired.Assignments {
		key := strings.ToLower(d.Target.ID)
		if _, taken := owners[key]; d.Spec.Exclude == exclude && key != "" && !taken {
			owners[key] = d
		}
	}
	return owners
}

// leftTargets maps each group id (lower case) of one list that an
// assignment had in Entra but declares no more — it moved to another group
// or mode — to that assignment, unless another resource declares it now.
func (m *merge) leftTargets(exclude bool, owners map[string]DesiredAssignment) map[string]DesiredAssignment {
	left := map[string]DesiredAssignment{}
	for _, d := range m.desired.Assignments {
		for _, a := range d.Spec.Applied {
			key := strings.ToLower(a.GroupID)
			if _, declared := owners[key]; declared || key == "" || a.Exclude != exclude {
				continue
			}
			if _, taken := left[key]; !taken {
				left[key] = d
			}
		}
	}
	return left
}

// movesOut says whether an assignment's old target goes now that the
// assignment declares another: when the new one is written, or the resource
// is deleted, but not under deletionPolicy Orphan.
func (d DesiredAssignment) movesOut() bool {
	switch d.action() {
	case actionWrite:
		return !d.Spec.Orphan
	case actionRemove:
		return true
	}
	return false
}

func (m *merge) writeTarget(d DesiredAssignment, got Target, available idSet) Target {
	if len(targetDrift(d.Target, got, nil)) == 0 || !m.ready(d, available) {
		return got
	}
	m.report.Written[d.Spec.Ref] = true
	out := got.clone()
	out.IsRegistrationRequired = d.Target.IsRegistrationRequired
	out.AllowedPasskeyProfiles = slices.Clone(d.Target.AllowedPasskeyProfiles)
	return out
}

// ready says whether every profile the target names is in the document;
// if not, the target waits and its resource is told why.
func (m *merge) ready(d DesiredAssignment, available idSet) bool {
	for _, id := range d.Target.AllowedPasskeyProfiles {
		if !available.has(id) {
			m.problem(d.Spec.Ref, Problem{Reason: ReasonProfileNotReady, Message: m.whyAbsent(id) + "; the target waits for it"})
			return false
		}
	}
	return true
}

func (m *merge) whyAbsent(id string) string {
	p, found := m.byID[strings.ToLower(id)]
	switch {
	case !found:
		return fmt.Sprintf("passkey profile %s is not in Entra", id)
	case m.refused[p.Spec.Ref]:
		return fmt.Sprintf("%s was not created in Entra, which allows at most %d passkey profiles", p.Spec.Ref, MaxProfiles)
	default:
		return notInEntra(p.Spec)
	}
}

// notInEntra says why a declared profile is not in Entra.
func notInEntra(spec ProfileSpec) string {
	switch {
	case spec.Suspended:
		return fmt.Sprintf("%s is suspended and not in Entra", spec.Ref)
	case spec.Deleting:
		return fmt.Sprintf("%s is being deleted and is not in Entra", spec.Ref)
	case !spec.Enforce:
		return fmt.Sprintf("%s is not in Entra and has driftPolicy Report, so the operator does not create it", spec.Ref)
	default:
		return fmt.Sprintf("%s is not in Entra yet", spec.Ref)
	}
}

// removeProfiles takes out the profiles of deleted resources and, under
// Authoritative, undeclared ones; but never the default profile, nor one
// that a GroupAssignment still names or an include target still allows.
// Counting the assignments, not only Entra's targets, keeps the outcome
// stable: a target that waits for another profile still holds on to this one.
func (m *merge) removeProfiles() {
	removing := map[string]DesiredProfile{} // lower-case id → the deleted resource
	declared := idSet{}
	for _, d := range m.desired.Profiles {
		if d.action() == actionRemove && d.Profile.ID != "" {
			removing[strings.ToLower(d.Profile.ID)] = d
		} else if d.declares() {
			declared.add(d.Profile.ID)
		}
	}
	users := targetsUsing(m.doc.IncludeTargets)
	out := emptyLike(m.doc.Profiles)
	for _, p := range m.doc.Profiles {
		d, deleted := removing[strings.ToLower(p.ID)]
		isDefault := sameID(p.ID, m.doc.DefaultProfileID)
		undeclared := m.authoritative() && !declared.has(p.ID) && !isDefault
		kept := KeptProfile{Ref: d.Spec.Ref, ID: p.ID, Name: p.Name, Default: isDefault,
			Assignments: d.UsedBy, Targets: users[strings.ToLower(p.ID)]}
		switch {
		case p.ID == "": // created by this very write
			out = append(out, p)
		case !deleted && !undeclared:
			out = append(out, p)
		case kept.Default || len(kept.Assignments) > 0 || len(kept.Targets) > 0:
			out = append(out, p)
			m.report.Kept = append(m.report.Kept, kept)
		default:
			m.removed(describeProfile(p))
		}
	}
	m.doc.Profiles = out
}

// targetsUsing maps each profile id (lower case) to the targets allowing it.
func targetsUsing(targets []Target) map[string][]string {
	out := map[string][]string{}
	for _, t := range targets {
		for _, id := range t.AllowedPasskeyProfiles {
			key := strings.ToLower(id)
			out[key] = append(out[key], t.ID)
		}
	}
	return out
}

func (m *merge) removed(what string) { m.report.Removed = append(m.report.Removed, what) }

func (m *merge) reportRefusals() {
	for _, d := range m.desired.Profiles {
		if m.refused[d.Spec.Ref] {
			m.problem(d.Spec.Ref, problemf(ReasonTooManyProfiles,
				"Entra allows at most %d passkey profiles per tenant, the default one included, and the tenant holds %s; "+
					"%s was not created. Remove one of them from Entra (or delete its PasskeyProfile) to make room",
				MaxProfiles, profileNames(m.doc.Profiles), describeProfile(d.Profile)))
		}
	}
}

// UnmanagedProfile is a profile in Entra that no resource declares.
type UnmanagedProfile struct {
	ID   string
	Name string
}

// UnmanagedSummary is what Entra holds that no resource declares, in
// Entra's order.
type UnmanagedSummary struct {
	Profiles []UnmanagedProfile
	// IncludeTargets and ExcludeTargets are target ids.
	IncludeTargets []string
	ExcludeTargets []string
}

// Unmanaged lists the profiles and targets in Entra that no resource
// declares, whatever state the resource is in.
func Unmanaged(observed Policy, desired Desired) UnmanagedSummary {
	profiles, include, exclude := idSet{}, idSet{}, idSet{}
	for _, d := range desired.Profiles {
		profiles.add(d.Profile.ID)
	}
	for _, d := range desired.Assignments {
		if d.Spec.Exclude {
			exclude.add(d.Target.ID)
		} else {
			include.add(d.Target.ID)
		}
		// A target the assignment moved away from is still its own until
		// it has moved (see Merge).
		for _, a := range d.Spec.Applied {
			if a.Exclude {
				exclude.add(a.GroupID)
			} else {
				include.add(a.GroupID)
			}
		}
	}
	var out UnmanagedSummary
	for _, p := range observed.Profiles {
		if !profiles.has(p.ID) {
			out.Profiles = append(out.Profiles, UnmanagedProfile{ID: p.ID, Name: p.Name})
		}
	}
	out.IncludeTargets = undeclaredTargets(observed.IncludeTargets, include)
	out.ExcludeTargets = undeclaredTargets(observed.ExcludeTargets, exclude)
	return out
}

func undeclaredTargets(targets []Target, declared idSet) []string {
	var out []string
	for _, t := range targets {
		if !declared.has(t.ID) {
			out = append(out, t.ID)
		}
	}
	return out
}
