// Package doctor measures what the project cannot measure without a real
// tenant: whether the application may read and write the passkey policy,
// whether the fido2 model round-trips the tenant's document, what the
// document holds that the model does not know, and — with write probes —
// how Entra answers the questions ENTRA-FACTS.md leaves open (what happens
// to a client-chosen profile id, whether one PATCH may create a profile and
// name it), in the emulator's terms. passkeyctl doctor prints its Report.
package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// Client is what the doctor needs of entra.Client.
type Client interface {
	GetFido2Raw(ctx context.Context) ([]byte, *entra.Fido2Configuration, error)
	PatchFido2(ctx context.Context, cfg *entra.Fido2Configuration) error
	ProbeGroupRead(ctx context.Context) error
	GroupByID(ctx context.Context, id string) (entra.Group, error)
}

// Options say what the doctor may do.
type Options struct {
	// ProbeWrites allows the write probes: temporary profiles, removed again.
	ProbeWrites bool
	// ProbeGroup is the object id of an empty group the same-PATCH
	// reference probe may target for a moment ("": not probed).
	ProbeGroup string
}

// Check results.
const (
	StatusOK         = "ok"
	StatusMissing    = "missing"
	StatusNotChecked = "not checked"
)

// Answers that are not one of the emulator's values.
const (
	NotProbed = "not probed"
	// Any: every value matches, because the tenant's other answer makes
	// this one unobservable.
	Any = "any"
)

// Report is what the doctor found. Its JSON form is stable: fields are
// added, never renamed or removed.
type Report struct {
	Tenant string `json:"tenant"`
	// Credentials is ok when a token was obtained (a Graph call got an
	// answer other than a sign-in failure).
	Credentials string       `json:"credentials"`
	Permissions []Permission `json:"permissions"`
	RoundTrip   RoundTrip    `json:"roundTrip"`
	// Unmodelled lists the properties and enum values the model does not
	// know: kept and sent back as read, but not understood.
	Unmodelled []string `json:"unmodelled"`
	// Warnings lists the states the operator's API warns about.
	Warnings []string `json:"warnings"`
	// Probe is nil without --probe-writes.
	Probe    *Probe        `json:"probe,omitempty"`
	Emulator EmulatorFlags `json:"emulator"`
	// Attention lists what needs someone's attention; empty when every
	// check passed.
	Attention []string `json:"attention"`
}

// Permission is one application permission and whether it is granted.
type Permission struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// RoundTrip compares the document Graph sent with the PATCH body the
// model makes of it, OData annotations aside.
type RoundTrip struct {
	Checked     bool     `json:"checked"`
	Equal       bool     `json:"equal"`
	Differences []string `json:"differences"`
}

// Probe is what the write probes did and found.
type Probe struct {
	// Steps are the requests in the order sent, with their outcome.
	Steps []Step `json:"steps"`
	// AssignedID is the id Entra gave the profile created without one.
	AssignedID string `json:"assignedId,omitempty"`
	// ClientID is the id the second profile was sent with.
	ClientID string `json:"clientId,omitempty"`
	// NewProfileIDs is assign, honour, reject or NotProbed.
	NewProfileIDs string `json:"newProfileIds"`
	// RejectStatus and RejectMessage are Entra's refusal under reject.
	RejectStatus  int    `json:"rejectStatus,omitempty"`
	RejectMessage string `json:"rejectMessage,omitempty"`
	// SamePatchReference is refuse, allow, Any or NotProbed.
	SamePatchReference string `json:"samePatchReference"`
	// RefuseStatus and RefuseMessage are Entra's refusal under refuse.
	RefuseStatus  int     `json:"refuseStatus,omitempty"`
	RefuseMessage string  `json:"refuseMessage,omitempty"`
	Restore       Restore `json:"restore"`
}

// Step is one request of the probes.
type Step struct {
	Request string `json:"request"`
	Result  string `json:"result"`
}

// Restore says whether the document is back to what it was.
type Restore struct {
	// Patched: a PATCH resent the collections as originally read.
	Patched bool `json:"patched"`
	// Restored: the last GET equals the first, annotations aside.
	Restored    bool     `json:"restored"`
	Differences []string `json:"differences"`
}

// EmulatorFlags are the entra-emulator's answers that match this tenant.
type EmulatorFlags struct {
	NewProfileIDs      string `json:"newProfileIds"`
	SamePatchReference string `json:"samePatchReference"`
	// Flags is the command line for them, the undetermined ones left out.
	Flags string `json:"flags"`
}

// ProbeName is the prefix of the temporary profiles' names.
const ProbeName = "passkeyctl doctor probe"

// ErrNoFreeSlot: the tenant holds policy.MaxProfiles profiles already.
type ErrNoFreeSlot struct{ Profiles int }

func (e ErrNoFreeSlot) Error() string {
	return fmt.Sprintf("--probe-writes needs a free passkey profile slot, but the tenant holds %d profiles (Entra allows %d); nothing was written",
		e.Profiles, policy.MaxProfiles)
}

// Run runs the checks. An error means the doctor could not check (sign-in
// failed, Graph failed other than with 403, --probe-writes refused); what
// needs attention is in the report.
func Run(ctx context.Context, c Client, tenant string, opts Options) (Report, error) {
	r := Report{Tenant: tenant, Credentials: StatusOK, Unmodelled: []string{}, Warnings: []string{}, Attention: []string{},
		RoundTrip: RoundTrip{Differences: []string{}}}
	r.Emulator = EmulatorFlags{NewProfileIDs: NotProbed, SamePatchReference: NotProbed}

	raw, cfg, err := c.GetFido2Raw(ctx)
	policyRead := Permission{Name: "Policy.Read.AuthenticationMethod", Status: StatusOK,
		Detail: "the fido2 policy was read (Policy.ReadWrite.AuthenticationMethod or Policy.Read.All grant it too)"}
	switch {
	case isForbidden(err):
		policyRead.Status, policyRead.Detail = StatusMissing, "grant Policy.Read.AuthenticationMethod (or Policy.ReadWrite.AuthenticationMethod): "+err.Error()
		r.attention("permission missing: Policy.Read.AuthenticationMethod")
	case err != nil:
		if _, graph := entra.AsGraphError(err); !graph {
			r.Credentials = "failed"
		}
		return r, err
	}
	r.Permissions = append(r.Permissions, policyRead)

	groupRead := Permission{Name: "Group.Read.All", Status: StatusOK, Detail: "groups can be listed"}
	if gerr := c.ProbeGroupRead(ctx); isForbidden(gerr) {
		groupRead.Status, groupRead.Detail = StatusMissing, "not granted: only needed for groupName targets and group names in passkeyctl export"
		r.attention("permission missing: Group.Read.All (only needed for groupName targets)")
	} else if gerr != nil {
		return r, gerr
	}
	r.Permissions = append(r.Permissions, groupRead)
	write := Permission{Name: "Policy.ReadWrite.AuthenticationMethod", Status: StatusNotChecked, Detail: "only --probe-writes writes"}

	if cfg == nil { // the policy could not be read
		r.Permissions = append(r.Permissions, write)
		return r, nil
	}
	r.RoundTrip = roundTrip(raw, cfg)
	if !r.RoundTrip.Equal {
		r.attention("round trip: the model would not send back what Graph sent (see the differences)")
	}
	r.Unmodelled = unmodelled(cfg)
	r.Warnings = warnings(cfg)

	if !opts.ProbeWrites {
		r.Permissions = append(r.Permissions, write)
		return r, nil
	}
	p := &prober{c: c, orig: cfg, origRaw: raw, report: &r, group: opts.ProbeGroup}
	if err := p.check(ctx, groupRead.Status == StatusOK); err != nil {
		r.Permissions = append(r.Permissions, write)
		return r, err
	}
	r.Probe = &Probe{NewProfileIDs: NotProbed, SamePatchReference: NotProbed, Steps: []Step{},
		Restore: Restore{Differences: []string{}}}
	p.probe = r.Probe
	p.run(ctx, &write)
	r.Permissions = append(r.Permissions, write)
	r.Emulator = emulatorFlags(r.Probe)
	return r, nil
}

func (r *Report) attention(s string) { r.Attention = append(r.Attention, s) }

func isForbidden(err error) bool {
	ge, ok := entra.AsGraphError(err)
	return ok && ge.StatusCode == http.StatusForbidden
}

// roundTrip serializes cfg (raw, parsed) as a PATCH would and compares
// the result with raw.
func roundTrip(raw []byte, cfg *entra.Fido2Configuration) RoundTrip {
	rt := RoundTrip{Checked: true, Differences: []string{}}
	sent, err := entra.Fido2PatchJSON(cfg)
	if err != nil {
		rt.Differences = append(rt.Differences, "serializing the document failed: "+err.Error())
		return rt
	}
	rt.Differences = Compare(raw, sent, "Graph sent", "the model sends")
	rt.Equal = len(rt.Differences) == 0
	return rt
}

// Compare lists the differences between two JSON documents, OData
// annotations (members whose name holds '@') aside, as
// "path: <first> X, <second> Y"; nil when they are equal.
func Compare(a, b []byte, first, second string) []string {
	var av, bv any
	if err := json.Unmarshal(a, &av); err != nil {
		return []string{"the first document is not JSON: " + err.Error()}
	}
	if err := json.Unmarshal(b, &bv); err != nil {
		return []string{"the second document is not JSON: " + err.Error()}
	}
	d := differ{first: first, second: second}
	d.diff("", stripAnnotations(av), stripAnnotations(bv))
	return d.out
}

func stripAnnotations(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			if !strings.Contains(k, "@") {
				out[k] = stripAnnotations(item)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, item := range v {
			out[i] = stripAnnotations(item)
		}
		return out
	}
	return v
}

const absent = "(absent)"

type differ struct {
	first, second string
	out           []string
}

func (d *differ) add(path string, a, b string) {
	if path == "" {
		path = "(document)"
	}
	d.out = append(d.out, fmt.Sprintf("%s: %s %s, %s %s", path, d.first, a, d.second, b))
}

func (d *differ) diff(path string, a, b any) {
	am, aObj := a.(map[string]any)
	bm, bObj := b.(map[string]any)
	if aObj && bObj {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			av, aok := am[k]
			bv, bok := bm[k]
			switch {
			case !aok:
				d.add(join(path, k), absent, show(bv))
			case !bok:
				d.add(join(path, k), show(av), absent)
			default:
				d.diff(join(path, k), av, bv)
			}
		}
		return
	}
	al, aList := a.([]any)
	bl, bList := b.([]any)
	if aList && bList && len(al) == len(bl) {
		for i := range al {
			d.diff(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i])
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		d.add(path, show(a), show(b))
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func describeProfile(p *entra.PasskeyProfile) string {
	return fmt.Sprintf("passkey profile %q (%s)", p.Name, p.ID)
}

// unmodelled lists properties (the Extra maps at every level) and enum
// values the model does not know.
func unmodelled(cfg *entra.Fido2Configuration) []string {
	out := []string{}
	props := func(where string, extra map[string]any) {
		for _, k := range sortedKeys(extra) {
			out = append(out, fmt.Sprintf("%s: property %q = %s", where, k, show(extra[k])))
		}
	}
	props("fido2 configuration", cfg.Extra)
	if cfg.State != nil && *cfg.State != entra.MethodStateEnabled && *cfg.State != entra.MethodStateDisabled {
		out = append(out, fmt.Sprintf("fido2 configuration: state %q", *cfg.State))
	}
	if cfg.KeyRestrictions != nil {
		props("fido2 configuration keyRestrictions (deprecated)", cfg.KeyRestrictions.Extra)
	}
	p := entra.ToPolicy(cfg)
	for i, profile := range cfg.PasskeyProfiles {
		where := describeProfile(profile)
		props(where, profile.Extra)
		props(where+" keyRestrictions", profile.KeyRestrictions.Extra)
		for _, v := range policy.UnknownValues(p.Profiles[i]) {
			out = append(out, where+": "+v)
		}
	}
	targetType := func(where string, t entra.TargetType) {
		if t != entra.TargetTypeGroup && t != entra.TargetTypeUser {
			out = append(out, fmt.Sprintf("%s: targetType %q", where, t))
		}
	}
	for _, t := range cfg.IncludeTargets {
		where := "include target " + t.ID
		props(where, t.Extra)
		targetType(where, t.TargetType)
	}
	for _, t := range cfg.ExcludeTargets {
		where := "exclude target " + t.ID
		props(where, t.Extra)
		targetType(where, t.TargetType)
	}
	return out
}

// warnings lists the states the operator's API warns about.
func warnings(cfg *entra.Fido2Configuration) []string {
	out := []string{}
	if cfg.DefaultPasskeyProfile == nil || *cfg.DefaultPasskeyProfile == "" {
		out = append(out, "fido2 configuration: "+policy.NoDefaultProfile)
	}
	p := entra.ToPolicy(cfg)
	for i, profile := range cfg.PasskeyProfiles {
		where := describeProfile(profile)
		if policy.AttestationWithSynced(p.Profiles[i]) {
			out = append(out, where+": "+policy.WarningAttestationWithSynced)
		}
		k := profile.KeyRestrictions
		if repeated := repeats(k.AAGUIDs); len(repeated) > 0 {
			out = append(out, fmt.Sprintf("%s: keyRestrictions.aaGuids repeats %s (Entra stores the list as sent)", where, strings.Join(repeated, ", ")))
		}
		if !k.IsEnforced && len(k.AAGUIDs) > 0 {
			out = append(out, fmt.Sprintf("%s: keyRestrictions list %d AAGUIDs with isEnforced false: stored, not applied", where, len(k.AAGUIDs)))
		}
	}
	return out
}

func repeats(aaguids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range aaguids {
		key := strings.ToLower(a)
		if seen[key] && !slices.Contains(out, a) {
			out = append(out, a)
		}
		seen[key] = true
	}
	return out
}

func emulatorFlags(p *Probe) EmulatorFlags {
	f := EmulatorFlags{NewProfileIDs: p.NewProfileIDs, SamePatchReference: p.SamePatchReference}
	var flags []string
	if p.NewProfileIDs != NotProbed {
		flags = append(flags, "--new-profile-ids "+p.NewProfileIDs)
	}
	if p.SamePatchReference != NotProbed && p.SamePatchReference != Any {
		flags = append(flags, "--same-patch-reference "+p.SamePatchReference)
	}
	f.Flags = strings.Join(flags, " ")
	return f
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newGUID is a random (version 4) GUID.
func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
