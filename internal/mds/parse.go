package mds

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/x/revoke"
	"github.com/golang-jwt/jwt/v5"
)

// revocationTimeout bounds each revocation check (CRL, OCSP) of the BLOB's
// chain. The library asks through a process-wide client without a timeout,
// so in a cluster whose egress drops packets every Parse, the one at start
// from the cache included, would wait on TCP's own timeouts. This package
// is the library's only user here, so it sets that client.
const revocationTimeout = 10 * time.Second

func init() {
	revoke.HTTPClient = &http.Client{Timeout: revocationTimeout}
}

// Parse verifies an MDS3 BLOB and builds the catalog of the models it
// lists. The BLOB is a JWT whose x5c header chain must lead to root (a
// base64 DER certificate; empty means metadata.ProductionMDSRoot, the
// GlobalSign Root R46 the FIDO Alliance uses) and whose signature must
// verify with the chain's first certificate. go-webauthn's metadata package
// does both; it also asks the revocation services the chain's certificates
// name (CRL, OCSP), and skips that check when they cannot be reached.
//
// The certificates' validity is checked against the wall clock: the library
// takes no other time. Staleness (nextUpdate in the past) is not an error;
// see Catalog.Stale.
//
// Entries without an AAGUID (U2F and UAF authenticators) are skipped. An
// entry the library cannot fully parse (a malformed icon URL, say) still
// gives its AAGUID and description, which the signature covers all the same.
// Entries are not parsed further.
func Parse(blob []byte, root string) (*Catalog, error) {
	if root == "" {
		root = metadata.ProductionMDSRoot
	}
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	decoder, err := metadata.NewDecoder(metadata.WithRootCertificate(root))
	if err != nil {
		return nil, fmt.Errorf("set up the BLOB decoder: %w", err)
	}
	payload, err := decoder.DecodeBytes(bytes.TrimSpace(blob))
	if err != nil {
		return nil, explainVerifyError(err)
	}
	// The library's Parse would parse every entry's certificates and URLs
	// as well, of which the catalog uses nothing: the names come from the
	// raw entries, and only the date needs reading.
	nextUpdate, err := time.Parse(time.DateOnly, payload.NextUpdate)
	if err != nil {
		return nil, fmt.Errorf("read the BLOB's payload: nextUpdate %q: %w", payload.NextUpdate, err)
	}
	models := make([]Model, 0, len(payload.Entries))
	for _, e := range payload.Entries {
		if e.AaGUID == "" {
			continue
		}
		models = append(models, Model{AAGUID: e.AaGUID, Name: e.MetadataStatement.Description})
	}
	return New(payload.Number, nextUpdate, models), nil
}

// checkRoot refuses a root that is not a base64 DER certificate, which the
// library would otherwise report as a failure of the BLOB.
func checkRoot(root string) error {
	der, err := base64.StdEncoding.DecodeString(root)
	if err == nil {
		_, err = x509.ParseCertificate(der)
	}
	if err != nil {
		return fmt.Errorf("the configured MDS root is not a base64 DER certificate: %w", err)
	}
	return nil
}

// explainVerifyError says in words which check a BLOB failed, keeping the
// library's error for detail.
func explainVerifyError(err error) error {
	var (
		unknownAuthority x509.UnknownAuthorityError
		invalidCert      x509.CertificateInvalidError
		mdsErr           *metadata.Error
	)
	var reason string
	switch {
	case errors.As(err, &unknownAuthority):
		reason = "the BLOB's signature chain does not lead to the configured root"
	case errors.As(err, &invalidCert):
		reason = "a certificate of the BLOB's signature chain is not valid"
	case errors.As(err, &mdsErr):
		// The library reports an expired certificate as revoked.
		reason = "a certificate of the BLOB's signature chain is revoked, expired or malformed"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		reason = "the BLOB's signature does not match its content"
	case errors.Is(err, jwt.ErrTokenMalformed):
		reason = "this is not an MDS3 BLOB (a signed JWT)"
	default:
		reason = "the BLOB failed verification"
	}
	return fmt.Errorf("%s: %w", reason, err)
}

// RootFromPEM returns the one certificate in a PEM file in the form Parse
// and Source take: base64 DER.
func RootFromPEM(data []byte) (string, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", errors.New("no PEM certificate found")
	}
	if next, _ := pem.Decode(rest); next != nil {
		return "", errors.New("more than one PEM block: give the root certificate alone")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return "", fmt.Errorf("parse the root certificate: %w", err)
	}
	return base64.StdEncoding.EncodeToString(block.Bytes), nil
}
