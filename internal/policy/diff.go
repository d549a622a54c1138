package policy

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Drift is one field where Entra differs from what a resource declares.
// Values are rendered for people: lists comma-separated and sorted.
type Drift struct {
	Field    string
	Desired  string
	Observed string
}

// Fields a Drift names: paths in the Entra document.
const (
	FieldState                   = "state"
	FieldSelfServiceRegistration = "isSelfServiceRegistrationAllowed"
	FieldProfile                 = "profile"
	FieldDefault                 = "defaultPasskeyProfile"
	FieldName                    = "name"
	FieldPasskeyTypes            = "passkeyTypes"
	FieldAttestation             = "attestationEnforcement"
	FieldKeyEnforced             = "keyRestrictions.isEnforced"
	FieldEnforcementType         = "keyRestrictions.enforcementType"
	FieldAAGUIDs                 = "keyRestrictions.aaGuids"
	FieldTarget                  = "target"
	FieldRegistrationRequired    = "isRegistrationRequired"
	FieldAllowedProfiles         = "allowedPasskeyProfiles"
)

// Rendered values of Drift.
const (
	Present = "present"
	Absent  = "absent"
	none    = "(none)"
	unset   = "(unset)"
)

// Diff compares, resource by resource, what is declared with what Entra
// holds. Resources that are suspended, being deleted or have a problem are
// not compared. Only resources with drift are in the map.
func Diff(desired Desired, observed Policy) map[Ref][]Drift {
	out := map[Ref][]Drift{}
	add := func(ref Ref, drift []Drift) {
		if len(drift) > 0 {
			out[ref] = drift
		}
	}
	if desired.Tenant.Problem == nil {
		add(desired.Tenant.Spec.Ref, tenantDrift(desired.Tenant.Spec, observed))
	}
	for _, p := range desired.Profiles {
		if p.Spec.diffed(p.Problem) {
			add(p.Spec.Ref, profileDriftIn(p, observed))
		}
	}
	labels := profileLabels(observed, desired)
	for _, a := range desired.Assignments {
		if a.Spec.diffed(a.Problem) {
			add(a.Spec.Ref, targetDriftIn(a, observed, labels))
		}
	}
	return out
}

func tenantDrift(spec TenantSpec, observed Policy) []Drift {
	var out []Drift
	if spec.MethodState != "" && !strings.EqualFold(spec.MethodState, observed.State) {
		out = append(out, Drift{FieldState, spec.MethodState, cmp.Or(observed.State, unset)})
	}
	want, got := spec.SelfServiceRegistration, observed.SelfServiceRegistration
	if want != nil && (got == nil || *want != *got) {
		out = append(out, Drift{FieldSelfServiceRegistration, renderBool(want), renderBool(got)})
	}
	return out
}

func profileDriftIn(d DesiredProfile, observed Policy) []Drift {
	i := findProfile(observed.Profiles, d.Profile.ID)
	if i < 0 {
		return []Drift{{FieldProfile, Present, Absent}}
	}
	out := profileDrift(d.against(observed.Profiles[i]), observed.Profiles[i])
	if d.Spec.Default && !sameID(observed.DefaultProfileID, d.Profile.ID) {
		out = append(out, Drift{FieldDefault, d.Profile.ID, cmp.Or(observed.DefaultProfileID, unset)})
	}
	return out
}

// profileDrift compares the fields we manage. With the key restrictions off,
// Entra keeps whatever type and list it had; they mean nothing then, so they
// are not drift.
func profileDrift(want, got Profile) []Drift {
	var out []Drift
	if want.Name != got.Name {
		out = append(out, Drift{FieldName, want.Name, got.Name})
	}
	if !equalSets(want.PasskeyTypes, got.PasskeyTypes) {
		out = append(out, Drift{FieldPasskeyTypes, renderSet(want.PasskeyTypes), renderSet(got.PasskeyTypes)})
	}
	if !strings.EqualFold(want.AttestationEnforcement, got.AttestationEnforcement) {
		out = append(out, Drift{FieldAttestation, want.AttestationEnforcement, got.AttestationEnforcement})
	}
	wk, gk := want.KeyRestrictions, got.KeyRestrictions
	if wk.IsEnforced != gk.IsEnforced {
		out = append(out, Drift{FieldKeyEnforced, strconv.FormatBool(wk.IsEnforced), strconv.FormatBool(gk.IsEnforced)})
	}
	if !wk.IsEnforced {
		return out
	}
	if !strings.EqualFold(wk.EnforcementType, gk.EnforcementType) {
		out = append(out, Drift{FieldEnforcementType, wk.EnforcementType, gk.EnforcementType})
	}
	if !equalSets(wk.AAGUIDs, gk.AAGUIDs) {
		out = append(out, Drift{FieldAAGUIDs, renderSet(wk.AAGUIDs), renderSet(gk.AAGUIDs)})
	}
	return out
}

func targetDriftIn(d DesiredAssignment, observed Policy, labels labeler) []Drift {
	list := observed.IncludeTargets
	if d.Spec.Exclude {
		list = observed.ExcludeTargets
	}
	i := findTarget(list, d.Target.ID)
	if i < 0 {
		return []Drift{{FieldTarget, Present, Absent}}
	}
	return targetDrift(d.Target, list[i], labels)
}

// targetDrift compares the fields we manage. An exclude target has none but
// its id, so it only drifts by being absent. Profiles are shown by name
// where labels knows them.
func targetDrift(want, got Target, labels labeler) []Drift {
	var out []Drift
	if want.IsRegistrationRequired != got.IsRegistrationRequired {
		out = append(out, Drift{FieldRegistrationRequired,
			strconv.FormatBool(want.IsRegistrationRequired), strconv.FormatBool(got.IsRegistrationRequired)})
	}
	if !equalSets(want.AllowedPasskeyProfiles, got.AllowedPasskeyProfiles) {
		out = append(out, Drift{FieldAllowedProfiles,
			renderSet(labels.all(want.AllowedPasskeyProfiles)), renderSet(labels.all(got.AllowedPasskeyProfiles))})
	}
	return out
}

// labeler names profile ids for people: lower-case id → profile name.
type labeler map[string]string

// profileLabels knows the names Entra holds and, for profiles not created
// yet, the names declared.
func profileLabels(observed Policy, desired Desired) labeler {
	l := labeler{}
	for _, p := range desired.Profiles {
		if p.Profile.Name != "" {
			l[strings.ToLower(p.Profile.ID)] = p.Profile.Name
		}
	}
	for _, p := range observed.Profiles {
		l[strings.ToLower(p.ID)] = p.Name
	}
	return l
}

func (l labeler) all(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmp.Or(l[strings.ToLower(id)], id)
	}
	return out
}

// normalSet is a list as a set: lower case, sorted, without repeats.
func normalSet(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strings.ToLower(v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// equalSets compares lists ignoring order, repeats and case.
func equalSets(a, b []string) bool { return slices.Equal(normalSet(a), normalSet(b)) }

// renderSet shows a list as a set: sorted (ignoring case), without repeats,
// comma-separated, in the spelling first seen.
func renderSet(values []string) string {
	if len(values) == 0 {
		return none
	}
	sorted := slices.Clone(values)
	slices.SortStableFunc(sorted, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	sorted = slices.CompactFunc(sorted, strings.EqualFold)
	return strings.Join(sorted, ", ")
}

func renderBool(b *bool) string {
	if b == nil {
		return unset
	}
	return strconv.FormatBool(*b)
}

// JoinWords lists words for a message: "a", "a and b", "a, b and c".
func JoinWords(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	default:
		return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
	}
}
