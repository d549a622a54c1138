package emulator

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

const registrationPath = "/v1.0/reports/authenticationMethods/userRegistrationDetails"

func TestRegistrationDetailsShape(t *testing.T) {
	env, token := directoryEnv(t, RoleAuditLogRead)
	items, pages := env.listAll(registrationPath, token)
	if pages != 1 || len(items) != 4 {
		t.Fatalf("report: %d items in %d pages, want 4 in 1", len(items), pages)
	}
	var alex, dana registrationDetails
	dec := func(raw json.RawMessage, v *registrationDetails) {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
	}
	dec(items[0], &alex)
	dec(items[3], &dana)
	if alex.ID != user1 || alex.UserPrincipalName != "alex@contoso.example" || alex.UserDisplayName != "Alex" ||
		!slices.Equal(alex.MethodsRegistered, []string{"microsoftAuthenticatorPush", "passKeySynced"}) ||
		!alex.IsMfaRegistered || !alex.IsPasswordlessCapable || alex.UserType != "member" || alex.LastUpdatedDateTime == "" {
		t.Errorf("alex = %+v", alex)
	}
	// Email alone serves self-service password reset, not MFA.
	if dana.IsMfaRegistered || dana.IsPasswordlessCapable {
		t.Errorf("dana = %+v, want neither MFA nor passwordless", dana)
	}
	// Every property of the v1.0 type is present.
	var fields map[string]any
	_ = json.Unmarshal(items[1], &fields)
	for _, name := range []string{"id", "userPrincipalName", "userDisplayName", "userType", "isAdmin", "isSsprRegistered",
		"isSsprEnabled", "isSsprCapable", "isMfaRegistered", "isMfaCapable", "isPasswordlessCapable", "lastUpdatedDateTime",
		"methodsRegistered", "isSystemPreferredAuthenticationMethodEnabled", "systemPreferredAuthenticationMethods",
		"userPreferredMethodForSecondaryAuthentication"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("item %s lacks %s", items[1], name)
		}
	}
}

func TestRegistrationDetailsFilter(t *testing.T) {
	env, token := directoryEnv(t, RoleAuditLogRead)
	tests := []struct {
		name, filter string
		want         []string // nil: 400
	}{
		{"synced passkeys", "methodsRegistered/any(m: m eq 'passKeySynced')", []string{user1}},
		{"other variable, no spaces", "methodsRegistered/any(x:x eq 'passKeyDeviceBound')", []string{user2}},
		{"method names ignore case", "methodsRegistered/any(m: m eq 'PASSKEYSYNCED')", []string{user1}},
		{"or of two", "methodsRegistered/any(m: m eq 'passKeySynced') or methodsRegistered/any(m: m eq 'windowsHelloForBusiness')", []string{user1, user3}},
		{"OR in capitals, clauses in parentheses", "(methodsRegistered/any(i:i eq 'passKeyDeviceBound')) OR (methodsRegistered/any(i:i eq 'email'))", []string{user2, user4}},
		{"a method nobody has", "methodsRegistered/any(m: m eq 'macOsSecureEnclaveKey')", []string{}},
		{"and", "methodsRegistered/any(m: m eq 'passKeySynced') and methodsRegistered/any(m: m eq 'email')", nil},
		{"another property", "isMfaRegistered eq true", nil},
		{"lambda variables differ", "methodsRegistered/any(m: x eq 'passKeySynced')", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := registrationPath + "?$filter=" + url.QueryEscape(tt.filter)
			if tt.want == nil {
				resp, body := env.do(http.MethodGet, path, token, "")
				expectGraphError(t, resp, body, http.StatusBadRequest, "Request_UnsupportedQuery", "methodsRegistered/any")
				return
			}
			items, _ := env.listAll(path, token)
			if got := ids(t, items); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRegistrationDetailsNeedPremium(t *testing.T) {
	env, token := directoryEnv(t, RoleAuditLogRead)
	premium := false
	env.mustSeed(Tenant{ID: tenantA, Premium: &premium})
	resp, body := env.do(http.MethodGet, registrationPath, token, "")
	expectGraphError(t, resp, body, http.StatusForbidden, "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
		"Neither tenant is B2C or tenant doesn't have premium license")

	// Seeding without the flag keeps it; with it, changes it.
	env.mustSeed(Tenant{ID: tenantA})
	if resp, _ := env.do(http.MethodGet, registrationPath, token, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("after a seed without premium: %d, want still 403", resp.StatusCode)
	}
	premium = true
	env.mustSeed(Tenant{ID: tenantA, Premium: &premium})
	if resp, body := env.do(http.MethodGet, registrationPath, token, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("premium again: %d %s", resp.StatusCode, body)
	}
}
