package emulator

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

func TestCAAndSigningKeyPersist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	ca, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cert.Equal(ca.Cert) {
		t.Error("second LoadOrCreateCA made a new CA")
	}
	if info, err := os.Stat(filepath.Join(dir, caKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("CA key file: %v %v, want mode 0600", info, err)
	}

	cert, err := again.ServerCertificate([]string{"localhost", "127.0.0.1", "entra-emulator.test"})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "entra-emulator.test"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.CertPool(), DNSName: host}); err != nil {
			t.Errorf("server certificate for %s does not verify against ca.pem: %v", host, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: ca.CertPool(), DNSName: "example.com"}); err == nil {
		t.Error("server certificate verifies for a host it was not issued for")
	}

	key, err := LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	key2, err := LoadOrCreateSigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(key2) {
		t.Error("second LoadOrCreateSigningKey made a new key")
	}
}
