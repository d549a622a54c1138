package entra_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abstractions "github.com/microsoft/kiota-abstractions-go"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

const (
	tenantID = "d0d0d0d0-0000-4000-8000-00000000000d"
	rwApp    = "e1e1e1e1-0000-4000-8000-000000000001"
	roApp    = "e2e2e2e2-0000-4000-8000-000000000002"
	secret   = "test-secret"
	fido2    = "/v1.0/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"
	profileA = "11111111-1111-1111-1111-111111111111"
	groupX   = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
	aaguid   = "cb69481e-8ff7-4039-93ec-0a2729a154a8"
)

// setup serves an emulator over TLS with one tenant, a read-write app and a
// read-only app.
func setup(t *testing.T) (*emulator.Emulator, *httptest.Server) {
	t.Helper()
	emu, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Seed(emulator.Tenant{ID: tenantID, Apps: []emulator.App{
		{ClientID: rwApp, ClientSecret: secret, Roles: []string{emulator.RolePolicyReadWrite}},
		{ClientID: roApp, ClientSecret: secret, Roles: []string{emulator.RolePolicyRead}},
	}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(emu)
	t.Cleanup(srv.Close)
	return emu, srv
}

// adapterFor builds the adapter the way the operator will: azidentity with
// a custom authority host, Graph at a custom endpoint, a client trusting the
// emulator's certificate.
func adapterFor(t *testing.T, srv *httptest.Server, clientID string) abstractions.RequestAdapter {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL},
			Transport: srv.Client(),
		},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	adapter, err := entra.NewGraphRequestAdapter(cred, entra.AdapterOptions{GraphEndpoint: srv.URL, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	return adapter
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func ptr[T any](v T) *T { return &v }

func TestReadDefaultConfiguration(t *testing.T) {
	_, srv := setup(t)
	cfg, err := entra.GetFido2Configuration(ctx(t), adapterFor(t, srv, roApp))
	if err != nil {
		t.Fatalf("GetFido2Configuration() = %v", err)
	}
	if *cfg.ID != "Fido2" || *cfg.DefaultPasskeyProfile != emulator.DefaultPasskeyProfileID || len(cfg.PasskeyProfiles) != 1 {
		t.Fatalf("configuration = %+v", cfg)
	}
	p := cfg.PasskeyProfiles[0]
	if p.Name != emulator.DefaultPasskeyProfileName || p.PasskeyTypes != "deviceBound,synced" ||
		p.AttestationEnforcement != entra.AttestationDisabled || p.KeyRestrictions.EnforcementType != entra.EnforcementAllow {
		t.Errorf("default profile = %+v", p)
	}
	if len(cfg.IncludeTargets) != 1 || cfg.IncludeTargets[0].ID != entra.AllUsers ||
		!reflect.DeepEqual(cfg.IncludeTargets[0].AllowedPasskeyProfiles, []string{emulator.DefaultPasskeyProfileID}) {
		t.Errorf("include targets = %+v", cfg.IncludeTargets[0])
	}
}

// TestPatchAndReadBackProfiles follows Microsoft's documented flow, which
// works whatever Entra does with client ids: a PATCH creates the profile
// without an id, the id Entra gave it is read back, and only then does a
// second PATCH let a target name it.
func TestPatchAndReadBackProfiles(t *testing.T) {
	emu, srv := setup(t)
	adapter := adapterFor(t, srv, rwApp)
	cfg, err := entra.GetFido2Configuration(ctx(t), adapter)
	if err != nil {
		t.Fatal(err)
	}
	admins := &entra.PasskeyProfile{
		Name: "Admins", PasskeyTypes: entra.PasskeyTypeDeviceBound, AttestationEnforcement: entra.AttestationRegistrationOnly,
		KeyRestrictions: entra.KeyRestrictions{IsEnforced: true, EnforcementType: entra.EnforcementAllow, AAGUIDs: []string{aaguid}},
	}
	patch := &entra.Fido2Configuration{
		State:           ptr(entra.MethodStateEnabled),
		PasskeyProfiles: append(cfg.PasskeyProfiles, admins),
		ExcludeTargets:  []*entra.ExcludeTarget{{ID: groupX, TargetType: entra.TargetTypeGroup}},
	}
	if err := entra.PatchFido2Configuration(ctx(t), adapter, patch); err != nil {
		t.Fatalf("PatchFido2Configuration() = %v", err)
	}
	got, err := entra.GetFido2Configuration(ctx(t), adapter)
	if err != nil {
		t.Fatal(err)
	}
	if *got.State != entra.MethodStateEnabled || len(got.PasskeyProfiles) != 2 || got.PasskeyProfiles[1].ID == "" {
		t.Fatalf("read back state %v profiles %+v", *got.State, got.PasskeyProfiles)
	}
	admins.ID = got.PasskeyProfiles[1].ID
	if !reflect.DeepEqual(got.PasskeyProfiles[1], admins) || len(got.ExcludeTargets) != 1 {
		t.Errorf("read back profile %+v, exclude targets %+v", got.PasskeyProfiles[1], got.ExcludeTargets)
	}

	target := &entra.IncludeTarget{ID: groupX, TargetType: entra.TargetTypeGroup, IsRegistrationRequired: true, AllowedPasskeyProfiles: []string{admins.ID}}
	if err := entra.PatchFido2Configuration(ctx(t), adapter, &entra.Fido2Configuration{IncludeTargets: append(got.IncludeTargets, target)}); err != nil {
		t.Fatalf("PatchFido2Configuration() = %v", err)
	}
	got, err = entra.GetFido2Configuration(ctx(t), adapter)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.IncludeTargets) != 2 || !reflect.DeepEqual(got.IncludeTargets[1], target) || len(got.ExcludeTargets) != 1 || len(got.PasskeyProfiles) != 2 {
		t.Errorf("read back targets %+v / %+v", got.IncludeTargets, got.ExcludeTargets)
	}

	// nil collections are omitted (kept), an empty one is sent as [] (cleared).
	if err := entra.PatchFido2Configuration(ctx(t), adapter, &entra.Fido2Configuration{ExcludeTargets: []*entra.ExcludeTarget{}}); err != nil {
		t.Fatal(err)
	}
	got, err = entra.GetFido2Configuration(ctx(t), adapter)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ExcludeTargets) != 0 || len(got.PasskeyProfiles) != 2 || len(got.IncludeTargets) != 2 {
		t.Errorf("after clearing exclude targets: profiles %d include %d exclude %d", len(got.PasskeyProfiles), len(got.IncludeTargets), len(got.ExcludeTargets))
	}
	if v, _ := emu.Version(tenantID); v != 3 {
		t.Errorf("Version = %d, want 3", v)
	}
}

func TestRefusalsSurfaceAsGraphErrors(t *testing.T) {
	_, srv := setup(t)
	rw, ro := adapterFor(t, srv, rwApp), adapterFor(t, srv, roApp)

	err := entra.PatchFido2Configuration(ctx(t), rw, &entra.Fido2Configuration{PasskeyProfiles: []*entra.PasskeyProfile{}})
	ge, ok := entra.AsGraphError(err)
	if !ok || ge.StatusCode != 400 || ge.Code != "badRequest" ||
		ge.Message != "The default passkey profile '00000000-0000-0000-0000-000000000001' cannot be deleted." || ge.RequestID == "" {
		t.Errorf("removing the default profile: %v → %+v", err, ge)
	}

	err = entra.PatchFido2Configuration(ctx(t), ro, &entra.Fido2Configuration{State: ptr(entra.MethodStateEnabled)})
	if ge, ok := entra.AsGraphError(err); !ok || ge.StatusCode != 403 || ge.Code != "accessDenied" {
		t.Errorf("PATCH with a read-only app: %v → %+v", err, ge)
	}
}

func TestThrottlingIsRetriedBySDK(t *testing.T) {
	emu, srv := setup(t)
	adapter := adapterFor(t, srv, rwApp)
	// Every second Graph request is throttled: the SDK's retry handler
	// waits Retry-After (1s) and sends it again.
	if err := emu.SetFault(tenantID, emulator.Fault{ThrottleEvery: 2, RetryAfterSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := entra.GetFido2Configuration(ctx(t), adapter); err != nil {
		t.Fatalf("GET 1: %v", err)
	}
	start := time.Now()
	// Request 2 (the PATCH) is throttled and resent with its body.
	if err := entra.PatchFido2Configuration(ctx(t), adapter, &entra.Fido2Configuration{State: ptr(entra.MethodStateEnabled)}); err != nil {
		t.Fatalf("PATCH through a 429: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("retry came after %v, before Retry-After", d)
	}
	stats := emu.Stats()
	if n := stats.Count(tenantID, http.MethodPatch, fido2, http.StatusTooManyRequests); n != 1 {
		t.Errorf("stats: %d throttled PATCHes, want 1", n)
	}
	if n := stats.Count(tenantID, http.MethodPatch, fido2, http.StatusNoContent); n != 1 {
		t.Errorf("stats: %d successful PATCHes, want 1", n)
	}
	if doc, v, _ := emu.Fido2(tenantID); v != 1 || doc.State != emulator.StateEnabled {
		t.Errorf("after the retried PATCH: version %d state %s", v, doc.State)
	}
}

func TestPersistentThrottlingEndsInError(t *testing.T) {
	emu, srv := setup(t)
	adapter := adapterFor(t, srv, roApp)
	if err := emu.SetFault(tenantID, emulator.Fault{ThrottleEvery: 1, RetryAfterSeconds: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := entra.GetFido2Configuration(ctx(t), adapter)
	ge, ok := entra.AsGraphError(err)
	if !ok || ge.StatusCode != 429 || ge.Code != "TooManyRequests" || ge.RetryAfter != time.Second {
		t.Fatalf("GET under constant throttling: %v → %+v", err, ge)
	}
	// One attempt plus the retry handler's three retries.
	if n := emu.Stats().Count(tenantID, http.MethodGet, fido2, 429); n != 4 {
		t.Errorf("stats: %d throttled GETs, want 4", n)
	}
}

// TestLongRetryAfterIsNotWaitedInline: a Retry-After beyond
// MaxInlineRetryWait comes back as an error at once, so the caller (the
// reconciler) can wait without holding a worker.
func TestLongRetryAfterIsNotWaitedInline(t *testing.T) {
	emu, srv := setup(t)
	adapter := adapterFor(t, srv, roApp)
	retryAfter := int(2 * entra.MaxInlineRetryWait / time.Second)
	if err := emu.SetFault(tenantID, emulator.Fault{ThrottleEvery: 1, RetryAfterSeconds: retryAfter}); err != nil {
		t.Fatal(err)
	}
	_, err := entra.GetFido2Configuration(ctx(t), adapter)
	if got := entra.RetryAfter(err); entra.Classify(err) != entra.ClassThrottled || got != time.Duration(retryAfter)*time.Second {
		t.Fatalf("GET under a long Retry-After: %v (class %v, Retry-After %v)", err, entra.Classify(err), got)
	}
	if n := emu.Stats().Count(tenantID, http.MethodGet, fido2, emulator.AnyStatus); n != 1 {
		t.Errorf("stats: %d GETs, want 1: the SDK waited Retry-After inline", n)
	}
}

// TestConcurrentPatches is meant for go test -race: many writers through
// one adapter, each write counted once.
func TestConcurrentPatches(t *testing.T) {
	emu, srv := setup(t)
	adapter := adapterFor(t, srv, rwApp)
	const writers, writes = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*writes*2)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range writes {
				group := fmt.Sprintf("aaaaaaaa-aaaa-aaaa-aaaa-%012d", w*100+i)
				errs <- entra.PatchFido2Configuration(ctx(t), adapter, &entra.Fido2Configuration{
					ExcludeTargets: []*entra.ExcludeTarget{{ID: group, TargetType: entra.TargetTypeGroup}},
				})
				_, err := entra.GetFido2Configuration(ctx(t), adapter)
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	doc, v, _ := emu.Fido2(tenantID)
	if v != writers*writes || len(doc.ExcludeTargets) != 1 {
		t.Errorf("after concurrent PATCHes: version %d (want %d), exclude targets %+v", v, writers*writes, doc.ExcludeTargets)
	}
}
