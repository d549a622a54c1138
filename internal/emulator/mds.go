package emulator

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/mds/mdstest"
)

// A stand-in for the FIDO Alliance Metadata Service (MDS3), so that the
// operator's authenticator catalog (internal/mds) can be shown and tested
// without the internet. The emulator makes its own signing authority at
// start (a root, an intermediate and a signer, in memory: a restart makes a
// new root) and serves a BLOB signed by it, in the real format, listing a
// sample of models that tests may replace.
//
//	GET /mds3/                          the signed BLOB, as https://mds.fidoalliance.org/ serves the real one
//	GET /_emulator/mds3/root.pem        the authority's root certificate (the operator's MDS root)
//	GET /_emulator/mds3/models          the models the BLOB lists: [{"aaguid": ..., "name": ...}]
//	PUT /_emulator/mds3/models          replace them (same body) and bump the BLOB's number: {"no": n}
//
// The /_emulator/ routes are the admin API's: loopback callers only.

// MDSPath is where the emulator serves the MDS3 BLOB; the operator's MDS
// URL is the emulator's base URL and this path.
const MDSPath = "/mds3/"

// mdsNextUpdate is how far ahead each BLOB's nextUpdate lies, about as far
// as the real MDS's.
const mdsNextUpdate = 30 * 24 * time.Hour

// DefaultMDSModels are the models the emulator's BLOB lists at start.
// The security keys are real AAGUIDs with their MDS3 descriptions. The
// synced providers (Google Password Manager, iCloud Keychain, 1Password)
// are not in the real MDS3 — their names come from the community list at
// github.com/passkeydeveloper/passkey-authenticator-aaguids (which now says
// "Apple Passwords" for iCloud Keychain) — and Microsoft Authenticator's
// names are those of Microsoft's documentation; they are here so that
// names show in demos.
var DefaultMDSModels = []mds.Model{
	{AAGUID: "cb69481e-8ff7-4039-93ec-0a2729a154a8", Name: "YubiKey 5 Series"},
	{AAGUID: "ee882879-721c-4913-9775-3dfcce97072a", Name: "YubiKey 5 Series"},
	{AAGUID: "fa2b99dc-9e39-4257-8f92-4a30d23c4118", Name: "YubiKey 5 Series with NFC"},
	{AAGUID: "2fc0579f-8113-47ea-b116-bb5a8db9202a", Name: "YubiKey 5 Series with NFC"},
	{AAGUID: "c5ef55ff-ad9a-4b9f-b580-adebafe026d0", Name: "YubiKey 5Ci"},
	{AAGUID: "73bb0cd4-e502-49b8-9c6f-b59445bf720b", Name: "YubiKey 5 FIPS Series"},
	{AAGUID: "149a2021-8ef6-4133-96b8-81f8d5b7f1f5", Name: "Security Key by Yubico with NFC"},
	{AAGUID: "833b721a-ff5f-4d00-bb2e-bdda3ec01e29", Name: "Feitian ePass FIDO2 Authenticator"},
	{AAGUID: "90a3ccdf-635c-4729-a248-9b709135078f", Name: "Microsoft Authenticator for iOS"},
	{AAGUID: "de1e552d-db1d-4423-a619-566b625cdc84", Name: "Microsoft Authenticator for Android"},
	{AAGUID: "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4", Name: "Google Password Manager"},
	{AAGUID: "fbfc3007-154e-4ecc-8c0b-6e020557d7bd", Name: "iCloud Keychain"},
	{AAGUID: "bada5566-a7aa-401f-bd96-45619a55120d", Name: "1Password"},
}

// mdsService is the emulator's MDS3: its authority and the BLOB's content.
type mdsService struct {
	authority *mdstest.Authority

	mu     sync.Mutex // guards the fields below
	number int
	models []mds.Model
}

// serveMDS makes the MDS3 authority and adds its routes to the identity
// (public) and admin handlers.
func (e *Emulator) serveMDS() error {
	authority, err := mdstest.NewAuthority()
	if err != nil {
		return fmt.Errorf("make the MDS3 signing authority: %w", err)
	}
	e.mds = &mdsService{authority: authority, number: 1, models: slices.Clone(DefaultMDSModels)}

	e.identity.HandleFunc("GET "+MDSPath+"{$}", func(w http.ResponseWriter, r *http.Request) {
		blob, err := e.MDSBlob()
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		// RFC 7519's media type for a JWT.
		w.Header().Set("Content-Type", "application/jwt")
		_, _ = w.Write(blob)
	})
	e.admin.HandleFunc("GET /_emulator/mds3/root.pem", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(e.MDSRootPEM())
	})
	e.admin.HandleFunc("GET /_emulator/mds3/models", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, e.MDSModels())
	})
	e.admin.HandleFunc("PUT /_emulator/mds3/models", func(w http.ResponseWriter, r *http.Request) {
		var models []mds.Model
		if err := readJSON(r, &models); err != nil {
			adminReply(w, err, 0, nil)
			return
		}
		n, err := e.SetMDSModels(models)
		adminReply(w, err, http.StatusOK, map[string]int{"no": n})
	})
	return nil
}

// MDSRootPEM is the root certificate of the emulator's MDS3 authority, in
// PEM: what the operator must trust for the emulator's BLOB.
func (e *Emulator) MDSRootPEM() []byte { return e.mds.authority.RootPEM() }

// MDSRoot is the same root as base64 DER, the form mds.Source.Root takes.
func (e *Emulator) MDSRoot() string { return e.mds.authority.RootBase64() }

// MDSModels returns the models the BLOB lists, in the order they were set.
func (e *Emulator) MDSModels() []mds.Model {
	e.mds.mu.Lock()
	defer e.mds.mu.Unlock()
	return slices.Clone(e.mds.models)
}

// SetMDSModels replaces the models the BLOB lists and bumps its serial
// number, as the FIDO Alliance does when the content changes; it returns
// the new number. Each model needs an AAGUID (stored in canonical form) and
// a name, and no AAGUID may come twice. An empty list is allowed.
func (e *Emulator) SetMDSModels(models []mds.Model) (int, error) {
	clean := make([]mds.Model, 0, len(models))
	seen := make(map[string]bool, len(models))
	for i, m := range models {
		id, err := mds.ParseAAGUID(m.AAGUID)
		if err != nil {
			return 0, fmt.Errorf("model %d: %w", i, err)
		}
		name := strings.TrimSpace(m.Name)
		if name == "" {
			return 0, fmt.Errorf("model %d (%s): the name is empty", i, id)
		}
		if seen[id] {
			return 0, fmt.Errorf("model %d: AAGUID %s is listed twice", i, id)
		}
		seen[id] = true
		clean = append(clean, mds.Model{AAGUID: id, Name: name})
	}
	e.mds.mu.Lock()
	defer e.mds.mu.Unlock()
	e.mds.number++
	e.mds.models = clean
	return e.mds.number, nil
}

// MDSBlob returns the BLOB as GET /mds3/ serves it, signed now, with a
// nextUpdate 30 days after the emulator's clock.
func (e *Emulator) MDSBlob() ([]byte, error) {
	e.mds.mu.Lock()
	number, models := e.mds.number, e.mds.models
	e.mds.mu.Unlock()
	return e.mds.authority.Sign(number, e.now().Add(mdsNextUpdate), models)
}
