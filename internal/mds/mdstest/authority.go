// Package mdstest is a stand-in for the FIDO Alliance's MDS3 signing
// authority, for tests and the Entra emulator: an in-memory root CA, an
// intermediate and a signing certificate, and real MDS3 BLOBs (JWTs with an
// x5c chain) signed by them. Its certificates name no CRL or OCSP service,
// so verifying its BLOBs touches no network.
package mdstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/passkey-operator/passkey-operator/internal/mds"
)

// Authority signs MDS3 BLOBs with the chain root → intermediate → signer.
type Authority struct {
	root   *x509.Certificate
	chain  []string // x5c: the signer's, then the intermediate's, base64 DER
	signer *ecdsa.PrivateKey
}

// NewAuthority makes a new authority with fresh keys, valid from an hour ago
// for ten years.
func NewAuthority() (*Authority, error) {
	now := time.Now()
	root, rootKey, err := newCert(nil, nil, "MDS3 test root", now, true)
	if err != nil {
		return nil, err
	}
	intermediate, intermediateKey, err := newCert(root, rootKey, "MDS3 test intermediate", now, true)
	if err != nil {
		return nil, err
	}
	signer, signerKey, err := newCert(intermediate, intermediateKey, "MDS3 test BLOB signer", now, false)
	if err != nil {
		return nil, err
	}
	return &Authority{
		root: root,
		chain: []string{
			base64.StdEncoding.EncodeToString(signer.Raw),
			base64.StdEncoding.EncodeToString(intermediate.Raw),
		},
		signer: signerKey,
	}, nil
}

// newCert makes an ECDSA P-256 certificate signed by parent (self-signed
// when parent is nil). It names no CRL, OCSP or issuer URL, which the
// verifier would otherwise fetch.
func newCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, name string, now time.Time, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate the key of %s: %w", name, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("serial number of %s: %w", name, err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{"passkey-operator tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	if isCA {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create the certificate of %s: %w", name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parse the certificate of %s: %w", name, err)
	}
	return cert, key, nil
}

// RootBase64 is the root certificate as mds.Parse and mds.Source take it:
// base64 DER.
func (a *Authority) RootBase64() string { return base64.StdEncoding.EncodeToString(a.root.Raw) }

// RootPEM is the root certificate in PEM.
func (a *Authority) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.root.Raw})
}

// Sign returns a BLOB with serial number number, nextUpdate's date and one
// FIDO2 entry per model. A model without an AAGUID becomes a U2F entry,
// identified by attestationCertificateKeyIdentifiers as in the real BLOB,
// which a catalog skips.
func (a *Authority) Sign(number int, nextUpdate time.Time, models []mds.Model) ([]byte, error) {
	return a.sign(a.chain, number, nextUpdate, models)
}

// Forge returns a BLOB that presents other's certificate chain but is
// signed with a's key: what an attacker without other's key could make. It
// must be refused under other's root.
func (a *Authority) Forge(other *Authority, number int, nextUpdate time.Time, models []mds.Model) ([]byte, error) {
	return a.sign(other.chain, number, nextUpdate, models)
}

func (a *Authority) sign(chain []string, number int, nextUpdate time.Time, models []mds.Model) ([]byte, error) {
	header, err := json.Marshal(map[string]any{"alg": jwt.SigningMethodES256.Alg(), "typ": "JWT", "x5c": chain})
	if err != nil {
		return nil, fmt.Errorf("encode the BLOB header: %w", err)
	}
	p := payload{
		LegalHeader: "Test metadata: not from the FIDO Alliance.",
		Number:      number,
		NextUpdate:  nextUpdate.UTC().Format(time.DateOnly),
		Entries:     make([]entry, 0, len(models)),
	}
	for _, m := range models {
		p.Entries = append(p.Entries, newEntry(m))
	}
	body, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode the BLOB payload: %w", err)
	}
	signingString := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(body)
	sig, err := jwt.SigningMethodES256.Sign(signingString, a.signer)
	if err != nil {
		return nil, fmt.Errorf("sign the BLOB: %w", err)
	}
	return []byte(signingString + "." + base64.RawURLEncoding.EncodeToString(sig)), nil
}

// The BLOB payload, as the MDS3 specification describes it; only the fields
// the FIDO Alliance always sends are here.
type payload struct {
	LegalHeader string  `json:"legalHeader"`
	Number      int     `json:"no"`
	NextUpdate  string  `json:"nextUpdate"`
	Entries     []entry `json:"entries"`
}

type entry struct {
	AAGUID                               string         `json:"aaguid,omitempty"`
	AttestationCertificateKeyIdentifiers []string       `json:"attestationCertificateKeyIdentifiers,omitempty"`
	MetadataStatement                    statement      `json:"metadataStatement"`
	StatusReports                        []statusReport `json:"statusReports"`
	// TimeOfLastStatusChange is the one field go-webauthn's Entry.Parse
	// requires (a date).
	TimeOfLastStatusChange string `json:"timeOfLastStatusChange"`
}

type statement struct {
	LegalHeader                          string                 `json:"legalHeader"`
	AAGUID                               string                 `json:"aaguid,omitempty"`
	AttestationCertificateKeyIdentifiers []string               `json:"attestationCertificateKeyIdentifiers,omitempty"`
	Description                          string                 `json:"description"`
	AuthenticatorVersion                 int                    `json:"authenticatorVersion"`
	ProtocolFamily                       string                 `json:"protocolFamily"`
	Schema                               int                    `json:"schema"`
	Upv                                  []version              `json:"upv"`
	AuthenticationAlgorithms             []string               `json:"authenticationAlgorithms"`
	PublicKeyAlgAndEncodings             []string               `json:"publicKeyAlgAndEncodings"`
	AttestationTypes                     []string               `json:"attestationTypes"`
	UserVerificationDetails              [][]verificationMethod `json:"userVerificationDetails"`
	KeyProtection                        []string               `json:"keyProtection"`
	MatcherProtection                    []string               `json:"matcherProtection"`
	AttachmentHint                       []string               `json:"attachmentHint"`
	TcDisplay                            []string               `json:"tcDisplay"`
	AttestationRootCertificates          []string               `json:"attestationRootCertificates"`
}

type version struct {
	Major int `json:"major"`
	Minor int `json:"minor"`
}

type verificationMethod struct {
	UserVerificationMethod string `json:"userVerificationMethod"`
}

type statusReport struct {
	Status        string `json:"status"`
	EffectiveDate string `json:"effectiveDate"`
}

// certifiedOn is the date of every entry's status: a fixed one keeps BLOBs
// of the same models identical but for the signature.
const certifiedOn = "2024-01-15"

// newEntry describes a model as a FIDO2 security key with no attestation
// (so no attestation roots), or as a U2F key when it has no AAGUID.
func newEntry(m mds.Model) entry {
	st := statement{
		LegalHeader:                 "Test metadata: not from the FIDO Alliance.",
		Description:                 m.Name,
		AuthenticatorVersion:        1,
		ProtocolFamily:              "fido2",
		Schema:                      3,
		Upv:                         []version{{Major: 1, Minor: 1}},
		AuthenticationAlgorithms:    []string{"secp256r1_ecdsa_sha256_raw"},
		PublicKeyAlgAndEncodings:    []string{"cose"},
		AttestationTypes:            []string{"none"},
		UserVerificationDetails:     [][]verificationMethod{{{UserVerificationMethod: "passcode_external"}}},
		KeyProtection:               []string{"hardware", "secure_element"},
		MatcherProtection:           []string{"on_chip"},
		AttachmentHint:              []string{"external", "wired"},
		TcDisplay:                   []string{},
		AttestationRootCertificates: []string{},
	}
	e := entry{
		StatusReports:          []statusReport{{Status: "FIDO_CERTIFIED", EffectiveDate: certifiedOn}},
		TimeOfLastStatusChange: certifiedOn,
	}
	if m.AAGUID == "" {
		// A U2F key is known by the SHA-1 of its attestation key: 40 hex
		// digits. Any stable ones do here.
		sum := sha256.Sum256([]byte(m.Name))
		keyID := hex.EncodeToString(sum[:20])
		st.ProtocolFamily = "u2f"
		st.AttestationCertificateKeyIdentifiers = []string{keyID}
		e.AttestationCertificateKeyIdentifiers = []string{keyID}
	} else {
		st.AAGUID = strings.ToLower(m.AAGUID)
		e.AAGUID = st.AAGUID
	}
	e.MetadataStatement = st
	return e
}
