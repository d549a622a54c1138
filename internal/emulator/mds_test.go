package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/mds"
)

func TestDefaultMDSModelsAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range DefaultMDSModels {
		if id, err := mds.ParseAAGUID(m.AAGUID); err != nil || id != m.AAGUID {
			t.Errorf("%q: AAGUID %q is not canonical (%v)", m.Name, m.AAGUID, err)
		}
		if m.Name == "" || seen[m.AAGUID] {
			t.Errorf("model %+v: empty name or repeated AAGUID", m)
		}
		seen[m.AAGUID] = true
	}
}

// The BLOB verifies under the emulator's root, through the operator's own
// Source, and lists the default models.
func TestMDSServesAVerifiableBLOB(t *testing.T) {
	clock := &testClock{now: time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)}
	env := newTestEnv(t, Options{Now: clock.Now})

	resp, body := env.do(http.MethodGet, MDSPath, "", "")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/jwt" {
		t.Fatalf("GET %s = %d %s", MDSPath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c, err := mds.Parse(body, env.emu.MDSRoot())
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if c.Number() != 1 || c.Len() != len(DefaultMDSModels) || c.Stale(clock.Now()) {
		t.Errorf("catalog number %d, %d models, stale %v", c.Number(), c.Len(), c.Stale(clock.Now()))
	}
	if got := c.Name("FA2B99DC-9E39-4257-8F92-4A30D23C4118"); got != "YubiKey 5 Series with NFC" {
		t.Errorf("Name = %q", got)
	}

	src := &mds.Source{URL: env.URL() + MDSPath, Root: env.emu.MDSRoot(), Client: env.srv.Client()}
	if c, err := src.Load(context.Background()); err != nil || len(c.Resolve("YubiKey 5*")) != 6 {
		t.Errorf("Source.Load() = %v, %v; want six YubiKey 5 models", c.Models(), err)
	}
}

func TestMDSAdminRoot(t *testing.T) {
	env := newTestEnv(t, Options{})
	resp, body := env.do(http.MethodGet, "/_emulator/mds3/root.pem", "", "")
	if resp.StatusCode != http.StatusOK || string(body) != string(env.emu.MDSRootPEM()) {
		t.Fatalf("GET root.pem = %d %q", resp.StatusCode, body)
	}
	if root, err := mds.RootFromPEM(body); err != nil || root != env.emu.MDSRoot() {
		t.Errorf("RootFromPEM(root.pem) = %q, %v; want MDSRoot()", root, err)
	}
}

// Replacing the models bumps the BLOB's number, so a refresh changes what a
// pattern resolves to.
func TestMDSAdminModels(t *testing.T) {
	env := newTestEnv(t, Options{})
	resp, body := env.do(http.MethodGet, "/_emulator/mds3/models", "", "")
	var got []mds.Model
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != http.StatusOK || !slices.Equal(got, DefaultMDSModels) {
		t.Fatalf("GET models = %d %s (%v)", resp.StatusCode, body, err)
	}

	put := `[{"aaguid": "CB69481E-8FF7-4039-93EC-0A2729A154A8", "name": "YubiKey 5 Series"},
	         {"aaguid": "0000e1e1-0000-4000-8000-000000000001", "name": "Example Key (Enterprise Profile)"}]`
	resp, body = env.do(http.MethodPut, "/_emulator/mds3/models", "", put)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"no":2}` {
		t.Fatalf("PUT models = %d %s", resp.StatusCode, body)
	}
	want := []mds.Model{
		{AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Name: "YubiKey 5 Series"},
		{AAGUID: "0000e1e1-0000-4000-8000-000000000001", Name: "Example Key (Enterprise Profile)"},
	}
	if got := env.emu.MDSModels(); !slices.Equal(got, want) {
		t.Errorf("MDSModels() = %v, want %v", got, want)
	}
	blob, err := env.emu.MDSBlob()
	if err != nil {
		t.Fatal(err)
	}
	c, err := mds.Parse(blob, env.emu.MDSRoot())
	if err != nil || c.Number() != 2 || len(c.Resolve("*Enterprise*")) != 1 || c.Name(DefaultMDSModels[1].AAGUID) != "" {
		t.Errorf("BLOB after PUT: number %d, models %v, %v", c.Number(), c.Models(), err)
	}

	for name, body := range map[string]string{
		"not a GUID":      `[{"aaguid": "yubikey", "name": "YubiKey"}]`,
		"no name":         `[{"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "name": " "}]`,
		"repeated":        `[{"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "name": "A"}, {"aaguid": "CB69481E-8FF7-4039-93EC-0A2729A154A8", "name": "B"}]`,
		"unknown field":   `[{"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8", "name": "A", "icon": "x"}]`,
		"not a JSON list": `{"aaguid": "cb69481e-8ff7-4039-93ec-0a2729a154a8"}`,
	} {
		if resp, out := env.do(http.MethodPut, "/_emulator/mds3/models", "", body); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT models (%s) = %d %s, want 400", name, resp.StatusCode, out)
		}
	}
	if n := len(env.emu.MDSModels()); n != 2 {
		t.Errorf("refused PUTs changed the models: %d", n)
	}

	// An empty catalog is allowed.
	if n, err := env.emu.SetMDSModels(nil); err != nil || n != 3 {
		t.Errorf("SetMDSModels(nil) = %d, %v", n, err)
	}
}
