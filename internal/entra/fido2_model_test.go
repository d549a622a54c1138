package entra

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/microsoft/kiota-abstractions-go/serialization"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
)

func serialize(t *testing.T, p serialization.Parsable) map[string]any {
	t.Helper()
	w := jsonserialization.NewJsonSerializationWriter()
	if err := w.WriteObjectValue("", p); err != nil {
		t.Fatal(err)
	}
	data, err := w.GetSerializedContent()
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("serialized %s: %v", data, err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func TestSerializeOmitsNilAndSendsEmptyCollections(t *testing.T) {
	got := serialize(t, &Fido2Configuration{
		State:          ptr(MethodStateEnabled),
		IncludeTargets: []*IncludeTarget{{ID: AllUsers, TargetType: TargetTypeGroup, AllowedPasskeyProfiles: []string{"p1"}}},
		ExcludeTargets: []*ExcludeTarget{},
	})
	want := map[string]any{
		"@odata.type": Fido2ODataType,
		"state":       "enabled",
		"includeTargets": []any{map[string]any{
			"id": "all_users", "targetType": "group", "isRegistrationRequired": false, "allowedPasskeyProfiles": []any{"p1"},
		}},
		"excludeTargets": []any{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("serialized\n got %v\nwant %v", got, want)
	}
}

func TestSerializeProfileAlwaysWhole(t *testing.T) {
	got := serialize(t, &Fido2Configuration{PasskeyProfiles: []*PasskeyProfile{{
		ID: "p1", Name: "Admins", PasskeyTypes: PasskeyTypeDeviceBound,
		AttestationEnforcement: AttestationRegistrationOnly,
		KeyRestrictions:        KeyRestrictions{EnforcementType: EnforcementAllow}, // nil AAGUIDs
	}}})
	profiles := got["passkeyProfiles"].([]any)
	want := map[string]any{
		"id": "p1", "name": "Admins", "passkeyTypes": "deviceBound", "attestationEnforcement": "registrationOnly",
		"keyRestrictions": map[string]any{"isEnforced": false, "enforcementType": "allow", "aaGuids": []any{}},
	}
	if len(profiles) != 1 || !reflect.DeepEqual(profiles[0], want) {
		t.Errorf("profile serialized as %v, want %v", profiles, want)
	}
}

func TestParseGraphDocument(t *testing.T) {
	doc := `{
	  "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#policies/authenticationMethodsPolicy/authenticationMethodConfigurations/$entity",
	  "@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration",
	  "id": "Fido2", "state": "disabled", "isSelfServiceRegistrationAllowed": true, "isAttestationEnforced": true,
	  "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []},
	  "defaultPasskeyProfile": "00000000-0000-0000-0000-000000000001",
	  "passkeyProfiles": [{"id": "00000000-0000-0000-0000-000000000001", "name": "Default passkey profile",
	    "passkeyTypes": "synced,deviceBound", "attestationEnforcement": "disabled",
	    "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": ["cb69481e-8ff7-4039-93ec-0a2729a154a8"]}}],
	  "includeTargets": [{"targetType": "group", "id": "all_users", "isRegistrationRequired": false,
	    "allowedPasskeyProfiles": ["00000000-0000-0000-0000-000000000001"]}],
	  "excludeTargets": []
	}`
	node, err := jsonserialization.NewJsonParseNode([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	v, err := node.GetObjectValue(CreateFido2ConfigurationFromDiscriminatorValue)
	if err != nil {
		t.Fatal(err)
	}
	cfg := v.(*Fido2Configuration)
	want := &Fido2Configuration{
		ID: ptr("Fido2"), State: ptr(MethodStateDisabled), IsSelfServiceRegistrationAllowed: ptr(true), IsAttestationEnforced: ptr(true),
		KeyRestrictions:       &KeyRestrictions{EnforcementType: EnforcementBlock, AAGUIDs: []string{}},
		DefaultPasskeyProfile: ptr("00000000-0000-0000-0000-000000000001"),
		PasskeyProfiles: []*PasskeyProfile{{
			ID: "00000000-0000-0000-0000-000000000001", Name: "Default passkey profile",
			PasskeyTypes: "synced,deviceBound", AttestationEnforcement: AttestationDisabled,
			KeyRestrictions: KeyRestrictions{IsEnforced: true, EnforcementType: EnforcementAllow, AAGUIDs: []string{"cb69481e-8ff7-4039-93ec-0a2729a154a8"}},
		}},
		IncludeTargets: []*IncludeTarget{{ID: AllUsers, TargetType: TargetTypeGroup, AllowedPasskeyProfiles: []string{"00000000-0000-0000-0000-000000000001"}}},
		ExcludeTargets: []*ExcludeTarget{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("parsed\n got %+v\nwant %+v", cfg, want)
	}
}

func TestParsePasskeyTypes(t *testing.T) {
	tests := []struct {
		in      string
		want    PasskeyTypes
		wantErr bool
	}{
		{in: "deviceBound", want: PasskeyTypeDeviceBound},
		{in: "synced", want: PasskeyTypeSynced},
		// Members keep their order: "synced,deviceBound" is what was written.
		{in: "synced, deviceBound", want: "synced,deviceBound"},
		{in: "", want: ""},
		{in: " ", want: ""},
		// Graph's enum evolves: a member this code does not know is kept.
		{in: "deviceBound,unknownFutureValue", want: "deviceBound,unknownFutureValue"},
		{in: "deviceBound,hybrid", want: "deviceBound,hybrid"},
		{in: "deviceBound,", wantErr: true},
		{in: "device bound", wantErr: true},
		{in: "1synced", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParsePasskeyTypes(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePasskeyTypes(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPasskeyTypesMembers(t *testing.T) {
	for _, wire := range []PasskeyTypes{"", "deviceBound", "synced,deviceBound", "deviceBound,unknownFutureValue", ",", "a,,b", " synced"} {
		members := wire.Members()
		if members == nil {
			t.Errorf("%q.Members() = nil, want a list", wire)
		}
		if got := joinMembers(members); got != string(wire) {
			t.Errorf("joinMembers(%q.Members()) = %q", wire, got)
		}
	}
	types := JoinPasskeyTypes(PasskeyTypeSynced, "hybrid")
	if types != "synced,hybrid" || !types.Has(PasskeyTypeSynced) || !types.Has("hybrid") || types.Has(PasskeyTypeDeviceBound) {
		t.Errorf("JoinPasskeyTypes(synced, hybrid) = %q and Has disagrees", types)
	}
}
