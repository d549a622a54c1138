package specs

import (
	"reflect"
	"strings"
	"testing"
	"time"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

const (
	yubikey5    = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	yubikey5NFC = "2fc0579f-8113-47ea-b116-bb5a8db9202a"
	feitian     = "833b721a-ff5f-4d00-bb2e-bdda3ec01e29"
	unknown     = "00000000-0000-4000-8000-000000000001"
)

var testCatalog = mds.New(7, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), []mds.Model{
	{AAGUID: yubikey5, Name: "YubiKey 5 Series"},
	{AAGUID: yubikey5NFC, Name: "YubiKey 5 Series with NFC"},
	{AAGUID: feitian, Name: "Feitian ePass FIDO2 Authenticator"},
})

func TestAuthenticators(t *testing.T) {
	loaded := Catalog{Models: testCatalog}
	tests := []struct {
		name        string
		k           *passkeysv1alpha1.KeyRestrictions
		catalog     Catalog
		want        []passkeysv1alpha1.AuthenticatorModel
		wantProblem string
		mention     string
	}{{
		name: "no key restrictions",
	}, {
		name:    "AAGUIDs are named when the catalog knows them, kept as written",
		k:       &passkeysv1alpha1.KeyRestrictions{Enforcement: "Allow", AAGUIDs: []string{strings.ToUpper(feitian), unknown}},
		catalog: loaded,
		want:    []passkeysv1alpha1.AuthenticatorModel{{AAGUID: strings.ToUpper(feitian), Name: "Feitian ePass FIDO2 Authenticator"}, {AAGUID: unknown}},
	}, {
		name: "AAGUIDs alone need no catalog",
		k:    &passkeysv1alpha1.KeyRestrictions{Enforcement: "Block", AAGUIDs: []string{feitian}},
		want: []passkeysv1alpha1.AuthenticatorModel{{AAGUID: feitian}},
	}, {
		name:    "a pattern selects every matching model, once, after the AAGUIDs",
		k:       &passkeysv1alpha1.KeyRestrictions{Enforcement: "Allow", AAGUIDs: []string{yubikey5}, Authenticators: []string{"yubikey 5*", "YubiKey 5 Series with NFC"}},
		catalog: loaded,
		want: []passkeysv1alpha1.AuthenticatorModel{
			{AAGUID: yubikey5, Name: "YubiKey 5 Series"},
			{AAGUID: yubikey5NFC, Name: "YubiKey 5 Series with NFC", Selector: "yubikey 5*"},
		},
	}, {
		name:        "names without a catalog: why, and the AAGUIDs alone",
		k:           &passkeysv1alpha1.KeyRestrictions{Enforcement: "Allow", AAGUIDs: []string{feitian}, Authenticators: []string{"YubiKey 5*"}},
		catalog:     Catalog{NotLoaded: "downloading https://mds.example/: connection refused"},
		want:        []passkeysv1alpha1.AuthenticatorModel{{AAGUID: feitian}},
		wantProblem: policy.ReasonAuthenticatorCatalogUnavailable,
		mention:     "(downloading https://mds.example/: connection refused)",
	}, {
		name:    "names offline: left unresolved, the AAGUIDs alone, no problem",
		k:       &passkeysv1alpha1.KeyRestrictions{Enforcement: "Allow", AAGUIDs: []string{feitian}, Authenticators: []string{"YubiKey 5*"}},
		catalog: Catalog{Offline: true},
		want:    []passkeysv1alpha1.AuthenticatorModel{{AAGUID: feitian}},
	}, {
		name:        "a name that matches nothing",
		k:           &passkeysv1alpha1.KeyRestrictions{Enforcement: "Block", Authenticators: []string{"YubiKey 5*", "YubiKey 9*"}},
		catalog:     loaded,
		wantProblem: policy.ReasonAuthenticatorNotFound,
		mention:     `"YubiKey 9*" matches no model in the authenticator catalog (FIDO MDS3 BLOB no. 7, 3 models)`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := Authenticators(tt.k, tt.catalog)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("models = %+v, want %+v", got, tt.want)
			}
			reason := ""
			if problem != nil {
				reason = problem.Reason
			}
			if reason != tt.wantProblem {
				t.Fatalf("problem = %v, want reason %q", problem, tt.wantProblem)
			}
			if tt.mention != "" && !strings.Contains(problem.Message, tt.mention) {
				t.Errorf("message %q does not mention %q", problem.Message, tt.mention)
			}
		})
	}
}

func TestCatalogLabel(t *testing.T) {
	c := Catalog{Models: testCatalog}
	if got := c.Label(strings.ToUpper(yubikey5)); got != "YubiKey 5 Series ["+strings.ToUpper(yubikey5)+"]" {
		t.Errorf("known: %q", got)
	}
	if got := c.Label(unknown); got != unknown {
		t.Errorf("unknown: %q", got)
	}
	if got := (Catalog{}).Label(yubikey5); got != yubikey5 {
		t.Errorf("no catalog: %q", got)
	}
}

func TestCatalogLabelAll(t *testing.T) {
	c := Catalog{Models: testCatalog}
	in := "[" + yubikey5 + ", " + unknown + "]"
	want := "[YubiKey 5 Series [" + yubikey5 + "], " + unknown + "]"
	if got := c.LabelAll(in); got != want {
		t.Errorf("LabelAll(%q) = %q, want %q", in, got, want)
	}
	if got := (Catalog{}).LabelAll(in); got != in {
		t.Errorf("no catalog: %q", got)
	}
}
