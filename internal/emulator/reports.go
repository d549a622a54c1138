package emulator

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// GET /v1.0/reports/authenticationMethods/userRegistrationDetails: which
// authentication methods each user has registered (docs/emulator.md,
// "Users, membership and the registration report").

// registrationPageSize: the report's default and largest page are not
// documented; 1000 is our guess.
var registrationPageSize = pageSize{def: 1000, max: 1000}

// notMfaMethods are the registration report's method names that do not
// make a user registered for multifactor authentication: self-service
// password reset only.
var notMfaMethods = []string{"email", "securityQuestion"}

// passwordlessMethods are the method names that make a user passwordless
// capable (the resource page: FIDO2, Windows Hello for Business and
// passwordless Microsoft Authenticator).
var passwordlessMethods = []string{"passKeyDeviceBound", "passKeyDeviceBoundAuthenticator", "passKeySynced",
	"windowsHelloForBusiness", "macOsSecureEnclaveKey", "microsoftAuthenticatorPasswordless", "fido2SecurityKey"}

// registrationDetails is a userRegistrationDetails: every property of the
// v1.0 type. Those the emulator does not model have a fixed value.
type registrationDetails struct {
	ID                                            string   `json:"id"`
	UserPrincipalName                             string   `json:"userPrincipalName"`
	UserDisplayName                               string   `json:"userDisplayName"`
	UserType                                      string   `json:"userType"`
	IsAdmin                                       bool     `json:"isAdmin"`
	IsSsprRegistered                              bool     `json:"isSsprRegistered"`
	IsSsprEnabled                                 bool     `json:"isSsprEnabled"`
	IsSsprCapable                                 bool     `json:"isSsprCapable"`
	IsMfaRegistered                               bool     `json:"isMfaRegistered"`
	IsMfaCapable                                  bool     `json:"isMfaCapable"`
	IsPasswordlessCapable                         bool     `json:"isPasswordlessCapable"`
	LastUpdatedDateTime                           string   `json:"lastUpdatedDateTime"`
	MethodsRegistered                             []string `json:"methodsRegistered"`
	IsSystemPreferredAuthenticationMethodEnabled  bool     `json:"isSystemPreferredAuthenticationMethodEnabled"`
	SystemPreferredAuthenticationMethods          []string `json:"systemPreferredAuthenticationMethods"`
	UserPreferredMethodForSecondaryAuthentication string   `json:"userPreferredMethodForSecondaryAuthentication"`
}

func newRegistrationDetails(u User, updated string) registrationDetails {
	methods := u.MethodsRegistered
	if methods == nil {
		methods = []string{}
	}
	mfa := slices.ContainsFunc(methods, func(m string) bool { return !slices.Contains(notMfaMethods, m) })
	return registrationDetails{
		ID: u.ID, UserPrincipalName: u.UserPrincipalName, UserDisplayName: u.DisplayName, UserType: "member",
		IsMfaRegistered: mfa, IsMfaCapable: mfa,
		IsPasswordlessCapable:                         slices.ContainsFunc(methods, func(m string) bool { return slices.Contains(passwordlessMethods, m) }),
		LastUpdatedDateTime:                           updated,
		MethodsRegistered:                             methods,
		SystemPreferredAuthenticationMethods:          []string{},
		UserPreferredMethodForSecondaryAuthentication: "none",
	}
}

// methodClause matches one clause of the filter the emulator evaluates:
// methodsRegistered/any(m: m eq '<method>'), with ” escaping a quote.
var methodClause = regexp.MustCompile(`^\s*\(?\s*methodsRegistered/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*\)\s*\)?\s*$`)

// orOperator splits a filter into clauses joined by or.
var orOperator = regexp.MustCompile(`(?i)\s+or\s+`)

// readMethodsFilter reads a $filter of methodsRegistered/any clauses
// joined by or, and returns the method names any of which a user must
// have; nil without a filter.
func readMethodsFilter(r *http.Request) ([]string, *graphError) {
	filter := r.URL.Query().Get("$filter")
	if filter == "" {
		return nil, nil
	}
	var methods []string
	for _, clause := range orOperator.Split(filter, -1) {
		m := methodClause.FindStringSubmatch(clause)
		if m == nil || m[1] != m[2] {
			return nil, unsupportedFilter("methodsRegistered/any(m: m eq '<method>') clauses joined by or")
		}
		methods = append(methods, strings.ReplaceAll(m[3], "''", "'"))
	}
	return methods, nil
}

// hasAnyMethod reports whether registered holds one of wanted; names
// compare ignoring case.
func hasAnyMethod(registered, wanted []string) bool {
	return slices.ContainsFunc(registered, func(m string) bool {
		return slices.ContainsFunc(wanted, func(w string) bool { return strings.EqualFold(m, w) })
	})
}

// reportPermissionMissing is the reports service's answer to a caller
// without AuditLog.Read.All (a real response quoted in
// microsoft-graph-docs-contrib#1852).
func reportPermissionMissing() *graphError {
	return &graphError{Status: http.StatusForbidden, Code: "Authentication_MSGraphPermissionMissing",
		Message: "Calling principal does not have required MSGraph permissions AuditLog.Read.All"}
}

// notPremium is the reports service's answer in a tenant without Entra ID
// P1/P2 (real responses quoted in microsoft-graph-docs-contrib#8777 and
// #3808).
func notPremium() *graphError {
	return &graphError{Status: http.StatusForbidden, Code: "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
		Message: "Neither tenant is B2C or tenant doesn't have premium license"}
}

func (e *Emulator) serveRegistrationDetails(w http.ResponseWriter, r *http.Request, who caller) {
	if !e.readAllowed(w, r, who, reportPermissionMissing(), RoleAuditLogRead) {
		return
	}
	q, gerr := readPageQuery(r, registrationPageSize)
	var wanted []string
	if gerr == nil {
		wanted, gerr = readMethodsFilter(r)
	}
	var page collectionPage
	if gerr == nil {
		gerr = e.readTenant(who.tenantID, func(tn *tenant) *graphError {
			if !tn.premium {
				return notPremium()
			}
			page = registrationPage(&tn.directory, q, wanted)
			return nil
		})
	}
	e.writeCollection(w, r, "reports/authenticationMethods/userRegistrationDetails", page, gerr)
}

// registrationPage lists the page q asks for of the users that have one of
// the wanted methods (nil: all users).
func registrationPage(d *directory, q pageQuery, wanted []string) collectionPage {
	updated := d.updated.UTC().Format("2006-01-02T15:04:05.0000000Z")
	var match func(string) bool
	if wanted != nil {
		match = func(id string) bool { return hasAnyMethod(d.users[id].MethodsRegistered, wanted) }
	}
	return listPage(d.sortedUserIDs(), q, match, func(id string) any { return newRegistrationDetails(d.users[id], updated) })
}
