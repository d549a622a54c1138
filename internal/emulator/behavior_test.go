package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestNewProfileIDsAndSamePatchReferences runs every answer to the two open
// questions about new profiles against what a client may send: a new
// profile without id, with its own id, with its own id and a target naming
// it in the same PATCH, and the documented two-step flow.
func TestNewProfileIDsAndSamePatchReferences(t *testing.T) {
	const clientID = "84c712c1-8688-4679-8546-a603ff82da46"
	newProfile := func(id string) obj {
		return profileObj(id, "EPOW passkey profile", "deviceBound", "registrationOnly", keyRestrictionsObj(true, "allow", aaguidY))
	}
	withProfile := func(id string) obj {
		d := defaultDoc()
		d["passkeyProfiles"] = append(d["passkeyProfiles"].([]any), newProfile(id))
		return d
	}
	const rejectMsg = "A new passkey profile cannot carry an id: the service assigns it. Leave 'id' out of the new passkey profile 'EPOW passkey profile'."
	type outcome struct {
		code, msg string // empty code: 204
		keptID    bool   // the stored profile has the client's id
	}
	ok, kept := outcome{}, outcome{keptID: true}
	missing := outcome{code: "badRequest", msg: "Include conditions are missing passkey profile targets"}
	rejected := outcome{code: "badRequest", msg: rejectMsg}
	tests := []struct {
		ids                                   NewProfileIDs
		refs                                  Verdict
		withoutID, withID, withIDAndReference outcome
	}{
		{NewProfileIDsAssign, Refuse, ok, ok, missing},
		{NewProfileIDsAssign, Allow, ok, ok, missing}, // the client's id never exists
		{NewProfileIDsHonour, Refuse, ok, kept, missing},
		{NewProfileIDsHonour, Allow, ok, kept, kept},
		{NewProfileIDsReject, Refuse, ok, rejected, rejected},
		{NewProfileIDsReject, Allow, ok, rejected, rejected},
	}
	env, token := graphEnv(t, Options{})
	for _, tt := range tests {
		t.Run(string(tt.ids)+"/"+string(tt.refs), func(t *testing.T) {
			// Set at run time through the admin API, as a test binary would.
			if resp, body := env.do(http.MethodPut, "/_emulator/tenants/"+tenantA+"/behavior", "",
				js(obj{"newProfileIds": tt.ids, "samePatchReference": tt.refs})); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PUT behavior = %d %s", resp.StatusCode, body)
			}
			cases := []struct {
				name string
				body obj
				want outcome
			}{
				{"without id", withProfile(""), tt.withoutID},
				{"with the client's id", withProfile(clientID), tt.withID},
				{"with the client's id and a target naming it", func() obj {
					d := withProfile(clientID)
					d["includeTargets"] = append(d["includeTargets"].([]any), targetObj(groupX, false, clientID))
					return d
				}(), tt.withIDAndReference},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					if err := env.emu.Reset(tenantA); err != nil {
						t.Fatal(err)
					}
					resp, body := env.do(http.MethodPatch, fido2Path, token, js(c.body))
					if c.want.code != "" {
						expectPolicyError(t, resp, body, c.want.code, c.want.msg)
						return
					}
					if resp.StatusCode != http.StatusNoContent {
						t.Fatalf("PATCH = %d %s", resp.StatusCode, body)
					}
					p := profileNamed(t, decode(t, env.getBody(token)), "EPOW passkey profile")
					id, _ := p["id"].(string)
					if !isGUID(id) || (id == clientID) != c.want.keptID {
						t.Errorf("new profile id %q (client's %q), want kept %v", id, clientID, c.want.keptID)
					}
				})
			}
			// The documented flow works under every answer: create without
			// id, read the id back, then name it from a target.
			t.Run("two steps", func(t *testing.T) {
				if err := env.emu.Reset(tenantA); err != nil {
					t.Fatal(err)
				}
				if resp, body := env.do(http.MethodPatch, fido2Path, token, js(withProfile(""))); resp.StatusCode != http.StatusNoContent {
					t.Fatalf("create = %d %s", resp.StatusCode, body)
				}
				got := decode(t, env.getBody(token))
				id := profileNamed(t, got, "EPOW passkey profile")["id"].(string)
				got["includeTargets"] = append(got["includeTargets"].([]any), targetObj(groupX, false, id))
				if resp, body := env.do(http.MethodPatch, fido2Path, token, js(got)); resp.StatusCode != http.StatusNoContent {
					t.Fatalf("assign = %d %s", resp.StatusCode, body)
				}
			})
		})
	}
}

func TestBehaviorSettings(t *testing.T) {
	env := newTestEnv(t, Options{Behavior: Behavior{SamePatchReference: Allow}})
	env.seed(tenantA, secret, RolePolicyReadWrite)
	env.seed(tenantB, secret, RolePolicyReadWrite)

	// Options set every tenant's defaults; unset fields are the built-in ones.
	want := Behavior{NewProfileIDs: NewProfileIDsAssign, SamePatchReference: Allow, AttestationWithSynced: Refuse}
	if b, err := env.emu.Behavior(tenantA); err != nil || b != want {
		t.Errorf("Behavior() = %+v, %v, want %+v", b, err, want)
	}
	// Per tenant, through the Go API.
	if err := env.emu.SetBehavior(tenantA, Behavior{NewProfileIDs: NewProfileIDsReject}); err != nil {
		t.Fatal(err)
	}
	if b, _ := env.emu.Behavior(tenantA); b.NewProfileIDs != NewProfileIDsReject || b.SamePatchReference != Allow {
		t.Errorf("after SetBehavior: %+v", b)
	}
	if b, _ := env.emu.Behavior(tenantB); b != want {
		t.Errorf("tenant B changed with A: %+v", b)
	}
	// Through the admin API.
	path := "/_emulator/tenants/" + tenantB + "/behavior"
	if resp, body := env.do(http.MethodPut, path, "", `{"attestationWithSynced":"allow"}`); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT behavior = %d %s", resp.StatusCode, body)
	}
	resp, body := env.do(http.MethodGet, path, "", "")
	var got Behavior
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 || got.AttestationWithSynced != Allow || got.SamePatchReference != Allow {
		t.Errorf("GET behavior = %d %s", resp.StatusCode, body)
	}
	if resp, _ := env.do(http.MethodDelete, path, "", ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE behavior = %d", resp.StatusCode)
	}
	if b, _ := env.emu.Behavior(tenantB); b != want {
		t.Errorf("after DELETE: %+v, want the defaults %+v", b, want)
	}
	// Bad answers are refused with the answers that exist.
	for _, bad := range []string{`{"newProfileIds":"honor"}`, `{"samePatchReference":"yes"}`, `{"attestationWithSynced":"Refuse"}`, `{"other":1}`} {
		if resp, body := env.do(http.MethodPut, path, "", bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT behavior %s = %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
	resp, body = env.do(http.MethodPut, path, "", `{"newProfileIds":"honor"}`)
	if !strings.Contains(string(body), `newProfileIds \"honor\": want assign, honour or reject`) {
		t.Errorf("refusal = %d %s", resp.StatusCode, body)
	}
	if resp, _ := env.do(http.MethodPut, "/_emulator/tenants/unknown/behavior", "", `{}`); resp.StatusCode != http.StatusNotFound {
		t.Errorf("PUT behavior of an unknown tenant = %d", resp.StatusCode)
	}
	if _, err := New(Options{Behavior: Behavior{NewProfileIDs: "keep"}}); err == nil {
		t.Error("New with a bad behavior succeeded")
	}
	// A seed may carry the behaviour and the document.
	seed := obj{"tenantId": "d0d0d0d0-0000-4000-8000-00000000000d", "behavior": obj{"newProfileIds": "honour"}, "fido2": neverMigrated()}
	if resp, body := env.do(http.MethodPost, "/_emulator/tenants", "", js(seed)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed = %d %s", resp.StatusCode, body)
	}
	if b, _ := env.emu.Behavior("d0d0d0d0-0000-4000-8000-00000000000d"); b.NewProfileIDs != NewProfileIDsHonour {
		t.Errorf("seeded behavior = %+v", b)
	}
	if doc, _, _ := env.emu.Fido2("d0d0d0d0-0000-4000-8000-00000000000d"); doc.DefaultPasskeyProfile != "" {
		t.Errorf("seeded document = %+v", doc)
	}
}

func TestParseAnswers(t *testing.T) {
	for _, s := range []string{"assign", "honour", "reject"} {
		if v, err := ParseNewProfileIDs(s); err != nil || string(v) != s {
			t.Errorf("ParseNewProfileIDs(%q) = %q, %v", s, v, err)
		}
	}
	for _, s := range []string{"", "honor", "Assign"} {
		if _, err := ParseNewProfileIDs(s); err == nil || !strings.Contains(err.Error(), "want assign, honour or reject") {
			t.Errorf("ParseNewProfileIDs(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"refuse", "allow"} {
		if v, err := ParseVerdict(s); err != nil || string(v) != s {
			t.Errorf("ParseVerdict(%q) = %q, %v", s, v, err)
		}
	}
	if _, err := ParseVerdict("deny"); err == nil || !strings.Contains(err.Error(), "want refuse or allow") {
		t.Errorf("ParseVerdict(deny) = %v", err)
	}
}

// TestLegacySettingsMirrorTheDefaultProfile: the deprecated tenant-wide
// isAttestationEnforced and keyRestrictions follow the default profile, and
// the default profile follows them.
func TestLegacySettingsMirrorTheDefaultProfile(t *testing.T) {
	deviceBoundDefault := func() obj {
		d := defaultDoc()
		profiles(d)[0]["passkeyTypes"] = "deviceBound"
		return d
	}
	sameAsDefault := func(t *testing.T, got obj) obj {
		t.Helper()
		def := profileNamed(t, got, DefaultPasskeyProfileName)
		if (got["isAttestationEnforced"] == true) != (def["attestationEnforcement"] == "registrationOnly") ||
			js(got["keyRestrictions"]) != js(def["keyRestrictions"]) {
			t.Errorf("tenant-wide %v %v, default profile %v %v", got["isAttestationEnforced"], got["keyRestrictions"],
				def["attestationEnforcement"], def["keyRestrictions"])
		}
		return def
	}
	runRuleCases(t, []ruleCase{
		{name: "the default profile's attestation and key restrictions change the tenant-wide ones", start: deviceBoundDefault,
			edit: func(d obj) {
				profiles(d)[0]["attestationEnforcement"] = "registrationOnly"
				profiles(d)[0]["keyRestrictions"] = keyRestrictionsObj(true, "allow", aaguidY)
			},
			check: func(t *testing.T, got obj) {
				sameAsDefault(t, got)
				if got["isAttestationEnforced"] != true || js(got["keyRestrictions"]) != js(keyRestrictionsObj(true, "allow", aaguidY)) {
					t.Errorf("tenant-wide settings = %v %v", got["isAttestationEnforced"], got["keyRestrictions"])
				}
			}},
		{name: "the tenant-wide attestation changes the default profile", start: deviceBoundDefault,
			body: `{"isAttestationEnforced":true}`,
			check: func(t *testing.T, got obj) {
				if def := sameAsDefault(t, got); def["attestationEnforcement"] != "registrationOnly" {
					t.Errorf("default profile = %v", def)
				}
			}},
		{name: "the tenant-wide key restrictions change the default profile", start: defaultDoc,
			body: `{"keyRestrictions":{"isEnforced":true,"enforcementType":"block","aaGuids":["` + aaguidY + `"]}}`,
			check: func(t *testing.T, got obj) {
				if def := sameAsDefault(t, got); js(def["keyRestrictions"]) != js(keyRestrictionsObj(true, "block", aaguidY)) {
					t.Errorf("default profile = %v", def)
				}
			}},
		{name: "the tenant-wide attestation on a default profile allowing synced passkeys", start: defaultDoc,
			body: `{"isAttestationEnforced":true}`,
			code: "badRequest", msg: "Passkey profile '00000000-0000-0000-0000-000000000001': attestation can be enforced only when passkeyTypes is 'deviceBound' alone"},
		{name: "the same, allowed", start: defaultDoc, behavior: Behavior{AttestationWithSynced: Allow},
			body: `{"isAttestationEnforced":true}`,
			check: func(t *testing.T, got obj) {
				if def := sameAsDefault(t, got); def["attestationEnforcement"] != "registrationOnly" {
					t.Errorf("default profile = %v", def)
				}
			}},
		{name: "a body carrying profiles: the default profile wins over the tenant-wide values beside it", start: defaultDoc,
			body: docsSamplePatch,
			check: func(t *testing.T, got obj) {
				if def := sameAsDefault(t, got); got["isAttestationEnforced"] != false || def["attestationEnforcement"] != "disabled" {
					t.Errorf("after the docs sample: %v", got)
				}
			}},
	})
}

// TestNeverMigratedTenant: a tenant that never had passkey profiles is
// migrated by the first write that starts using them.
func TestNeverMigratedTenant(t *testing.T) {
	migratedDefault := func(t *testing.T, got obj) {
		t.Helper()
		def := profileNamed(t, got, DefaultPasskeyProfileName)
		// From the tenant-wide settings: attestation enforced, so
		// device-bound passkeys only, and the key restrictions.
		if got["defaultPasskeyProfile"] != DefaultPasskeyProfileID || def["id"] != DefaultPasskeyProfileID ||
			def["passkeyTypes"] != "deviceBound" || def["attestationEnforcement"] != "registrationOnly" ||
			js(def["keyRestrictions"]) != js(keyRestrictionsObj(true, "block", aaguidZ)) {
			t.Errorf("migrated document = %v", got)
		}
	}
	runRuleCases(t, []ruleCase{
		{name: "resent unchanged: still not migrated", start: neverMigrated, edit: func(obj) {},
			check: func(t *testing.T, got obj) {
				if got["defaultPasskeyProfile"] != nil || len(got["passkeyProfiles"].([]any)) != 0 {
					t.Errorf("document = %v", got)
				}
			}},
		{name: "a legacy target added: still not migrated", start: neverMigrated,
			edit: func(d obj) {
				d["includeTargets"] = append(d["includeTargets"].([]any), obj{"id": AllUsers, "targetType": "group", "isRegistrationRequired": false})
			},
			check: func(t *testing.T, got obj) {
				if got["defaultPasskeyProfile"] != nil || len(got["includeTargets"].([]any)) != 2 {
					t.Errorf("document = %v", got)
				}
			}},
		{name: "enabling the method migrates", start: neverMigrated, edit: func(d obj) { d["state"] = "enabled" },
			check: func(t *testing.T, got obj) {
				migratedDefault(t, got)
				target := got["includeTargets"].([]any)[0].(obj)
				if js(target["allowedPasskeyProfiles"]) != `["`+DefaultPasskeyProfileID+`"]` {
					t.Errorf("the existing target was not given the default profile: %v", target)
				}
			}},
		{name: "the first profile written migrates, and joins the default one", start: neverMigratedAbsent,
			edit: func(d obj) {
				d["passkeyProfiles"] = []any{profileObj("", "Security keys", "deviceBound", "disabled", keyRestrictionsObj(false, "block"))}
			},
			check: func(t *testing.T, got obj) {
				migratedDefault(t, got)
				if len(got["passkeyProfiles"].([]any)) != 2 || !isGUID(profileNamed(t, got, "Security keys")["id"].(string)) {
					t.Errorf("profiles = %v", got["passkeyProfiles"])
				}
			}},
		{name: "the first write may edit the migrated default profile by its id", start: neverMigrated,
			edit: func(d obj) {
				d["passkeyProfiles"] = []any{profileObj(DefaultPasskeyProfileID, DefaultPasskeyProfileName, "deviceBound", "disabled", keyRestrictionsObj(false, "allow"))}
			},
			check: func(t *testing.T, got obj) {
				def := profileNamed(t, got, DefaultPasskeyProfileName)
				if len(got["passkeyProfiles"].([]any)) != 1 || def["attestationEnforcement"] != "disabled" || got["isAttestationEnforced"] != false {
					t.Errorf("document = %v", got)
				}
			}},
		{name: "but not rename it", start: neverMigrated,
			edit: func(d obj) {
				d["passkeyProfiles"] = []any{profileObj(DefaultPasskeyProfileID, "Everyone", "deviceBound", "disabled", keyRestrictionsObj(false, "allow"))}
			},
			code: "badRequest", msg: "It is not possible to rename the default passkey profile."},
		{name: "a default profile cannot be named without profiles", start: neverMigrated,
			edit: func(d obj) { d["defaultPasskeyProfile"] = profileA },
			code: "badRequest", msg: "The property 'defaultPasskeyProfile' cannot be changed; the tenant has no default passkey profile."},
		{name: "a target naming a profile the tenant does not have", start: neverMigrated,
			edit: func(d obj) { d["includeTargets"] = []any{targetObj(groupX, false, profileA)} },
			code: "badRequest", msg: "Include conditions are missing passkey profile targets"},
	})
}

func TestPolicyReadAllReadsButDoesNotWrite(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.mustSeed(Tenant{ID: tenantA, Apps: []App{{ClientID: appRO, ClientSecret: secret, Roles: []string{RolePolicyReadAll}}}})
	token := env.token(tenantA, appRO, secret)
	if resp, body := env.do(http.MethodGet, fido2Path, token, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET with Policy.Read.All = %d %s", resp.StatusCode, body)
	}
	if resp, body := env.do(http.MethodGet, "/v1.0/policies/authenticationMethodsPolicy", token, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET the authentication methods policy with Policy.Read.All = %d %s", resp.StatusCode, body)
	}
	resp, body := env.do(http.MethodPatch, fido2Path, token, typed(`{"state":"enabled"}`))
	expectGraphError(t, resp, body, http.StatusForbidden, "accessDenied", "Request Authorization failed")
	resp, body = env.do(http.MethodDelete, fido2Path, token, "")
	expectGraphError(t, resp, body, http.StatusForbidden, "accessDenied", "Request Authorization failed")
}

// TestPortalEditKeepsWhatTheViewDoesNotModel: a typed portal edit changes
// what it changes and leaves the rest of the stored JSON alone.
func TestPortalEditKeepsWhatTheViewDoesNotModel(t *testing.T) {
	env, token := graphEnv(t, Options{})
	env.put(extendedTenant())
	if _, err := env.emu.PortalEdit(tenantA, func(d *Fido2Document) {
		d.PasskeyProfiles[1].Name = "Synced passkeys"
		d.PasskeyProfiles = append(d.PasskeyProfiles[:2], PasskeyProfile{Name: "Keys", PasskeyTypes: "deviceBound",
			AttestationEnforcement: AttestationDisabled, KeyRestrictions: KeyRestrictions{EnforcementType: EnforcementBlock}})
		d.IncludeTargets[0].AllowedPasskeyProfiles = d.IncludeTargets[0].AllowedPasskeyProfiles[:2]
	}); err != nil {
		t.Fatal(err)
	}
	got := decode(t, env.getBody(token))
	want := extendedTenant()
	synced := profileNamed(t, got, "Synced passkeys")
	if synced["passkeyTypes"] != "synced,unknownFutureValue" || js(synced["keyRestrictions"]) != js(profiles(want)[1]["keyRestrictions"]) {
		t.Errorf("renamed profile = %v", synced)
	}
	if def := profileNamed(t, got, DefaultPasskeyProfileName); def["isUserVerificationRequired"] != true {
		t.Errorf("default profile lost its unknown property: %v", def)
	}
	keys := profileNamed(t, got, "Keys")
	if id, _ := keys["id"].(string); !isGUID(id) || js(keys["keyRestrictions"]) != js(keyRestrictionsObj(false, "block")) {
		t.Errorf("new profile = %v", keys)
	}
	target := got["includeTargets"].([]any)[0].(obj)
	if target["registrationDeadline"] != "2027-01-01T00:00:00Z" || js(got["passkeyRegistrationCampaign"]) != js(want["passkeyRegistrationCampaign"]) {
		t.Errorf("unknown properties lost: %v", got)
	}
}
