package policy

import (
	"reflect"
	"strings"
	"testing"
)

// mergeObserved is a tenant with the default profile for all users, a
// profile "Strict" (pid 2) for group 1 and group 2 excluded. Strict and its
// targets carry properties the model does not know.
func mergeObserved() Policy {
	p := defaultTenant()
	strict := entraProfile(pid(2), "Strict", PasskeyDeviceBound)
	strict.Extra = map[string]any{"futureField": map[string]any{"nested": []any{"x", 1.0}}}
	p.Profiles = append(p.Profiles, strict)
	admins := includeTarget(gid(1), pid(2))
	admins.Extra = map[string]any{"futureTargetField": true}
	p.IncludeTargets = append(p.IncludeTargets, admins)
	contractors := excludeTarget(gid(2))
	contractors.Extra = map[string]any{"futureExcludeField": "y"}
	p.ExcludeTargets = []Target{contractors}
	return p
}

// The resources that declare mergeObserved's Strict profile and targets.
func strictSpec(mutate ...func(*ProfileSpec)) ProfileSpec {
	return profileSpec("strict", 0, append([]func(*ProfileSpec){func(s *ProfileSpec) { s.Name = "Strict"; s.KnownID = pid(2) }}, mutate...)...)
}

func adminsSpec(mutate ...func(*AssignmentSpec)) AssignmentSpec {
	return assignmentSpec("admins", 0, gid(1), []string{"strict"}, mutate...)
}

func contractorsSpec(mutate ...func(*AssignmentSpec)) AssignmentSpec {
	return assignmentSpec("contractors", 0, gid(2), nil, append([]func(*AssignmentSpec){func(s *AssignmentSpec) { s.Exclude = true }}, mutate...)...)
}

func newProfileSpec(name string, minute int, mutate ...func(*ProfileSpec)) ProfileSpec {
	return profileSpec(strings.ToLower(name), minute, append([]func(*ProfileSpec){func(s *ProfileSpec) { s.Name = name; s.PasskeyTypes = []string{"Synced"} }}, mutate...)...)
}

// createdProfile is what Merge appends for newProfileSpec(name): a new
// profile, sent without an id for Entra to give it one.
func createdProfile(name string) Profile {
	p := entraProfile("", name, PasskeySynced)
	p.KeyRestrictions.AAGUIDs = nil // as Build makes it
	return p
}

var (
	report    = func(l *Lifecycle) { l.Enforce = false }
	suspend   = func(l *Lifecycle) { l.Suspended = true }
	deleting  = func(l *Lifecycle) { l.Deleting = true }
	orphaning = func(l *Lifecycle) { l.Deleting = true; l.Orphan = true }
)

func profileLife(f func(*Lifecycle)) func(*ProfileSpec) {
	return func(s *ProfileSpec) { f(&s.Lifecycle) }
}
func assignmentLife(f func(*Lifecycle)) func(*AssignmentSpec) {
	return func(s *AssignmentSpec) { f(&s.Lifecycle) }
}

type mergeCase struct {
	name        string
	tenant      TenantSpec       // zero: mergeTenant()
	observed    func(*Policy)    // changes mergeObserved
	profiles    []ProfileSpec    // nil: strictSpec()
	assignments []AssignmentSpec // nil: adminsSpec(), contractorsSpec()
	// wantBuild are the problems Build is expected to find; nil: none.
	wantBuild map[Ref]string
	// want changes mergeObserved (after observed) into the expected result;
	// nil: unchanged.
	want         func(*Policy)
	wantProblems map[Ref]string
	wantKept     []KeptProfile
	// mention is text the one problem's message must contain.
	mention string
}

func reasons(problems map[Ref]Problem) map[Ref]string {
	out := map[Ref]string{}
	for ref, p := range problems {
		out[ref] = p.Reason
	}
	return out
}

func orEmpty(m map[Ref]string) map[Ref]string {
	if m == nil {
		return map[Ref]string{}
	}
	return m
}

func (tc mergeCase) run(t *testing.T) {
	t.Helper()
	tenant := tc.tenant
	if tenant.Ref == (Ref{}) {
		tenant = mergeTenant()
	}
	observed := mergeObserved()
	if tc.observed != nil {
		tc.observed(&observed)
	}
	profiles := tc.profiles
	if profiles == nil {
		profiles = []ProfileSpec{strictSpec()}
	}
	assignments := tc.assignments
	if assignments == nil {
		assignments = []AssignmentSpec{adminsSpec(), contractorsSpec()}
	}
	desired := buildFor(tenant, observed, profiles, assignments)
	assertEqual(t, "Build problems", reasons(desired.Problems()), orEmpty(tc.wantBuild))
	want := observed.Clone()
	if tc.want != nil {
		tc.want(&want)
	}

	got, rep := Merge(observed, desired)

	assertEqual(t, "document", got, want)
	assertEqual(t, "changed", rep.Changed, !reflect.DeepEqual(observed, want))
	assertValid(t, observed, got)
	var messages []string
	for _, p := range desired.Problems() {
		messages = append(messages, p.Message)
	}
	for _, p := range rep.Problems {
		messages = append(messages, p.Message)
	}
	assertEqual(t, "problems", reasons(rep.Problems), orEmpty(tc.wantProblems))
	assertEqual(t, "kept", rep.Kept, tc.wantKept)
	if tc.mention != "" && !strings.Contains(strings.Join(messages, "\n"), tc.mention) {
		t.Errorf("problems %q do not mention %q", messages, tc.mention)
	}
}

func TestMergeEnforce(t *testing.T) {
	for _, tc := range []mergeCase{{
		name: "in sync: nothing changes",
	}, {
		name:     "profile updated in place, unknown properties kept",
		profiles: []ProfileSpec{strictSpec(func(s *ProfileSpec) { s.PasskeyTypes = []string{"DeviceBound", "Synced"}; s.Name = "Strict keys" })},
		want: func(p *Policy) {
			p.Profiles[1].Name = "Strict keys"
			p.Profiles[1].PasskeyTypes = []string{PasskeyDeviceBound, PasskeySynced}
		},
	}, {
		name: "key restrictions turned on",
		profiles: []ProfileSpec{strictSpec(func(s *ProfileSpec) {
			s.KeyEnforcement = "Allow"
			s.AAGUIDs = []string{aaguid(1)}
		})},
		want: func(p *Policy) {
			p.Profiles[1].KeyRestrictions = KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(1)}}
		},
	}, {
		name: "key restrictions turned off keep Entra's type and list",
		observed: func(p *Policy) {
			p.Profiles[1].KeyRestrictions = KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{aaguid(1)}}
		},
		want: func(p *Policy) { p.Profiles[1].KeyRestrictions.IsEnforced = false },
	}, {
		// The migrated state: attestation with synced, kept as Entra holds
		// it while another field changes.
		name: "attestation with synced is kept where Entra holds it",
		observed: func(p *Policy) {
			p.Profiles[1].AttestationEnforcement = AttestationRegistrationOnly
			p.Profiles[1].PasskeyTypes = []string{PasskeyDeviceBound, PasskeySynced}
		},
		profiles: []ProfileSpec{strictSpec(func(s *ProfileSpec) {
			s.Attestation = "RegistrationOnly"
			s.PasskeyTypes = []string{"DeviceBound", "Synced"}
			s.Name = "Strict keys"
		})},
		want: func(p *Policy) { p.Profiles[1].Name = "Strict keys" },
	}, {
		// Whether Entra accepts it written anew is not known: never made.
		name: "attestation with synced is not written anew",
		profiles: []ProfileSpec{strictSpec(func(s *ProfileSpec) {
			s.Attestation = "RegistrationOnly"
			s.PasskeyTypes = []string{"DeviceBound", "Synced"}
		})},
		wantProblems: map[Ref]string{profileRef("strict"): ReasonAttestationNeedsDeviceBoundOnly},
		mention:      "the operator does not write it anew",
	}, {
		name:        "target updated in place, unknown properties kept",
		assignments: []AssignmentSpec{adminsSpec(func(s *AssignmentSpec) { s.RegistrationRequired = true }), contractorsSpec()},
		want:        func(p *Policy) { p.IncludeTargets[1].IsRegistrationRequired = true },
	}, {
		// The documented flow: a new profile is created without an id, and
		// a target names it only once Entra has given it one.
		name:     "new profile and target appended after the unmanaged ones; a target naming the new one waits",
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1)},
		assignments: []AssignmentSpec{
			adminsSpec(), contractorsSpec(),
			assignmentSpec("sales", 1, gid(3), []string{"synced", "strict"}),
			assignmentSpec("interns", 2, gid(4), nil, func(s *AssignmentSpec) { s.Exclude = true }),
		},
		observed: func(p *Policy) {
			p.Profiles[0], p.Profiles[1] = p.Profiles[1], p.Profiles[0] // Entra's order is kept
		},
		wantBuild: map[Ref]string{assignmentRef("sales"): ReasonProfileNotReady},
		want: func(p *Policy) {
			p.Profiles = append(p.Profiles, createdProfile("Synced"))
			p.ExcludeTargets = append(p.ExcludeTargets, excludeTarget(gid(4)))
		},
	}, {
		name:        "lists that were null stay null when nothing is added",
		observed:    func(p *Policy) { p.ExcludeTargets = nil },
		assignments: []AssignmentSpec{adminsSpec()},
	}, {
		// Never under the id we knew: Entra may ignore or refuse an id we choose.
		name: "a profile Entra lost is created anew, without an id",
		observed: func(p *Policy) {
			p.Profiles = p.Profiles[:1]
			p.IncludeTargets = p.IncludeTargets[:1]
		},
		wantBuild: map[Ref]string{assignmentRef("admins"): ReasonProfileNotReady},
		want: func(p *Policy) {
			s := entraProfile("", "Strict", PasskeyDeviceBound)
			s.KeyRestrictions.AAGUIDs = nil
			p.Profiles = append(p.Profiles, s)
		},
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeKeepsWhatIsNotWritten(t *testing.T) {
	changedStrict := func(more ...func(*ProfileSpec)) []ProfileSpec {
		return []ProfileSpec{strictSpec(append([]func(*ProfileSpec){func(s *ProfileSpec) { s.Name = "Renamed" }}, more...)...)}
	}
	changedAdmins := func(more ...func(*AssignmentSpec)) []AssignmentSpec {
		return []AssignmentSpec{adminsSpec(append([]func(*AssignmentSpec){func(s *AssignmentSpec) { s.RegistrationRequired = true }}, more...)...)}
	}
	for _, tc := range []mergeCase{
		{name: "Report profile", profiles: changedStrict(profileLife(report))},
		{name: "Report assignment", assignments: changedAdmins(assignmentLife(report))},
		{name: "suspended profile", profiles: changedStrict(profileLife(suspend))},
		{name: "suspended assignment", assignments: changedAdmins(assignmentLife(suspend))},
		{name: "orphaned profile", profiles: changedStrict(profileLife(orphaning)), assignments: changedAdmins(assignmentLife(orphaning))},
		{name: "suspended while deleting", profiles: changedStrict(profileLife(suspend), profileLife(deleting)), assignments: changedAdmins(assignmentLife(suspend), assignmentLife(deleting))},
		{name: "a profile Report creates nothing", profiles: []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1, profileLife(report))}},
	} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeDelete(t *testing.T) {
	gone := profileLife(deleting)
	for _, tc := range []mergeCase{{
		name:        "profile and its target removed together",
		profiles:    []ProfileSpec{strictSpec(gone)},
		assignments: []AssignmentSpec{adminsSpec(assignmentLife(deleting)), contractorsSpec(assignmentLife(deleting))},
		want: func(p *Policy) {
			p.Profiles = p.Profiles[:1]
			p.IncludeTargets = p.IncludeTargets[:1]
			p.ExcludeTargets = []Target{}
		},
	}, {
		name:        "a Report profile with deletionPolicy Delete is removed",
		profiles:    []ProfileSpec{strictSpec(gone, profileLife(report))},
		assignments: []AssignmentSpec{contractorsSpec()},
		observed:    func(p *Policy) { p.IncludeTargets = p.IncludeTargets[:1] },
		want:        func(p *Policy) { p.Profiles = p.Profiles[:1] },
	}, {
		name:        "a profile a remaining target allows is kept",
		profiles:    []ProfileSpec{strictSpec(gone)},
		assignments: []AssignmentSpec{contractorsSpec()}, // gid 1's target is unmanaged
		wantKept:    []KeptProfile{{Ref: profileRef("strict"), ID: pid(2), Name: "Strict", Targets: []string{gid(1)}}},
	}, {
		name:        "a profile its own assignment still names is kept",
		profiles:    []ProfileSpec{strictSpec(gone)},
		assignments: []AssignmentSpec{adminsSpec(func(s *AssignmentSpec) { s.RegistrationRequired = true })},
		want:        func(p *Policy) { p.IncludeTargets[1].IsRegistrationRequired = true },
		wantKept: []KeptProfile{{Ref: profileRef("strict"), ID: pid(2), Name: "Strict",
			Assignments: []Ref{assignmentRef("admins")}, Targets: []string{gid(1)}}},
	}, {
		name:     "a profile an assignment names is kept while that assignment's target waits",
		profiles: []ProfileSpec{strictSpec(gone), newProfileSpec("Synced", 1, profileLife(report))},
		assignments: []AssignmentSpec{
			contractorsSpec(),
			assignmentSpec("sales", 1, gid(3), []string{"strict", "synced"}),
		},
		observed:  func(p *Policy) { p.IncludeTargets = p.IncludeTargets[:1] },
		wantBuild: map[Ref]string{assignmentRef("sales"): ReasonProfileNotReady},
		wantKept:  []KeptProfile{{Ref: profileRef("strict"), ID: pid(2), Name: "Strict", Assignments: []Ref{assignmentRef("sales")}}},
	}, {
		name: "a profile is released when its target moves to another profile in the same pass",
		profiles: []ProfileSpec{strictSpec(gone), profileSpec("base", 0, func(s *ProfileSpec) {
			s.Default = true
			s.Name = "Default passkey profile"
			s.PasskeyTypes = []string{"DeviceBound", "Synced"}
		})},
		assignments: []AssignmentSpec{
			adminsSpec(func(s *AssignmentSpec) { s.Profiles = []string{"base"} }),
			assignmentSpec("everyone", 0, AllUsers, []string{"base"}),
		},
		want: func(p *Policy) {
			p.Profiles = p.Profiles[:1]
			p.IncludeTargets[1].AllowedPasskeyProfiles = []string{pid(1)}
		},
	}, {
		name:        "the default profile is never removed",
		profiles:    []ProfileSpec{profileSpec("base", 0, func(s *ProfileSpec) { s.Default = true; s.Name = "Default passkey profile" }, gone)},
		assignments: []AssignmentSpec{contractorsSpec()},
		observed:    func(p *Policy) { p.IncludeTargets = nil },
		wantKept:    []KeptProfile{{Ref: profileRef("base"), ID: pid(1), Name: "Default passkey profile", Default: true}},
	}, {
		name: "a conflict loser being deleted removes nothing",
		profiles: []ProfileSpec{
			strictSpec(),
			profileSpec("copy", 1, func(s *ProfileSpec) { s.Name = "Strict"; s.KnownID = pid(2) }, gone),
		},
		wantBuild: map[Ref]string{profileRef("copy"): ReasonConflict},
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeAuthoritative(t *testing.T) {
	legacy := func(p *Policy) {
		p.Profiles = append(p.Profiles, entraProfile(pid(3), "Legacy", PasskeySynced))
		p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(5), pid(3)))
		p.ExcludeTargets = append(p.ExcludeTargets, excludeTarget(gid(6)))
	}
	for _, tc := range []mergeCase{{
		name:     "Merge keeps what no resource declares",
		observed: legacy,
	}, {
		name:     "Authoritative removes what no resource declares, but the default profile",
		tenant:   authoritativeTenant(),
		observed: legacy,
		want: func(p *Policy) {
			p.Profiles = p.Profiles[1:2] // default and Strict are left: Legacy goes with its target
			p.Profiles = append([]Profile{mergeObserved().Profiles[0]}, p.Profiles...)
			p.IncludeTargets = p.IncludeTargets[1:2] // all_users and gid 5 go
			p.ExcludeTargets = p.ExcludeTargets[:1]
		},
	}, {
		name:        "Authoritative keeps a profile that a Report target allows",
		tenant:      authoritativeTenant(),
		observed:    legacy,
		assignments: []AssignmentSpec{adminsSpec(), contractorsSpec(), assignmentSpec("old", 0, gid(5), []string{"strict"}, assignmentLife(report))},
		want: func(p *Policy) {
			p.IncludeTargets = append(p.IncludeTargets[1:2], p.IncludeTargets[2])
			p.ExcludeTargets = p.ExcludeTargets[:1]
		},
		wantKept: []KeptProfile{{ID: pid(3), Name: "Legacy", Targets: []string{gid(5)}}},
	}, {
		name:     "Authoritative keeps what resources with problems declare",
		tenant:   authoritativeTenant(),
		observed: func(p *Policy) { p.IncludeTargets = p.IncludeTargets[1:] },
		assignments: []AssignmentSpec{
			adminsSpec(assignmentLife(suspend)),
			contractorsSpec(assignmentLife(report)),
		},
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeProfileLimit(t *testing.T) {
	full := func(p *Policy) { p.Profiles = append(p.Profiles, entraProfile(pid(3), "Legacy", PasskeySynced)) }
	legacyGone := profileSpec("legacy", 0, func(s *ProfileSpec) { s.Name = "Legacy"; s.KnownID = pid(3) }, profileLife(deleting))
	for _, tc := range []mergeCase{{
		name:     "a fourth profile is refused, and the target that names it waits",
		observed: full,
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1)},
		assignments: []AssignmentSpec{
			adminsSpec(func(s *AssignmentSpec) { s.Profiles = []string{"strict", "synced"} }),
			assignmentSpec("sales", 1, gid(3), []string{"synced"}),
			contractorsSpec(),
		},
		wantBuild: map[Ref]string{
			assignmentRef("admins"): ReasonProfileNotReady,
			assignmentRef("sales"):  ReasonProfileNotReady,
		},
		wantProblems: map[Ref]string{profileRef("synced"): ReasonTooManyProfiles},
		mention:      `Entra allows at most 3 passkey profiles per tenant, the default one included, and the tenant holds "Default passkey profile", "Strict" and "Legacy"; passkey profile "Synced" was not created`,
	}, {
		name:     "of two new profiles the newer is refused",
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Young", 2), newProfileSpec("Old", 1)},
		want: func(p *Policy) {
			p.Profiles = append(p.Profiles, createdProfile("Old"))
		},
		wantProblems: map[Ref]string{profileRef("young"): ReasonTooManyProfiles},
	}, {
		name:     "a profile removed in the same pass makes room",
		observed: full,
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1), legacyGone},
		want: func(p *Policy) {
			p.Profiles = append(p.Profiles[:2], createdProfile("Synced"))
		},
	}, {
		// A target cannot move to a profile that is not created yet, and the
		// profile it leaves cannot go while it names it: with the tenant
		// full, the new profile waits, and the statuses say why.
		name: "a full tenant: a target moving to a new profile keeps the one it leaves",
		observed: func(p *Policy) {
			full(p)
			p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(3), pid(3)))
		},
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1), legacyGone},
		assignments: []AssignmentSpec{
			adminsSpec(), contractorsSpec(),
			assignmentSpec("sales", 1, gid(3), []string{"synced"}),
		},
		wantBuild:    map[Ref]string{assignmentRef("sales"): ReasonProfileNotReady},
		wantProblems: map[Ref]string{profileRef("synced"): ReasonTooManyProfiles},
		wantKept:     []KeptProfile{{Ref: profileRef("legacy"), ID: pid(3), Name: "Legacy", Targets: []string{gid(3)}}},
	}, {
		// Greedy, newest first: refusing Young makes sales wait, which keeps
		// Legacy in use, so Synced must go too.
		name: "refusing a profile can keep another in use, and refuse one more",
		observed: func(p *Policy) {
			full(p)
			p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(3), pid(3)))
		},
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1), newProfileSpec("Young", 2), legacyGone},
		assignments: []AssignmentSpec{
			adminsSpec(), contractorsSpec(),
			assignmentSpec("sales", 1, gid(3), []string{"young"}),
		},
		wantBuild: map[Ref]string{assignmentRef("sales"): ReasonProfileNotReady},
		wantProblems: map[Ref]string{
			profileRef("synced"): ReasonTooManyProfiles,
			profileRef("young"):  ReasonTooManyProfiles,
		},
		wantKept: []KeptProfile{{Ref: profileRef("legacy"), ID: pid(3), Name: "Legacy", Targets: []string{gid(3)}}},
		mention:  "PasskeyProfile team/young is not in Entra yet; the target names it once Entra has created it",
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeTargetWaits(t *testing.T) {
	for _, tc := range []mergeCase{{
		name:        "for a Report profile that is not in Entra",
		profiles:    []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1, profileLife(report))},
		assignments: []AssignmentSpec{adminsSpec(func(s *AssignmentSpec) { s.Profiles = []string{"synced"} })},
		wantBuild:   map[Ref]string{assignmentRef("admins"): ReasonProfileNotReady},
		mention:     "PasskeyProfile team/synced is not in Entra and has driftPolicy Report",
	}, {
		name:        "for a suspended profile that is not in Entra",
		profiles:    []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1, profileLife(suspend))},
		assignments: []AssignmentSpec{assignmentSpec("sales", 1, gid(3), []string{"synced"})},
		wantBuild:   map[Ref]string{assignmentRef("sales"): ReasonProfileNotReady},
		mention:     "PasskeyProfile team/synced is suspended",
	}, {
		name: "for a profile being deleted that is not in Entra",
		profiles: []ProfileSpec{strictSpec(), newProfileSpec("Synced", 1,
			func(s *ProfileSpec) { s.KnownID = pid(7) }, profileLife(deleting))},
		assignments:  []AssignmentSpec{assignmentSpec("sales", 1, gid(3), []string{"synced"})},
		wantProblems: map[Ref]string{assignmentRef("sales"): ReasonProfileNotReady},
		mention:      "PasskeyProfile team/synced is being deleted and is not in Entra",
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeDefaultProfile(t *testing.T) {
	base := func(mutate ...func(*ProfileSpec)) ProfileSpec {
		return newProfileSpec("Base", 0, append([]func(*ProfileSpec){func(s *ProfileSpec) { s.Default = true }}, mutate...)...)
	}
	for _, tc := range []mergeCase{{
		// Entra does not let the default profile be renamed: its name stays.
		name:     "default: true manages the tenant's default profile, but not its name",
		profiles: []ProfileSpec{strictSpec(), base()},
		want:     func(p *Policy) { p.Profiles[0].PasskeyTypes = []string{PasskeySynced} },
	}, {
		// A tenant Entra has not moved to passkey profiles: Entra makes the
		// default profile itself, so default: true waits for it.
		name: "a tenant without default: default: true waits, nothing is created",
		observed: func(p *Policy) {
			p.DefaultProfileID = ""
			p.Profiles = p.Profiles[1:]
			p.IncludeTargets = p.IncludeTargets[1:]
		},
		profiles:     []ProfileSpec{strictSpec(), base()},
		wantProblems: map[Ref]string{profileRef("base"): ReasonNoDefaultProfile},
		mention:      "Entra has not moved this tenant to passkey profiles yet",
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeDefaultProfileFixed(t *testing.T) {
	observed := mergeObserved()
	spec := profileSpec("base", 0, func(s *ProfileSpec) { s.Default = true; s.Name = "Base" })
	// Ids not from AssignProfileIDs: the resource claims Strict's id.
	desired := Build(mergeTenant(), []ProfileSpec{spec}, nil, map[Ref]string{spec.Ref: pid(2)})
	got, rep := Merge(observed, desired)
	assertEqual(t, "document", got, observed)
	assertEqual(t, "reason", rep.Problems[spec.Ref].Reason, ReasonDefaultProfileFixed)
}

func TestMergeMethodSettings(t *testing.T) {
	settings := TenantSpec{Ref: tenantRef, MethodState: "Disabled", SelfServiceRegistration: ptr(false), Enforce: true}
	reportOnly := settings
	reportOnly.Enforce = false
	for _, tc := range []mergeCase{{
		name:   "Enforce writes them",
		tenant: settings,
		want:   func(p *Policy) { p.State = StateDisabled; p.SelfServiceRegistration = ptr(false) },
	}, {
		name:   "Report leaves them",
		tenant: reportOnly,
	}, {
		name:   "unmanaged settings are left",
		tenant: TenantSpec{Ref: tenantRef, Enforce: true},
	}, {
		name:   "settings in sync change nothing",
		tenant: TenantSpec{Ref: tenantRef, MethodState: "enabled", SelfServiceRegistration: ptr(true), Enforce: true},
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestMergeDoesNotTouchItsInput(t *testing.T) {
	observed := mergeObserved()
	before := observed.Clone()
	desired := buildFor(authoritativeTenant(), observed,
		[]ProfileSpec{strictSpec(func(s *ProfileSpec) { s.Name = "Other" })},
		[]AssignmentSpec{adminsSpec(func(s *AssignmentSpec) { s.RegistrationRequired = true })})
	got, _ := Merge(observed, desired)
	got.Profiles[0].Extra = map[string]any{"mutated": true}
	got.IncludeTargets[0].AllowedPasskeyProfiles[0] = "mutated"
	assertEqual(t, "observed", observed, before)
}

// TestImportYieldsZeroChanges is the import story end to end: resources
// written to match an existing tenant adopt its profiles by name, and the
// first pass finds neither drift nor anything to write.
func TestImportYieldsZeroChanges(t *testing.T) {
	observed := mergeObserved()
	profiles := []ProfileSpec{
		newProfileSpec("Default passkey profile", 0, func(s *ProfileSpec) { s.Default = true; s.PasskeyTypes = []string{"DeviceBound", "Synced"} }),
		newProfileSpec("Strict", 0, func(s *ProfileSpec) { s.PasskeyTypes = []string{"DeviceBound"} }),
	}
	assignments := []AssignmentSpec{
		assignmentSpec("everyone", 0, AllUsers, []string{"default passkey profile"}),
		assignmentSpec("admins", 0, gid(1), []string{"strict"}),
		contractorsSpec(),
	}
	for _, tenant := range []TenantSpec{mergeTenant(), authoritativeTenant()} {
		ids := AssignProfileIDs(profiles, observed)
		desired := Build(tenant, profiles, assignments, ids)
		if problems := desired.Problems(); len(problems) > 0 {
			t.Fatalf("problems: %v", problems)
		}
		if drift := Diff(desired, observed); len(drift) > 0 {
			t.Errorf("drift: %v", drift)
		}
		got, rep := Merge(observed, desired)
		if rep.Changed || !reflect.DeepEqual(got, observed) {
			t.Errorf("authoritative=%v: import changed the tenant: %+v", tenant.Authoritative, got)
		}
		assertEqual(t, "unmanaged", Unmanaged(observed, desired), UnmanagedSummary{})
	}
}

func TestMergeReportsRemovals(t *testing.T) {
	observed := mergeObserved()
	desired := buildFor(authoritativeTenant(), observed, nil, nil)
	_, rep := Merge(observed, desired)
	assertEqual(t, "removed", rep.Removed, []string{
		"include target " + AllUsers,
		"include target " + gid(1),
		"exclude target " + gid(2),
		`passkey profile "Strict"`,
	})
}

func TestUnmanaged(t *testing.T) {
	observed := mergeObserved()
	observed.IncludeTargets = append(observed.IncludeTargets, includeTarget(gid(5), pid(1)))
	desired := buildFor(mergeTenant(), observed,
		[]ProfileSpec{strictSpec(profileLife(suspend))}, // declared, whatever its state
		[]AssignmentSpec{
			adminsSpec(func(s *AssignmentSpec) { s.Exclude = true; s.Profiles = nil }), // gid 1, but in the other list
			contractorsSpec(func(s *AssignmentSpec) { s.GroupID = strings.ToUpper(gid(2)) }),
		})
	assertEqual(t, "unmanaged", Unmanaged(observed, desired), UnmanagedSummary{
		Profiles:       []UnmanagedProfile{{ID: pid(1), Name: "Default passkey profile"}},
		IncludeTargets: []string{AllUsers, gid(1), gid(5)},
	})
}

// TestMergeMovedTarget: an assignment whose group or mode changed had its
// old target in Entra (AssignmentSpec.Applied); the old one goes when the
// new one is written, and stays while the assignment cannot move.
func TestMergeMovedTarget(t *testing.T) {
	wasAt := func(group string, exclude bool) func(*AssignmentSpec) {
		return func(s *AssignmentSpec) { s.Applied = []AppliedTarget{{GroupID: group, Exclude: exclude}} }
	}
	movedAdmins := func(mutate ...func(*AssignmentSpec)) AssignmentSpec {
		return assignmentSpec("admins", 0, gid(3), []string{"strict"}, append([]func(*AssignmentSpec){wasAt(gid(1), false)}, mutate...)...)
	}
	for _, tc := range []mergeCase{{
		name:        "moved to another group: the old target goes, the new one is appended",
		assignments: []AssignmentSpec{movedAdmins(), contractorsSpec()},
		want: func(p *Policy) {
			p.IncludeTargets = append(p.IncludeTargets[:1], includeTarget(gid(3), pid(2)))
		},
	}, {
		name: "moved from Include to Exclude: the target changes list",
		assignments: []AssignmentSpec{
			assignmentSpec("admins", 0, gid(1), nil, wasAt(gid(1), false), func(s *AssignmentSpec) { s.Exclude = true }),
			contractorsSpec(),
		},
		want: func(p *Policy) {
			p.IncludeTargets = p.IncludeTargets[:1]
			p.ExcludeTargets = append(p.ExcludeTargets, excludeTarget(gid(1)))
		},
	}, {
		name:        "deletionPolicy Orphan leaves the old target",
		assignments: []AssignmentSpec{movedAdmins(func(s *AssignmentSpec) { s.Orphan = true }), contractorsSpec()},
		want: func(p *Policy) {
			p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(3), pid(2)))
		},
	}, {
		name:        "driftPolicy Report moves nothing",
		assignments: []AssignmentSpec{movedAdmins(assignmentLife(report)), contractorsSpec()},
	}, {
		name:        "suspended moves nothing",
		assignments: []AssignmentSpec{movedAdmins(assignmentLife(suspend)), contractorsSpec()},
	}, {
		name:   "Authoritative keeps the old target while the new group is unresolved",
		tenant: authoritativeTenant(),
		assignments: []AssignmentSpec{
			movedAdmins(func(s *AssignmentSpec) { s.GroupID = "" }),
			contractorsSpec(),
		},
		wantBuild: map[Ref]string{assignmentRef("admins"): ReasonGroupNotResolved},
		want: func(p *Policy) {
			p.IncludeTargets = p.IncludeTargets[1:] // all_users, undeclared, goes; gid 1 stays
		},
	}, {
		name: "a target another assignment now declares is left to it",
		assignments: []AssignmentSpec{
			movedAdmins(), contractorsSpec(),
			assignmentSpec("ops", 1, gid(1), []string{"strict"}, func(s *AssignmentSpec) { s.RegistrationRequired = true }),
		},
		want: func(p *Policy) {
			p.IncludeTargets[1].IsRegistrationRequired = true
			p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(3), pid(2)))
		},
	}, {
		// The soak's case: moved Exclude G₄ → Exclude G₃, the PATCH applied
		// but not confirmed (G₃ pending), then moved to Include G₃.
		name: "a pending target goes like a confirmed one: G₃ is not left both excluded and included",
		observed: func(p *Policy) {
			p.ExcludeTargets = append(p.ExcludeTargets, excludeTarget(gid(3)))
		},
		assignments: []AssignmentSpec{
			assignmentSpec("admins", 0, gid(3), []string{"strict"}, func(s *AssignmentSpec) {
				s.Applied = []AppliedTarget{{GroupID: gid(4), Exclude: true}, {GroupID: gid(3), Exclude: true}}
			}),
			contractorsSpec(),
		},
		want: func(p *Policy) {
			p.ExcludeTargets = p.ExcludeTargets[:1]
			p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(3), pid(2)))
		},
	}, {
		name: "every held target that Entra still has goes when the assignment moves",
		observed: func(p *Policy) {
			p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(4), pid(2)))
		},
		assignments: []AssignmentSpec{
			movedAdmins(func(s *AssignmentSpec) { s.Applied = append(s.Applied, AppliedTarget{GroupID: gid(4)}) }),
			contractorsSpec(),
		},
		want: func(p *Policy) {
			p.IncludeTargets = []Target{p.IncludeTargets[0], includeTarget(gid(3), pid(2))}
		},
	}, {
		name:        "deleting takes out the old target and the new one",
		observed:    func(p *Policy) { p.IncludeTargets = append(p.IncludeTargets, includeTarget(gid(3), pid(2))) },
		assignments: []AssignmentSpec{movedAdmins(assignmentLife(deleting)), contractorsSpec()},
		want: func(p *Policy) {
			p.IncludeTargets = p.IncludeTargets[:1]
		},
	}} {
		t.Run(tc.name, tc.run)
	}
}

func TestUnmanagedCountsATargetNotYetMovedAsManaged(t *testing.T) {
	observed := mergeObserved()
	assignments := []AssignmentSpec{
		assignmentSpec("admins", 0, "", []string{"strict"}, func(s *AssignmentSpec) {
			s.Applied = []AppliedTarget{{GroupID: gid(1)}}
		}),
		contractorsSpec(),
	}
	desired := buildFor(mergeTenant(), observed, []ProfileSpec{strictSpec()}, assignments)
	got := Unmanaged(observed, desired)
	assertEqual(t, "unmanaged include targets", got.IncludeTargets, []string{AllUsers})
}

// A profile holding a value this version does not know is never rewritten:
// its resource says why.
func TestMergeLeavesUnknownValuesAlone(t *testing.T) {
	mergeCase{
		name:         "unknown passkey type",
		observed:     func(p *Policy) { p.Profiles[1].PasskeyTypes = []string{PasskeyDeviceBound, "unknownFutureValue"} },
		wantProblems: map[Ref]string{profileRef("strict"): ReasonUnknownValue},
		mention:      `Entra holds passkeyTypes member "unknownFutureValue", which this version of the operator does not know`,
	}.run(t)
}
