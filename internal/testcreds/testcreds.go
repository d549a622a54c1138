// Package testcreds makes what tests sign in to the emulator with: an RSA
// key, a self-signed client certificate, and service account tokens as a
// kubelet projects them for workload identity. For tests only.
package testcreds

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Key is one RSA key for everything a test process signs: generating keys
// is the slowest thing the tests would otherwise do.
var Key = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// SelfSignedCert is a certificate for Key, valid for an hour either side
// of now, as an app registration's client certificate.
func SelfSignedCert(t testing.TB) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "passkey-operator test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &Key().PublicKey, Key())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// CertificatePEM is cert followed by Key in unencrypted PKCS#8: what a
// ClientCertificate Secret and passkeyctl's --client-certificate hold.
func CertificatePEM(t testing.TB, cert *x509.Certificate) []byte {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(Key())
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})...)
}

// SignJWT returns an RS256 JWT of claims signed with Key.
func SignJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "sa-key"})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, Key(), crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signed + "." + enc.EncodeToString(sig)
}

// ServiceAccountToken is what a kubelet projects for workload identity (or
// a CI system's OIDC token): a JWT from issuer about subject for audience,
// issued now and expiring at expires.
func ServiceAccountToken(t testing.TB, issuer, subject, audience string, expires time.Time) string {
	t.Helper()
	now := time.Now()
	return SignJWT(t, map[string]any{
		"iss": issuer, "sub": subject, "aud": []string{audience},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": expires.Unix(),
	})
}

// WriteFile writes data to a file named name in a fresh temporary
// directory of t and returns its path.
func WriteFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
