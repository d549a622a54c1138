package doctor

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
)

// prober runs the write probes. Every PATCH resends the three collections
// as first read, plus the temporary items: nothing else changes, and the
// default profile and existing targets are resent untouched.
type prober struct {
	c       Client
	orig    *entra.Fido2Configuration
	origRaw []byte
	group   string
	report  *Report
	probe   *Probe
}

// check refuses the probes before any write when they cannot run safely.
func (p *prober) check(ctx context.Context, canReadGroups bool) error {
	if n := len(p.orig.PasskeyProfiles); n >= policy.MaxProfiles {
		return ErrNoFreeSlot{Profiles: n}
	}
	if p.group == "" {
		return nil
	}
	if !policy.IsGUID(p.group) {
		return fmt.Errorf("--probe-group %q is not a group object id; nothing was written", p.group)
	}
	for _, t := range p.orig.IncludeTargets {
		if strings.EqualFold(t.ID, p.group) {
			return fmt.Errorf("--probe-group %s is already an include target; name an empty group no target names; nothing was written", p.group)
		}
	}
	for _, t := range p.orig.ExcludeTargets {
		if strings.EqualFold(t.ID, p.group) {
			return fmt.Errorf("--probe-group %s is already an exclude target; name an empty group no target names; nothing was written", p.group)
		}
	}
	if canReadGroups {
		if _, err := p.c.GroupByID(ctx, p.group); err != nil {
			return fmt.Errorf("--probe-group: %w; nothing was written", err)
		}
	}
	return nil
}

func (p *prober) step(request, result string) {
	p.probe.Steps = append(p.probe.Steps, Step{Request: request, Result: result})
}

func (p *prober) patch(ctx context.Context, what string, body *entra.Fido2Configuration) error {
	err := p.c.PatchFido2(ctx, body)
	result := "ok"
	if err != nil {
		result = "failed: " + err.Error()
	}
	p.step("PATCH "+what, result)
	return err
}

func (p *prober) get(ctx context.Context, what string) ([]byte, *entra.Fido2Configuration, error) {
	raw, cfg, err := p.c.GetFido2Raw(ctx)
	result := "ok"
	if err != nil {
		result = "failed: " + err.Error()
	}
	p.step("GET "+what, result)
	return raw, cfg, err
}

// body is the collections as read plus the temporary items.
func (p *prober) body(profiles []*entra.PasskeyProfile, include []*entra.IncludeTarget) *entra.Fido2Configuration {
	return &entra.Fido2Configuration{
		PasskeyProfiles: plus(p.orig.PasskeyProfiles, profiles),
		IncludeTargets:  plus(p.orig.IncludeTargets, include),
		ExcludeTargets:  p.orig.ExcludeTargets,
	}
}

// plus is read followed by added; nil (a collection Graph did not send,
// which the PATCH then leaves out) when both are empty and read is nil.
func plus[T any](read, added []T) []T {
	if read == nil && len(added) == 0 {
		return nil
	}
	return append(append(make([]T, 0, len(read)+len(added)), read...), added...)
}

// probeProfile is a temporary profile that restricts nothing it could:
// device-bound only, attestation disabled, key restrictions off.
func probeProfile(name, id string) *entra.PasskeyProfile {
	return &entra.PasskeyProfile{
		ID: id, Name: name,
		PasskeyTypes:           entra.PasskeyTypeDeviceBound,
		AttestationEnforcement: entra.AttestationDisabled,
		KeyRestrictions:        entra.KeyRestrictions{EnforcementType: entra.EnforcementAllow, AAGUIDs: []string{}},
	}
}

func findByName(cfg *entra.Fido2Configuration, name string) *entra.PasskeyProfile {
	for _, profile := range cfg.PasskeyProfiles {
		if strings.EqualFold(profile.Name, name) {
			return profile
		}
	}
	return nil
}

// refusal is the status and message of a 4xx answer other than 403.
func refusal(err error) (entra.GraphError, bool) {
	ge, ok := entra.AsGraphError(err)
	return ge, ok && ge.StatusCode >= 400 && ge.StatusCode < 500 && ge.StatusCode != http.StatusForbidden
}

func (p *prober) fail(format string, args ...any) {
	p.report.attention("write probe: " + fmt.Sprintf(format, args...))
}

// run creates the temporary profiles, one PATCH and one GET each, and then
// restores the document, whatever happened.
func (p *prober) run(ctx context.Context, write *Permission) {
	// A probe interrupted (Ctrl-C) must still restore the document.
	defer p.restore(context.WithoutCancel(ctx))
	name := ProbeName + " " + randomHex(4)

	// 1. A profile without id: Microsoft's documented flow.
	a := probeProfile(name+" a", "")
	err := p.patch(ctx, fmt.Sprintf("passkeyProfiles as read + %q without id", a.Name), p.body([]*entra.PasskeyProfile{a}, nil))
	switch {
	case isForbidden(err):
		write.Status, write.Detail = StatusMissing, "grant Policy.ReadWrite.AuthenticationMethod: "+err.Error()
		p.report.attention("permission missing: Policy.ReadWrite.AuthenticationMethod (the operator writes the policy)")
		return
	case err != nil:
		p.fail("creating a profile without id failed: %v", err)
		return
	}
	write.Status, write.Detail = StatusOK, "a temporary profile was created"
	_, cfg, err := p.get(ctx, "read back: the id Entra assigned")
	if err != nil {
		p.fail("reading back failed: %v", err)
		return
	}
	got := findByName(cfg, a.Name)
	if got == nil || got.ID == "" {
		p.fail("Entra accepted the profile %q created without id but the read-back does not hold it with an id", a.Name)
		return
	}
	p.probe.AssignedID = got.ID

	// 2. A profile with an id of ours (the PATCH also drops the first).
	p.probe.ClientID = newGUID()
	b := probeProfile(name+" b", p.probe.ClientID)
	err = p.patch(ctx, fmt.Sprintf("passkeyProfiles as read + %q with the client-chosen id %s", b.Name, b.ID),
		p.body([]*entra.PasskeyProfile{b}, nil))
	if ge, refused := refusal(err); refused {
		p.probe.NewProfileIDs = "reject"
		p.probe.RejectStatus, p.probe.RejectMessage = ge.StatusCode, ge.Message
	} else if err != nil {
		p.fail("creating a profile with a client-chosen id failed: %v", err)
		return
	} else {
		if _, cfg, err = p.get(ctx, "read back: the id Entra kept"); err != nil {
			p.fail("reading back failed: %v", err)
			return
		}
		switch got := findByName(cfg, b.Name); {
		case got == nil:
			p.fail("Entra accepted the profile %q but the read-back does not hold it", b.Name)
			return
		case strings.EqualFold(got.ID, b.ID):
			p.probe.NewProfileIDs = "honour"
		default:
			p.probe.NewProfileIDs = "assign"
		}
	}

	// 3. One PATCH creating a profile and naming it from a target.
	switch {
	case p.group == "":
		return
	case p.probe.NewProfileIDs != "honour":
		// The reference would name an id Entra does not keep: refused
		// under either answer, so nothing is sent.
		p.probe.SamePatchReference = Any
		p.step("(none) same-PATCH reference", "not sent: Entra keeps no client-chosen id ("+p.probe.NewProfileIDs+
			"), so no PATCH can name a profile it creates; refuse and allow both match")
		return
	}
	c := probeProfile(name+" c", newGUID())
	target := &entra.IncludeTarget{ID: p.group, TargetType: entra.TargetTypeGroup, AllowedPasskeyProfiles: []string{c.ID}}
	err = p.patch(ctx, fmt.Sprintf("passkeyProfiles as read + %q (id %s), includeTargets as read + group %s naming it", c.Name, c.ID, p.group),
		p.body([]*entra.PasskeyProfile{c}, []*entra.IncludeTarget{target}))
	if ge, refused := refusal(err); refused {
		p.probe.SamePatchReference = "refuse"
		p.probe.RefuseStatus, p.probe.RefuseMessage = ge.StatusCode, ge.Message
		return
	} else if err != nil {
		p.fail("creating a profile and a target naming it failed: %v", err)
		return
	}
	if _, cfg, err = p.get(ctx, "read back: the target and its profile"); err != nil {
		p.fail("reading back failed: %v", err)
		return
	}
	for _, t := range cfg.IncludeTargets {
		if strings.EqualFold(t.ID, p.group) && len(t.AllowedPasskeyProfiles) == 1 && strings.EqualFold(t.AllowedPasskeyProfiles[0], c.ID) {
			p.probe.SamePatchReference = "allow"
			return
		}
	}
	p.fail("Entra accepted a target for group %s naming the profile created in the same PATCH, but the read-back does not hold it", p.group)
}

// restore puts the collections back as first read, when they are not, and
// checks the document equals the first GET, annotations aside.
func (p *prober) restore(ctx context.Context) {
	r := &p.probe.Restore
	raw, cur, err := p.get(ctx, "is the document as first read?")
	if err == nil {
		if diffs := Compare(p.origRaw, raw, "before", "now"); len(diffs) == 0 {
			r.Restored = true
			return
		}
	}
	body := &entra.Fido2Configuration{
		PasskeyProfiles: p.orig.PasskeyProfiles, IncludeTargets: p.orig.IncludeTargets, ExcludeTargets: p.orig.ExcludeTargets,
	}
	// A collection Graph did not send at first but holds now is emptied.
	if cur != nil || err != nil {
		if body.PasskeyProfiles == nil && (cur == nil || len(cur.PasskeyProfiles) > 0) {
			body.PasskeyProfiles = []*entra.PasskeyProfile{}
		}
		if body.IncludeTargets == nil && (cur == nil || len(cur.IncludeTargets) > 0) {
			body.IncludeTargets = []*entra.IncludeTarget{}
		}
	}
	r.Patched = p.patch(ctx, "restore: passkeyProfiles, includeTargets and excludeTargets as first read", body) == nil
	raw, _, err = p.get(ctx, "is the document as first read?")
	if err != nil {
		r.Differences = append(r.Differences, "the document could not be read after the restore: "+err.Error())
	} else {
		r.Differences = append(r.Differences, Compare(p.origRaw, raw, "before", "now")...)
	}
	r.Restored = len(r.Differences) == 0
	if !r.Restored {
		p.report.attention("THE DOCUMENT IS NOT BACK TO WHAT IT WAS: see probe.restore.differences; " +
			"remove the profiles named \"" + ProbeName + " ...\" and any target they name in the Entra admin center")
	}
}
