package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// The few JWT operations the emulator needs (sign RS256; verify RS256 and
// PS256; read JWKS) fit in this file, so it uses the standard library rather
// than a JWT dependency.

var b64 = base64.RawURLEncoding

// jwtHeader holds the header parameters the emulator reads.
type jwtHeader struct {
	Alg     string `json:"alg"`
	Typ     string `json:"typ,omitempty"`
	Kid     string `json:"kid,omitempty"`
	X5t     string `json:"x5t,omitempty"`
	X5tS256 string `json:"x5t#S256,omitempty"`
}

// parsedJWT is a compact JWS split into its parts; nothing is verified yet.
type parsedJWT struct {
	Header       jwtHeader
	Payload      []byte
	signingInput string
	signature    []byte
}

var errMalformedJWT = errors.New("token is not a well-formed JWT")

func parseJWT(token string) (*parsedJWT, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errMalformedJWT
	}
	headerJSON, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", errMalformedJWT, err)
	}
	payload, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", errMalformedJWT, err)
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %w", errMalformedJWT, err)
	}
	t := &parsedJWT{Payload: payload, signingInput: parts[0] + "." + parts[1], signature: sig}
	if err := json.Unmarshal(headerJSON, &t.Header); err != nil {
		return nil, fmt.Errorf("%w: header: %w", errMalformedJWT, err)
	}
	if !json.Valid(payload) {
		return nil, fmt.Errorf("%w: payload is not JSON", errMalformedJWT)
	}
	return t, nil
}

// verify checks the signature with pub according to the header's alg.
// RS256 is what Kubernetes and Entra sign with; PS256 is what MSAL signs
// certificate assertions with.
func (t *parsedJWT) verify(pub *rsa.PublicKey) error {
	digest := sha256.Sum256([]byte(t.signingInput))
	switch t.Header.Alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], t.signature)
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, digest[:], t.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	default:
		return fmt.Errorf("unsupported JWT alg %q", t.Header.Alg)
	}
}

// audience is the JWT aud claim, which may be a string or an array.
type audience []string

func (a *audience) UnmarshalJSON(data []byte) error {
	var one string
	if err := json.Unmarshal(data, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return fmt.Errorf("aud is neither a string nor an array of strings: %w", err)
	}
	*a = many
	return nil
}

func (a audience) contains(v string) bool {
	for _, s := range a {
		if s == v {
			return true
		}
	}
	return false
}

// registeredClaims are the RFC 7519 claims the emulator checks on assertions.
type registeredClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
}

// clockSkew is the leeway allowed on exp and nbf, as identity providers do.
const clockSkew = time.Minute

// checkTime reports whether now falls inside the token's validity window.
func (c registeredClaims) checkTime(now time.Time) error {
	if c.ExpiresAt == 0 {
		return errors.New("token has no exp claim")
	}
	if now.After(time.Unix(c.ExpiresAt, 0).Add(clockSkew)) {
		return errors.New("token is expired")
	}
	if c.NotBefore != 0 && now.Add(clockSkew).Before(time.Unix(c.NotBefore, 0)) {
		return errors.New("token is not yet valid")
	}
	return nil
}

// signRS256 returns a compact JWS of claims signed with key; header's alg
// and typ are set here.
func signRS256(key *rsa.PrivateKey, h jwtHeader, claims any) (string, error) {
	h.Alg, h.Typ = "RS256", "JWT"
	header, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("marshal JWT header: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal JWT claims: %w", err)
	}
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return input + "." + b64.EncodeToString(sig), nil
}

// keyID derives a stable kid from a public key.
func keyID(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("emulator: marshal RSA public key: %v", err)) // cannot fail for RSA
	}
	sum := sha256.Sum256(der)
	return b64.EncodeToString(sum[:12])
}

// jwk is an RSA JSON Web Key (RFC 7517).
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Kid string `json:"kid,omitempty"`
	N   string `json:"n"`
	E   string `json:"e"`
}

type jwks struct {
	Keys []jwk `json:"keys"`
}

func rsaJWK(pub *rsa.PublicKey, kid string) jwk {
	return jwk{
		Kty: "RSA",
		Use: "sig",
		Kid: kid,
		N:   b64.EncodeToString(pub.N.Bytes()),
		E:   b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// ParseJWKS reads the RSA keys of a JSON Web Key Set, such as the one a
// Kubernetes API server publishes for its service-account token issuer.
func ParseJWKS(data []byte) ([]*rsa.PublicKey, error) {
	var set jwks
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	var keys []*rsa.PublicKey
	for _, k := range set.Keys {
		if k.Kty != "RSA" {
			continue
		}
		n, err := b64.DecodeString(k.N)
		if err != nil {
			return nil, fmt.Errorf("parse JWKS key %q: n: %w", k.Kid, err)
		}
		e, err := b64.DecodeString(k.E)
		if err != nil {
			return nil, fmt.Errorf("parse JWKS key %q: e: %w", k.Kid, err)
		}
		keys = append(keys, &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())})
	}
	if len(keys) == 0 {
		return nil, errors.New("parse JWKS: no RSA keys")
	}
	return keys, nil
}

// MarshalJWKS returns keys as a JSON Web Key Set.
func MarshalJWKS(keys ...*rsa.PublicKey) ([]byte, error) {
	set := jwks{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, rsaJWK(k, keyID(k)))
	}
	data, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("marshal JWKS: %w", err)
	}
	return data, nil
}
