package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// decode turns one YAML manifest into an unstructured object, so the API
// server sees exactly what a user wrote (typed structs would drop or zero fields).
func decode(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &obj.Object); err != nil {
		t.Fatalf("bad test manifest: %v\n%s", err, manifest)
	}
	return obj
}

const (
	tenantHeader = `apiVersion: passkeys.entraops.dev/v1alpha1
kind: EntraTenant
metadata: {name: contoso}
`
	profileHeader = `apiVersion: passkeys.entraops.dev/v1alpha1
kind: PasskeyProfile
metadata: {name: staff, namespace: default}
`
	assignmentHeader = `apiVersion: passkeys.entraops.dev/v1alpha1
kind: GroupAssignment
metadata: {name: staff, namespace: default}
`
	tenantID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
	clientID = "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e"
)

// admissionCases holds, for every admission rule, at least one manifest the
// API server accepts and one it refuses. wantError is a substring of the
// refusal; empty means the manifest is accepted.
var admissionCases = []struct {
	name      string
	manifest  string
	wantError string
}{
	// EntraTenant: tenant id
	{"tenant: minimal", tenantHeader + `spec: {tenantID: ` + tenantID + `}`, ""},
	{"tenant: id is a domain, not a GUID", tenantHeader + `spec: {tenantID: contoso.onmicrosoft.com}`,
		"tenantID must be a GUID such as 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"},
	{"tenant: id missing", tenantHeader + `spec: {management: Merge}`, "spec.tenantID: Required value"},

	// EntraTenant: cloud
	{"tenant: custom cloud with both https endpoints", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  cloud: {name: Custom, authorityHost: "https://login.example.test/", graphEndpoint: "https://graph.example.test/"}`, ""},
	{"tenant: US Government cloud", tenantHeader + `spec: {tenantID: ` + tenantID + `, cloud: {name: AzureUSGovernment}}`, ""},
	{"tenant: custom cloud without graphEndpoint", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  cloud: {name: Custom, authorityHost: "https://login.example.test/"}`,
		"cloud name Custom needs both authorityHost and graphEndpoint"},
	{"tenant: endpoints on a named cloud", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  cloud: {name: AzureChina, graphEndpoint: "https://graph.example.test/"}`,
		"authorityHost and graphEndpoint are only for cloud name Custom"},
	{"tenant: endpoints without a cloud name default to AzurePublic", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  cloud: {authorityHost: "https://login.example.test/", graphEndpoint: "https://graph.example.test/"}`,
		"authorityHost and graphEndpoint are only for cloud name Custom"},
	{"tenant: plain http authority", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  cloud: {name: Custom, authorityHost: "http://login.example.test/", graphEndpoint: "https://graph.example.test/"}`,
		"authorityHost must be an https:// URL"},
	{"tenant: graph endpoint is not a URL", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  cloud: {name: Custom, authorityHost: "https://login.example.test/", graphEndpoint: "graph.example.test"}`,
		"graphEndpoint must be an https:// URL"},
	{"tenant: unknown cloud", tenantHeader + `spec: {tenantID: ` + tenantID + `, cloud: {name: AzureGermany}}`,
		`Unsupported value: "AzureGermany"`},

	// EntraTenant: credentials
	{"tenant: client secret by reference", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: ClientSecret, clientID: ` + clientID + `, secretRef: {namespace: passkey-system, name: contoso-app, key: clientSecret}}`, ""},
	{"tenant: client certificate by reference", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: ClientCertificate, clientID: ` + clientID + `, secretRef: {namespace: passkey-system, name: contoso-cert, key: tls.pem}}`, ""},
	{"tenant: user-assigned managed identity", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: ManagedIdentity, clientID: ` + clientID + `}`, ""},
	{"tenant: client secret without secretRef", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: ClientSecret, clientID: ` + clientID + `}`,
		"credentials of type ClientSecret and ClientCertificate need secretRef"},
	{"tenant: client certificate without clientID", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: ClientCertificate, secretRef: {namespace: passkey-system, name: contoso-cert, key: tls.pem}}`,
		"need clientID, the application (client) ID"},
	{"tenant: workload identity with a secret", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: WorkloadIdentity, secretRef: {namespace: passkey-system, name: contoso-app, key: clientSecret}}`,
		"credentials of type WorkloadIdentity and ManagedIdentity use no Secret; remove secretRef"},
	{"tenant: managed identity with a secret", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: ManagedIdentity, secretRef: {namespace: passkey-system, name: contoso-app, key: clientSecret}}`,
		"use no Secret; remove secretRef"},
	{"tenant: clientID not a GUID", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: WorkloadIdentity, clientID: my-app}`,
		"clientID must be a GUID"},
	{"tenant: secretRef without namespace", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: ClientSecret, clientID: ` + clientID + `, secretRef: {name: contoso-app, key: clientSecret}}`,
		"spec.credentials.secretRef.namespace: Required value"},
	{"tenant: unknown credential type", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  credentials: {type: Password}`,
		`Unsupported value: "Password"`},

	// EntraTenant: management, drift, resync, method
	{"tenant: authoritative, report, 30s resync, method settings, namespace selector", tenantHeader + `spec:
  tenantID: ` + tenantID + `
  management: Authoritative
  driftPolicy: Report
  resyncInterval: 30s
  method: {state: Enabled, selfServiceRegistration: true}
  allowedNamespaces: {matchLabels: {entra-tenant: contoso}}`, ""},
	// MinResyncInterval is exactly the CRD's lower bound.
	{"tenant: MinResyncInterval", tenantHeader + `spec: {tenantID: ` + tenantID + `, resyncInterval: ` +
		passkeysv1alpha1.MinResyncInterval.String() + `}`, ""},
	{"tenant: just under MinResyncInterval", tenantHeader + `spec: {tenantID: ` + tenantID + `, resyncInterval: ` +
		(passkeysv1alpha1.MinResyncInterval - time.Millisecond).String() + `}`,
		"resyncInterval must be a duration between 30s and 24h"},
	{"tenant: 24h resync", tenantHeader + `spec: {tenantID: ` + tenantID + `, resyncInterval: 24h}`, ""},
	{"tenant: resync too short", tenantHeader + `spec: {tenantID: ` + tenantID + `, resyncInterval: 10s}`,
		"resyncInterval must be a duration between 30s and 24h"},
	{"tenant: resync too long", tenantHeader + `spec: {tenantID: ` + tenantID + `, resyncInterval: 48h}`,
		"resyncInterval must be a duration between 30s and 24h"},
	{"tenant: resync in days", tenantHeader + `spec: {tenantID: ` + tenantID + `, resyncInterval: 1d}`,
		"resyncInterval must be a duration between 30s and 24h"},
	{"tenant: registration report with the default interval", tenantHeader + `spec: {tenantID: ` + tenantID + `, reporting: {registration: {enabled: true}}}`, ""},
	{"tenant: MinRegistrationReportInterval", tenantHeader + `spec: {tenantID: ` + tenantID + `, reporting: {registration: {enabled: true, interval: ` +
		passkeysv1alpha1.MinRegistrationReportInterval.String() + `}}}`, ""},
	{"tenant: registration report too often", tenantHeader + `spec: {tenantID: ` + tenantID + `, reporting: {registration: {enabled: true, interval: 59m}}}`,
		"reporting.registration.interval must be a duration between 1h and 168h"},
	{"tenant: registration report too rarely", tenantHeader + `spec: {tenantID: ` + tenantID + `, reporting: {registration: {enabled: true, interval: 169h}}}`,
		"reporting.registration.interval must be a duration between 1h and 168h"},
	{"tenant: unknown management mode", tenantHeader + `spec: {tenantID: ` + tenantID + `, management: Replace}`,
		`Unsupported value: "Replace"`},
	{"tenant: unknown drift policy", tenantHeader + `spec: {tenantID: ` + tenantID + `, driftPolicy: Ignore}`,
		`Unsupported value: "Ignore"`},
	{"tenant: unknown method state", tenantHeader + `spec: {tenantID: ` + tenantID + `, method: {state: "On"}}`,
		`Unsupported value: "On"`},

	// PasskeyProfile: types and attestation
	{"profile: synced staff", profileHeader + `spec:
  tenantRef: contoso
  displayName: Synced passkeys for staff
  passkeyTypes: [DeviceBound, Synced]
  attestation: Disabled
  keyRestrictions: {enforcement: Allow, aaguids: [ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4]}
  driftPolicy: Report
  deletionPolicy: Orphan`, ""},
	{"profile: device-bound with attestation", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  attestation: RegistrationOnly
  default: true`, ""},
	// Entra's migration leaves default profiles so: admitted, and warned
	// about by the ValidatingAdmissionPolicy in config/admission.
	{"profile: attestation with synced passkeys as well", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound, Synced]
  attestation: RegistrationOnly`, ""},
	{"profile: attestation with synced only", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [Synced]
  attestation: RegistrationOnly`,
		"attestation RegistrationOnly needs DeviceBound among passkeyTypes: synced passkeys carry no attestation"},
	{"profile: the default profile with a displayName", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  default: true
  displayName: Base`,
		"a PasskeyProfile with default: true takes no displayName: Entra does not let the default passkey profile be renamed"},
	{"profile: a displayName without default", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  default: false
  displayName: Base`, ""},
	{"profile: no passkey types", profileHeader + `spec: {tenantRef: contoso, passkeyTypes: []}`,
		"spec.passkeyTypes: Invalid value: 0: spec.passkeyTypes in body should have at least 1 items"},
	{"profile: passkey types missing", profileHeader + `spec: {tenantRef: contoso}`,
		"spec.passkeyTypes: Required value"},
	{"profile: repeated passkey type", profileHeader + `spec: {tenantRef: contoso, passkeyTypes: [DeviceBound, DeviceBound]}`,
		`spec.passkeyTypes[1]: Duplicate value: "DeviceBound"`},
	{"profile: unknown passkey type", profileHeader + `spec: {tenantRef: contoso, passkeyTypes: [Passwordless]}`,
		`Unsupported value: "Passwordless"`},
	{"profile: unknown attestation", profileHeader + `spec: {tenantRef: contoso, passkeyTypes: [DeviceBound], attestation: Always}`,
		`Unsupported value: "Always"`},
	{"profile: tenantRef missing", profileHeader + `spec: {passkeyTypes: [Synced]}`,
		"spec.tenantRef: Required value"},
	{"profile: unknown deletion policy", profileHeader + `spec: {tenantRef: contoso, passkeyTypes: [Synced], deletionPolicy: Keep}`,
		`Unsupported value: "Keep"`},

	// PasskeyProfile: key restrictions
	{"profile: block list", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [Synced]
  keyRestrictions: {enforcement: Block, aaguids: [ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4, FBFC3007-154E-4ECC-8C0B-6E020557D7BD]}`, ""},
	{"profile: no restrictions", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [Synced]
  keyRestrictions: {enforcement: None}`, ""},
	{"profile: allow list without AAGUIDs", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Allow}`,
		"keyRestrictions with enforcement Allow or Block need at least one AAGUID in aaguids"},
	{"profile: block list empty", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Block, aaguids: []}`,
		"need at least one AAGUID in aaguids"},
	{"profile: allow list by name only", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Allow, authenticators: ["YubiKey 5*"]}`, ""},
	{"profile: block list by AAGUID and by name", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Block, aaguids: [ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4], authenticators: ["Google Password Manager"]}`, ""},
	{"profile: names with no enforcement", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {authenticators: ["YubiKey 5*"]}`,
		"keyRestrictions with enforcement None must not list authenticators"},
	{"profile: empty name", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Allow, authenticators: [""]}`,
		"spec.keyRestrictions.authenticators[0]"},
	{"profile: same name twice", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Allow, authenticators: ["YubiKey 5*", "YubiKey 5*"]}`,
		"Duplicate value"},
	{"profile: AAGUIDs with no enforcement", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {aaguids: [ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4]}`,
		"keyRestrictions with enforcement None must not list aaguids"},
	{"profile: AAGUID not a GUID", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Allow, aaguids: [yubikey-5]}`,
		"each entry of aaguids must be an AAGUID in GUID form"},
	{"profile: same AAGUID twice in other case", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Allow, aaguids: [fbfc3007-154e-4ecc-8c0b-6e020557d7bd, FBFC3007-154E-4ECC-8C0B-6E020557D7BD]}`,
		"aaguids must not list the same AAGUID twice"},
	{"profile: unknown enforcement", profileHeader + `spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
  keyRestrictions: {enforcement: Deny, aaguids: [fbfc3007-154e-4ecc-8c0b-6e020557d7bd]}`,
		`Unsupported value: "Deny"`},

	// GroupAssignment: target
	{"assignment: group by id", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupID: 7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f}
  profiles: [synced-staff]
  registrationRequired: true`, ""},
	{"assignment: group by name", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupName: Passkey pilot}
  profiles: [synced-staff, admins, default]`, ""},
	{"assignment: all users", assignmentHeader + `spec:
  tenantRef: contoso
  target: {allUsers: true}
  profiles: [default]`, ""},
	{"assignment: two targets", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupID: 7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f, groupName: Staff}
  profiles: [synced-staff]`,
		"target must set exactly one of groupID, groupName or allUsers"},
	{"assignment: no target", assignmentHeader + `spec:
  tenantRef: contoso
  target: {}
  profiles: [synced-staff]`,
		"target must set exactly one of groupID, groupName or allUsers"},
	{"assignment: allUsers false", assignmentHeader + `spec:
  tenantRef: contoso
  target: {allUsers: false}
  profiles: [synced-staff]`,
		"allUsers can only be true"},
	{"assignment: group id not a GUID", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupID: staff}
  profiles: [synced-staff]`,
		"groupID must be the group's Object ID, a GUID"},

	// GroupAssignment: profiles and mode
	{"assignment: include without profiles", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupName: Staff}`,
		"an Include assignment needs profiles: name one to three PasskeyProfiles"},
	{"assignment: four profiles", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupName: Staff}
  profiles: [a, b, c, d]`,
		"spec.profiles: Too many: 4: must have at most 3 items"},
	{"assignment: repeated profile", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupName: Staff}
  profiles: [a, a]`,
		`spec.profiles[1]: Duplicate value: "a"`},
	{"assignment: exclusion", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupID: 7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f}
  mode: Exclude`, ""},
	{"assignment: exclusion with profiles", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupName: Contractors}
  profiles: [synced-staff]
  mode: Exclude`,
		"an Exclude assignment takes no profiles"},
	{"assignment: exclusion requiring registration", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupName: Contractors}
  registrationRequired: true
  mode: Exclude`,
		"an Exclude assignment cannot require registration"},
	{"assignment: excluding all users", assignmentHeader + `spec:
  tenantRef: contoso
  target: {allUsers: true}
  mode: Exclude`,
		"an Exclude assignment cannot target allUsers"},
	{"assignment: unknown mode", assignmentHeader + `spec:
  tenantRef: contoso
  target: {groupName: Staff}
  profiles: [a]
  mode: Require`,
		`Unsupported value: "Require"`},
}

func TestAdmission(t *testing.T) {
	ctx := context.Background()
	for _, tc := range admissionCases {
		t.Run(tc.name, func(t *testing.T) {
			// Dry run: admission and validation run in full, nothing is stored,
			// so the cases cannot interfere with each other.
			err := env.Client.Create(ctx, decode(t, tc.manifest), client.DryRunAll)
			switch {
			case tc.wantError == "" && err != nil:
				t.Fatalf("manifest refused, want accepted: %v", err)
			case tc.wantError != "" && err == nil:
				t.Fatalf("manifest accepted, want refused with %q", tc.wantError)
			case tc.wantError != "" && !strings.Contains(err.Error(), tc.wantError):
				t.Fatalf("refused with\n  %v\nwant a message containing\n  %q", err, tc.wantError)
			}
		})
	}
}

// TestEveryKindHasAcceptingAndRefusingCases guards the table itself: a kind
// with only accepting (or only refusing) cases proves nothing about its rules.
func TestEveryKindHasAcceptingAndRefusingCases(t *testing.T) {
	accepted, refused := map[string]int{}, map[string]int{}
	for _, tc := range admissionCases {
		kind := decode(t, tc.manifest).GetKind()
		if tc.wantError == "" {
			accepted[kind]++
		} else {
			refused[kind]++
		}
	}
	for _, kind := range []string{"EntraTenant", "PasskeyProfile", "GroupAssignment"} {
		if accepted[kind] == 0 || refused[kind] == 0 {
			t.Errorf("%s: %d accepting and %d refusing cases, want both", kind, accepted[kind], refused[kind])
		}
	}
	if len(admissionCases) < 30 {
		t.Errorf("%d admission cases, want at least 30", len(admissionCases))
	}
}
