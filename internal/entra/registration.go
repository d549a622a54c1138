package entra

import (
	"context"
	"slices"

	"github.com/microsoft/kiota-abstractions-go/serialization"
)

// RegistrationDetail is one user's line of the authentication methods
// registration report.
type RegistrationDetail struct {
	ID                string
	UserPrincipalName string
	// MethodsRegistered are Graph's names of the methods the user has
	// registered, such as passKeyDeviceBound or passKeySynced.
	MethodsRegistered []string
}

// DeviceBound reports whether the user has a device-bound passkey
// (passKeyDeviceBound, or passKeyDeviceBoundAuthenticator: one in
// Microsoft Authenticator).
func (d RegistrationDetail) DeviceBound() bool {
	return d.has("passKeyDeviceBound") || d.has("passKeyDeviceBoundAuthenticator")
}

// Synced reports whether the user has a synced passkey (passKeySynced).
func (d RegistrationDetail) Synced() bool { return d.has("passKeySynced") }

// AnyPasskey reports whether the user has a passkey of either kind.
func (d RegistrationDetail) AnyPasskey() bool { return d.DeviceBound() || d.Synced() }

func (d RegistrationDetail) has(method string) bool {
	return slices.Contains(d.MethodsRegistered, method)
}

// The report is read with neither $select nor $top: its list page once said
// it supports only $filter and $orderBy, and its largest page is not
// documented, so the operator takes the pages Graph chooses rather than be
// refused by a real tenant for a query option the emulator accepts.
const registrationURLTemplate = "{+baseurl}/reports/authenticationMethods/userRegistrationDetails"

// RegistrationDetails reads the authentication methods registration report
// of every user, page by page, calling each for one user at a time; an
// error from each stops the reading and is returned, wrapped. It needs
// AuditLog.Read.All, and a tenant with Microsoft Entra ID P1 or P2: without
// it the error is one that IsPremiumRequired recognises.
func (c *Client) RegistrationDetails(ctx context.Context, each func(RegistrationDetail) error) error {
	req := listRequest(registrationURLTemplate, map[string]string{}, "", 0)
	err := eachItem(withOperation(ctx, OpRegistrationDetails), c.adapter, req, func(r *registrationResource) error {
		return each(r.RegistrationDetail)
	})
	if err != nil {
		return c.fail("reading the authentication methods registration report", permissionReportRead, err)
	}
	return nil
}

// registrationResource is the kiota Parsable for a userRegistrationDetails.
type registrationResource struct{ RegistrationDetail }

func (r *registrationResource) Serialize(w serialization.SerializationWriter) error {
	return firstErr(
		w.WriteStringValue("id", &r.ID),
		w.WriteStringValue("userPrincipalName", &r.UserPrincipalName),
		w.WriteCollectionOfStringValues("methodsRegistered", r.MethodsRegistered),
	)
}

func (r *registrationResource) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":                stringValueField(&r.ID),
		"userPrincipalName": stringValueField(&r.UserPrincipalName),
		"methodsRegistered": stringListField(&r.MethodsRegistered, "methodsRegistered"),
	}
}
