package policy

import (
	"slices"
	"strings"
)

// What a resource owns in Entra is known only from its status: a profile by
// its id, a target by its group and list. A write that is not yet recorded
// there would be lost with the process that sent it, and a rename, move or
// deletion that follows would leave the item behind, kept as unmanaged. So
// the operator records ownership before it writes (Claims), and narrows it
// to what Entra holds once a pass has read Entra back (SettleTargets); the
// ids of created profiles are recorded as soon as they are read back.

// Claims is what one document to send may make a resource own in Entra,
// recorded in status before it is sent.
type Claims struct {
	// Names are the names of the profiles Send creates, by resource
	// (status.pendingName).
	Names map[Ref]string
	// Targets are the targets Send writes, by resource
	// (status.pendingTargets).
	Targets map[Ref]AppliedTarget
}

// Claims lists what Send creates or writes; nothing when there is no Send.
func (d Decision) Claims() Claims {
	c := Claims{Names: map[Ref]string{}, Targets: map[Ref]AppliedTarget{}}
	if d.Send == nil {
		return c
	}
	for _, p := range d.Desired.Profiles {
		if p.Profile.ID == "" && d.Outcomes[p.Spec.Ref].Written {
			c.Names[p.Spec.Ref] = p.Profile.Name
		}
	}
	for _, a := range d.Desired.Assignments {
		if d.Outcomes[a.Spec.Ref].Written {
			c.Targets[a.Spec.Ref] = a.Spec.declared()
		}
	}
	return c
}

// HeldTargets are an assignment's targets as its status records them.
type HeldTargets struct {
	// Applied is the target a pass confirmed; nil if none.
	Applied *AppliedTarget
	// Pending were written, or about to be, and not confirmed since.
	Pending []AppliedTarget
}

// Holds says whether t is among them.
func (h HeldTargets) Holds(t AppliedTarget) bool {
	return (h.Applied != nil && h.Applied.Same(t)) || slices.ContainsFunc(h.Pending, t.Same)
}

// All lists them, the confirmed one first.
func (h HeldTargets) All() []AppliedTarget {
	var out []AppliedTarget
	if h.Applied != nil {
		out = append(out, *h.Applied)
	}
	return append(out, h.Pending...)
}

// Claim adds t as pending, unless it is already held.
func (h HeldTargets) Claim(t AppliedTarget) HeldTargets {
	if h.Holds(t) {
		return h
	}
	h.Pending = append(slices.Clone(h.Pending), t)
	return h
}

// SettleTargets narrows what an assignment holds to what Entra holds at the
// end of a pass that read it (final). When the pass confirms the declared
// target as the resource's own (confirmed: it resolved, had no problem and
// is not being deleted), that target is all it holds: any other was taken
// out by the same pass, or let go under deletionPolicy Orphan. Otherwise
// the confirmed target stays as it was, and pending targets stay while
// Entra holds them.
func SettleTargets(h HeldTargets, declared AppliedTarget, confirmed bool, final Policy) HeldTargets {
	if confirmed && declared.in(final) {
		return HeldTargets{Applied: &declared}
	}
	out := HeldTargets{Applied: h.Applied}
	for _, t := range h.Pending {
		if t.in(final) && !out.Holds(t) {
			out.Pending = append(out.Pending, t)
		}
	}
	return out
}

// SettleName says whether a pending profile name still matters at the end
// of a pass that read Entra (final): only while Entra holds a profile of
// that name and no id is recorded for the resource.
func SettleName(pending, knownID string, final Policy) string {
	if pending == "" || knownID != "" {
		return ""
	}
	for _, p := range final.Profiles {
		if strings.EqualFold(p.Name, pending) {
			return pending
		}
	}
	return ""
}
