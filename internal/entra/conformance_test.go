package entra_test

import (
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// The conformance table: one row per fact in ENTRA-FACTS.md about the
// service. Each row checks that the emulator behaves so, through the
// operator's own Graph client, and that the operator's decision
// (policy.Decide) copes with it. The operator's full loop is tested on top
// of these in internal/controller.

const (
	defaultID = emulator.DefaultPasskeyProfileID
	keysID    = "2b2b2b2b-0000-4000-8000-000000000002"
	staff     = "3c3c3c3c-0000-4000-8000-000000000003"
	roAllApp  = "e3e3e3e3-0000-4000-8000-000000000003"
)

// migrated is a tenant as Entra's migration leaves it (ENTRA-FACTS).
const migrated = `{"state":"enabled","isSelfServiceRegistrationAllowed":true,
 "isAttestationEnforced":true,"keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["` + aaguid + `","` + aaguid + `"]},
 "defaultPasskeyProfile":"` + defaultID + `",
 "passkeyProfiles":[
  {"id":"` + defaultID + `","name":"Default passkey profile","passkeyTypes":"deviceBound,synced","attestationEnforcement":"registrationOnly",
   "keyRestrictions":{"isEnforced":true,"enforcementType":"allow","aaGuids":["` + aaguid + `","` + aaguid + `"]}},
  {"id":"` + keysID + `","name":"Keys","passkeyTypes":"deviceBound","attestationEnforcement":"disabled",
   "keyRestrictions":{"isEnforced":false,"enforcementType":"block","aaGuids":["` + aaguid + `"]}}],
 "includeTargets":[
  {"id":"all_users","targetType":"group","isRegistrationRequired":false,"allowedPasskeyProfiles":["` + defaultID + `"]},
  {"id":"` + staff + `","targetType":"group","isRegistrationRequired":false,"allowedPasskeyProfiles":["` + keysID + `"]}],
 "excludeTargets":[]}`

type conformance struct {
	t    *testing.T
	emu  *emulator.Emulator
	rw   abstractions.RequestAdapter
	ro   abstractions.RequestAdapter
	read abstractions.RequestAdapter // Policy.Read.All only
}

func (c conformance) get() policy.Policy {
	c.t.Helper()
	cfg, err := entra.GetFido2Configuration(ctx(c.t), c.rw)
	if err != nil {
		c.t.Fatalf("GET: %v", err)
	}
	return entra.ToPolicy(cfg)
}

// patch sends p as the operator does.
func (c conformance) patch(p policy.Policy) error {
	c.t.Helper()
	body, err := entra.PatchFromPolicy(p)
	if err != nil {
		c.t.Fatal(err)
	}
	return entra.PatchFido2Configuration(ctx(c.t), c.rw, body)
}

// refused checks a 400 whose message contains text.
func (c conformance) refused(err error, text string) {
	c.t.Helper()
	ge, ok := entra.AsGraphError(err)
	if !ok || ge.StatusCode != 400 || !strings.Contains(ge.Message, text) || entra.Classify(err) != entra.ClassInvalid {
		c.t.Errorf("want 400 with %q, classified Invalid; got %v", text, err)
	}
}

func spec(name string, mutate ...func(*policy.ProfileSpec)) policy.ProfileSpec {
	s := policy.ProfileSpec{Ref: policy.Ref{Kind: policy.KindProfile, Namespace: "team", Name: name}, Name: name,
		PasskeyTypes: []string{"DeviceBound"}, CreatedAt: time.Unix(0, 0), Lifecycle: policy.Lifecycle{Enforce: true}}
	for _, m := range mutate {
		m(&s)
	}
	return s
}

var merge = policy.TenantSpec{Ref: policy.Ref{Kind: policy.KindTenant, Name: "contoso"}, Enforce: true}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		fact string
		doc  string // the tenant's document; "" is the emulator's default
		run  func(c conformance)
	}{{
		fact: "a PATCH replaces each collection it carries whole: a profile left out is deleted",
		doc:  migrated,
		run: func(c conformance) {
			p := c.get()
			p.Profiles = p.Profiles[:1]
			p.IncludeTargets = p.IncludeTargets[:1]
			if err := c.patch(p); err != nil {
				c.t.Fatal(err)
			}
			if got := c.get(); len(got.Profiles) != 1 {
				c.t.Errorf("Entra kept %d profiles", len(got.Profiles))
			}
			// The operator copes: under Merge it resends what it does not manage.
			if d := policy.Decide(c.get(), policy.Declared{Tenant: merge}); d.Send != nil {
				c.t.Errorf("Merge would write with nothing declared: %+v", *d.Send)
			}
		},
	}, {
		fact: "passkeyTypes is a flags enum sent comma-joined; the enums are evolvable",
		doc:  strings.Replace(migrated, `"passkeyTypes":"deviceBound","attestationEnforcement"`, `"passkeyTypes":"deviceBound,unknownFutureValue","attestationEnforcement"`, 1),
		run: func(c conformance) {
			p := c.get()
			if got := p.Profiles[1].PasskeyTypes; strings.Join(got, ",") != "deviceBound,unknownFutureValue" {
				c.t.Errorf("passkeyTypes read as %v", got)
			}
			// The operator copes: resent unchanged, and a resource managing it is told.
			if err := c.patch(p); err != nil {
				c.t.Errorf("resending the unknown value: %v", err)
			}
			d := policy.Decide(p, policy.Declared{Tenant: merge, Profiles: []policy.ProfileSpec{spec("Keys")}})
			if o := d.Outcomes[spec("Keys").Ref]; o.Problem == nil || o.Problem.Reason != policy.ReasonUnknownValue || d.Send != nil {
				c.t.Errorf("managing it: %+v, send %v", o.Problem, d.Send)
			}
		},
	}, {
		fact: "a migrated default profile holds attestation with synced, and repeated AAGUIDs, as sent",
		doc:  migrated,
		run: func(c conformance) {
			p := c.get()
			def, _ := p.ProfileByID(defaultID)
			if !policy.AttestationWithSynced(def) || len(def.KeyRestrictions.AAGUIDs) != 2 {
				c.t.Errorf("default profile read as %+v", def)
			}
			if err := c.patch(p); err != nil {
				c.t.Errorf("resending the migrated state unchanged: %v", err)
			}
			// The operator copes: declared as held, nothing to write, and a warning.
			base := spec("base", func(s *policy.ProfileSpec) {
				s.Default, s.PasskeyTypes, s.Attestation = true, []string{"DeviceBound", "Synced"}, "RegistrationOnly"
				s.KeyEnforcement, s.AAGUIDs = "Allow", []string{aaguid}
			})
			d := policy.Decide(p, policy.Declared{Tenant: merge, Profiles: []policy.ProfileSpec{base}})
			if o := d.Outcomes[base.Ref]; d.Send != nil || o.Problem != nil || len(o.Warnings) != 1 {
				c.t.Errorf("adopting: send %v, outcome %+v", d.Send, o)
			}
		},
	}, {
		fact: "writing attestation with synced anew: unknown, so the operator never does",
		run: func(c conformance) {
			p := c.get()
			p.Profiles[0].AttestationEnforcement = policy.AttestationRegistrationOnly
			c.refused(c.patch(p), "")
			// The other answer: accepted. The operator decides the same under both.
			if err := c.emu.SetBehavior(tenantID, emulator.Behavior{AttestationWithSynced: emulator.Allow}); err != nil {
				c.t.Fatal(err)
			}
			if err := c.patch(p); err != nil {
				c.t.Errorf("under attestation-with-synced allow: %v", err)
			}
			p.Profiles[0].AttestationEnforcement = policy.AttestationDisabled
			if err := c.patch(p); err != nil {
				c.t.Fatal(err)
			}
			d := policy.Decide(c.get(), policy.Declared{Tenant: merge, Profiles: []policy.ProfileSpec{spec("base", func(s *policy.ProfileSpec) {
				s.Default, s.PasskeyTypes, s.Attestation = true, []string{"DeviceBound", "Synced"}, "RegistrationOnly"
			})}})
			if d.Send != nil {
				c.t.Errorf("the operator would write it anew: %+v", *d.Send)
			}
		},
	}, {
		fact: "at most three profiles, the default included",
		doc:  migrated,
		run: func(c conformance) {
			p := c.get()
			extra := p.Profiles[1]
			for _, name := range []string{"Third", "Fourth"} {
				extra.ID, extra.Name = "", name
				p.Profiles = append(p.Profiles, extra)
			}
			c.refused(c.patch(p), "")
			// The operator copes: of two new profiles with room for one, one
			// is refused (the newer; here, of equal age, the greater name).
			d := policy.Decide(c.get(), policy.Declared{Tenant: merge, Profiles: []policy.ProfileSpec{spec("Third"), spec("Fourth")}})
			if o := d.Outcomes[spec("Third").Ref]; o.Problem == nil || o.Problem.Reason != policy.ReasonTooManyProfiles ||
				d.Outcomes[spec("Fourth").Ref].Problem != nil {
				c.t.Errorf("the profile past the limit: %+v", d.Problems())
			}
		},
	}, {
		fact: "the default profile cannot be deleted or renamed",
		run: func(c conformance) {
			p := c.get()
			p.Profiles[0].Name = "Renamed"
			c.refused(c.patch(p), "")
			p.Profiles = p.Profiles[:0]
			p.IncludeTargets = p.IncludeTargets[:0]
			c.refused(c.patch(p), "cannot be deleted")
			// The operator copes: default: true never writes the name.
			d := policy.Decide(c.get(), policy.Declared{Tenant: merge, Profiles: []policy.ProfileSpec{spec("base", func(s *policy.ProfileSpec) {
				s.Default, s.PasskeyTypes = true, []string{"DeviceBound", "Synced"}
			})}})
			if d.Send != nil {
				c.t.Errorf("the operator would write the default profile: %+v", *d.Send)
			}
		},
	}, {
		fact: "a profile an include target names cannot be removed; a target must name a profile",
		doc:  migrated,
		run: func(c conformance) {
			p := c.get()
			p.Profiles = p.Profiles[:1]
			c.refused(c.patch(p), "")
			p = c.get()
			p.IncludeTargets[1].AllowedPasskeyProfiles = []string{}
			c.refused(c.patch(p), "Include conditions are missing passkey profile targets")
			// The operator copes: a deleted profile a target still names is kept.
			leaving := spec("Keys", func(s *policy.ProfileSpec) { s.Deleting, s.KnownID = true, keysID })
			d := policy.Decide(c.get(), policy.Declared{Tenant: merge, Profiles: []policy.ProfileSpec{leaving}})
			if o := d.Outcomes[leaving.Ref]; len(o.KeptFor) != 1 || d.Send != nil {
				c.t.Errorf("deleting Keys: kept for %v, send %v", o.KeptFor, d.Send)
			}
		},
	}, {
		fact: "the deprecated top-level fields mirror the default profile, and the operator never sends them",
		run: func(c conformance) {
			p := c.get()
			p.Profiles[0].PasskeyTypes = []string{policy.PasskeyDeviceBound}
			p.Profiles[0].AttestationEnforcement = policy.AttestationRegistrationOnly
			if err := c.patch(p); err != nil {
				c.t.Fatal(err)
			}
			cfg, err := entra.GetFido2Configuration(ctx(c.t), c.rw)
			if err != nil || cfg.IsAttestationEnforced == nil || !*cfg.IsAttestationEnforced {
				c.t.Errorf("isAttestationEnforced does not follow the default profile: %v %v", err, cfg.IsAttestationEnforced)
			}
			if body, _ := entra.PatchFromPolicy(c.get()); body.IsAttestationEnforced != nil || body.KeyRestrictions != nil {
				c.t.Errorf("the operator's PATCH carries the deprecated fields: %+v", body)
			}
		},
	}, {
		fact: "a tenant never migrated has no profiles and no default",
		doc: `{"state":"disabled","isSelfServiceRegistrationAllowed":true,"isAttestationEnforced":false,
 "keyRestrictions":{"isEnforced":false,"enforcementType":"block","aaGuids":[]},"defaultPasskeyProfile":null,
 "passkeyProfiles":[],"includeTargets":[{"id":"all_users","targetType":"group","isRegistrationRequired":false}],"excludeTargets":[]}`,
		run: func(c conformance) {
			p := c.get()
			if p.DefaultProfileID != "" || len(p.Profiles) != 0 {
				c.t.Errorf("read as %+v", p)
			}
			base := spec("base", func(s *policy.ProfileSpec) { s.Default = true })
			d := policy.Decide(p, policy.Declared{Tenant: merge, Profiles: []policy.ProfileSpec{base}})
			if o := d.Outcomes[base.Ref]; o.Problem == nil || o.Problem.Reason != policy.ReasonNoDefaultProfile || d.Send != nil {
				c.t.Errorf("default: true on it: %+v, send %v", o.Problem, d.Send)
			}
		},
	}, {
		fact: "GET takes Policy.Read.All; PATCH needs Policy.ReadWrite.AuthenticationMethod",
		run: func(c conformance) {
			if _, err := entra.GetFido2Configuration(ctx(c.t), c.read); err != nil {
				c.t.Errorf("GET with Policy.Read.All: %v", err)
			}
			err := entra.PatchFido2Configuration(ctx(c.t), c.ro, &entra.Fido2Configuration{State: ptr(entra.MethodStateEnabled)})
			if entra.Classify(err) != entra.ClassForbidden {
				c.t.Errorf("PATCH with a read-only app: %v", err)
			}
		},
	}, {
		fact: "no ETag: the last writer wins",
		run: func(c conformance) {
			first, second := c.get(), c.get()
			first.State, second.State = policy.StateDisabled, policy.StateEnabled
			if err := c.patch(first); err != nil {
				c.t.Fatal(err)
			}
			if err := c.patch(second); err != nil {
				c.t.Errorf("a PATCH based on an older read was refused: %v", err)
			}
			if got := c.get().State; got != policy.StateEnabled {
				c.t.Errorf("state %q, want the last writer's", got)
			}
		},
	}} {
		t.Run(tc.fact, func(t *testing.T) {
			emu, srv := setup(t)
			if err := emu.Seed(emulator.Tenant{ID: tenantID, Apps: []emulator.App{
				{ClientID: roAllApp, ClientSecret: secret, Roles: []string{emulator.RolePolicyReadAll}}}}); err != nil {
				t.Fatal(err)
			}
			if tc.doc != "" {
				if err := emu.PutFido2(tenantID, []byte(tc.doc)); err != nil {
					t.Fatal(err)
				}
			}
			tc.run(conformance{t: t, emu: emu, rw: adapterFor(t, srv, rwApp), ro: adapterFor(t, srv, roApp), read: adapterFor(t, srv, roAllApp)})
		})
	}
}
