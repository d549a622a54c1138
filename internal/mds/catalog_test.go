package mds_test

import (
	"slices"
	"testing"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/mds"
)

// Real AAGUIDs and their MDS3 descriptions.
const (
	yubiKey5        = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
	yubiKey5NFC     = "fa2b99dc-9e39-4257-8f92-4a30d23c4118"
	yubiKey5FIPS    = "73bb0cd4-e502-49b8-9c6f-b59445bf720b"
	yubicoSecKeyNFC = "149a2021-8ef6-4133-96b8-81f8d5b7f1f5"
	feitianEPass    = "833b721a-ff5f-4d00-bb2e-bdda3ec01e29"
)

var sampleModels = []mds.Model{
	{AAGUID: yubiKey5NFC, Name: "YubiKey 5 Series with NFC"},
	{AAGUID: yubiKey5, Name: "YubiKey 5 Series"},
	{AAGUID: yubiKey5FIPS, Name: "YubiKey 5 FIPS Series"},
	{AAGUID: yubicoSecKeyNFC, Name: "Security Key by Yubico with NFC"},
	{AAGUID: feitianEPass, Name: "Feitian ePass FIDO2 Authenticator"},
}

var nextUpdate = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

func TestCatalogName(t *testing.T) {
	c := mds.New(7, nextUpdate, sampleModels)
	tests := []struct{ aaguid, want string }{
		{yubiKey5, "YubiKey 5 Series"},
		{"CB69481E-8FF7-4039-93EC-0A2729A154A8", "YubiKey 5 Series"},
		{" " + feitianEPass + " ", "Feitian ePass FIDO2 Authenticator"},
		{"00000000-0000-0000-0000-000000000000", ""},
		{"not a guid", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := c.Name(tt.aaguid); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.aaguid, got, tt.want)
		}
	}
}

func TestCatalogResolve(t *testing.T) {
	c := mds.New(7, nextUpdate, sampleModels)
	tests := []struct {
		selector string
		want     []string // AAGUIDs, in order
	}{
		{"YubiKey 5 Series with NFC", []string{yubiKey5NFC}},
		{"yubikey 5 series", []string{yubiKey5}},
		// Sorted by name: "YubiKey 5 FIPS Series" < "YubiKey 5 Series" < "... with NFC".
		{"YubiKey 5*", []string{yubiKey5FIPS, yubiKey5, yubiKey5NFC}},
		{"*with NFC", []string{yubicoSecKeyNFC, yubiKey5NFC}},
		{"*", []string{feitianEPass, yubicoSecKeyNFC, yubiKey5FIPS, yubiKey5, yubiKey5NFC}},
		{"Solo*", nil},
		{"YubiKey 5", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range c.Resolve(tt.selector) {
			got = append(got, m.AAGUID)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Resolve(%q) = %v, want %v", tt.selector, got, tt.want)
		}
	}
}

func TestNewNormalizes(t *testing.T) {
	c := mds.New(1, nextUpdate, []mds.Model{
		{AAGUID: "CB69481E-8FF7-4039-93EC-0A2729A154A8", Name: " YubiKey 5 Series "},
		{AAGUID: yubiKey5, Name: "A second name for the same AAGUID"},
		{AAGUID: "not-a-guid", Name: "Broken"},
		{AAGUID: feitianEPass, Name: ""},
		{AAGUID: "", Name: "A U2F key"},
	})
	want := []mds.Model{{AAGUID: yubiKey5, Name: "YubiKey 5 Series"}}
	if got := c.Models(); !slices.Equal(got, want) {
		t.Errorf("Models() = %v, want %v", got, want)
	}
	if c.Len() != 1 || c.Number() != 1 || !c.NextUpdate().Equal(nextUpdate) || !c.Loaded() {
		t.Errorf("Len %d, Number %d, NextUpdate %v, Loaded %v", c.Len(), c.Number(), c.NextUpdate(), c.Loaded())
	}
}

func TestCatalogStale(t *testing.T) {
	c := mds.New(1, nextUpdate, sampleModels)
	if c.Stale(nextUpdate.Add(-time.Second)) {
		t.Error("stale before nextUpdate")
	}
	if !c.Stale(nextUpdate) || !c.Stale(nextUpdate.AddDate(0, 1, 0)) {
		t.Error("not stale from nextUpdate on")
	}
}

// A nil catalog is "not loaded": every method answers, nothing is known.
func TestNilCatalog(t *testing.T) {
	var c *mds.Catalog
	if c.Loaded() || c.Len() != 0 || c.Number() != 0 || !c.NextUpdate().IsZero() ||
		c.Name(yubiKey5) != "" || c.Resolve("*") != nil || c.Models() != nil || c.Stale(time.Now()) {
		t.Error("a nil catalog knows something")
	}
}

func TestParseAAGUID(t *testing.T) {
	got, err := mds.ParseAAGUID("{CB69481E-8FF7-4039-93EC-0A2729A154A8}")
	if err != nil || got != yubiKey5 {
		t.Errorf("ParseAAGUID(braced upper case) = %q, %v", got, err)
	}
	if _, err := mds.ParseAAGUID("cb69481e-8ff7"); err == nil {
		t.Error("ParseAAGUID accepted a truncated GUID")
	}
}
