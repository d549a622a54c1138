package emulator

import (
	"fmt"
	"math"
)

// Synthetic users, for tests and benchmarks of large tenants (100,000
// users and more): deterministic, so that two runs see the same tenant.

// MaxGeneratedUsers bounds UserGeneration.Count.
const MaxGeneratedUsers = 1_000_000

// UserGeneration describes synthetic users for a tenant. User i (from 0)
// has id 5e000000-0000-4000-8000-<i in 12 digits>, userPrincipalName
// user<i>@generated.example and display name "Generated User <i>"; it is a
// direct member of group i mod Groups (id 6e000000-0000-4000-8000-<j in 12
// digits>, "Generated Group <j>"). Every user has microsoftAuthenticatorPush;
// PasskeyShare of them, spread evenly, also have a passkey, alternately
// passKeyDeviceBound and passKeySynced.
type UserGeneration struct {
	Count        int     `json:"count"`
	Groups       int     `json:"groups"`
	PasskeyShare float64 `json:"passkeyShare"`
}

// Validate refuses counts out of range and a share that is not a fraction.
func (g UserGeneration) Validate() error {
	switch {
	case g.Count < 1 || g.Count > MaxGeneratedUsers:
		return fmt.Errorf("count %d: want 1 to %d", g.Count, MaxGeneratedUsers)
	case g.Groups < 0 || g.Groups > g.Count:
		return fmt.Errorf("groups %d: want 0 to the count, %d", g.Groups, g.Count)
	case math.IsNaN(g.PasskeyShare) || g.PasskeyShare < 0 || g.PasskeyShare > 1:
		return fmt.Errorf("passkeyShare %v: want a fraction from 0 to 1", g.PasskeyShare)
	}
	return nil
}

// Generated users' method lists, shared by all of them.
var (
	generatedNoPasskey   = []string{"microsoftAuthenticatorPush"}
	generatedDeviceBound = []string{"microsoftAuthenticatorPush", "passKeyDeviceBound"}
	generatedSynced      = []string{"microsoftAuthenticatorPush", "passKeySynced"}
)

// GeneratedUserID and GeneratedGroupID are the ids UserGeneration gives.
func GeneratedUserID(i int) string  { return fmt.Sprintf("5e000000-0000-4000-8000-%012d", i) }
func GeneratedGroupID(j int) string { return fmt.Sprintf("6e000000-0000-4000-8000-%012d", j) }

// directory returns the users and groups g describes.
func (g UserGeneration) directory() ([]User, []Group) {
	users := make([]User, g.Count)
	groups := make([]Group, g.Groups)
	for j := range groups {
		groups[j] = Group{ID: GeneratedGroupID(j), DisplayName: fmt.Sprintf("Generated Group %d", j),
			Members: make([]string, 0, g.Count/g.Groups+1)}
	}
	for i := range users {
		users[i] = User{ID: GeneratedUserID(i), UserPrincipalName: fmt.Sprintf("user%d@generated.example", i),
			DisplayName: fmt.Sprintf("Generated User %d", i), MethodsRegistered: g.methods(i)}
		if g.Groups > 0 {
			groups[i%g.Groups].Members = append(groups[i%g.Groups].Members, users[i].ID)
		}
	}
	return users, groups
}

// methods gives user i a passkey when the running count of passkey holders,
// i × share rounded down, steps up at i: exactly ⌊Count × share⌋ users
// have one, evenly spread.
func (g UserGeneration) methods(i int) []string {
	before := int(float64(i) * g.PasskeyShare)
	if int(float64(i+1)*g.PasskeyShare) == before {
		return generatedNoPasskey
	}
	if before%2 == 0 {
		return generatedDeviceBound
	}
	return generatedSynced
}

// GenerateUsers seeds a tenant that exists with the users and groups g
// describes, replacing those with the same ids (generating again with the
// same g changes nothing).
func (e *Emulator) GenerateUsers(tenantID string, g UserGeneration) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("generate users: %w", err)
	}
	if err := e.withTenant(tenantID, func(*tenant) error { return nil }); err != nil {
		return err
	}
	users, groups := g.directory()
	if err := e.Seed(Tenant{ID: tenantID, Users: users, Groups: groups}); err != nil {
		return fmt.Errorf("generate users: %w", err)
	}
	return nil
}
