package mds_test

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/mds/mdstest"
)

func newAuthority(t *testing.T) *mdstest.Authority {
	t.Helper()
	a, err := mdstest.NewAuthority()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sign(t *testing.T, a *mdstest.Authority, number int, models []mds.Model) []byte {
	t.Helper()
	blob, err := a.Sign(number, nextUpdate, models)
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

func TestParseAcceptsASignedBLOB(t *testing.T) {
	a := newAuthority(t)
	models := append(slices.Clone(sampleModels), mds.Model{Name: "A U2F key, known by key identifier"})
	c, err := mds.Parse(sign(t, a, 42, models), a.RootBase64())
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	if c.Number() != 42 || !c.NextUpdate().Equal(nextUpdate) {
		t.Errorf("Number %d, NextUpdate %v; want 42, %v", c.Number(), c.NextUpdate(), nextUpdate)
	}
	// The U2F entry has no AAGUID: skipped.
	if want := mds.New(42, nextUpdate, sampleModels).Models(); !slices.Equal(c.Models(), want) {
		t.Errorf("Models() = %v, want %v", c.Models(), want)
	}
	if got := c.Name(yubiKey5NFC); got != "YubiKey 5 Series with NFC" {
		t.Errorf("Name = %q", got)
	}
}

func TestParseRefuses(t *testing.T) {
	a, other := newAuthority(t), newAuthority(t)
	good := sign(t, a, 1, sampleModels)
	forged, err := other.Forge(a, 1, nextUpdate, sampleModels)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, root string
		blob       []byte
		want       string
	}{
		{"signed by another authority", a.RootBase64(), sign(t, other, 1, sampleModels),
			"the BLOB's signature chain does not lead to the configured root"},
		{"the production root for a test BLOB", "", good,
			"the BLOB's signature chain does not lead to the configured root"},
		{"another's key behind the trusted chain", a.RootBase64(), forged,
			"the BLOB's signature does not match its content"},
		{"a payload changed after signing", a.RootBase64(), tamper(t, good),
			"the BLOB's signature does not match its content"},
		{"alg none", a.RootBase64(), unsigned(t, good), "the BLOB's signature does not match its content"},
		{"garbage", a.RootBase64(), []byte("<html>Service Unavailable</html>"),
			"this is not an MDS3 BLOB"},
		{"empty", a.RootBase64(), nil, "this is not an MDS3 BLOB"},
		{"a root that is no certificate", "bm90IGEgY2VydGlmaWNhdGU=", good,
			"the configured MDS root is not a base64 DER certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := mds.Parse(tt.blob, tt.root)
			if err == nil || c != nil {
				t.Fatalf("Parse() = %v, %v; want an error", c, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// unsigned makes blob claim alg "none" and drops its signature.
func unsigned(t *testing.T, blob []byte) []byte {
	t.Helper()
	parts := strings.Split(string(blob), ".")
	header := editSegment(t, parts[0], func(h map[string]any) { h["alg"] = "none" })
	return []byte(header + "." + parts[1] + ".")
}

// editSegment decodes a JWT segment, edits it and encodes it again.
func editSegment(t *testing.T, segment string, edit func(map[string]any)) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	if raw, err = json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// tamper renames the first model in the payload, keeping the signature.
func tamper(t *testing.T, blob []byte) []byte {
	t.Helper()
	parts := strings.Split(string(blob), ".")
	parts[1] = editSegment(t, parts[1], func(p map[string]any) {
		p["entries"].([]any)[0].(map[string]any)["metadataStatement"].(map[string]any)["description"] = "Evil Key"
	})
	return []byte(strings.Join(parts, "."))
}

func TestRootFromPEM(t *testing.T) {
	a := newAuthority(t)
	got, err := mds.RootFromPEM(a.RootPEM())
	if err != nil || got != a.RootBase64() {
		t.Errorf("RootFromPEM() = %q, %v; want %q", got, err, a.RootBase64())
	}
	for name, data := range map[string][]byte{
		"empty":    nil,
		"not PEM":  []byte("hello"),
		"two PEMs": append(a.RootPEM(), newAuthority(t).RootPEM()...),
		"a key":    []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
	} {
		if _, err := mds.RootFromPEM(data); err == nil {
			t.Errorf("RootFromPEM(%s) accepted it", name)
		}
	}
}
