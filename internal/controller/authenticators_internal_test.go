package controller

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/mds"
)

type fakeCatalog struct {
	current *mds.Catalog
	err     error
}

func (f fakeCatalog) Current() *mds.Catalog { return f.current }
func (f fakeCatalog) LastError() error      { return f.err }

// A pass says why it has no catalog: the reason ends up in the Stalled
// message of every profile that selects by name.
func TestPassCatalog(t *testing.T) {
	loaded := mds.New(3, time.Now().Add(time.Hour), []mds.Model{{AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Name: "YubiKey 5 Series"}})
	tests := []struct {
		name       string
		catalog    AuthenticatorCatalog
		wantLoaded bool
		why        string
	}{
		{"the manager runs without one", nil, false, "--authenticator-catalog-url is empty"},
		{"not downloaded yet", fakeCatalog{}, false, "not been downloaded yet"},
		{"the download failed", fakeCatalog{err: errors.New("downloading https://mds.example/: connection refused")}, false, "connection refused"},
		{"loaded", fakeCatalog{current: loaded, err: errors.New("a refresh failed")}, true, ""},
	}
	for _, tt := range tests {
		c := (&TenantReconciler{Authenticators: tt.catalog}).catalog()
		if c.Models.Loaded() != tt.wantLoaded || !strings.Contains(c.NotLoaded, tt.why) || (tt.why == "" && c.NotLoaded != "") {
			t.Errorf("%s: loaded %v, why %q; want %v, %q", tt.name, c.Models.Loaded(), c.NotLoaded, tt.wantLoaded, tt.why)
		}
	}
}

func TestSelectionChanges(t *testing.T) {
	model := func(id, selector string) passkeysv1alpha1.AuthenticatorModel {
		return passkeysv1alpha1.AuthenticatorModel{AAGUID: id, Name: "Key " + id, Selector: selector}
	}
	before := []passkeysv1alpha1.AuthenticatorModel{model("a", ""), model("b", "Key*"), model("c", "Key*")}
	now := []passkeysv1alpha1.AuthenticatorModel{model("a", ""), model("C", "Key*"), model("d", "Key*")}
	added, removed := selectionChanges(before, now)
	if !slices.Equal(added, now[2:]) || !slices.Equal(removed, before[1:2]) {
		t.Errorf("added %v, removed %v; want d added and b removed (c is the same AAGUID in another case, a is not selected by name)", added, removed)
	}
	if got, want := describeSelection(added, removed), `also select Key d [d] (by "Key*"); and no longer select Key b [b] (by "Key*")`; got != want {
		t.Errorf("describeSelection = %q, want %q", got, want)
	}
	if added, removed := selectionChanges(now, now); len(added)+len(removed) > 0 {
		t.Errorf("no change: added %v, removed %v", added, removed)
	}
}

func TestTenantsRestrictingAuthenticators(t *testing.T) {
	profile := func(tenant string, k *passkeysv1alpha1.KeyRestrictions) passkeysv1alpha1.PasskeyProfile {
		return passkeysv1alpha1.PasskeyProfile{Spec: passkeysv1alpha1.PasskeyProfileSpec{TenantRef: tenant, KeyRestrictions: k}}
	}
	k := &passkeysv1alpha1.KeyRestrictions{Enforcement: passkeysv1alpha1.KeyEnforcementAllow, Authenticators: []string{"YubiKey*"}}
	got := tenantsRestrictingAuthenticators([]passkeysv1alpha1.PasskeyProfile{profile("a", k), profile("b", nil), profile("a", k), profile("c", k)})
	if !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("tenants %v, want a and c once each", got)
	}
}
