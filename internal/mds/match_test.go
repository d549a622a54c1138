package mds_test

import (
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/mds"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		selector, description string
		want                  bool
	}{
		// Exact names, case ignored.
		{"YubiKey 5 Series with NFC", "YubiKey 5 Series with NFC", true},
		{"yubikey 5 series with nfc", "YubiKey 5 Series with NFC", true},
		{"YubiKey 5 Series", "YubiKey 5 Series with NFC", false},
		{"YubiKey 5 Series with NFC", "YubiKey 5 Series", false},
		// Prefix.
		{"YubiKey 5*", "YubiKey 5 Series", true},
		{"YubiKey 5*", "YubiKey 5", true},
		{"yubikey 5*", "YubiKey 5 FIPS Series", true},
		{"YubiKey 5*", "Security Key by Yubico", false},
		// Suffix and infix.
		{"*with NFC", "YubiKey 5 Series with NFC", true},
		{"*with NFC", "YubiKey 5 Series with NFC (Enterprise Profile)", false},
		{"*NFC*", "YubiKey 5 Series with NFC (Enterprise Profile)", true},
		{"*nfc*", "Security Key by Yubico with NFC", true},
		{"*NFC*", "YubiKey 5 Series", false},
		// Several stars: the parts in order, without overlap.
		{"YubiKey*FIPS*", "YubiKey 5 FIPS Series", true},
		{"*5*FIPS*", "YubiKey 5 FIPS Series", true},
		{"*FIPS*5*", "YubiKey 5 FIPS Series", false},
		{"a*a", "a", false},
		{"a*a", "aa", true},
		{"Yubi**Key", "YubiKey", true},
		// * alone matches everything, the empty description included.
		{"*", "Feitian ePass FIDO2 Authenticator", true},
		{"*", "", true},
		// Everything but * is literal.
		{"Key+", "Key+", true},
		{"Key+", "Keyy", false},
		{"Token (v2).x", "Token (v2).x", true},
		{"Token (v2).x", "Token v2 x", false},
		{"Key?", "Keys", false},
		{"[Y]ubiKey*", "YubiKey 5", false},
		{"[Y]ubiKey*", "[Y]ubiKey 5", true},
		{`Key\*`, `Key\ and more`, true},
		{"^YubiKey$", "YubiKey", false},
		// The empty selector matches only the empty description.
		{"", "", true},
		{"", "YubiKey", false},
	}
	for _, tt := range tests {
		if got := mds.Match(tt.selector, tt.description); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.selector, tt.description, got, tt.want)
		}
	}
}
