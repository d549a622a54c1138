package manifests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/policy"
)

const validTenant = `
apiVersion: passkeys.entraops.dev/v1alpha1
kind: EntraTenant
metadata: {name: contoso}
spec:
  tenantID: 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b
  credentials: {type: WorkloadIdentity, clientID: 0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e}
`

func profile(name, extra string) string {
	return `
apiVersion: passkeys.entraops.dev/v1alpha1
kind: PasskeyProfile
metadata: {name: ` + name + `, namespace: identity}
spec:
  tenantRef: contoso
  passkeyTypes: [DeviceBound]
` + extra
}

func assignment(name, target, extra string) string {
	return `
apiVersion: passkeys.entraops.dev/v1alpha1
kind: GroupAssignment
metadata: {name: ` + name + `, namespace: identity}
spec:
  tenantRef: contoso
  target: ` + target + `
` + extra
}

func stream(docs ...string) string { return strings.Join(docs, "\n---\n") }

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		// want are substrings of the problems, one each, in order; none: valid.
		want []string
	}{{
		name: "the samples are valid",
		yaml: "", // filled from config/samples below
	}, {
		name: "a valid set",
		yaml: stream(validTenant, profile("keys", ""), assignment("staff", "{groupName: Staff}", "  profiles: [keys]\n")),
	}, {
		name: "a CEL rule: attestation with synced passkeys alone",
		yaml: stream(validTenant, profile("keys", "  attestation: RegistrationOnly\n  passkeyTypes: [Synced]\n")),
		want: []string{"PasskeyProfile identity/keys: spec: Invalid value: attestation RegistrationOnly needs DeviceBound among passkeyTypes"},
	}, {
		name: "a CEL rule: the default profile keeps Entra's name",
		yaml: stream(validTenant, profile("keys", "  default: true\n  displayName: Base\n")),
		want: []string{"PasskeyProfile identity/keys: spec: Invalid value: a PasskeyProfile with default: true takes no displayName"},
	}, {
		// Admitted (Entra holds it where it migrated a default profile), but
		// the operator never writes it anew.
		name: "attestation with synced as well on a new profile",
		yaml: stream(validTenant, profile("keys", "  attestation: RegistrationOnly\n  passkeyTypes: [DeviceBound, Synced]\n")),
		want: []string{"PasskeyProfile identity/keys: spec: AttestationNeedsDeviceBoundOnly: Entra holds attestation with synced passkeys allowed only where its migration left it, and the operator does not write it anew"},
	}, {
		name: "the schema: an unknown enum value",
		yaml: stream(validTenant, profile("keys", "  driftPolicy: Sometimes\n")),
		want: []string{"spec.driftPolicy: Unsupported value: \"Sometimes\""},
	}, {
		name: "the schema: a GUID that is not one",
		yaml: stream(validTenant, assignment("staff", "{groupID: not-a-guid}", "  profiles: [keys]\n"), profile("keys", "")),
		want: []string{"GroupAssignment identity/staff: spec.target.groupID"},
	}, {
		name: "a reference to a missing profile",
		yaml: stream(validTenant, assignment("staff", "{groupName: Staff}", "  profiles: [nope]\n")),
		want: []string{"GroupAssignment identity/staff: spec.profiles: ProfileNotFound: no PasskeyProfile named \"nope\" in namespace identity"},
	}, {
		name: "no EntraTenant for the tenantRef",
		yaml: stream(profile("keys", "")),
		want: []string{"PasskeyProfile identity/keys: spec.tenantRef: no EntraTenant named \"contoso\" in these files"},
	}, {
		// The operator creates profiles oldest first and refuses the ones
		// past Entra's limit; offline, the order is by name.
		name: "four profiles with the default",
		yaml: stream(validTenant, profile("a", "  default: true\n"), profile("b", ""), profile("c", ""), profile("d", "")),
		want: []string{`PasskeyProfile identity/d: spec: TooManyProfiles: Entra allows at most 3 passkey profiles per tenant, the default one included, and the tenant holds "Default passkey profile", "b" and "c"; passkey profile "d" was not created`},
	}, {
		name: "three profiles and Entra's default make four",
		yaml: stream(validTenant, profile("a", ""), profile("b", ""), profile("c", "")),
		want: []string{`PasskeyProfile identity/c: spec: TooManyProfiles: Entra allows at most 3 passkey profiles per tenant, the default one included, and the tenant holds "Default passkey profile", "a" and "b"`},
	}, {
		// A Report profile is one Entra holds already: it counts, and a
		// target may name it.
		name: "a Report profile counts against the limit",
		yaml: stream(validTenant, profile("a", "  driftPolicy: Report\n"), profile("b", ""), profile("c", ""),
			assignment("staff", "{groupName: Staff}", "  profiles: [a, c]\n")),
		want: []string{
			`GroupAssignment identity/staff: spec.profiles: ProfileNotReady: PasskeyProfile identity/c was not created in Entra, which allows at most 3 passkey profiles; the target waits for it`,
			`PasskeyProfile identity/c: spec: TooManyProfiles`,
		},
	}, {
		name: "a target may name a Report profile",
		yaml: stream(validTenant, profile("a", "  driftPolicy: Report\n"), assignment("staff", "{groupName: Staff}", "  profiles: [a]\n")),
	}, {
		name: "two default profiles",
		yaml: stream(validTenant, profile("a", "  default: true\n"), profile("b", "  default: true\n")),
		want: []string{"PasskeyProfile identity/b: spec: Conflict: PasskeyProfile identity/a, which is older, already claims the tenant's default passkey profile"},
	}, {
		name: "two assignments for one group, by name",
		yaml: stream(validTenant, profile("keys", ""),
			assignment("a", "{groupName: Staff}", "  profiles: [keys]\n"), assignment("b", "{groupName: staff}", "  profiles: [keys]\n")),
		want: []string{"GroupAssignment identity/b: spec: Conflict"},
	}, {
		name: "metadata: a name the API server refuses",
		yaml: stream(validTenant, profile("Security_Keys", "")),
		want: []string{"PasskeyProfile identity/Security_Keys: metadata.name: Invalid value: \"Security_Keys\": a lowercase RFC 1123 subdomain"},
	}, {
		name: "metadata: no name",
		yaml: stream(validTenant, strings.Replace(profile("keys", ""), "name: keys, ", "", 1)),
		want: []string{"PasskeyProfile identity/: metadata.name: Required value"},
	}, {
		name: "an unknown field, which strict kubectl apply refuses",
		yaml: stream(validTenant, profile("keys", "  driftpolicy: Report\n")),
		want: []string{"PasskeyProfile identity/keys: spec.driftpolicy: Forbidden: unknown field"},
	}, {
		name: "an unknown field, nested",
		yaml: stream(validTenant, profile("keys", "  keyRestrictions: {enforcement: Allow, aaGUIDs: [cb69481e-8ff7-4039-93ec-0a2729a154a8]}\n")),
		want: []string{"spec.keyRestrictions.aaGUIDs: Forbidden: unknown field", "spec.keyRestrictions: Invalid value"},
	}, {
		name: "one object declared twice",
		yaml: stream(validTenant, profile("keys", ""), profile("keys", "  driftPolicy: Report\n")),
		want: []string{"-#3: PasskeyProfile identity/keys: metadata.name: declared again: already in -#2"},
	}, {
		name: "a namespace on the cluster-scoped EntraTenant is dropped, as the API server does",
		yaml: stream(strings.Replace(validTenant, "name: contoso", "name: contoso, namespace: identity", 1), profile("keys", "")),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var docs []Document
			var err error
			if tc.yaml == "" {
				docs, err = Load([]string{filepath.Join("..", "..", "config", "samples")}, nil)
			} else {
				docs, err = Load([]string{"-"}, strings.NewReader(tc.yaml))
			}
			if err != nil {
				t.Fatal(err)
			}
			_, problems, err := Validate(docs)
			if err != nil {
				t.Fatal(err)
			}
			if len(problems) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(problems), len(tc.want), join(problems))
			}
			for i, want := range tc.want {
				if got := problems[i].String(); !strings.Contains(got, want) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, want)
				}
			}
		})
	}
}

func TestLoadNamesFileAndDocument(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "set.yaml"), []byte(stream(validTenant, profile("keys", "  driftPolicy: Sometimes\n"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [set.yaml]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	docs, err := Load([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, problems, err := Validate(docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || problems[0].Source != filepath.Join(dir, "set.yaml")+"#2" {
		t.Fatalf("problems %s, want one in %s#2", join(problems), filepath.Join(dir, "set.yaml"))
	}
}

func join(problems []Problem) string {
	var out []string
	for _, p := range problems {
		out = append(out, p.String())
	}
	return strings.Join(out, "\n")
}

// A default profile as Entra's migration left it is valid, with the
// warning the API server gives for it.
func TestValidateWarnsOfAttestationWithSynced(t *testing.T) {
	yaml := stream(validTenant, profile("base", "  default: true\n  attestation: RegistrationOnly\n  passkeyTypes: [DeviceBound, Synced]\n"))
	docs, err := Load([]string{"-"}, strings.NewReader(yaml))
	if err != nil {
		t.Fatal(err)
	}
	set, problems, err := Validate(docs)
	if err != nil || len(problems) > 0 {
		t.Fatalf("refused (%v): %s", err, join(problems))
	}
	want := "-#2: PasskeyProfile identity/base: spec: " + policy.WarningAttestationWithSynced
	if got := join(set.Warnings()); got != want {
		t.Errorf("warnings:\n%s\nwant:\n%s", got, want)
	}
}

// Offline there is no catalog to resolve authenticator names in: a profile
// that selects by name is valid, and judged by what else it declares.
func TestValidateAcceptsAuthenticatorNamesOffline(t *testing.T) {
	docs, err := decode("set", []byte(stream(validTenant,
		profile("keys", "  keyRestrictions: {enforcement: Allow, authenticators: [\"YubiKey 5*\"]}\n"),
		profile("bad", "  keyRestrictions: {enforcement: Block, aaguids: [not-a-guid], authenticators: [\"YubiKey 5*\"]}\n"))))
	if err != nil {
		t.Fatal(err)
	}
	_, problems, err := Validate(docs)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].String(), "identity/bad: spec.keyRestrictions.aaguids") {
		t.Errorf("problems:\n%s\nwant only the bad AAGUID", join(problems))
	}
}
