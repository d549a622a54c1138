package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
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
	RolePolicyReadAll   = "Policy.Read.All"
	RolePolicyReadWrite = "Policy.ReadWrite.AuthenticationMethod"
	RoleGroupMemberRead = "GroupMember.Read.All"
	RoleGroupRead       = "Group.Read.All"
	RoleGroupReadWrite  = "Group.ReadWrite.All"
	RoleDirectoryRead   = "Directory.Read.All"
	RoleDirectoryWrite  = "Directory.ReadWrite.All"
	// Users, membership and the registration report (directory.go,
	// reports.go).
	RoleUserRead             = "User.Read.All"
	RoleUserReadWrite        = "User.ReadWrite.All"
	RoleGroupMemberReadWrite = "GroupMember.ReadWrite.All"
	RoleAuditLogRead         = "AuditLog.Read.All"
)

// ReadWriteRoles are the roles an app gets from the command line's --tenant:
// everything the operator needs, writes included.
var ReadWriteRoles = []string{RolePolicyReadWrite, RoleGroupRead}

// DefaultFederatedAudience is the audience Entra expects on a federated
// (workload identity) assertion.
const DefaultFederatedAudience = "api://AzureADTokenExchange"

// Tenant seeds a tenant: its id, its registered apps, its groups and its
// users. Seeding an existing tenant adds or replaces apps, groups and users
// by id: a group given again gets the members it is given now.
type Tenant struct {
	ID     string
	Apps   []App
	Groups []Group
	Users  []User
	// Premium says whether the tenant has Entra ID P1 or P2, which the
	// registration report needs. nil: a new tenant has it, an existing one
	// keeps what it had.
	Premium *bool
	// Fido2, when set, is the tenant's passkey policy, a Graph fido2
	// document stored as PutFido2 stores it (for instance a tenant never
	// migrated to passkey profiles). A new tenant starts with it at version
	// 0; an existing one gets it as a write. Empty: a new tenant starts with
	// DefaultFido2Document, an existing one keeps its policy.
	Fido2 json.RawMessage
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
	// copied into its access tokens, so a token issued before the app is
	// seeded again with other roles keeps the old ones, as Entra's do.
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
	// Members are the object ids of the group's direct members, users or
	// other groups (groups nest). An id no user or group has is kept and
	// skipped, as a member deleted since.
	Members []string `json:"members,omitempty"`
}

// User is a directory user the emulator serves at /v1.0/users, in group
// memberships and in the authentication methods registration report.
type User struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	// MethodsRegistered are the registration report's method names
	// (passKeyDeviceBound, passKeySynced, windowsHelloForBusiness,
	// microsoftAuthenticatorPush, ...), kept as given: Graph adds names.
	MethodsRegistered []string `json:"methodsRegistered,omitempty"`
}

// tenant is the state of one tenant; Emulator.mu guards it.
type tenant struct {
	id           string
	apps         map[string]App   // by lower-case client id
	groups       map[string]Group // by lower-case object id
	directory    directory        // users and the membership index (directory.go)
	premium      bool             // Entra ID P1/P2: the registration report answers
	doc          jsonObject       // the fido2 document as stored (document.go)
	model        tenantModel      // what stored documents showed beyond the metadata
	behavior     Behavior         // answers to open questions; empty fields: the emulator's
	version      uint64
	lastModified time.Time
	fault        Fault
	graphCount   uint64 // Graph requests seen, for every-Nth faults
	requests     []RequestRecord
}

func normalizeID(id string) string { return strings.ToLower(strings.TrimSpace(id)) }

// ErrUnknownTenant is returned for a tenant id that was never seeded.
var ErrUnknownTenant = errors.New("unknown tenant")

// Seed creates the tenant if it does not exist (with the default passkey
// policy, or t.Fido2, and the default fault settings) and adds its apps and
// groups. A t.Fido2 that is not a document is refused before anything
// changes.
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
	if err := checkUserSeeds(t.Users); err != nil {
		return fmt.Errorf("seed tenant %s: %w", id, err)
	}
	var doc jsonObject
	if len(t.Fido2) > 0 {
		var err error
		if doc, err = storedDocument(t.Fido2); err != nil {
			return fmt.Errorf("seed tenant %s: %w", id, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tn, ok := e.tenants[id]
	if ok {
		// Checked before anything changes, like the rest of the seed.
		if err := tn.directory.checkUPNs(t.Users); err != nil {
			return fmt.Errorf("seed tenant %s: %w", id, err)
		}
	}
	if !ok {
		tn = &tenant{
			id:           id,
			apps:         map[string]App{},
			groups:       map[string]Group{},
			doc:          defaultDocument(),
			lastModified: e.now(),
			fault:        e.opts.DefaultFault,
			premium:      true,
		}
		e.tenants[id] = tn
		if len(t.Fido2) > 0 {
			tn.putDocument(doc)
		}
	} else if len(t.Fido2) > 0 {
		tn.putDocument(doc)
		tn.version++
		tn.lastModified = e.now()
	}
	for _, app := range t.Apps {
		app.Roles = slices.Clone(app.Roles)
		app.Certificates = slices.Clone(app.Certificates)
		app.Federated = slices.Clone(app.Federated)
		tn.apps[normalizeID(app.ClientID)] = app
	}
	tn.seedDirectory(t, e.now())
	return nil
}

// seedDirectory adds a seed's groups and users, replacing those with the
// same ids, and sets the licence if the seed says.
func (tn *tenant) seedDirectory(t Tenant, now time.Time) {
	for _, g := range t.Groups {
		g.Members = slices.Clone(g.Members)
		tn.groups[normalizeID(g.ID)] = g
	}
	if len(t.Users) > 0 || len(t.Groups) > 0 {
		tn.directory.putUsers(t.Users, now)
	}
	if t.Premium != nil {
		tn.premium = *t.Premium
	}
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
// and its fault counter to 0, and forgets what documents stored with
// PutFido2 taught it. Apps, groups, fault settings and behaviour stay.
func (e *Emulator) Reset(tenantID string) error {
	return e.withTenant(tenantID, func(tn *tenant) error {
		tn.doc = defaultDocument()
		tn.model = tenantModel{}
		tn.version = 0
		tn.graphCount = 0
		tn.lastModified = e.now()
		return nil
	})
}

// Version is the number of successful writes to a tenant's passkey policy
// (PATCH, DELETE, portal edit or PutFido2) since it was created or reset.
func (e *Emulator) Version(tenantID string) (uint64, error) {
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		v = tn.version
		return nil
	})
	return v, err
}

// Fido2 returns the typed view of a tenant's passkey policy and its
// version. The view leaves out what the emulator does not model; Fido2JSON
// has everything.
func (e *Emulator) Fido2(tenantID string) (Fido2Document, uint64, error) {
	var doc Fido2Document
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		doc, v = viewOf(tn.doc), tn.version
		return nil
	})
	return doc, v, err
}

// Fido2JSON returns a tenant's passkey policy as stored — without the
// annotations and the entity id GET adds — and its version.
func (e *Emulator) Fido2JSON(tenantID string) (json.RawMessage, uint64, error) {
	var raw json.RawMessage
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		raw, v = tn.doc.bytes(), tn.version
		return nil
	})
	return raw, v, err
}

// PutFido2 replaces a tenant's passkey policy with a Graph fido2 document,
// stored exactly as given: any state a real tenant can hold, including
// properties and enum members the emulator does not model, repeated
// AAGUIDs, attestation with synced passkeys, or no passkey profiles at all
// (a tenant never migrated). No product rule applies; the document must be
// a JSON object whose declared properties have their declared JSON types.
// Annotations and the id are dropped (GET writes them), and the deprecated
// tenant-wide settings, where present, are made equal to the default
// profile's. What it holds beyond the metadata, later PATCHes may write.
// It advances the version.
func (e *Emulator) PutFido2(tenantID string, raw []byte) error {
	doc, err := storedDocument(raw)
	if err != nil {
		return err
	}
	return e.withTenant(tenantID, func(tn *tenant) error {
		tn.putDocument(doc)
		tn.version++
		tn.lastModified = e.now()
		return nil
	})
}

// putDocument stores a checked document and learns its extensions.
func (tn *tenant) putDocument(doc jsonObject) {
	tn.doc = doc
	tn.model = tenantModel{}
	tn.model.learn(doc)
}

// PortalEdit changes a tenant's passkey policy the way an administrator in
// the Entra admin center would: edit receives the typed view, and what it
// changes is merged into the stored document (what the view does not model
// stays) and must pass the same rules as a Graph PATCH. Like the admin
// center, it keeps the ids it gives new profiles (a new profile without one
// gets a GUID) and its targets may name profiles it creates. It advances
// the version and returns the new one. edit runs under the emulator's lock,
// so that no write slips in between, and must not call the Emulator.
func (e *Emulator) PortalEdit(tenantID string, edit func(*Fido2Document)) (uint64, error) {
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		edited := viewOf(tn.doc)
		edit(&edited)
		var gerr *graphError
		if v, gerr = e.write(tn, portalPatch(tn.doc, edited), true); gerr != nil {
			return gerr
		}
		return nil
	})
	return v, err
}

// applyPatch decodes a PATCH body against a tenant's policy and writes it;
// Graph PATCHes and the admin API's portal edits (portal true) share it.
// With ifVersion, it writes only over that version of the policy (412
// otherwise), so that a read-modify-write cannot undo a write it did not see.
func (e *Emulator) applyPatch(tenantID string, body []byte, portal bool, ifVersion *uint64) (uint64, *graphError) {
	var v uint64
	err := e.withTenant(tenantID, func(tn *tenant) error {
		if ifVersion != nil && *ifVersion != tn.version {
			return &graphError{Status: http.StatusPreconditionFailed, Code: "PreconditionFailed",
				Message: fmt.Sprintf("The policy is at version %d, not %d.", tn.version, *ifVersion)}
		}
		patch, gerr := decodeFido2Patch(body, !portal, tn.doc, &tn.model)
		if gerr == nil {
			v, gerr = e.write(tn, patch, portal)
		}
		if gerr != nil {
			return gerr
		}
		return nil
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
