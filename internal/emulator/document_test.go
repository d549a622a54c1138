package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestStoredStatesRoundTrip stores each state a real tenant can hold, reads
// it back through Graph, and writes back what it read: the emulator must
// return the document as stored and accept it back unchanged.
func TestStoredStatesRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		doc  obj
	}{
		{"migrated default with attestation and synced, synced-only profile, repeated and unenforced AAGUIDs", migratedTenant()},
		{"three profiles", threeProfiles()},
		{"unknown properties and enum members at every level", extendedTenant()},
		{"never migrated, empty profiles and null default", neverMigrated()},
		{"never migrated, profile properties absent", neverMigratedAbsent()},
		{"AAGUIDs that are not GUIDs", func() obj {
			d := migratedTenant()
			profiles(d)[1]["keyRestrictions"] = keyRestrictionsObj(false, "allow", "yubikey-5", "{"+aaguidY+"}")
			return d
		}()},
		{"include target without profiles and exclude target that is not an object id", func() obj {
			d := migratedTenant()
			d["includeTargets"] = append(d["includeTargets"].([]any), targetObj(groupX, false))
			d["excludeTargets"] = []any{obj{"id": "all_users", "targetType": "group"}}
			return d
		}()},
		{"four profiles", func() obj {
			d := threeProfiles()
			d["passkeyProfiles"] = append(d["passkeyProfiles"].([]any),
				profileObj(profileC, "Fourth", "deviceBound", "disabled", keyRestrictionsObj(false, "block")))
			return d
		}()},
		{"over the size limit", func() obj {
			d := migratedTenant()
			var many []string
			for range 700 {
				many = append(many, aaguidW)
			}
			profiles(d)[1]["keyRestrictions"] = keyRestrictionsObj(false, "allow", many...)
			return d
		}()},
	}
	env, token := graphEnv(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.put(tt.doc)
			put := []byte(js(tt.doc))
			got := env.getBody(token)
			if !sameDocument(t, got, put) {
				t.Fatalf("GET after PUT:\n got %s\nwant %s", got, put)
			}
			checkGraphShape(t, got)

			v, _ := env.emu.Version(tenantA)
			resp, body := env.do(http.MethodPatch, fido2Path, token, string(got))
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PATCH with the GET body = %d %s", resp.StatusCode, body)
			}
			if again := env.getBody(token); !sameDocument(t, again, got) {
				t.Errorf("resending the GET body changed the document:\nbefore %s\nafter  %s", got, again)
			}
			if after, _ := env.emu.Version(tenantA); after != v+1 {
				t.Errorf("version %d after the PATCH, want %d", after, v+1)
			}
			// The admin API returns the stored document, raw.
			resp, body = env.do(http.MethodGet, "/_emulator/tenants/"+tenantA+"/fido2", "", "")
			var reply struct {
				Document json.RawMessage `json:"document"`
			}
			if err := json.Unmarshal(body, &reply); err != nil || resp.StatusCode != 200 || !sameDocument(t, reply.Document, put) {
				t.Errorf("admin GET fido2 = %d %s, want the stored document", resp.StatusCode, body)
			}
		})
	}
}

// checkGraphShape checks what real GET responses look like: the entity's
// @odata.context and @odata.type, includeTargets@odata.context, and no
// @odata.type on the items of collections.
func checkGraphShape(t *testing.T, body []byte) {
	t.Helper()
	d := decode(t, body)
	if c, _ := d["@odata.context"].(string); !strings.HasSuffix(c, "/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity") {
		t.Errorf("@odata.context = %q", c)
	}
	if d["@odata.type"] != fido2ODataType || d["id"] != fido2ID {
		t.Errorf("@odata.type %v id %v", d["@odata.type"], d["id"])
	}
	if _, ok := d["includeTargets"]; ok {
		c, _ := d["includeTargets@odata.context"].(string)
		if !strings.HasSuffix(c, "/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations('Fido2')/microsoft.graph.fido2AuthenticationMethodConfiguration/includeTargets") {
			t.Errorf("includeTargets@odata.context = %q", c)
		}
	}
	for _, name := range []string{"passkeyProfiles", "includeTargets", "excludeTargets"} {
		list, _ := d[name].([]any)
		for _, item := range list {
			for k := range item.(obj) {
				if strings.HasPrefix(k, "@odata") {
					t.Errorf("%s item carries %s: %v", name, k, item)
				}
			}
		}
	}
}

func TestGetCarriesAnnotationsLikeGraph(t *testing.T) {
	env, token := graphEnv(t, Options{})
	checkGraphShape(t, env.getBody(token))
	// The authentication methods policy lists the configuration with its
	// @odata.type and includeTargets@odata.context.
	_, body := env.do(http.MethodGet, "/v1.0/policies/authenticationMethodsPolicy", token, "")
	if !strings.Contains(string(body), `"@odata.type":"#microsoft.graph.fido2AuthenticationMethodConfiguration"`) ||
		!strings.Contains(string(body), `"includeTargets@odata.context"`) {
		t.Errorf("authenticationMethodsPolicy = %s", body)
	}
}

// TestUnknownPropertiesOnWrite: what a stored document showed to exist may
// be written; what nothing declares is refused as Graph refuses it.
func TestUnknownPropertiesOnWrite(t *testing.T) {
	tests := []struct {
		name  string
		start obj
		edit  func(d obj)
		msg   string // empty: accepted
		check func(t *testing.T, got obj)
	}{
		{
			name: "an unknown top-level property changed", start: extendedTenant(),
			edit: func(d obj) { d["passkeyRegistrationCampaign"] = obj{"state": "disabled"} },
			check: func(t *testing.T, got obj) {
				if js(got["passkeyRegistrationCampaign"]) != `{"state":"disabled"}` {
					t.Errorf("passkeyRegistrationCampaign = %v", got["passkeyRegistrationCampaign"])
				}
			},
		},
		{
			name: "an omitted unknown top-level property is kept", start: extendedTenant(),
			edit: func(d obj) { delete(d, "passkeyRegistrationCampaign"); d["state"] = "disabled" },
			check: func(t *testing.T, got obj) {
				if got["passkeyRegistrationCampaign"] == nil || got["state"] != "disabled" {
					t.Errorf("document = %v", got)
				}
			},
		},
		{
			name: "a resent collection replaces the items whole, their unknown properties as sent", start: extendedTenant(),
			edit: func(d obj) {
				def := profiles(d)[0]
				delete(def, "isUserVerificationRequired")
				def["keyRestrictions"].(obj)["aaGuidLabels"] = []string{"changed"}
				profiles(d)[1]["isUserVerificationRequired"] = false // known to the tenant from another profile
			},
			check: func(t *testing.T, got obj) {
				def, synced := profileNamed(t, got, DefaultPasskeyProfileName), profileNamed(t, got, "synced")
				if _, ok := def["isUserVerificationRequired"]; ok {
					t.Errorf("default profile kept an omitted property: %v", def)
				}
				if js(def["keyRestrictions"].(obj)["aaGuidLabels"]) != `["changed"]` || synced["isUserVerificationRequired"] != false {
					t.Errorf("profiles = %v", got["passkeyProfiles"])
				}
				// The tenant-wide key restrictions follow the default profile's.
				if js(got["keyRestrictions"]) != js(def["keyRestrictions"]) {
					t.Errorf("keyRestrictions %v, default profile's %v", got["keyRestrictions"], def["keyRestrictions"])
				}
			},
		},
		{
			name: "a property no document showed is refused", start: extendedTenant(),
			edit: func(d obj) { profiles(d)[0]["colour"] = "red" },
			msg:  "The property 'colour' does not exist on type 'microsoft.graph.passkeyProfile'.",
		},
		{
			name: "the tenant's unknown property on another type is refused", start: extendedTenant(),
			edit: func(d obj) { d["includeTargets"].([]any)[0].(obj)["isUserVerificationRequired"] = true },
			msg:  "The property 'isUserVerificationRequired' does not exist on type 'microsoft.graph.passkeyAuthenticationMethodTarget'.",
		},
		{
			name: "an unknown property of the default tenant is refused", start: defaultDoc(),
			edit: func(d obj) { d["passkeyRegistrationCampaign"] = obj{} },
			msg:  "The property 'passkeyRegistrationCampaign' does not exist on type 'microsoft.graph.fido2AuthenticationMethodConfiguration'.",
		},
	}
	env, token := graphEnv(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env.put(tt.start)
			body := tt.start
			tt.edit(body)
			resp, rb := env.do(http.MethodPatch, fido2Path, token, js(body))
			if tt.msg != "" {
				expectPolicyError(t, resp, rb, "BadRequest", tt.msg)
				return
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("PATCH = %d %s", resp.StatusCode, rb)
			}
			tt.check(t, decode(t, env.getBody(token)))
		})
	}
}

func TestPutFido2Refusals(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, RolePolicyReadWrite)
	tests := []struct{ name, body, msg string }{
		{"not JSON", `{"state":`, "not JSON"},
		{"not an object", `[]`, "not a JSON object"},
		{"another entity", `{"id":"Sms"}`, `fido2 document: id is`},
		{"a declared property of the wrong JSON type", `{"isAttestationEnforced":"yes"}`, "isAttestationEnforced holds a JSON string"},
		{"a collection that is not an array", `{"passkeyProfiles":{}}`, "passkeyProfiles is not an array"},
		{"an item that is not an object", `{"includeTargets":["all_users"]}`, "includeTargets[0]: not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.do(http.MethodPut, "/_emulator/tenants/"+tenantA+"/fido2", "", tt.body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tt.msg) {
				t.Errorf("PUT = %d %s, want 400 containing %q", resp.StatusCode, body, tt.msg)
			}
			if err := env.emu.PutFido2(tenantA, []byte(tt.body)); err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("PutFido2() = %v, want %q", err, tt.msg)
			}
		})
	}
	if v, _ := env.emu.Version(tenantA); v != 0 {
		t.Errorf("version %d after refused PUTs", v)
	}
	if resp, _ := env.do(http.MethodPut, "/_emulator/tenants/"+tenantB+"/fido2", "", js(migratedTenant())); resp.StatusCode != http.StatusNotFound {
		t.Errorf("PUT to an unknown tenant = %d, want 404", resp.StatusCode)
	}
	if err := env.emu.PutFido2(tenantB, []byte(js(migratedTenant()))); err == nil {
		t.Error("PutFido2(unknown tenant) succeeded")
	}
}

// TestPutFido2GoAPI: the Go API stores the document; Fido2 returns its
// typed view, Fido2JSON the document; a seed can carry it.
func TestPutFido2GoAPI(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, RolePolicyReadWrite)
	if err := env.emu.PutFido2(tenantA, []byte(js(extendedTenant()))); err != nil {
		t.Fatal(err)
	}
	doc, v, err := env.emu.Fido2(tenantA)
	if err != nil || v != 1 || len(doc.PasskeyProfiles) != 3 || doc.PasskeyProfiles[2].AttestationEnforcement != unknownFutureValue ||
		doc.PasskeyProfiles[0].KeyRestrictions.AAGUIDs[2] != aaguidY {
		t.Errorf("Fido2() = %+v, %d, %v", doc, v, err)
	}
	raw, _, _ := env.emu.Fido2JSON(tenantA)
	if !sameDocument(t, raw, []byte(js(extendedTenant()))) {
		t.Errorf("Fido2JSON() = %s", raw)
	}

	// A seed with a document: a new tenant starts with it at version 0.
	if err := env.emu.Seed(Tenant{ID: tenantB, Fido2: []byte(js(neverMigrated()))}); err != nil {
		t.Fatal(err)
	}
	doc, v, _ = env.emu.Fido2(tenantB)
	if v != 0 || doc.DefaultPasskeyProfile != "" || len(doc.PasskeyProfiles) != 0 || doc.PasskeyProfiles == nil {
		t.Errorf("seeded never-migrated tenant: %+v version %d", doc, v)
	}
	if err := env.emu.Seed(Tenant{ID: tenantB, Fido2: []byte(`{"state":1}`)}); err == nil {
		t.Error("Seed with a bad document succeeded")
	}
	// The admin API's tenant view carries the stored document.
	_, body := env.do(http.MethodGet, "/_emulator/tenants/"+tenantB, "", "")
	var summary struct {
		Fido2    json.RawMessage `json:"fido2"`
		Behavior Behavior        `json:"behavior"`
	}
	if err := json.Unmarshal(body, &summary); err != nil || !sameDocument(t, summary.Fido2, []byte(js(neverMigrated()))) ||
		summary.Behavior != builtinBehavior {
		t.Errorf("tenant summary = %s", body)
	}
}

// TestPutMakesLegacySettingsFollowTheDefaultProfile: a stored document
// keeps the deprecated tenant-wide settings equal to the default profile's.
func TestPutMakesLegacySettingsFollowTheDefaultProfile(t *testing.T) {
	env, token := graphEnv(t, Options{})
	d := migratedTenant()
	d["isAttestationEnforced"] = false
	d["keyRestrictions"] = keyRestrictionsObj(false, "block")
	env.put(d)
	got := decode(t, env.getBody(token))
	if got["isAttestationEnforced"] != true || js(got["keyRestrictions"]) != js(profileNamed(t, got, DefaultPasskeyProfileName)["keyRestrictions"]) {
		t.Errorf("legacy settings %v %v, want the default profile's", got["isAttestationEnforced"], got["keyRestrictions"])
	}
}

func TestParseObjectKeepsOrderAndValues(t *testing.T) {
	o, err := parseObject([]byte(`{ "b": 1, "a": {"y": [1, 2], "x": null}, "b": 2, "c@odata.type": "t" }`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(o.bytes()); got != `{"b":2,"a":{"y":[1,2],"x":null},"c@odata.type":"t"}` {
		t.Errorf("bytes() = %s", got)
	}
	if got := string(o.withoutAnnotations().bytes()); got != `{"b":2,"a":{"y":[1,2],"x":null}}` {
		t.Errorf("withoutAnnotations() = %s", got)
	}
	for _, bad := range []string{`[1]`, `{"a":1} {}`, `{"a":}`, ``} {
		if _, err := parseObject([]byte(bad)); err == nil {
			t.Errorf("parseObject(%q) succeeded", bad)
		}
	}
}

func TestSameJSON(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{`{"a":1,"b":[1,2]}`, `{"b":[1,2],"a":1}`, true},
		{`{"a":1}`, `{"a":1,"@odata.type":"x"}`, true},
		{`{"a":null}`, `{}`, true},
		{`{"passkeyTypes":"synced,deviceBound"}`, `{"passkeyTypes":"deviceBound,synced"}`, true},
		{`{"name":"synced,deviceBound"}`, `{"name":"deviceBound,synced"}`, false},
		{`{"b":[1,2]}`, `{"b":[2,1]}`, false},
		{`{"a":1}`, `{"a":1.0}`, false},
		{`[]`, `null`, false},
	}
	for _, tt := range tests {
		if got := sameJSON(json.RawMessage(tt.a), json.RawMessage(tt.b)); got != tt.same {
			t.Errorf("sameJSON(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestCanonicalPasskeyTypes(t *testing.T) {
	for in, want := range map[string]string{
		"synced, deviceBound":                   "deviceBound,synced",
		"unknownFutureValue,synced,synced":      "synced,unknownFutureValue",
		"platform,deviceBound":                  "deviceBound,platform",
		"":                                      "",
		"deviceBound":                           "deviceBound",
		"unknownFutureValue,deviceBound,synced": "deviceBound,synced,unknownFutureValue",
	} {
		if got := canonicalPasskeyTypes(in); got != want {
			t.Errorf("canonicalPasskeyTypes(%q) = %q, want %q", in, got, want)
		}
	}
}
