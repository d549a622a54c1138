package controller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/manifests"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// migratedDocument is shaped like the verbatim capture of a migrated tenant
// in ENTRA-FACTS.md: the default profile enforces attestation with synced
// passkeys allowed and lists an AAGUID twice; a synced-only profile keeps an
// AAGUID list that is not enforced; the deprecated top-level fields mirror
// the default profile; and properties a later Graph may add sit at every
// level.
var migratedDocument = `{
  "id": "Fido2", "state": "enabled", "isSelfServiceRegistrationAllowed": true,
  "isAttestationEnforced": true,
  "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": ["` + yubikey + `", "` + yubikey + `"]},
  "defaultPasskeyProfile": "00000000-0000-0000-0000-000000000001",
  "futureTopLevelSetting": {"mode": "preview"},
  "passkeyProfiles": [{
    "id": "00000000-0000-0000-0000-000000000001", "name": "Default passkey profile",
    "passkeyTypes": "deviceBound,synced", "attestationEnforcement": "registrationOnly",
    "keyRestrictions": {"isEnforced": true, "enforcementType": "allow", "aaGuids": ["` + yubikey + `", "` + yubikey + `"], "futureKeyField": 3},
    "futureProfileField": ["a", "b"]
  }, {
    "id": "7d5e3a10-2b4c-4d6e-8f01-a2b3c4d5e6f7", "name": "Synced only", "passkeyTypes": "synced",
    "attestationEnforcement": "disabled",
    "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": ["` + yubikey + `"]}
  }],
  "includeTargets": [
    {"id": "all_users", "targetType": "group", "isRegistrationRequired": false,
     "allowedPasskeyProfiles": ["00000000-0000-0000-0000-000000000001"], "futureTargetField": true},
    {"id": "` + staffGroup + `", "targetType": "group", "isRegistrationRequired": false,
     "allowedPasskeyProfiles": ["7d5e3a10-2b4c-4d6e-8f01-a2b3c4d5e6f7"]}
  ],
  "excludeTargets": []
}`

// TestAdoptingAMigratedTenant: export → validate → apply changes nothing
// in a tenant as Entra's migration left it, and one managed change then
// changes that field and nothing else — unknown properties, the repeated
// AAGUID, the list that is not enforced and the legacy fields included.
func TestAdoptingAMigratedTenant(t *testing.T) {
	ctx := context.Background()
	tenantID, namespace, secret := uuid.NewString(), "adopt-"+uuid.NewString()[:8], "s3cr3t-"+uuid.NewString()
	if err := emu.Seed(emulator.Tenant{
		ID:     tenantID,
		Apps:   []emulator.App{{ClientID: clientID, ClientSecret: secret, Roles: emulator.ReadWriteRoles}},
		Groups: []emulator.Group{{ID: staffGroup, DisplayName: "Staff"}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := emu.PutFido2(tenantID, []byte(migratedDocument)); err != nil {
		t.Fatal(err)
	}
	before := storedDocument(t, tenantID)

	objects, warnings := exportFrom(t, tenantID, namespace, secret)
	if len(warnings) > 0 {
		t.Fatalf("export warned: %v", warnings)
	}
	rendered, err := manifests.Render(objects)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := manifests.Load([]string{"-"}, bytes.NewReader(rendered))
	if err != nil {
		t.Fatal(err)
	}
	set, problems, err := manifests.Validate(docs)
	if err != nil || len(problems) > 0 {
		t.Fatalf("validate refused the export (%v): %v\n%s", err, problems, rendered)
	}
	if w := set.Warnings(); len(w) != 1 || !strings.Contains(w[0].Message, policy.WarningAttestationWithSynced) {
		t.Errorf("validate warnings %v, want the one about attestation with synced passkeys", w)
	}

	patches := emu.Stats().Count(tenantID, "PATCH", fido2Path, emulator.AnyStatus)
	applyAllReady(t, objects)
	if n := emu.Stats().Count(tenantID, "PATCH", fido2Path, emulator.AnyStatus) - patches; n != 0 {
		t.Errorf("adopting sent %d PATCHes, want 0", n)
	}
	if after := storedDocument(t, tenantID); !reflect.DeepEqual(after, before) {
		t.Errorf("adopting changed the document:\nbefore %v\nafter  %v", before, after)
	}
	var def *passkeysv1alpha1.PasskeyProfile
	for _, o := range objects {
		if p, ok := o.Object.(*passkeysv1alpha1.PasskeyProfile); ok && p.Spec.Default {
			def = p
		}
	}
	if def == nil || def.Status.Name != "Default passkey profile" {
		t.Errorf("the default profile's status.name is not Entra's name: %+v", def)
	} else if ready := meta.FindStatusCondition(def.Status.Conditions, ready); !strings.Contains(ready.Message, "warning: "+policy.WarningAttestationWithSynced) {
		t.Errorf("the default profile's Ready message does not warn: %q", ready.Message)
	}

	// One managed change: registration required for all users.
	var everyone *passkeysv1alpha1.GroupAssignment
	for _, o := range objects {
		if a, ok := o.Object.(*passkeysv1alpha1.GroupAssignment); ok && a.Spec.Target.AllUsers != nil {
			everyone = a
		}
	}
	update(t, everyone, func() { everyone.Spec.RegistrationRequired = true })
	waitCondition(t, everyone, ready, metav1.ConditionTrue, "Succeeded")
	eventually(t, "the change in Entra", func() (bool, string) {
		_ = env.Client.Get(ctx, client.ObjectKeyFromObject(everyone), everyone)
		return emu.Stats().Count(tenantID, "PATCH", fido2Path, emulator.AnyStatus) > patches, "no PATCH yet"
	})
	want := before
	want["includeTargets"].([]any)[0].(map[string]any)["isRegistrationRequired"] = true
	if after := storedDocument(t, tenantID); !reflect.DeepEqual(after, want) {
		t.Errorf("the change touched more than isRegistrationRequired:\nwant %v\ngot  %v", want, after)
	}
}

// storedDocument is the tenant's fido2 document as the emulator stores it.
func storedDocument(t *testing.T, tenantID string) map[string]any {
	t.Helper()
	raw, _, err := emu.Fido2JSON(tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// neverMigrated is a tenant that had FIDO2 off and so was not moved to
// passkey profiles: no profiles, no default (ENTRA-FACTS: likely).
const neverMigrated = `{
  "id": "Fido2", "state": "disabled", "isSelfServiceRegistrationAllowed": true,
  "isAttestationEnforced": false, "keyRestrictions": {"isEnforced": false, "enforcementType": "block", "aaGuids": []},
  "defaultPasskeyProfile": null, "passkeyProfiles": [],
  "includeTargets": [{"id": "all_users", "targetType": "group", "isRegistrationRequired": false}],
  "excludeTargets": []
}`

// TestTenantNeverMigrated: the operator cannot make Entra's default profile,
// so default: true waits and both statuses say why; once the method is
// enabled Entra makes it (the emulator's guess, docs/emulator.md), and the
// resource takes it over without creating another.
func TestTenantNeverMigrated(t *testing.T) {
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) { tenant.Spec.Suspend = true })
	if err := emu.PutFido2(f.tenantID, []byte(neverMigrated)); err != nil {
		t.Fatal(err)
	}
	base := f.profile("base", passkeysv1alpha1.PasskeyProfileSpec{Default: true, PasskeyTypes: boundTyp})
	setSuspend(t, f, false)
	waitCondition(t, base, ready, metav1.ConditionFalse, policy.ReasonNoDefaultProfile)
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
	if c := meta.FindStatusCondition(f.tenant.Status.Conditions, ready); !strings.Contains(c.Message, policy.NoDefaultProfile) {
		t.Errorf("the tenant's Ready message does not say why: %q", c.Message)
	}
	if doc := f.fido2(); len(doc.PasskeyProfiles) != 0 {
		t.Errorf("the operator created %d profiles in a tenant Entra has not migrated", len(doc.PasskeyProfiles))
	}

	update(t, f.tenant, func() {
		f.tenant.Spec.Method = &passkeysv1alpha1.MethodSettings{State: passkeysv1alpha1.MethodEnabled}
	})
	waitCondition(t, base, ready, metav1.ConditionTrue, "Succeeded")
	doc := f.fido2()
	if len(doc.PasskeyProfiles) != 1 || !strings.EqualFold(doc.PasskeyProfiles[0].ID, doc.DefaultPasskeyProfile) ||
		!strings.EqualFold(base.Status.ProfileID, doc.DefaultPasskeyProfile) || doc.PasskeyProfiles[0].PasskeyTypes != "deviceBound" {
		t.Errorf("want the one default profile Entra made, device-bound, managed by base (status id %s): %+v", base.Status.ProfileID, doc.PasskeyProfiles)
	}
}

// TestUnknownEnumValueIsLeftAlone: a profile holding a passkey type a later
// Graph added is neither rewritten nor fails the tenant: the resource that
// manages it says why it leaves it, and the others go on.
func TestUnknownEnumValueIsLeftAlone(t *testing.T) {
	f := newTenant(t, func(tenant *passkeysv1alpha1.EntraTenant) { tenant.Spec.Suspend = true })
	doc := strings.Replace(migratedDocument, `"passkeyTypes": "synced"`, `"passkeyTypes": "synced,futurePasskeyKind"`, 1)
	if err := emu.PutFido2(f.tenantID, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	before := storedDocument(t, f.tenantID)
	future := f.profile("synced-only", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Synced only", PasskeyTypes: synced})
	keys := f.profile("keys", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Keys", PasskeyTypes: boundTyp})
	setSuspend(t, f, false)

	waitCondition(t, future, ready, metav1.ConditionFalse, policy.ReasonUnknownValue)
	if c := meta.FindStatusCondition(future.Status.Conditions, ready); !strings.Contains(c.Message, `passkeyTypes member "futurePasskeyKind"`) {
		t.Errorf("the message does not name the value: %q", c.Message)
	}
	waitCondition(t, keys, ready, metav1.ConditionTrue, "Succeeded")
	after := storedDocument(t, f.tenantID)
	profiles := after["passkeyProfiles"].([]any)
	if !reflect.DeepEqual(profiles[1], before["passkeyProfiles"].([]any)[1]) {
		t.Errorf("the profile holding the unknown value changed:\nbefore %v\nafter  %v", before["passkeyProfiles"].([]any)[1], profiles[1])
	}
}
