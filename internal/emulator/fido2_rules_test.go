package emulator

import (
	"fmt"
	"strings"
	"testing"
)

const (
	profileA = "11111111-1111-1111-1111-111111111111"
	profileB = "22222222-2222-2222-2222-222222222222"
	profileC = "33333333-3333-3333-3333-333333333333"
	groupX   = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	aaguidY  = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
)

func profile(id, types, attestation string, aaguids ...string) PasskeyProfile {
	return PasskeyProfile{
		ID: id, Name: "profile " + id[:4], PasskeyTypes: types, AttestationEnforcement: attestation,
		KeyRestrictions: KeyRestrictions{EnforcementType: EnforcementAllow, AAGUIDs: aaguids},
	}
}

// withEdit returns the default document changed by edit.
func withEdit(edit func(d *Fido2Document)) Fido2Document {
	d := DefaultFido2Document()
	edit(&d)
	return d
}

func TestValidateFido2(t *testing.T) {
	prev := DefaultFido2Document()
	tests := []struct {
		name     string
		next     Fido2Document
		wantCode string
		wantMsg  string // substring; empty means the document is valid
	}{
		{name: "default document", next: prev},
		{
			name: "three profiles with targets",
			next: withEdit(func(d *Fido2Document) {
				d.PasskeyProfiles = append(d.PasskeyProfiles,
					profile(profileA, PasskeyTypeDeviceBound, AttestationRegistrationOnly, aaguidY),
					profile(profileB, PasskeyTypeSynced, AttestationDisabled))
				d.IncludeTargets = append(d.IncludeTargets, IncludeTarget{ID: groupX, TargetType: TargetTypeGroup,
					IsRegistrationRequired: true, AllowedPasskeyProfiles: []string{profileA, profileB}})
				d.ExcludeTargets = []ExcludeTarget{{ID: groupX, TargetType: TargetTypeGroup}}
			}),
		},
		{
			name: "four profiles",
			next: withEdit(func(d *Fido2Document) {
				d.PasskeyProfiles = append(d.PasskeyProfiles,
					profile(profileA, PasskeyTypeSynced, AttestationDisabled),
					profile(profileB, PasskeyTypeSynced, AttestationDisabled),
					profile(profileC, PasskeyTypeSynced, AttestationDisabled))
			}),
			wantCode: "badRequest",
			wantMsg:  "A tenant can have at most 3 passkey profiles, including the default passkey profile; the request has 4.",
		},
		{
			name: "default profile removed",
			next: withEdit(func(d *Fido2Document) {
				d.PasskeyProfiles = []PasskeyProfile{profile(profileA, PasskeyTypeSynced, AttestationDisabled)}
				d.IncludeTargets = nil
			}),
			wantCode: "badRequest",
			wantMsg:  "The default passkey profile '00000000-0000-0000-0000-000000000001' cannot be deleted.",
		},
		{
			name: "default profile changed",
			next: withEdit(func(d *Fido2Document) {
				d.PasskeyProfiles = append(d.PasskeyProfiles, profile(profileA, PasskeyTypeSynced, AttestationDisabled))
				d.DefaultPasskeyProfile = profileA
			}),
			wantCode: "badRequest",
			wantMsg:  "The property 'defaultPasskeyProfile' cannot be changed; the default passkey profile is '00000000-0000-0000-0000-000000000001'.",
		},
		{
			name:     "attestation with synced",
			next:     withEdit(func(d *Fido2Document) { d.PasskeyProfiles[0].AttestationEnforcement = AttestationRegistrationOnly }),
			wantCode: "badRequest",
			wantMsg:  "Passkey profile '00000000-0000-0000-0000-000000000001': attestation can be enforced only when passkeyTypes is 'deviceBound' alone; synced passkeys do not support attestation.",
		},
		{
			name: "attestation with synced only",
			next: withEdit(func(d *Fido2Document) {
				d.PasskeyProfiles = append(d.PasskeyProfiles, profile(profileA, PasskeyTypeSynced, AttestationRegistrationOnly))
			}),
			wantCode: "badRequest",
			wantMsg:  "Passkey profile '11111111-1111-1111-1111-111111111111': attestation can be enforced only",
		},
		{
			name:     "profile AAGUID not a GUID",
			next:     withEdit(func(d *Fido2Document) { d.PasskeyProfiles[0].KeyRestrictions.AAGUIDs = []string{"yubikey-5"} }),
			wantCode: "badRequest",
			wantMsg:  "'yubikey-5' is not a valid AAGUID; an AAGUID is a GUID such as 'cb69481e-8ff7-4039-93ec-0a2729a154a8'.",
		},
		{
			name:     "legacy AAGUID not a GUID",
			next:     withEdit(func(d *Fido2Document) { d.KeyRestrictions.AAGUIDs = []string{"cb69481e8ff7403993ec0a2729a154a8"} }),
			wantCode: "badRequest",
			wantMsg:  "'cb69481e8ff7403993ec0a2729a154a8' is not a valid AAGUID",
		},
		{
			name:     "include target without profiles",
			next:     withEdit(func(d *Fido2Document) { d.IncludeTargets[0].AllowedPasskeyProfiles = []string{} }),
			wantCode: "badRequest",
			wantMsg:  "Include target 'all_users' must name at least one passkey profile in 'allowedPasskeyProfiles'.",
		},
		{
			name:     "include target names a missing profile",
			next:     withEdit(func(d *Fido2Document) { d.IncludeTargets[0].AllowedPasskeyProfiles = []string{profileC} }),
			wantCode: "badRequest",
			wantMsg:  "Include target 'all_users' references passkey profile '33333333-3333-3333-3333-333333333333', which does not exist.",
		},
		{
			name: "profile deleted while a target uses it",
			next: withEdit(func(d *Fido2Document) {
				d.IncludeTargets = append(d.IncludeTargets, IncludeTarget{ID: groupX, TargetType: TargetTypeGroup, AllowedPasskeyProfiles: []string{profileA}})
			}),
			wantCode: "badRequest",
			wantMsg:  "Include target 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa' references passkey profile '11111111-1111-1111-1111-111111111111', which does not exist.",
		},
		{
			name:     "include target id neither all_users nor an object id",
			next:     withEdit(func(d *Fido2Document) { d.IncludeTargets[0].ID = "Engineering" }),
			wantCode: "badRequest",
			wantMsg:  "Include target id 'Engineering' is neither 'all_users' nor an object id.",
		},
		{
			name: "exclude target id not an object id",
			next: withEdit(func(d *Fido2Document) {
				d.ExcludeTargets = []ExcludeTarget{{ID: "all_users", TargetType: TargetTypeGroup}}
			}),
			wantCode: "badRequest",
			wantMsg:  "Exclude target id 'all_users' is not an object id.",
		},
		{
			name: "profile id not a GUID",
			next: withEdit(func(d *Fido2Document) {
				d.PasskeyProfiles = append(d.PasskeyProfiles, profile("admins-profile", PasskeyTypeSynced, AttestationDisabled))
			}),
			wantCode: "badRequest",
			wantMsg:  "Passkey profile id 'admins-profile' is not a valid GUID.",
		},
		{
			name:     "duplicate profile id",
			next:     withEdit(func(d *Fido2Document) { d.PasskeyProfiles = append(d.PasskeyProfiles, d.PasskeyProfiles[0]) }),
			wantCode: "badRequest",
			wantMsg:  "Passkey profile id '00000000-0000-0000-0000-000000000001' is used by more than one passkey profile.",
		},
		{
			name:     "profile without name",
			next:     withEdit(func(d *Fido2Document) { d.PasskeyProfiles[0].Name = "" }),
			wantCode: "badRequest",
			wantMsg:  "Passkey profile '00000000-0000-0000-0000-000000000001' must have a name.",
		},
		{
			name:     "profile without passkey types",
			next:     withEdit(func(d *Fido2Document) { d.PasskeyProfiles[0].PasskeyTypes = "" }),
			wantCode: "badRequest",
			wantMsg:  "Passkey profile '00000000-0000-0000-0000-000000000001' must allow at least one passkey type.",
		},
		{
			name:     "unknown enum value",
			next:     withEdit(func(d *Fido2Document) { d.State = "on" }),
			wantCode: "BadRequest",
			wantMsg:  "Requested value 'on' was not found.",
		},
		{
			name: "policy over 20 KB",
			next: withEdit(func(d *Fido2Document) {
				for i := range 600 {
					d.PasskeyProfiles[0].KeyRestrictions.AAGUIDs = append(d.PasskeyProfiles[0].KeyRestrictions.AAGUIDs, fmt.Sprintf("cb69481e-8ff7-4039-93ec-%012x", i))
				}
			}),
			wantCode: "badRequest",
			wantMsg:  "over its size limit of 20 KB.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateFido2(prev, tt.next.Clone())
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("validateFido2() = %v, want no violation", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("validateFido2() = nil, want %s %q", tt.wantCode, tt.wantMsg)
			}
			if err.Status != 400 || err.Code != tt.wantCode || !strings.Contains(err.Message, tt.wantMsg) {
				t.Errorf("validateFido2() = %d %s %q, want 400 %s containing %q", err.Status, err.Code, err.Message, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestDecodeFido2Patch(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		requireType bool
		wantMsg     string // empty: decodes
		check       func(t *testing.T, p fido2Patch)
	}{
		{name: "missing @odata.type", body: `{"state":"enabled"}`, requireType: true,
			wantMsg: "The request body must include '@odata.type' with the value '#microsoft.graph.fido2AuthenticationMethodConfiguration'."},
		{name: "base type instead of fido2", body: `{"@odata.type":"#microsoft.graph.authenticationMethodConfiguration"}`, requireType: true,
			wantMsg: "A type named '#microsoft.graph.authenticationMethodConfiguration' could not be resolved"},
		{
			name: "booleans as strings, as in an older docs example", body: `{"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration","isAttestationEnforced":"true","isSelfServiceRegistrationAllowed":"False"}`,
			requireType: true,
			check: func(t *testing.T, p fido2Patch) {
				if p.IsAttestationEnforced == nil || !*p.IsAttestationEnforced || p.IsSelfServiceRegistrationAllowed == nil || *p.IsSelfServiceRegistrationAllowed {
					t.Errorf("string booleans decoded as %v %v", p.IsAttestationEnforced, p.IsSelfServiceRegistrationAllowed)
				}
			},
		},
		{
			name: "absent properties stay nil, empty collections are kept",
			body: `{"state":"enabled","excludeTargets":[]}`,
			check: func(t *testing.T, p fido2Patch) {
				if p.State == nil || *p.State != StateEnabled {
					t.Errorf("State = %v, want enabled", p.State)
				}
				if p.PasskeyProfiles != nil || p.IncludeTargets != nil || p.IsSelfServiceRegistrationAllowed != nil {
					t.Errorf("absent properties decoded as present: %+v", p)
				}
				if p.ExcludeTargets == nil || len(*p.ExcludeTargets) != 0 {
					t.Errorf("ExcludeTargets = %v, want present and empty", p.ExcludeTargets)
				}
			},
		},
		{
			name: "passkeyTypes is stored in canonical order",
			body: `{"passkeyProfiles":[{"id":"` + profileA + `","name":"n","passkeyTypes":"synced, deviceBound","attestationEnforcement":"disabled","keyRestrictions":{}}]}`,
			check: func(t *testing.T, p fido2Patch) {
				got := (*p.PasskeyProfiles)[0]
				if got.PasskeyTypes != "deviceBound,synced" {
					t.Errorf("PasskeyTypes = %q, want deviceBound,synced", got.PasskeyTypes)
				}
				if got.KeyRestrictions.EnforcementType != EnforcementBlock || got.KeyRestrictions.AAGUIDs == nil {
					t.Errorf("empty keyRestrictions decoded as %+v, want block with empty list", got.KeyRestrictions)
				}
			},
		},
		{
			name: "annotations are ignored",
			body: `{"@odata.context":"x","includeTargets@odata.context":"y","@odata.type":"microsoft.graph.fido2AuthenticationMethodConfiguration","id":"fido2"}`,
		},
		{name: "unknown top-level property", body: `{"isEnabled":true}`,
			wantMsg: "The property 'isEnabled' does not exist on type 'microsoft.graph.fido2AuthenticationMethodConfiguration'. Make sure to only use property names that are defined by the type or mark the type as open type."},
		{name: "unknown nested property", body: `{"passkeyProfiles":[{"id":"` + profileA + `","colour":"red"}]}`,
			wantMsg: "The property 'colour' does not exist on type 'microsoft.graph.passkeyProfile'."},
		{name: "wrong @odata.type", body: `{"@odata.type":"#microsoft.graph.smsAuthenticationMethodConfiguration"}`,
			wantMsg: "A type named '#microsoft.graph.smsAuthenticationMethodConfiguration' could not be resolved by the model."},
		{name: "another entity id", body: `{"id":"Sms"}`,
			wantMsg: "The key property 'id' cannot be changed"},
		{name: "wrong JSON type", body: `{"isSelfServiceRegistrationAllowed":"yes"}`,
			wantMsg: `Cannot convert the literal '"yes"' to the expected type 'Edm.Boolean'.`},
		{name: "null collection", body: `{"passkeyProfiles":null}`,
			wantMsg: "A null value was found for the property named 'passkeyProfiles'"},
		{name: "collection given an object", body: `{"includeTargets":{"id":"all_users"}}`,
			wantMsg: "An unexpected 'StartObject' node was found when reading from the JSON reader. A 'StartArray' node was expected."},
		{name: "unknown enum member", body: `{"state":"on"}`, wantMsg: "Requested value 'on' was not found."},
		{name: "unknown passkey type", body: `{"passkeyProfiles":[{"id":"` + profileA + `","name":"n","passkeyTypes":"deviceBound,cloud","attestationEnforcement":"disabled","keyRestrictions":{}}]}`,
			wantMsg: "Requested value 'cloud' was not found."},
		{name: "profile missing a required property", body: `{"passkeyProfiles":[{"id":"` + profileA + `","name":"n","passkeyTypes":"synced","keyRestrictions":{}}]}`,
			wantMsg: "A passkey profile is missing the required property 'attestationEnforcement'."},
		{name: "not JSON", body: `{"state":`,
			wantMsg: "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{name: "not an object", body: `["state"]`,
			wantMsg: "An unexpected 'StartArray' node was found when reading from the JSON reader. A 'StartObject' node was expected."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodeFido2Patch([]byte(tt.body), tt.requireType)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("decodeFido2Patch() = %v, want success", err)
				}
				if tt.check != nil {
					tt.check(t, p)
				}
				return
			}
			if err == nil {
				t.Fatalf("decodeFido2Patch() succeeded, want error %q", tt.wantMsg)
			}
			if err.Status != 400 || !strings.Contains(err.Message, tt.wantMsg) {
				t.Errorf("decodeFido2Patch() = %d %q, want 400 containing %q", err.Status, err.Message, tt.wantMsg)
			}
		})
	}
}

func TestPatchApplyMergesAndReplacesCollectionsWhole(t *testing.T) {
	prev := withEdit(func(d *Fido2Document) {
		d.PasskeyProfiles = append(d.PasskeyProfiles, profile(profileA, PasskeyTypeSynced, AttestationDisabled))
		d.ExcludeTargets = []ExcludeTarget{{ID: groupX, TargetType: TargetTypeGroup}}
	})
	state := StateEnabled
	onlyDefault := []PasskeyProfile{prev.PasskeyProfiles[0]}
	next := fido2Patch{State: &state, PasskeyProfiles: &onlyDefault}.apply(prev)

	if next.State != StateEnabled {
		t.Errorf("State = %q, want the patched value", next.State)
	}
	if !next.IsSelfServiceRegistrationAllowed || next.DefaultPasskeyProfile != DefaultPasskeyProfileID {
		t.Errorf("properties absent from the patch changed: %+v", next)
	}
	if len(next.PasskeyProfiles) != 1 || next.PasskeyProfiles[0].ID != DefaultPasskeyProfileID {
		t.Errorf("PasskeyProfiles = %+v, want the patch's collection whole", next.PasskeyProfiles)
	}
	if len(next.ExcludeTargets) != 1 {
		t.Errorf("ExcludeTargets = %+v, want it untouched", next.ExcludeTargets)
	}
	if len(prev.PasskeyProfiles) != 2 {
		t.Errorf("apply changed its input: %+v", prev.PasskeyProfiles)
	}
}
