package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The directory fixture: groups A → B → C → A form a cycle (each holds the
// next as a member), D holds user 4 and an id of nothing, E is empty.
const (
	user1  = "11111111-0000-4000-8000-000000000001"
	user2  = "11111111-0000-4000-8000-000000000002"
	user3  = "11111111-0000-4000-8000-000000000003"
	user4  = "11111111-0000-4000-8000-000000000004"
	groupA = "aaaaaaaa-0000-4000-8000-00000000000a"
	groupB = "bbbbbbbb-0000-4000-8000-00000000000b"
	groupC = "cccccccc-0000-4000-8000-00000000000c"
	groupD = "dddddddd-0000-4000-8000-00000000000d"
	groupE = "eeeeeeee-0000-4000-8000-00000000000e"
)

func fixtureUsers() []User {
	return []User{
		{ID: user1, UserPrincipalName: "alex@contoso.example", DisplayName: "Alex", MethodsRegistered: []string{"microsoftAuthenticatorPush", "passKeySynced"}},
		{ID: user2, UserPrincipalName: "bianca@contoso.example", DisplayName: "Bianca", MethodsRegistered: []string{"passKeyDeviceBound"}},
		{ID: user3, UserPrincipalName: "chris@contoso.example", DisplayName: "Chris", MethodsRegistered: []string{"windowsHelloForBusiness"}},
		{ID: user4, UserPrincipalName: "dana@contoso.example", DisplayName: "Dana", MethodsRegistered: []string{"email"}},
	}
}

func fixtureGroups() []Group {
	return []Group{
		{ID: groupA, DisplayName: "A", Members: []string{user1, groupB}},
		{ID: groupB, DisplayName: "B", Members: []string{user2, strings.ToUpper(groupC)}},
		{ID: groupC, DisplayName: "C", Members: []string{user3, groupA}},
		{ID: groupD, DisplayName: "D", Members: []string{user4, "99999999-0000-4000-8000-000000000000"}},
		{ID: groupE, DisplayName: "E"},
	}
}

// directoryEnv serves tenant A holding the fixture, with an app with roles;
// it returns the app's token.
func directoryEnv(t *testing.T, roles ...string) (*testEnv, string) {
	t.Helper()
	env := newTestEnv(t, Options{})
	env.mustSeed(Tenant{ID: tenantA, Apps: []App{{ClientID: appRW, ClientSecret: secret, Roles: roles}},
		Users: fixtureUsers(), Groups: fixtureGroups()})
	return env, env.token(tenantA, appRW, secret)
}

// listing is a page of a Graph collection, with the ids of its items.
type listing struct {
	Context  string            `json:"@odata.context"`
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

// listAll gets a collection and follows every @odata.nextLink, which must
// be absolute on the emulator; it returns the items and the number of
// pages.
func (env *testEnv) listAll(path, token string) ([]json.RawMessage, int) {
	env.t.Helper()
	var items []json.RawMessage
	pages := 0
	for path != "" {
		resp, body := env.do(http.MethodGet, path, token, "")
		if resp.StatusCode != http.StatusOK {
			env.t.Fatalf("GET %s = %d %s", path, resp.StatusCode, body)
		}
		var page listing
		if err := json.Unmarshal(body, &page); err != nil {
			env.t.Fatalf("page %s: %v", body, err)
		}
		pages++
		items = append(items, page.Value...)
		path = ""
		if page.NextLink != "" {
			var ok bool
			if path, ok = strings.CutPrefix(page.NextLink, env.URL()+"/"); !ok {
				env.t.Fatalf("nextLink %q is not on the emulator %s", page.NextLink, env.URL())
			}
			path = "/" + path
		}
	}
	return items, pages
}

// ids returns the id of each item.
func ids(t *testing.T, items []json.RawMessage) []string {
	t.Helper()
	out := make([]string, 0, len(items))
	for _, item := range items {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(item, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.ID)
	}
	return out
}

func TestGetUser(t *testing.T) {
	env, token := directoryEnv(t, RoleUserRead)
	tests := []struct {
		name, key string
		wantID    string // empty: 404
	}{
		{"by id", user2, user2},
		{"by id in upper case", strings.ToUpper(user2), user2},
		{"by userPrincipalName", "bianca@contoso.example", user2},
		{"by userPrincipalName, other case", "Bianca@Contoso.Example", user2},
		{"unknown id", "12345678-0000-4000-8000-000000000000", ""},
		{"unknown userPrincipalName", "nobody@contoso.example", ""},
		{"a group's id", groupA, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := env.do(http.MethodGet, "/v1.0/users/"+url.PathEscape(tt.key), token, "")
			if tt.wantID == "" {
				expectGraphError(t, resp, body, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+tt.key+"' does not exist")
				return
			}
			var u userResource
			if err := json.Unmarshal(body, &u); err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET = %d %s (%v)", resp.StatusCode, body, err)
			}
			if u.ID != tt.wantID || u.UserPrincipalName == nil || *u.UserPrincipalName != "bianca@contoso.example" ||
				u.DisplayName == nil || *u.DisplayName != "Bianca" || !strings.HasSuffix(u.Context, "$metadata#users/$entity") {
				t.Errorf("GET = %s", body)
			}
		})
	}
}

func TestTransitiveMembership(t *testing.T) {
	env, token := directoryEnv(t, RoleGroupMemberRead, RoleUserRead)
	tests := []struct {
		name, path string
		want       []string
	}{
		{"user in a cycle of groups", "/v1.0/users/" + user3 + "/transitiveMemberOf/microsoft.graph.group", []string{groupA, groupB, groupC}},
		{"user by userPrincipalName", "/v1.0/users/alex@contoso.example/transitiveMemberOf/microsoft.graph.group", []string{groupA, groupB, groupC}},
		{"user in one group", "/v1.0/users/" + user4 + "/transitiveMemberOf/microsoft.graph.group", []string{groupD}},
		{"group with nested groups and a cycle", "/v1.0/groups/" + groupA + "/transitiveMembers/microsoft.graph.user", []string{user1, user2, user3}},
		{"group inside the cycle", "/v1.0/groups/" + groupC + "/transitiveMembers/microsoft.graph.user", []string{user1, user2, user3}},
		{"group with a member that does not exist", "/v1.0/groups/" + groupD + "/transitiveMembers/microsoft.graph.user", []string{user4}},
		{"empty group", "/v1.0/groups/" + groupE + "/transitiveMembers/microsoft.graph.user", []string{}},
		{"path segments in another case", "/v1.0/Groups/" + groupD + "/TransitiveMembers/Microsoft.Graph.User", []string{user4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, _ := env.listAll(tt.path, token)
			if got := ids(t, items); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}

	for _, path := range []string{"/v1.0/users/nobody@contoso.example/transitiveMemberOf/microsoft.graph.group",
		"/v1.0/groups/" + user1 + "/transitiveMembers/microsoft.graph.user"} {
		resp, body := env.do(http.MethodGet, path, token, "")
		expectGraphError(t, resp, body, http.StatusNotFound, "Request_ResourceNotFound", "does not exist")
	}
}

func TestTransitiveItemsHaveGraphShapes(t *testing.T) {
	env, token := directoryEnv(t, RoleGroupMemberRead, RoleUserRead)
	_, body := env.do(http.MethodGet, "/v1.0/users/"+user4+"/transitiveMemberOf/microsoft.graph.group", token, "")
	var groups struct {
		Context string          `json:"@odata.context"`
		Value   []groupResource `json:"value"`
	}
	if err := json.Unmarshal(body, &groups); err != nil || len(groups.Value) != 1 ||
		groups.Context != env.URL()+"/v1.0/$metadata#groups" || groups.Value[0].DisplayName != "D" || groups.Value[0].Type != "#microsoft.graph.group" {
		t.Errorf("transitiveMemberOf = %s (%v)", body, err)
	}
	_, body = env.do(http.MethodGet, "/v1.0/groups/"+groupD+"/transitiveMembers/microsoft.graph.user", token, "")
	var users struct {
		Context string         `json:"@odata.context"`
		Value   []userResource `json:"value"`
	}
	if err := json.Unmarshal(body, &users); err != nil || len(users.Value) != 1 || users.Context != env.URL()+"/v1.0/$metadata#users" ||
		users.Value[0].DisplayName == nil || *users.Value[0].DisplayName != "Dana" {
		t.Errorf("transitiveMembers = %s (%v)", body, err)
	}
}

func TestTransitiveMembersWithoutUserReadAreLimited(t *testing.T) {
	env, token := directoryEnv(t, RoleGroupMemberRead)
	_, body := env.do(http.MethodGet, "/v1.0/groups/"+groupD+"/transitiveMembers/microsoft.graph.user", token, "")
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Value) != 1 {
		t.Fatalf("transitiveMembers = %s (%v)", body, err)
	}
	u := page.Value[0]
	if u["id"] != user4 || u["@odata.type"] != "#microsoft.graph.user" || u["displayName"] != nil || u["userPrincipalName"] != nil {
		t.Errorf("member without User.Read.All = %v, want type and id only", u)
	}
}

// A user's groups, listed with User.Read.All alone, come with their type
// and id only, as members do without User.Read.All.
func TestTransitiveMemberOfWithoutGroupReadIsLimited(t *testing.T) {
	env, token := directoryEnv(t, RoleUserRead)
	_, body := env.do(http.MethodGet, "/v1.0/users/"+user4+"/transitiveMemberOf/microsoft.graph.group", token, "")
	var page struct {
		Value []map[string]any `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.Value) == 0 {
		t.Fatalf("transitiveMemberOf = %s (%v)", body, err)
	}
	for _, g := range page.Value {
		if g["id"] == "" || g["@odata.type"] != "#microsoft.graph.group" || g["displayName"] != nil || len(g) != 3 {
			t.Errorf("group without a group read permission = %v, want type and id only", g)
		}
	}
}

func TestDirectoryPermissions(t *testing.T) {
	users := "/v1.0/users/" + user1
	memberOf := users + "/transitiveMemberOf/microsoft.graph.group"
	members := "/v1.0/groups/" + groupA + "/transitiveMembers/microsoft.graph.user"
	report := "/v1.0/reports/authenticationMethods/userRegistrationDetails"
	const denied, reportDenied = "Authorization_RequestDenied", "Authentication_MSGraphPermissionMissing"
	tests := []struct {
		name, path string
		role       string
		wantCode   string // empty: allowed
	}{
		{"user with User.Read.All", users, RoleUserRead, ""},
		{"user with User.ReadWrite.All", users, RoleUserReadWrite, ""},
		{"user with Directory.Read.All", users, RoleDirectoryRead, ""},
		{"user with Directory.ReadWrite.All", users, RoleDirectoryWrite, ""},
		{"user with Group.Read.All", users, RoleGroupRead, denied},
		{"user with AuditLog.Read.All", users, RoleAuditLogRead, denied},
		{"memberOf with GroupMember.Read.All", memberOf, RoleGroupMemberRead, ""},
		{"memberOf with GroupMember.ReadWrite.All", memberOf, RoleGroupMemberReadWrite, ""},
		{"memberOf with Group.Read.All", memberOf, RoleGroupRead, ""},
		{"memberOf with Group.ReadWrite.All", memberOf, RoleGroupReadWrite, ""},
		{"memberOf with Directory.Read.All", memberOf, RoleDirectoryRead, ""},
		{"memberOf with User.Read.All", memberOf, RoleUserRead, ""},
		{"memberOf with AuditLog.Read.All", memberOf, RoleAuditLogRead, denied},
		{"memberOf with a policy role", memberOf, RolePolicyReadWrite, denied},
		{"members with Directory.ReadWrite.All", members, RoleDirectoryWrite, ""},
		{"members with User.Read.All", members, RoleUserRead, denied},
		{"report with AuditLog.Read.All", report, RoleAuditLogRead, ""},
		{"report with Directory.Read.All", report, RoleDirectoryRead, reportDenied},
		{"report with User.Read.All", report, RoleUserRead, reportDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, token := directoryEnv(t, tt.role)
			resp, body := env.do(http.MethodGet, tt.path, token, "")
			if tt.wantCode == "" {
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET = %d %s, want 200", resp.StatusCode, body)
				}
				return
			}
			msg := "Insufficient privileges to complete the operation."
			if tt.wantCode == reportDenied {
				msg = "Calling principal does not have required MSGraph permissions AuditLog.Read.All"
			}
			expectGraphError(t, resp, body, http.StatusForbidden, tt.wantCode, msg)
		})
	}
}

func TestDirectoryRefusesOtherMethods(t *testing.T) {
	env, token := directoryEnv(t, RoleDirectoryWrite, RoleAuditLogRead)
	for _, path := range []string{"/v1.0/users/" + user1, "/v1.0/groups/" + groupA + "/transitiveMembers/microsoft.graph.user",
		"/v1.0/reports/authenticationMethods/userRegistrationDetails"} {
		resp, body := env.do(http.MethodDelete, path, token, "")
		expectGraphError(t, resp, body, http.StatusMethodNotAllowed, "Request_BadRequest", "'DELETE' is not allowed")
	}
}

func TestSeedAgainReplacesUsers(t *testing.T) {
	env, token := directoryEnv(t, RoleUserRead, RoleGroupMemberRead)
	// Listed once before, so that what the emulator keeps of it must go
	// stale with the seed.
	if items, _ := env.listAll("/v1.0/groups/"+groupD+"/transitiveMembers/microsoft.graph.user", token); !slices.Equal(ids(t, items), []string{user4}) {
		t.Fatalf("group D's members = %v, want user 4", ids(t, items))
	}
	env.mustSeed(Tenant{ID: tenantA, Users: []User{{ID: user2, UserPrincipalName: "bianca.new@contoso.example", DisplayName: "Bianca N"}},
		Groups: []Group{{ID: groupD, DisplayName: "D", Members: []string{user2}}}})

	resp, body := env.do(http.MethodGet, "/v1.0/users/bianca.new@contoso.example", token, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"displayName":"Bianca N"`) {
		t.Errorf("user by new userPrincipalName = %d %s", resp.StatusCode, body)
	}
	resp, body = env.do(http.MethodGet, "/v1.0/users/bianca@contoso.example", token, "")
	expectGraphError(t, resp, body, http.StatusNotFound, "Request_ResourceNotFound", "does not exist")
	if resp, _ := env.do(http.MethodGet, "/v1.0/users/"+user1, token, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("user 1, not given again, = %d, want kept", resp.StatusCode)
	}
	items, _ := env.listAll("/v1.0/groups/"+groupD+"/transitiveMembers/microsoft.graph.user", token)
	if got := ids(t, items); !slices.Equal(got, []string{user2}) {
		t.Errorf("group D's members after seeding it again = %v, want only user 2", got)
	}
	items, _ = env.listAll("/v1.0/users/"+user4+"/transitiveMemberOf/microsoft.graph.group", token)
	if got := ids(t, items); len(got) != 0 {
		t.Errorf("user 4's groups after leaving D = %v, want none", got)
	}
}

func TestSeedRefusesBadUsers(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.mustSeed(Tenant{ID: tenantA, Users: fixtureUsers()})
	tests := []struct {
		name  string
		users []User
		msg   string
	}{
		{"empty id", []User{{UserPrincipalName: "x@contoso.example"}}, "user with empty id"},
		{"no userPrincipalName", []User{{ID: user1}}, "has no userPrincipalName"},
		{"same id twice", []User{{ID: user1, UserPrincipalName: "a@x"}, {ID: user1, UserPrincipalName: "b@x"}}, "given twice"},
		{"another user's userPrincipalName", []User{{ID: "12345678-0000-4000-8000-000000000000", UserPrincipalName: "ALEX@contoso.example"}}, "belongs to user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := env.emu.Seed(Tenant{ID: tenantA, Users: tt.users})
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Seed = %v, want an error with %q", err, tt.msg)
			}
		})
	}
}
