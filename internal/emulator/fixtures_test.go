package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// Documents for the tests, built as maps so that each test can change
// them. Each function returns a fresh document.

type obj = map[string]any

// fido2Resource is the document as Graph serves it, to decode responses.
type fido2Resource struct {
	Context string `json:"@odata.context,omitempty"`
	Type    string `json:"@odata.type"`
	ID      string `json:"id"`
	Fido2Document
}

const (
	syncedID = "e47a833c-5dfa-45f1-9471-bb0cf0eb425b"
	keysID   = "c2450bed-0ebd-48ca-9c74-3dedbaada48f"
	aaguidZ  = "ee882879-721c-4913-9775-3dfcce97072a"
	aaguidW  = "dd4ec289-e01d-41c9-bb89-70fa845d4bf2"
)

func keyRestrictionsObj(enforced bool, enforcement string, aaguids ...string) obj {
	return obj{"isEnforced": enforced, "enforcementType": enforcement, "aaGuids": append([]string{}, aaguids...)}
}

func profileObj(id, name, types, attestation string, kr obj) obj {
	p := obj{"name": name, "passkeyTypes": types, "attestationEnforcement": attestation, "keyRestrictions": kr}
	if id != "" {
		p["id"] = id
	}
	return p
}

func targetObj(id string, required bool, profiles ...string) obj {
	return obj{"targetType": "group", "id": id, "isRegistrationRequired": required, "allowedPasskeyProfiles": append([]string{}, profiles...)}
}

// defaultDoc is DefaultFido2Document as a Graph PATCH body would carry it.
func defaultDoc() obj {
	var d obj
	if err := json.Unmarshal(mustMarshal(DefaultFido2Document()), &d); err != nil {
		panic(err)
	}
	d["@odata.type"] = fido2ODataType
	return d
}

// migratedTenant has the shape of the verbatim capture of a tenant the
// automatic migration converted (ENTRA-FACTS.md): the default profile
// enforces attestation with synced passkeys allowed, a second profile allows
// synced passkeys alone and lists AAGUIDs it does not enforce, the default
// profile's AAGUID list repeats one, and the deprecated tenant-wide settings
// equal the default profile's.
func migratedTenant() obj {
	return obj{
		"@odata.type":                      fido2ODataType,
		"id":                               "Fido2",
		"state":                            "enabled",
		"isSelfServiceRegistrationAllowed": true,
		"isAttestationEnforced":            true,
		"keyRestrictions":                  keyRestrictionsObj(true, "allow", aaguidY, aaguidZ, aaguidY),
		"defaultPasskeyProfile":            DefaultPasskeyProfileID,
		"passkeyProfiles": []any{
			profileObj(DefaultPasskeyProfileID, DefaultPasskeyProfileName, "deviceBound,synced", "registrationOnly",
				keyRestrictionsObj(true, "allow", aaguidY, aaguidZ, aaguidY)),
			profileObj(syncedID, "synced", "synced", "disabled", keyRestrictionsObj(false, "allow", aaguidW, aaguidZ)),
		},
		"includeTargets": []any{targetObj(AllUsers, false, DefaultPasskeyProfileID, syncedID)},
		"excludeTargets": []any{},
	}
}

// threeProfiles is migratedTenant plus a device-bound profile for a group.
func threeProfiles() obj {
	d := migratedTenant()
	d["passkeyProfiles"] = append(d["passkeyProfiles"].([]any),
		profileObj(keysID, "Security keys", "deviceBound", "registrationOnly", keyRestrictionsObj(true, "allow", aaguidY)))
	d["includeTargets"] = append(d["includeTargets"].([]any), targetObj(groupX, true, keysID))
	return d
}

// extendedTenant holds properties a newer Graph has and the emulator does
// not model, at every level, and enum members it does not know.
func extendedTenant() obj {
	d := migratedTenant()
	d["passkeyRegistrationCampaign"] = obj{"state": "enabled", "snoozeDays": 3}
	d["keyRestrictions"].(obj)["aaGuidLabels"] = []string{"YubiKey 5"}
	def := profiles(d)[0]
	def["keyRestrictions"].(obj)["aaGuidLabels"] = []string{"YubiKey 5"}
	def["isUserVerificationRequired"] = true
	synced := profiles(d)[1]
	synced["passkeyTypes"] = "synced,unknownFutureValue"
	synced["keyRestrictions"].(obj)["enforcementType"] = "unknownFutureValue"
	d["passkeyProfiles"] = append(d["passkeyProfiles"].([]any),
		profileObj(keysID, "Future", "deviceBound,unknownFutureValue", "unknownFutureValue", keyRestrictionsObj(false, "block")))
	target := d["includeTargets"].([]any)[0].(obj)
	target["registrationDeadline"] = "2027-01-01T00:00:00Z"
	target["allowedPasskeyProfiles"] = []string{DefaultPasskeyProfileID, syncedID, keysID}
	d["excludeTargets"] = []any{obj{"id": groupX, "targetType": "unknownFutureValue", "reason": "break-glass"}}
	return d
}

// neverMigrated is a tenant that had passkeys (FIDO2) disabled when the
// automatic migration ran: no passkey profiles, no default profile, targets
// without profiles.
func neverMigrated() obj {
	return obj{
		"@odata.type":                      fido2ODataType,
		"id":                               "Fido2",
		"state":                            "disabled",
		"isSelfServiceRegistrationAllowed": true,
		"isAttestationEnforced":            true,
		"keyRestrictions":                  keyRestrictionsObj(true, "block", aaguidZ),
		"defaultPasskeyProfile":            nil,
		"passkeyProfiles":                  []any{},
		"includeTargets":                   []any{obj{"targetType": "group", "id": groupX, "isRegistrationRequired": false}},
		"excludeTargets":                   []any{},
	}
}

// neverMigratedAbsent is neverMigrated without the profile properties at
// all.
func neverMigratedAbsent() obj {
	d := neverMigrated()
	delete(d, "passkeyProfiles")
	delete(d, "defaultPasskeyProfile")
	return d
}

func profiles(d obj) []obj {
	var out []obj
	for _, p := range d["passkeyProfiles"].([]any) {
		out = append(out, p.(obj))
	}
	return out
}

// profileNamed returns the profile of a decoded GET body with this name.
func profileNamed(t *testing.T, d obj, name string) obj {
	t.Helper()
	list, _ := d["passkeyProfiles"].([]any)
	for _, p := range list {
		if p.(obj)["name"] == name {
			return p.(obj)
		}
	}
	t.Fatalf("no profile named %q in %v", name, d["passkeyProfiles"])
	return nil
}

func js(v any) string { return string(mustMarshal(v)) }

// decode reads a JSON object, numbers as json.Number.
func decode(t *testing.T, data []byte) obj {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var d obj
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return d
}

// withoutAnnotations drops annotation members at every level, and the
// top-level id, for comparing documents "annotations aside".
func withoutAnnotations(v any, top bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, item := range v {
			if strings.Contains(k, "@") || (top && k == "id") {
				continue
			}
			out[k] = withoutAnnotations(item, false)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = withoutAnnotations(item, false)
		}
		return out
	default:
		return v
	}
}

// sameDocument reports whether two fido2 documents are JSON-equal,
// annotations and the entity id aside.
func sameDocument(t *testing.T, a, b []byte) bool {
	t.Helper()
	return reflect.DeepEqual(withoutAnnotations(decode(t, a), true), withoutAnnotations(decode(t, b), true))
}

// getBody returns the body of a Graph GET of the fido2 configuration.
func (env *testEnv) getBody(token string) []byte {
	env.t.Helper()
	resp, body := env.do(http.MethodGet, fido2Path, token, "")
	if resp.StatusCode != http.StatusOK {
		env.t.Fatalf("GET fido2 = %d %s", resp.StatusCode, body)
	}
	return body
}

// put stores a document in tenant A through the admin API.
func (env *testEnv) put(doc obj) {
	env.t.Helper()
	if resp, body := env.do(http.MethodPut, "/_emulator/tenants/"+tenantA+"/fido2", "", js(doc)); resp.StatusCode != http.StatusOK {
		env.t.Fatalf("PUT fido2 = %d %s", resp.StatusCode, body)
	}
}
