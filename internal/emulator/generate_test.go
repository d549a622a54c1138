package emulator

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestUserGenerationIsDeterministicAndEven(t *testing.T) {
	g := UserGeneration{Count: 1000, Groups: 7, PasskeyShare: 0.3}
	users, groups := g.directory()
	again, _ := g.directory()
	if !slices.EqualFunc(users, again, func(a, b User) bool { return a.ID == b.ID && slices.Equal(a.MethodsRegistered, b.MethodsRegistered) }) {
		t.Error("two generations differ")
	}
	deviceBound, synced, members := 0, 0, 0
	for _, u := range users {
		if slices.Contains(u.MethodsRegistered, "passKeyDeviceBound") {
			deviceBound++
		}
		if slices.Contains(u.MethodsRegistered, "passKeySynced") {
			synced++
		}
	}
	for _, grp := range groups {
		members += len(grp.Members)
	}
	if deviceBound != 150 || synced != 150 || len(groups) != 7 || members != 1000 {
		t.Errorf("device-bound %d, synced %d, groups %d, memberships %d; want 150, 150, 7, 1000", deviceBound, synced, len(groups), members)
	}
	// Evenly spread: every stretch of 10 users holds 3 passkeys.
	for start := 0; start < 1000; start += 10 {
		n := 0
		for _, u := range users[start : start+10] {
			if len(u.MethodsRegistered) == 2 {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("users %d-%d hold %d passkeys, want 3", start, start+9, n)
		}
	}
}

func TestUserGenerationValidate(t *testing.T) {
	tests := []struct {
		g   UserGeneration
		msg string
	}{
		{UserGeneration{Count: 0}, "count 0"},
		{UserGeneration{Count: MaxGeneratedUsers + 1}, "count"},
		{UserGeneration{Count: 5, Groups: 6}, "groups 6"},
		{UserGeneration{Count: 5, Groups: -1}, "groups -1"},
		{UserGeneration{Count: 5, PasskeyShare: 1.5}, "passkeyShare 1.5"},
		{UserGeneration{Count: 5, PasskeyShare: -0.1}, "passkeyShare"},
	}
	for _, tt := range tests {
		if err := tt.g.Validate(); err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Validate(%+v) = %v, want an error with %q", tt.g, err, tt.msg)
		}
	}
	if err := (UserGeneration{Count: 5, Groups: 5, PasskeyShare: 1}).Validate(); err != nil {
		t.Errorf("Validate of a good generation = %v", err)
	}
}

func TestAdminGeneratesUsers(t *testing.T) {
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, RoleDirectoryRead, RoleAuditLogRead)
	resp, body := env.do(http.MethodPost, "/_emulator/tenants/"+tenantA+"/users/generate", "", `{"count":300,"groups":4,"passkeyShare":0.5}`)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("generate = %d %s", resp.StatusCode, body)
	}
	// Again: the same users, replaced, not added.
	env.do(http.MethodPost, "/_emulator/tenants/"+tenantA+"/users/generate", "", `{"count":300,"groups":4,"passkeyShare":0.5}`)
	_, body = env.do(http.MethodGet, "/_emulator/tenants/"+tenantA, "", "")
	if !strings.Contains(string(body), `"users":300`) || !strings.Contains(string(body), `"premium":true`) {
		t.Errorf("tenant after generating = %.300s…", body)
	}
	token := env.token(tenantA, appRW, secret)
	items, _ := env.listAll(registrationPath+"?$filter=methodsRegistered/any(m:m%20eq%20'passKeyDeviceBound')", token)
	if len(items) != 75 {
		t.Errorf("device-bound passkey holders = %d, want 75", len(items))
	}

	for _, tt := range []struct {
		tenant, body string
		status       int
	}{
		{tenantA, `{"count":0}`, http.StatusBadRequest},
		{tenantA, `{"count":5,"colour":"blue"}`, http.StatusBadRequest},
		{tenantB, `{"count":5}`, http.StatusNotFound},
	} {
		if resp, body := env.do(http.MethodPost, "/_emulator/tenants/"+tt.tenant+"/users/generate", "", tt.body); resp.StatusCode != tt.status {
			t.Errorf("generate %s in %s = %d %s, want %d", tt.body, tt.tenant, resp.StatusCode, body, tt.status)
		}
	}
}

func TestAdminSeedsUsersAndMembers(t *testing.T) {
	env := newTestEnv(t, Options{})
	seed := `{"tenantId":"` + tenantA + `","apps":[{"clientId":"` + appRW + `","clientSecret":"` + secret + `","roles":["` + RoleDirectoryRead + `"]}],` +
		`"users":[{"id":"` + user1 + `","userPrincipalName":"alex@contoso.example","displayName":"Alex","methodsRegistered":["passKeySynced"]}],` +
		`"groups":[{"id":"` + groupA + `","displayName":"A","members":["` + groupB + `"]},{"id":"` + groupB + `","displayName":"B","members":["` + user1 + `"]}],` +
		`"premium":false}`
	if resp, body := env.do(http.MethodPost, "/_emulator/tenants", "", seed); resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed = %d %s", resp.StatusCode, body)
	}
	token := env.token(tenantA, appRW, secret)
	items, _ := env.listAll("/v1.0/users/alex@contoso.example/transitiveMemberOf/microsoft.graph.group", token)
	if got := ids(t, items); !slices.Equal(got, []string{groupA, groupB}) {
		t.Errorf("groups = %v, want A (nested) and B", got)
	}
	_, body := env.do(http.MethodGet, "/_emulator/tenants/"+tenantA, "", "")
	if !strings.Contains(string(body), `"premium":false`) || !strings.Contains(string(body), `"members":["`+user1+`"]`) {
		t.Errorf("tenant = %s", body)
	}
	bad := `{"tenantId":"` + tenantA + `","users":[{"id":"` + user2 + `"}]}`
	if resp, body := env.do(http.MethodPost, "/_emulator/tenants", "", bad); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("user without userPrincipalName = %d %s, want 400", resp.StatusCode, body)
	}
}
