package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Application permissions (app roles) the emulator's Graph checks.
const (
	RolePolicyRead      = "Policy.Read.AuthenticationMethod"
	RolePolicyReadWrite = "Policy.ReadWrite.AuthenticationMethod"
	RoleGroupMemberRead = "GroupMember.Read.All"
	RoleGroupRead       = "Group.Read.All"
	RoleGroupReadWrite  = "Group.ReadWrite.All"
	RoleDirectoryRead   = "Directory.Read.All"
	RoleDirectoryWrite  = "Directory.ReadWrite.All"
)

// ReadWriteRoles are the roles an app gets from the command line's --tenant:
// everything the operator needs, writes included.
var ReadWriteRoles = []string{RolePolicyReadWrite, RoleGroupRead}

// DefaultFederatedAudience is the audience Entra expects on a federated
// (workload identity) assertion.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// Tenant seeds a tenant: its id, its registered apps and its groups.
// Seeding an existing tenant adds or replaces apps and groups by id.
type Tenant struct {
	ID     string
	Apps   []App
	Groups []Group
}

// App is a registered application (service principal) and its credentials.
// An app may have any mix of secret, certificates and federated credentials.
type App struct {
	ClientID     string
	ClientSecret string
	// Certificates whose keys may sign client assertions.
	Certificates []*x509.Certificate
	// Federated credentials accept assertions from another issuer, as
	// workload identity federation does.
	Federated []FederatedCredential
	// Roles are the application permissions granted to the app; they are
	// copied into its access tokens.
	Roles []string
	// ManagedIdentity makes the app a managed identity: it gets tokens only
	// from the managed identity endpoint (Options.ManagedIdentityHeader),
	// never with client credentials, and so has no secret, certificates or
	// federated credentials.
	ManagedIdentity bool
}

// FederatedCredential trusts assertions with this issuer and subject (for
// Kubernetes, the service-account issuer and
// system:serviceaccount:NAMESPACE:NAME) signed by one of Keys.
type FederatedCredential struct {
	Issuer   string
	Subject  string
	Audience string // DefaultFederatedAudience when empty
	Keys     []*rsa.PublicKey
}

// Group is a directory group the emulator serves at /v1.0/groups.
type Group struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// tenant is the state of one tenant; Emulator.mu guards it.
type tenant struct {
	id           string
	apps         map[string]App   // by lower-case client id
	groups       map[string]Group // by lower-case object id
	doc          Fido2Document
	version      uint64
	lastModified time.Time
	fault        Fault
	graphCount   uint64 // Graph requests seen, for every-Nth faults
}

func normalizeID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// ErrUnknownTenant is returned for a tenant id that was never seeded.
var ErrUnknownTenant = errors.New("unknown tenant")

// Seed creates the tenant if it does not exist (with the default passkey
// policy and the default fault settings) and adds its apps and groups.
func (e *Emulator) Seed(t Tenant) error {
	id := normalizeID(t.ID)
	if id == "" {
		return errors.New("seed tenant: empty tenant id")
	}
	for _, app := range t.Apps {
		if normalizeID(app.ClientID) == "" {
			return fmt.Errorf("seed tenant %s: app with empty client id", id)
		}
		if app.ManagedIdentity && (app.ClientSecret != "" || len(app.Certificates) > 0 || len(app.Federated) > 0) {
			return fmt.Errorf("seed tenant %s: app %s is a managed identity, which has no secret, certificates or federated credentials", id, app.ClientID)
		}
	}
	for _, g := range t.Groups {
		if normalizeID(g.ID) == "" {
			return fmt.Errorf("seed tenant %s: group with empty id", id)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tn, ok := e.tenants[id]
	if !ok {
		tn = &tenant{
			id:           id,
			apps:         map[string]App{},
			groups:       map[string]Group{},
			doc:          DefaultFido2Document(),
			lastModified: e.now(),
			fault:        e.opts.DefaultFault,
		}
		e.tenants[id] = tn
	}
	for _, app := range t.Apps {
		app.Roles = slices.Clone(app.Roles)
		app.Certificates = slices.Clone(app.Certificates)
		app.Federated = slices.Clone(app.Federated)
		tn.apps[normalizeID(app.ClientID)] = app
	}
	for _, g := range t.Groups {
		tn.groups[normalizeID(g.ID)] = g
	}
	return nil
}

// TenantIDs lists the seeded tenants.
func (e *Emulator) TenantIDs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.tenants))
	for id := range e.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Reset returns a tenant's passkey policy to the default, its version to 0
// and its fault counter to 0. Apps, groups and fault settings stay.
func (e *Emulator) Reset(tenantID string) error {
	return e.withTenant(tenantID, func(tn *tenant) error {
		tn.doc = DefaultFido2Document()
		tn.version = 0
		tn.graphCount = 0
		tn.lastModified = e.now()
		return nil
	})
}

// Version is the number of successful writes to a tenant's passkey policy
// (PATCH, DELETE or portal edit) since it was created or reset.
func (e *Emulator) Version(tenantID string) (uint64, error) {
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		v = tn.version
		return nil
	})
	return v, err
}

// Fido2 returns a copy of a tenant's passkey policy and its version.
func (e *Emulator) Fido2(tenantID string) (Fido2Document, uint64, error) {
	var doc Fido2Document
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		doc, v = tn.doc.Clone(), tn.version
		return nil
	})
	return doc, v, err
}

// PortalEdit changes a tenant's passkey policy the way an administrator in
// the Entra admin center would: edit receives a copy of the document, and
// the result must pass the same rules as a Graph PATCH. It advances the
// version and returns the new one. edit runs under the emulator's lock, so
// that no write slips in between, and must not call the Emulator.
func (e *Emulator) PortalEdit(tenantID string, edit func(*Fido2Document)) (uint64, error) {
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		next := tn.doc.Clone()
		edit(&next)
		var err error
		v, err = e.commitFido2(tn, next.Clone())
		return err
	})
	return v, err
}

// applyPatch merges a decoded PATCH into a tenant's policy, validates and
// stores the result; Graph PATCHes and the admin API's portal edits share it.
func (e *Emulator) applyPatch(tenantID string, patch fido2Patch) (uint64, *graphError) {
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		var err error
		v, err = e.commitFido2(tn, patch.apply(tn.doc))
		return err
	})
	var ruleErr *graphError
	switch {
	case errors.As(err, &ruleErr):
		return 0, ruleErr
	case err != nil:
		// Only an unknown tenant gets here.
		return 0, &graphError{Status: http.StatusNotFound, Code: "Request_ResourceNotFound", Message: err.Error()}
	}
	return v, nil
}

// commitFido2 validates next against the tenant's document and stores it.
// The caller holds e.mu.
func (e *Emulator) commitFido2(tn *tenant, next Fido2Document) (uint64, error) {
	for i, p := range next.PasskeyProfiles {
		if types, err := canonicalPasskeyTypes(p.PasskeyTypes); err == nil {
			next.PasskeyProfiles[i].PasskeyTypes = types
		}
	}
	if err := validateFido2(tn.doc, next); err != nil {
		return 0, err
	}
	tn.doc = next
	tn.version++
	tn.lastModified = e.now()
	return tn.version, nil
}

// withTenant runs fn on a tenant under the lock.
func (e *Emulator) withTenant(tenantID string, fn func(*tenant) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tn, ok := e.tenants[normalizeID(tenantID)]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownTenant, tenantID)
	}
	return fn(tn)
}
