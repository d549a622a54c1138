// Package mds is the catalog of authenticator models from the FIDO Alliance
// Metadata Service (MDS3): which AAGUID is which make and model, by the
// description its vendor registered. It lets people select models by name
// (PasskeyProfile spec.keyRestrictions.authenticators) and shows names next
// to AAGUIDs.
//
// The core is pure: Parse verifies a BLOB and builds an immutable Catalog;
// Match and Catalog.Resolve implement the name patterns. Source is the I/O
// edge: it downloads the BLOB, keeps the last verified one in a cache file
// and refreshes it. docs/authenticators.md is the user's view.
package mds

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Model is one authenticator make and model.
type Model struct {
	// AAGUID is the model's Authenticator Attestation GUID, lower-case, in
	// canonical GUID form.
	AAGUID string `json:"aaguid"`
	// Name is the model's description in its metadata statement, such as
	// "YubiKey 5 Series with NFC".
	Name string `json:"name"`
}

// Catalog is an immutable snapshot of the models a BLOB lists. A nil
// *Catalog is valid and means no catalog is loaded: it knows no model.
type Catalog struct {
	number     int
	nextUpdate time.Time
	models     []Model        // sorted by name, then AAGUID; one per AAGUID
	byAAGUID   map[string]int // index into models
	lowerNames []string       // the models' names in lower case, for matching

	// resolved keeps what each selector (in lower case) resolved to: every
	// pass of every tenant resolves its profiles' names again, and a scan
	// of the production BLOB's thousands of models each time would cost
	// the operator milliseconds per profile per pass.
	mu       sync.Mutex
	resolved map[string][]Model
}

// New builds a catalog from models, for callers that have them from
// elsewhere than a BLOB. AAGUIDs are brought to canonical form; a model
// whose AAGUID is not a GUID, or whose name is empty, is left out (it could
// neither be looked up nor selected), and of two models with one AAGUID the
// first is kept.
func New(number int, nextUpdate time.Time, models []Model) *Catalog {
	c := &Catalog{number: number, nextUpdate: nextUpdate, byAAGUID: make(map[string]int, len(models))}
	seen := make(map[string]bool, len(models))
	for _, m := range models {
		id, err := ParseAAGUID(m.AAGUID)
		name := strings.TrimSpace(m.Name)
		if err != nil || name == "" || seen[id] {
			continue
		}
		seen[id] = true
		c.models = append(c.models, Model{AAGUID: id, Name: name})
	}
	slices.SortFunc(c.models, compareModels)
	for i, m := range c.models {
		c.byAAGUID[m.AAGUID] = i
		c.lowerNames = append(c.lowerNames, strings.ToLower(m.Name))
	}
	return c
}

func compareModels(a, b Model) int {
	return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.AAGUID, b.AAGUID))
}

// ParseAAGUID returns s in canonical form (lower-case, hyphenated), or an
// error when s is not a GUID.
func ParseAAGUID(s string) (string, error) {
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("AAGUID %q is not a GUID: %w", s, err)
	}
	return id.String(), nil
}

// Loaded reports whether c holds a catalog at all.
func (c *Catalog) Loaded() bool { return c != nil }

// Number is the BLOB's serial number (its "no"); 0 when nothing is loaded.
func (c *Catalog) Number() int {
	if c == nil {
		return 0
	}
	return c.number
}

// NextUpdate is the date by which the MDS promises a newer BLOB; the zero
// time when nothing is loaded.
func (c *Catalog) NextUpdate() time.Time {
	if c == nil {
		return time.Time{}
	}
	return c.nextUpdate
}

// Stale reports whether, at now, the BLOB's nextUpdate has passed: a newer
// BLOB should exist and this one could not be replaced. A stale catalog is
// still used: vendors do not rename models, so an old name is better than
// none, and its signature was verified. Callers may say that it is stale. A
// nil catalog is not stale, it is absent.
func (c *Catalog) Stale(now time.Time) bool {
	return c != nil && !now.Before(c.nextUpdate)
}

// Len is the number of models.
func (c *Catalog) Len() int {
	if c == nil {
		return 0
	}
	return len(c.models)
}

// Models returns every model, sorted by name, then AAGUID.
func (c *Catalog) Models() []Model {
	if c == nil {
		return nil
	}
	return slices.Clone(c.models)
}

// Name returns the name of the model with this AAGUID (in any case), or ""
// when the catalog does not know it.
func (c *Catalog) Name(aaguid string) string {
	if c == nil {
		return ""
	}
	id, err := ParseAAGUID(aaguid)
	if err != nil {
		return ""
	}
	if i, ok := c.byAAGUID[id]; ok {
		return c.models[i].Name
	}
	return ""
}

// Resolve returns the models a selector picks: an exact name or a pattern
// (see Match), case ignored. The result is sorted by name, then AAGUID, and
// names each AAGUID once; it is empty when nothing matches or no catalog is
// loaded.
func (c *Catalog) Resolve(selector string) []Model {
	if c == nil {
		return nil
	}
	p := newPattern(selector)
	c.mu.Lock()
	defer c.mu.Unlock()
	out, ok := c.resolved[p.text]
	if !ok {
		for i, m := range c.models {
			if p.matches(c.lowerNames[i]) {
				out = append(out, m)
			}
		}
		if c.resolved == nil {
			c.resolved = map[string][]Model{}
		}
		c.resolved[p.text] = out
	}
	return slices.Clone(out)
}
