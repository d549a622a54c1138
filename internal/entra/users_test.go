package entra_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// readerApp may read users, memberships and the registration report.
const readerApp = "e7e7e7e7-0000-4000-8000-000000000007"

// readerEnv is an emulator whose tenant also has readerApp, with a client
// for it that records the Graph requests it sends and the operations the
// Observer is told of.
type readerEnv struct {
	*testEnv
	c *entra.Client

	mu       sync.Mutex
	requests []*url.URL
	attempts map[string]int // by Attempt.Operation
}

func newReaderEnv(t *testing.T) *readerEnv {
	t.Helper()
	re := &readerEnv{attempts: map[string]int{}}
	re.testEnv = newEnvWithHandler(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v1.0/") {
				re.mu.Lock()
				re.requests = append(re.requests, r.URL)
				re.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	re.seed(t, emulator.Tenant{ID: tenantID, Apps: []emulator.App{{ClientID: readerApp, ClientSecret: secret,
		Roles: []string{emulator.RoleUserRead, emulator.RoleGroupMemberRead, emulator.RoleAuditLogRead}}}})
	opts := re.options()
	opts.Observer = func(a entra.Attempt) {
		re.mu.Lock()
		re.attempts[a.Operation]++
		re.mu.Unlock()
	}
	c, err := entra.NewClient(re.config(readerApp), opts)
	if err != nil {
		t.Fatal(err)
	}
	re.c = c
	return re
}

func (re *readerEnv) seed(t *testing.T, tn emulator.Tenant) {
	t.Helper()
	if err := re.emu.Seed(tn); err != nil {
		t.Fatal(err)
	}
}

// sent returns the requests sent to paths starting with prefix, and
// forgets all requests and attempts.
func (re *readerEnv) sent(prefix string) (reqs []*url.URL, attempts map[string]int) {
	re.mu.Lock()
	defer re.mu.Unlock()
	for _, u := range re.requests {
		if strings.HasPrefix(u.Path, prefix) {
			reqs = append(reqs, u)
		}
	}
	attempts = re.attempts
	re.requests, re.attempts = nil, map[string]int{}
	return reqs, attempts
}

// checkPages checks that want requests were made, each selecting sel with
// $top top, and that the Observer saw them all as op.
func (re *readerEnv) checkPages(t *testing.T, prefix, op, sel, top string, want int) {
	t.Helper()
	reqs, attempts := re.sent(prefix)
	if len(reqs) != want || attempts[op] != want || len(attempts) != 1 {
		t.Errorf("%d requests to %s, attempts %v; want %d pages, all %s", len(reqs), prefix, attempts, want, op)
	}
	for i, u := range reqs {
		q := u.Query()
		if q.Get("$select") != sel || q.Get("$top") != top || (i > 0) != q.Has("$skiptoken") {
			t.Errorf("page %d query %v, want $select=%s, $top=%s and $skiptoken after the first", i, q, sel, top)
		}
	}
}

func TestUser(t *testing.T) {
	re := newReaderEnv(t)
	want := entra.User{ID: "7a000000-0000-4000-8000-000000000001", UserPrincipalName: "alex@contoso.example", DisplayName: "Alex Wilber"}
	re.seed(t, emulator.Tenant{ID: tenantID, Users: []emulator.User{
		{ID: want.ID, UserPrincipalName: want.UserPrincipalName, DisplayName: want.DisplayName},
		{ID: "7a000000-0000-4000-8000-000000000002", UserPrincipalName: "dana@contoso.example", DisplayName: "Dana"},
	}})
	for _, key := range []string{want.ID, want.UserPrincipalName, "Alex@Contoso.example"} {
		got, err := re.c.User(ctx(t), key)
		if err != nil || got != want {
			t.Errorf("User(%q) = %+v, %v; want %+v", key, got, err, want)
		}
	}
	reqs, attempts := re.sent("/v1.0/users/")
	if len(reqs) != 3 || attempts[entra.OpUser] != 3 || len(attempts) != 1 {
		t.Errorf("%d requests, attempts %v; want 3, all %s", len(reqs), attempts, entra.OpUser)
	}
	for _, u := range reqs {
		if q := u.Query(); q.Get("$select") != "id,userPrincipalName,displayName" || len(q) != 1 {
			t.Errorf("User query = %v, want only $select=id,userPrincipalName,displayName", q)
		}
	}

	for _, key := range []string{"7a000000-0000-4000-8000-0000000000ff", "nobody@contoso.example"} {
		if _, err := re.c.User(ctx(t), key); entra.Classify(err) != entra.ClassNotFound || !strings.Contains(err.Error(), "looking up user "+key+" of tenant acme") {
			t.Errorf("User(%q) = %v, want ClassNotFound naming the user", key, err)
		}
	}
	if _, err := re.c.User(ctx(t), ""); err == nil {
		t.Error(`User("") succeeded`)
	}
}

func TestUserGroups(t *testing.T) {
	re := newReaderEnv(t)
	const user = "7a000000-0000-4000-8000-000000000001"
	// The user is a direct member of 600 groups, each of which is a member
	// of another group: 1,200 groups, two pages of 999. One more group
	// holds someone else.
	seed := emulator.Tenant{ID: tenantID, Users: []emulator.User{
		{ID: user, UserPrincipalName: "alex@contoso.example"},
		{ID: "7a000000-0000-4000-8000-000000000002", UserPrincipalName: "dana@contoso.example"},
	}}
	var want []entra.Group
	for i := range 600 {
		direct := entra.Group{ID: fmt.Sprintf("8b000000-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("Direct %d", i)}
		parent := entra.Group{ID: fmt.Sprintf("8c000000-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("Parent %d", i)}
		want = append(want, direct, parent)
		seed.Groups = append(seed.Groups,
			emulator.Group{ID: direct.ID, DisplayName: direct.DisplayName, Members: []string{user}},
			emulator.Group{ID: parent.ID, DisplayName: parent.DisplayName, Members: []string{direct.ID}})
	}
	seed.Groups = append(seed.Groups, emulator.Group{ID: "8d000000-0000-4000-8000-000000000000", DisplayName: "Others",
		Members: []string{"7a000000-0000-4000-8000-000000000002"}})
	re.seed(t, seed)

	got, err := re.c.UserGroups(ctx(t), user)
	if err != nil {
		t.Fatal(err)
	}
	byID := func(a, b entra.Group) int { return strings.Compare(a.ID, b.ID) }
	slices.SortFunc(got, byID)
	slices.SortFunc(want, byID)
	if !slices.Equal(got, want) {
		t.Errorf("UserGroups() = %d groups, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
	re.checkPages(t, "/v1.0/users/", entra.OpUserGroups, "id,displayName", "999", 2)

	if _, err := re.c.UserGroups(ctx(t), "7a000000-0000-4000-8000-0000000000ff"); entra.Classify(err) != entra.ClassNotFound {
		t.Errorf("UserGroups(unknown) = %v, want ClassNotFound", err)
	}
	if _, err := re.c.UserGroups(ctx(t), ""); err == nil {
		t.Error(`UserGroups("") succeeded`)
	}
}

func TestGroupUserIDs(t *testing.T) {
	re := newReaderEnv(t)
	// 2,500 users in two groups, both members of a third: three pages.
	if err := re.emu.GenerateUsers(tenantID, emulator.UserGeneration{Count: 2500, Groups: 2}); err != nil {
		t.Fatal(err)
	}
	const all = "8e000000-0000-4000-8000-000000000000"
	re.seed(t, emulator.Tenant{ID: tenantID, Groups: []emulator.Group{{ID: all, DisplayName: "Everyone",
		Members: []string{emulator.GeneratedGroupID(0), emulator.GeneratedGroupID(1)}}}})

	got, err := re.c.GroupUserIDs(ctx(t), all)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 2500)
	for i := range want {
		want[i] = emulator.GeneratedUserID(i)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("GroupUserIDs() = %d ids, want %d (first difference at %d)", len(got), len(want), firstDiff(got, want))
	}
	re.checkPages(t, "/v1.0/groups/", entra.OpGroupUserIDs, "id", "999", 3)

	if _, err := re.c.GroupUserIDs(ctx(t), unknownGroup); entra.Classify(err) != entra.ClassNotFound {
		t.Errorf("GroupUserIDs(unknown) = %v, want ClassNotFound", err)
	}
	if _, err := re.c.GroupUserIDs(ctx(t), ""); err == nil {
		t.Error(`GroupUserIDs("") succeeded`)
	}
}

// TestDirectoryReadsWithoutPermission checks that a 403 names the
// permission to grant, and is not taken for a missing licence.
func TestDirectoryReadsWithoutPermission(t *testing.T) {
	env := newEnv(t)
	c := env.client(t, env.config(bareApp))
	const user = "7a000000-0000-4000-8000-000000000001"
	_, userErr := c.User(ctx(t), user)
	_, groupsErr := c.UserGroups(ctx(t), user)
	_, membersErr := c.GroupUserIDs(ctx(t), unknownGroup)
	reportErr := c.RegistrationDetails(ctx(t), func(entra.RegistrationDetail) error { return nil })
	tests := []struct {
		err  error
		want string
	}{
		{userErr, "looking up user " + user + " of tenant acme: Graph answered 403 Authorization_RequestDenied"},
		{userErr, "permission User.Read.All"},
		{groupsErr, "listing the groups of user " + user + " of tenant acme: Graph answered 403"},
		{groupsErr, "permission User.Read.All"},
		{membersErr, "listing the users of group " + unknownGroup + " of tenant acme: Graph answered 403"},
		{membersErr, "permission GroupMember.Read.All"},
		{reportErr, "reading the authentication methods registration report of tenant acme: Graph answered 403 Authentication_MSGraphPermissionMissing"},
		{reportErr, "permission AuditLog.Read.All"},
	}
	for _, tt := range tests {
		if entra.Classify(tt.err) != entra.ClassForbidden || entra.IsPremiumRequired(tt.err) || !strings.Contains(fmt.Sprint(tt.err), tt.want) {
			t.Errorf("got %v; want ClassForbidden, no licence missing, and %q", tt.err, tt.want)
		}
	}
}

func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
