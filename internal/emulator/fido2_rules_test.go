package emulator

import (
	"fmt"
	"net/http"
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

// ruleCase is a PATCH against a stored document: the body is the stored
// document (as a client resends what it read) after edit, or body.
type ruleCase struct {
	name     string
	start    func() obj // the stored document; nil: the default one
	behavior Behavior
	edit     func(d obj)
	body     string // used when edit is nil; @odata.type is added
	code     string // refusal code; empty: accepted
	msg      string // refusal message (substring)
	check    func(t *testing.T, got obj)
}

// runRuleCases runs each case on tenant A of one emulator.
func runRuleCases(t *testing.T, tests []ruleCase) {
	t.Helper()
	env, token := graphEnv(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := defaultDoc
			if tt.start != nil {
				start = tt.start
			}
			env.put(start())
			if err := env.emu.SetBehavior(tenantA, tt.behavior); err != nil {
				t.Fatal(err)
			}
			before := env.getBody(token)
			v, _ := env.emu.Version(tenantA)
			body := typed(tt.body)
			if tt.edit != nil {
				d := start()
				tt.edit(d)
				body = js(d)
			}
			resp, rb := env.do(http.MethodPatch, fido2Path, token, body)
			if tt.code != "" {
				expectPolicyError(t, resp, rb, tt.code, tt.msg)
				if after := env.getBody(token); !sameDocument(t, after, before) {
					t.Errorf("a refused PATCH changed the document:\nbefore %s\nafter  %s", before, after)
				}
				if after, _ := env.emu.Version(tenantA); after != v {
					t.Errorf("version %d after a refused PATCH, want %d", after, v)
				}
				return
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PATCH = %d %s, want 204", resp.StatusCode, rb)
			}
			if tt.check != nil {
				tt.check(t, decode(t, env.getBody(token)))
			}
		})
	}
}

// TestRulesJudgeWhatAPatchChanges: each rule refuses a PATCH that writes a
// refused state anew, and accepts the same state resent unchanged.
func TestRulesJudgeWhatAPatchChanges(t *testing.T) {
	addProfile := func(p obj) func(d obj) {
		return func(d obj) { d["passkeyProfiles"] = append(d["passkeyProfiles"].([]any), p) }
	}
	deviceBound := func(id, name string) obj {
		return profileObj(id, name, "deviceBound", "disabled", keyRestrictionsObj(false, "block"))
	}
	fourProfiles := func() obj {
		d := threeProfiles()
		addProfile(deviceBound(profileC, "Fourth"))(d)
		return d
	}
	runRuleCases(t, []ruleCase{
		// At most three profiles.
		{name: "a fourth profile", start: threeProfiles, edit: addProfile(deviceBound("", "Fourth")),
			code: "badRequest", msg: "A tenant can have at most 3 passkey profiles, including the default passkey profile; the request has 4."},
		{name: "four profiles held, resent", start: fourProfiles, edit: func(obj) {}},

		// The default profile.
		{name: "the default profile deleted", start: migratedTenant,
			edit: func(d obj) { d["passkeyProfiles"] = d["passkeyProfiles"].([]any)[1:] },
			code: "badRequest", msg: "The default passkey profile '00000000-0000-0000-0000-000000000001' cannot be deleted."},
		{name: "the default profile renamed", start: migratedTenant,
			edit: func(d obj) { profiles(d)[0]["name"] = "Everyone" },
			code: "badRequest", msg: "It is not possible to rename the default passkey profile."},
		{name: "another profile renamed", start: migratedTenant,
			edit:  func(d obj) { profiles(d)[1]["name"] = "Synced passkeys" },
			check: func(t *testing.T, got obj) { profileNamed(t, got, "Synced passkeys") }},
		{name: "the default re-pointed", start: migratedTenant,
			edit: func(d obj) { d["defaultPasskeyProfile"] = syncedID },
			code: "badRequest", msg: "The property 'defaultPasskeyProfile' cannot be changed; the default passkey profile is '00000000-0000-0000-0000-000000000001'."},

		// Attestation with synced passkeys.
		{name: "attestation with synced written anew", start: defaultDoc,
			edit: func(d obj) { profiles(d)[0]["attestationEnforcement"] = "registrationOnly" },
			code: "badRequest", msg: "Passkey profile '00000000-0000-0000-0000-000000000001': attestation can be enforced only when passkeyTypes is 'deviceBound' alone; synced passkeys do not support attestation."},
		{name: "synced added to a profile enforcing attestation", start: threeProfiles,
			edit: func(d obj) { profiles(d)[2]["passkeyTypes"] = "synced,deviceBound" },
			code: "badRequest", msg: "attestation can be enforced only when passkeyTypes is 'deviceBound' alone"},
		{name: "a new profile with attestation and synced", start: migratedTenant,
			edit: addProfile(profileObj("", "Both", "synced", "registrationOnly", keyRestrictionsObj(false, "block"))),
			code: "badRequest", msg: "attestation can be enforced only when passkeyTypes is 'deviceBound' alone"},
		{name: "the migrated default's attestation with synced, resent", start: migratedTenant, edit: func(obj) {}},
		{name: "the migrated default's key restrictions changed", start: migratedTenant,
			edit: func(d obj) { profiles(d)[0]["keyRestrictions"] = keyRestrictionsObj(true, "allow", aaguidY) },
			check: func(t *testing.T, got obj) {
				def := profileNamed(t, got, DefaultPasskeyProfileName)
				if js(def["keyRestrictions"]) != js(keyRestrictionsObj(true, "allow", aaguidY)) || def["attestationEnforcement"] != "registrationOnly" {
					t.Errorf("default profile = %v", def)
				}
			}},
		{name: "attestation with synced written anew, allowed", start: defaultDoc, behavior: Behavior{AttestationWithSynced: Allow},
			edit: func(d obj) { profiles(d)[0]["attestationEnforcement"] = "registrationOnly" },
			check: func(t *testing.T, got obj) {
				if got["isAttestationEnforced"] != true {
					t.Errorf("isAttestationEnforced = %v, want the default profile's", got["isAttestationEnforced"])
				}
			}},

		// Profiles still in use.
		{name: "a profile removed while a target allows it", start: migratedTenant,
			edit: func(d obj) { d["passkeyProfiles"] = d["passkeyProfiles"].([]any)[:1] },
			code: "badRequest", msg: "Passkey profile 'e47a833c-5dfa-45f1-9471-bb0cf0eb425b' cannot be deleted while include target 'all_users' allows it"},
		{name: "a profile removed with its assignment", start: migratedTenant,
			edit: func(d obj) {
				d["passkeyProfiles"] = d["passkeyProfiles"].([]any)[:1]
				d["includeTargets"] = []any{targetObj(AllUsers, false, DefaultPasskeyProfileID)}
			},
			check: func(t *testing.T, got obj) {
				if len(got["passkeyProfiles"].([]any)) != 1 {
					t.Errorf("profiles = %v", got["passkeyProfiles"])
				}
			}},

		// Include targets.
		{name: "an include target naming no profile", start: migratedTenant,
			edit: func(d obj) { d["includeTargets"] = append(d["includeTargets"].([]any), targetObj(groupX, false)) },
			code: "badRequest", msg: "Include conditions are missing passkey profile targets"},
		{name: "an include target without allowedPasskeyProfiles", body: `{"includeTargets":[{"id":"all_users","targetType":"group"}]}`,
			code: "badRequest", msg: "Include conditions are missing passkey profile targets"},
		{name: "an include target naming only an unknown profile", body: `{"includeTargets":[{"id":"` + groupX + `","allowedPasskeyProfiles":["` + profileB + `"]}]}`,
			code: "badRequest", msg: "Include conditions are missing passkey profile targets"},
		{name: "an include target naming an unknown profile too",
			body: `{"includeTargets":[{"id":"` + groupX + `","allowedPasskeyProfiles":["` + DefaultPasskeyProfileID + `","` + profileB + `"]}]}`,
			code: "badRequest", msg: "Include target 'aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa' references passkey profile '22222222-2222-2222-2222-222222222222', which does not exist."},
		{name: "an include target naming no profile, held, resent",
			start: func() obj {
				d := migratedTenant()
				d["includeTargets"] = append(d["includeTargets"].([]any), targetObj(groupX, false))
				return d
			},
			edit: func(d obj) { d["state"] = "disabled" }},
		{name: "an include target id that is neither all_users nor an object id",
			body: `{"includeTargets":[{"id":"Engineering","allowedPasskeyProfiles":["` + DefaultPasskeyProfileID + `"]}]}`,
			code: "badRequest", msg: "Include target id 'Engineering' is neither 'all_users' nor an object id."},
		{name: "allowedPasskeyProfiles holding something other than a GUID",
			body: `{"includeTargets":[{"id":"all_users","allowedPasskeyProfiles":["Default passkey profile"]}]}`,
			code: "BadRequest", msg: `Cannot convert the literal '"Default passkey profile"' to the expected type 'Edm.Guid'.`},

		// Exclude targets.
		{name: "an exclude target that is not an object id", body: `{"excludeTargets":[{"id":"all_users","targetType":"group"}]}`,
			code: "badRequest", msg: "Exclude target id 'all_users' is not an object id."},
		{name: "an exclude target that is not an object id, held, resent",
			start: func() obj {
				d := migratedTenant()
				d["excludeTargets"] = []any{obj{"id": "legacy-group", "targetType": "group"}}
				return d
			},
			edit: func(d obj) {
				d["excludeTargets"] = append(d["excludeTargets"].([]any), obj{"id": groupX, "targetType": "group"})
			}},

		// Profile ids and fields.
		{name: "a new profile with a client id that is not a GUID", start: migratedTenant, behavior: Behavior{NewProfileIDs: NewProfileIDsHonour},
			edit: addProfile(deviceBound("admins-profile", "Admins")),
			code: "badRequest", msg: "Passkey profile id 'admins-profile' is not a valid GUID."},
		{name: "a new profile with the id of another", start: migratedTenant, behavior: Behavior{NewProfileIDs: NewProfileIDsHonour},
			edit: addProfile(deviceBound(syncedID, "Twin")),
			code: "badRequest", msg: "Passkey profile id 'e47a833c-5dfa-45f1-9471-bb0cf0eb425b' is used by more than one passkey profile."},
		{name: "a profile without a name", start: migratedTenant,
			edit: func(d obj) { profiles(d)[1]["name"] = "" },
			code: "badRequest", msg: "Passkey profile 'e47a833c-5dfa-45f1-9471-bb0cf0eb425b' must have a name."},
		{name: "a profile without passkey types", start: migratedTenant,
			edit: func(d obj) { profiles(d)[1]["passkeyTypes"] = "" },
			code: "badRequest", msg: "Passkey profile 'e47a833c-5dfa-45f1-9471-bb0cf0eb425b' must allow at least one passkey type."},
		{name: "a new profile without attestationEnforcement", start: migratedTenant,
			edit: addProfile(obj{"name": "n", "passkeyTypes": "synced", "keyRestrictions": obj{}}),
			code: "badRequest", msg: "A passkey profile is missing the required property 'attestationEnforcement'."},
		{name: "a profile losing its key restrictions", start: migratedTenant,
			edit: func(d obj) { delete(profiles(d)[1], "keyRestrictions") },
			code: "badRequest", msg: "A passkey profile is missing the required property 'keyRestrictions'."},
		{name: "a profile missing key restrictions, held, resent",
			start: func() obj {
				d := migratedTenant()
				delete(profiles(d)[1], "keyRestrictions")
				return d
			},
			edit: func(d obj) { profiles(d)[1]["name"] = "renamed" }},

		// Enum members.
		{name: "an unknown enum member", start: migratedTenant,
			edit: func(d obj) { profiles(d)[1]["passkeyTypes"] = "synced,cloud" },
			code: "BadRequest", msg: "Requested value 'cloud' was not found."},
		{name: "unknownFutureValue written anew", start: migratedTenant,
			edit: func(d obj) { profiles(d)[1]["attestationEnforcement"] = "unknownFutureValue" },
			code: "badRequest", msg: "The value 'unknownFutureValue' of 'attestationEnforcement' is a placeholder for values newer than the client; it cannot be written."},
		{name: "unknownFutureValue held, resent in a changed profile", start: extendedTenant,
			edit: func(d obj) { profiles(d)[2]["name"] = "Renamed" },
			check: func(t *testing.T, got obj) {
				p := profileNamed(t, got, "Renamed")
				if p["passkeyTypes"] != "deviceBound,unknownFutureValue" || p["attestationEnforcement"] != unknownFutureValue {
					t.Errorf("profile = %v", p)
				}
			}},

		// AAGUIDs: no check is documented, a repeated one is stored.
		{name: "AAGUIDs repeated or not GUIDs, written anew", start: migratedTenant,
			edit: func(d obj) {
				profiles(d)[1]["keyRestrictions"] = keyRestrictionsObj(true, "allow", aaguidY, aaguidY, "yubikey-5")
			},
			check: func(t *testing.T, got obj) {
				if kr := js(profileNamed(t, got, "synced")["keyRestrictions"]); !strings.Contains(kr, `["`+aaguidY+`","`+aaguidY+`","yubikey-5"]`) {
					t.Errorf("keyRestrictions = %s", kr)
				}
			}},

		// Size.
		{name: "over 20 KB", start: migratedTenant,
			edit: func(d obj) {
				var many []string
				for i := range 600 {
					many = append(many, fmt.Sprintf("cb69481e-8ff7-4039-93ec-%012x", i))
				}
				profiles(d)[1]["keyRestrictions"] = keyRestrictionsObj(true, "allow", many...)
			},
			code: "badRequest", msg: "Persistence of policy failed with error: Policy size is larger than allowed by "},
	})
}

// TestPolicySizeMessageIsVerbatim checks the byte count in Entra's message.
func TestPolicySizeMessageIsVerbatim(t *testing.T) {
	env, token := graphEnv(t, Options{})
	d := defaultDoc()
	var many []string
	for i := range 600 {
		many = append(many, fmt.Sprintf("cb69481e-8ff7-4039-93ec-%012x", i))
	}
	profiles(d)[0]["keyRestrictions"] = keyRestrictionsObj(true, "allow", many...)
	// What the emulator would store: the legacy key restrictions follow.
	d["keyRestrictions"] = profiles(d)[0]["keyRestrictions"]
	stored, err := storedDocument([]byte(js(d)))
	if err != nil {
		t.Fatal(err)
	}
	over := len(stored.bytes()) - maxPolicyBytes
	resp, body := env.do(http.MethodPatch, fido2Path, token, js(d))
	expectPolicyError(t, resp, body, "badRequest", fmt.Sprintf(
		"Persistence of policy failed with error: Policy size is larger than allowed by %d bytes. Please change your targeting to fewer groups or settings and try again.", over))
}
