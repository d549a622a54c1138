package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/entra"
)

func TestCompare(t *testing.T) {
	a := `{"@odata.context": "x", "id": "Fido2", "passkeyProfiles": [{"id": "1", "x@odata.type": "t", "aaGuids": ["a", "a"]}], "gone": null}`
	b := `{"@odata.type": "y", "id": "Fido2", "passkeyProfiles": [{"id": "1", "aaGuids": ["a"]}], "extra": 1}`
	got := Compare([]byte(a), []byte(b), "before", "now")
	want := []string{
		`extra: before (absent), now 1`,
		`gone: before null, now (absent)`,
		`passkeyProfiles[0].aaGuids: before ["a","a"], now ["a"]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Compare =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := Compare([]byte(a), []byte(a), "before", "now"); len(d) != 0 {
		t.Errorf("a document differs from itself: %q", d)
	}
}

// fakeGraph holds a document; a PATCH replaces the members it carries,
// except the PATCH numbered failAt (from 1), which fails.
type fakeGraph struct {
	doc     map[string]any
	patches int
	failAt  int
}

func (f *fakeGraph) GetFido2Raw(context.Context) ([]byte, *entra.Fido2Configuration, error) {
	raw, _ := json.Marshal(f.doc)
	cfg, err := entra.ParseFido2JSON(raw)
	return raw, cfg, err
}

func (f *fakeGraph) PatchFido2(_ context.Context, cfg *entra.Fido2Configuration) error {
	f.patches++
	if f.patches == f.failAt {
		return errors.New("connection reset")
	}
	body, err := entra.Fido2PatchJSON(cfg)
	if err != nil {
		return err
	}
	var patch map[string]any
	if err := json.Unmarshal(body, &patch); err != nil {
		return err
	}
	for k, v := range patch {
		if !strings.Contains(k, "@") {
			f.doc[k] = v
		}
	}
	// Entra assigns ids to new profiles (assign).
	for _, p := range f.doc["passkeyProfiles"].([]any) {
		if p := p.(map[string]any); p["id"] == nil || strings.HasPrefix(p["name"].(string), ProbeName) {
			p["id"] = newGUID()
		}
	}
	return nil
}

func (f *fakeGraph) ProbeGroupRead(context.Context) error { return nil }

func (f *fakeGraph) GroupByID(_ context.Context, id string) (entra.Group, error) {
	return entra.Group{ID: id}, nil
}

const fakeDocument = `{"id": "Fido2", "state": "enabled", "defaultPasskeyProfile": "00000000-0000-0000-0000-000000000001",
 "passkeyProfiles": [{"id": "00000000-0000-0000-0000-000000000001", "name": "Default passkey profile", "passkeyTypes": "deviceBound",
   "attestationEnforcement": "disabled", "keyRestrictions": {"isEnforced": false, "enforcementType": "allow", "aaGuids": []}}],
 "includeTargets": [{"id": "all_users", "targetType": "group", "isRegistrationRequired": false, "allowedPasskeyProfiles": ["00000000-0000-0000-0000-000000000001"]}],
 "excludeTargets": []}`

// A probe step that fails still restores the document, and the report
// says so; a restore that fails says so loudly.
func TestProbeFailureRestores(t *testing.T) {
	for _, tc := range []struct {
		failAt   int
		restored bool
	}{{failAt: 2, restored: true}, {failAt: 3, restored: false}} {
		g := &fakeGraph{failAt: tc.failAt}
		if err := json.Unmarshal([]byte(fakeDocument), &g.doc); err != nil {
			t.Fatal(err)
		}
		before, _, _ := g.GetFido2Raw(context.Background())
		r, err := Run(context.Background(), g, "t", Options{ProbeWrites: true})
		if err != nil {
			t.Fatal(err)
		}
		after, _, _ := g.GetFido2Raw(context.Background())
		restored := len(Compare(before, after, "before", "after")) == 0
		if r.Probe.Restore.Restored != tc.restored || restored != tc.restored {
			t.Errorf("failing PATCH %d: report says restored %v, document restored %v; want %v", tc.failAt, r.Probe.Restore.Restored, restored, tc.restored)
		}
		attention := strings.Join(r.Attention, "\n")
		if !strings.Contains(attention, "write probe: creating a profile with a client-chosen id failed") && tc.failAt == 2 {
			t.Errorf("failing PATCH 2: attention %q does not name the failed step", attention)
		}
		if !tc.restored && (!strings.Contains(attention, "THE DOCUMENT IS NOT BACK TO WHAT IT WAS") || len(r.Probe.Restore.Differences) == 0) {
			t.Errorf("failing restore: attention %q, differences %q", attention, r.Probe.Restore.Differences)
		}
	}
}
