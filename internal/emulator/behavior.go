package emulator

import (
	"cmp"
	"fmt"
)

// Behavior answers the questions about Entra that no public evidence
// settles. Each answer can be set for the whole emulator (Options.Behavior,
// the command line) and per tenant at run time (SetBehavior, the admin API),
// so that one test binary can check a client under every answer. An empty
// field means the emulator's default for it (Options.Behavior, then the
// built-in default, the first value listed).
type Behavior struct {
	// NewProfileIDs is what happens to an id a client gives a passkey
	// profile that a PATCH creates: assign (ignore it and assign a new
	// GUID), honour (keep it) or reject (400). A new profile sent without
	// an id always gets a new GUID.
	NewProfileIDs NewProfileIDs `json:"newProfileIds,omitempty"`
	// SamePatchReference is whether an include target may name a profile
	// that the same PATCH creates: refuse (400, as for an unknown profile)
	// or allow. Under assign the client's id never exists, so a reference
	// to it fails either way.
	SamePatchReference Verdict `json:"samePatchReference,omitempty"`
	// AttestationWithSynced is whether a write that sets a profile's
	// attestation or passkey types so that it enforces attestation while
	// allowing synced passkeys is refused or allowed. A profile that already
	// holds that state (a migrated tenant's default profile) may always be
	// resent unchanged.
	AttestationWithSynced Verdict `json:"attestationWithSynced,omitempty"`
}

// NewProfileIDs is an answer for Behavior.NewProfileIDs.
type NewProfileIDs string

// The answers for Behavior.NewProfileIDs.
const (
	NewProfileIDsAssign NewProfileIDs = "assign"
	NewProfileIDsHonour NewProfileIDs = "honour"
	NewProfileIDsReject NewProfileIDs = "reject"
)

// Verdict is refuse or allow.
type Verdict string

// The answers for Behavior.SamePatchReference and AttestationWithSynced.
const (
	Refuse Verdict = "refuse"
	Allow  Verdict = "allow"
)

// builtinBehavior holds the defaults: what the emulator does when nobody
// says otherwise.
var builtinBehavior = Behavior{
	NewProfileIDs:         NewProfileIDsAssign,
	SamePatchReference:    Refuse,
	AttestationWithSynced: Refuse,
}

// Validate reports a field that holds none of its answers.
func (b Behavior) Validate() error {
	switch b.NewProfileIDs {
	case "", NewProfileIDsAssign, NewProfileIDsHonour, NewProfileIDsReject:
	default:
		return fmt.Errorf("newProfileIds %q: want %s, %s or %s", b.NewProfileIDs, NewProfileIDsAssign, NewProfileIDsHonour, NewProfileIDsReject)
	}
	for _, v := range []struct {
		name    string
		verdict Verdict
	}{{"samePatchReference", b.SamePatchReference}, {"attestationWithSynced", b.AttestationWithSynced}} {
		switch v.verdict {
		case "", Refuse, Allow:
		default:
			return fmt.Errorf("%s %q: want %s or %s", v.name, v.verdict, Refuse, Allow)
		}
	}
	return nil
}

// or fills b's empty fields from fallback.
func (b Behavior) or(fallback Behavior) Behavior {
	return Behavior{
		NewProfileIDs:         cmp.Or(b.NewProfileIDs, fallback.NewProfileIDs),
		SamePatchReference:    cmp.Or(b.SamePatchReference, fallback.SamePatchReference),
		AttestationWithSynced: cmp.Or(b.AttestationWithSynced, fallback.AttestationWithSynced),
	}
}

// ParseNewProfileIDs reads an answer for NewProfileIDs (the command line's
// --new-profile-ids).
func ParseNewProfileIDs(s string) (NewProfileIDs, error) {
	switch v := NewProfileIDs(s); v {
	case NewProfileIDsAssign, NewProfileIDsHonour, NewProfileIDsReject:
		return v, nil
	default:
		return "", fmt.Errorf("%q: want %s, %s or %s", s, NewProfileIDsAssign, NewProfileIDsHonour, NewProfileIDsReject)
	}
}

// ParseVerdict reads refuse or allow.
func ParseVerdict(s string) (Verdict, error) {
	switch v := Verdict(s); v {
	case Refuse, Allow:
		return v, nil
	default:
		return "", fmt.Errorf("%q: want %s or %s", s, Refuse, Allow)
	}
}

// effectiveBehavior is the tenant's behaviour with every field filled.
// The caller holds e.mu.
func (e *Emulator) effectiveBehavior(tn *tenant) Behavior {
	return tn.behavior.or(e.opts.Behavior).or(builtinBehavior)
}

// SetBehavior sets a tenant's answers to the open questions; empty fields
// take the emulator's defaults. Behavior{} returns the tenant to them.
func (e *Emulator) SetBehavior(tenantID string, b Behavior) error {
	if err := b.Validate(); err != nil {
		return err
	}
	return e.withTenant(tenantID, func(tn *tenant) error {
		tn.behavior = b
		return nil
	})
}

// Behavior returns a tenant's answers to the open questions, every field
// filled.
func (e *Emulator) Behavior(tenantID string) (Behavior, error) {
	var b Behavior
	err := e.withTenant(tenantID, func(tn *tenant) error {
		b = e.effectiveBehavior(tn)
		return nil
	})
	return b, err
}
