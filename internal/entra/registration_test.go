package entra_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

func TestRegistrationDetailPasskeys(t *testing.T) {
	tests := []struct {
		methods                         []string
		deviceBound, synced, anyPasskey bool
	}{
		{nil, false, false, false},
		{[]string{"microsoftAuthenticatorPush", "windowsHelloForBusiness", "fido2SecurityKey"}, false, false, false},
		{[]string{"passKeyDeviceBound"}, true, false, true},
		{[]string{"email", "passKeyDeviceBoundAuthenticator"}, true, false, true},
		{[]string{"passKeySynced"}, false, true, true},
		{[]string{"passKeySynced", "passKeyDeviceBound"}, true, true, true},
	}
	for _, tt := range tests {
		d := entra.RegistrationDetail{MethodsRegistered: tt.methods}
		if d.DeviceBound() != tt.deviceBound || d.Synced() != tt.synced || d.AnyPasskey() != tt.anyPasskey {
			t.Errorf("%v: DeviceBound, Synced, AnyPasskey = %v, %v, %v; want %v, %v, %v", tt.methods,
				d.DeviceBound(), d.Synced(), d.AnyPasskey(), tt.deviceBound, tt.synced, tt.anyPasskey)
		}
	}
}

func TestRegistrationDetails(t *testing.T) {
	re := newReaderEnv(t)
	// 2,500 generated users, a quarter with a passkey (313 device-bound,
	// 312 synced, alternately), and three more: three pages of 1000.
	if err := re.emu.GenerateUsers(tenantID, emulator.UserGeneration{Count: 2500, PasskeyShare: 0.25}); err != nil {
		t.Fatal(err)
	}
	more := []emulator.User{
		{ID: "7a000000-0000-4000-8000-000000000001", UserPrincipalName: "alex@contoso.example",
			MethodsRegistered: []string{"passKeyDeviceBoundAuthenticator", "passKeySynced"}},
		{ID: "7a000000-0000-4000-8000-000000000002", UserPrincipalName: "dana@contoso.example",
			MethodsRegistered: []string{"windowsHelloForBusiness"}},
		{ID: "7a000000-0000-4000-8000-000000000003", UserPrincipalName: "noor@contoso.example"},
	}
	re.seed(t, emulator.Tenant{ID: tenantID, Users: more})

	seen := map[string]bool{}
	var deviceBound, synced, anyPasskey int
	var alex entra.RegistrationDetail
	err := re.c.RegistrationDetails(ctx(t), func(d entra.RegistrationDetail) error {
		if seen[d.ID] {
			t.Errorf("user %s given twice", d.ID)
		}
		seen[d.ID] = true
		if d.ID == more[0].ID {
			alex = d
		}
		deviceBound += count(d.DeviceBound())
		synced += count(d.Synced())
		anyPasskey += count(d.AnyPasskey())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2503 || deviceBound != 314 || synced != 313 || anyPasskey != 626 {
		t.Errorf("%d users, %d device-bound, %d synced, %d any passkey; want 2503, 314, 313, 626",
			len(seen), deviceBound, synced, anyPasskey)
	}
	if alex.UserPrincipalName != "alex@contoso.example" || strings.Join(alex.MethodsRegistered, ",") != "passKeyDeviceBoundAuthenticator,passKeySynced" {
		t.Errorf("alex = %+v", alex)
	}
	// Neither $select nor $top: the report may not take them (registration.go).
	re.checkPages(t, "/v1.0/reports/", entra.OpRegistrationDetails, "", "", 3)

	// An error from each stops the reading.
	stop := errors.New("stop")
	n := 0
	err = re.c.RegistrationDetails(ctx(t), func(entra.RegistrationDetail) error {
		n++
		if n == 1500 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 1500 {
		t.Errorf("RegistrationDetails() stopped = %v after %d users, want %v after 1500", err, n, stop)
	}
	re.checkPages(t, "/v1.0/reports/", entra.OpRegistrationDetails, "", "", 2)
}

func TestRegistrationDetailsWithoutPremium(t *testing.T) {
	re := newReaderEnv(t)
	premium := false
	re.seed(t, emulator.Tenant{ID: tenantID, Premium: &premium})
	err := re.c.RegistrationDetails(ctx(t), func(entra.RegistrationDetail) error { return nil })
	msg := "reading the authentication methods registration report of tenant acme: Graph answered 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant"
	if !entra.IsPremiumRequired(err) || entra.Classify(err) != entra.ClassForbidden ||
		!strings.Contains(err.Error(), msg) || !strings.HasSuffix(err.Error(), "; the tenant needs a Microsoft Entra ID P1 or P2 licence") {
		t.Errorf("RegistrationDetails() = %v; want ClassForbidden, IsPremiumRequired, %q and the licence named", err, msg)
	}
	if entra.IsPremiumRequired(nil) || entra.IsPremiumRequired(errors.New(msg)) {
		t.Error("IsPremiumRequired() is true for what is no Graph error")
	}
}

func count(b bool) int {
	if b {
		return 1
	}
	return 0
}
