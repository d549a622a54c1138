package emulator

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// A write to a tenant's fido2 document — a Graph PATCH or a portal edit —
// goes through one pipeline (Emulator.write):
//
//  1. the request becomes a fido2Patch: the top-level members whose value
//     differs from the stored one (a member resent unchanged is no change);
//  2. a tenant that never had passkey profiles is migrated first when the
//     write starts using them (migrateToProfiles);
//  3. the changed members replace the stored ones (a collection whole);
//  4. new passkey profiles get their ids (Behavior.NewProfileIDs);
//  5. the deprecated tenant-wide settings and the default profile are made
//     equal again (mirrorLegacy);
//  6. the product rules judge what changed (fido2_rules.go);
//  7. the result is stored and the version advances.

// fido2Patch is a write before it is applied.
type fido2Patch struct {
	// changed holds the top-level members whose value differs from the
	// stored one, as they are to be stored.
	changed jsonObject
	// sent names every member the request carried (annotations aside),
	// changed or not.
	sent map[string]bool
}

// fido2Write is a write being judged: the document before (after any
// migration) and after, and what the write created.
type fido2Write struct {
	base, next         jsonObject
	baseView, nextView Fido2Document
	behavior           Behavior
	model              *tenantModel
	// newProfiles holds the lower-cased ids of the profiles the write
	// created (as stored, after id assignment).
	newProfiles map[string]bool
}

// write applies p to the tenant's document, judges it and stores it. A
// portal edit plays the admin center: the ids it gives new profiles are
// kept, and its targets may name the profiles it creates.
// The caller holds e.mu.
func (e *Emulator) write(tn *tenant, p fido2Patch, portal bool) (uint64, *graphError) {
	behavior := e.effectiveBehavior(tn)
	if portal {
		behavior.NewProfileIDs = NewProfileIDsHonour
		behavior.SamePatchReference = Allow
	}
	base := tn.doc.clone()
	migrated := startsUsingProfiles(base, p)
	if migrated {
		base = migrateToProfiles(base)
	}
	next := base.clone()
	for _, m := range p.changed.members {
		next.set(m.name, m.value)
	}
	w := &fido2Write{behavior: behavior, model: &tn.model, newProfiles: map[string]bool{}}
	if _, ok := p.changed.get("passkeyProfiles"); ok {
		if err := w.placeProfiles(base, &next, migrated); err != nil {
			return 0, err
		}
	}
	mirrorLegacy(base, &next, p.sent["passkeyProfiles"])

	w.base, w.next = base, next
	w.baseView, w.nextView = viewOf(base), viewOf(next)
	for _, rule := range fido2Rules {
		if err := rule(w); err != nil {
			return 0, err
		}
	}
	tn.doc = next
	tn.version++
	tn.lastModified = e.now()
	return tn.version, nil
}

// placeProfiles completes the written profile collection: the default
// profile that a migration in this write created is kept when the write
// left it out (the client could not know it), and each new profile gets its
// id.
func (w *fido2Write) placeProfiles(base jsonObject, next *jsonObject, migrated bool) *graphError {
	items := next.objects("passkeyProfiles")
	baseItems := base.objects("passkeyProfiles")
	if def := findByID(baseItems, base.str("defaultPasskeyProfile")); migrated && def >= 0 && findByID(items, baseItems[def].str("id")) < 0 {
		items = append([]jsonObject{baseItems[def]}, items...)
	}
	for i, item := range items {
		clientID := item.str("id")
		if findByID(baseItems, clientID) >= 0 {
			continue // an existing profile
		}
		id := newUUID()
		switch {
		case clientID == "":
		case w.behavior.NewProfileIDs == NewProfileIDsHonour:
			id = clientID
		case w.behavior.NewProfileIDs == NewProfileIDsReject:
			return ruleError("A new passkey profile cannot carry an id: the service assigns it. Leave 'id' out of the new passkey profile '%s'.", item.str("name"))
		}
		item.setFirst("id", mustMarshal(id))
		items[i] = item
		w.newProfiles[strings.ToLower(id)] = true
	}
	next.setObjects("passkeyProfiles", items)
	return nil
}

// startsUsingProfiles reports whether a write to a tenant that was never
// migrated to passkey profiles (no default profile) migrates it: when it
// enables the passkey method or writes passkey profiles. See
// docs/emulator.md ("A tenant never migrated"): the evidence says that
// opting in moves the global settings into a Default passkey profile, not
// what a PATCH does; this is the emulator's guess, made here only.
func startsUsingProfiles(base jsonObject, p fido2Patch) bool {
	if base.str("defaultPasskeyProfile") != "" {
		return false
	}
	if v, ok := p.changed.get("state"); ok {
		var s string
		if json.Unmarshal(v, &s) == nil && s == StateEnabled {
			return true
		}
	}
	if v, ok := p.changed.get("passkeyProfiles"); ok {
		var items []json.RawMessage
		if json.Unmarshal(v, &items) == nil && len(items) > 0 {
			return true
		}
	}
	return false
}

// migrateToProfiles does to a tenant without passkey profiles what Entra's
// migration does (how-to "Enable passkey profiles": "your global passkey
// (FIDO2) policy settings automatically transfer to a Default passkey
// profile"; MC1221452: passkeyTypes is deviceBound alone when attestation was
// enforced, else deviceBound and synced; targeting and key restrictions are
// preserved): it creates the Default passkey profile from the tenant-wide
// settings, makes it the default and gives it to every include target that
// names no profile.
func migrateToProfiles(doc jsonObject) jsonObject {
	doc = doc.clone()
	legacy := viewOf(doc)
	types, attestation := PasskeyTypeDeviceBound+","+PasskeyTypeSynced, AttestationDisabled
	if legacy.IsAttestationEnforced {
		types, attestation = PasskeyTypeDeviceBound, AttestationRegistrationOnly
	}
	keyRestrictions := mustMarshal(KeyRestrictions{EnforcementType: EnforcementBlock, AAGUIDs: []string{}})
	if kr, ok := doc.object("keyRestrictions"); ok {
		keyRestrictions = kr.bytes()
	}
	var def jsonObject
	def.setValue("id", DefaultPasskeyProfileID)
	def.setValue("name", DefaultPasskeyProfileName)
	def.setValue("passkeyTypes", types)
	def.setValue("attestationEnforcement", attestation)
	def.set("keyRestrictions", keyRestrictions)

	profiles := doc.objects("passkeyProfiles")
	if findByID(profiles, DefaultPasskeyProfileID) < 0 {
		profiles = append([]jsonObject{def}, profiles...)
	}
	doc.setObjects("passkeyProfiles", profiles)
	doc.setValue("defaultPasskeyProfile", DefaultPasskeyProfileID)
	if doc.has("includeTargets") {
		targets := doc.objects("includeTargets")
		for i, t := range targets {
			if len(includeTargetView(t).AllowedPasskeyProfiles) == 0 {
				t.setValue("allowedPasskeyProfiles", []string{DefaultPasskeyProfileID})
				targets[i] = t
			}
		}
		doc.setObjects("includeTargets", targets)
	}
	return doc
}

// mirrorLegacy keeps the deprecated tenant-wide isAttestationEnforced and
// keyRestrictions equal to the default profile's attestationEnforcement and
// keyRestrictions, in both directions (Microsoft support material: "If you
// change the default profile, the global policy will update the same way,
// and vice versa"). When the write carried the profile collection the
// default profile wins — a client that sends profiles knows the new schema,
// and the tenant-wide values in its body are echoes of what it read (the
// Graph documentation's own update sample sends isAttestationEnforced true
// beside a default profile whose attestation is disabled). Otherwise a
// change to a tenant-wide setting flows into the default profile.
func mirrorLegacy(base jsonObject, next *jsonObject, profilesSent bool) {
	if profilesSent {
		mirrorLegacyFromDefault(next)
		return
	}
	items := next.objects("passkeyProfiles")
	i := findByID(items, next.str("defaultPasskeyProfile"))
	if i < 0 {
		return
	}
	def := items[i]
	before, _ := base.get("isAttestationEnforced")
	after, ok := next.get("isAttestationEnforced")
	if ok && !sameJSON(before, after) {
		attestation := AttestationDisabled
		if viewOf(*next).IsAttestationEnforced {
			attestation = AttestationRegistrationOnly
		}
		def.setValue("attestationEnforcement", attestation)
	}
	before, _ = base.get("keyRestrictions")
	after, ok = next.get("keyRestrictions")
	if ok && !isNull(after) && !sameJSON(before, after) {
		def.set("keyRestrictions", after)
	}
	items[i] = def
	next.setObjects("passkeyProfiles", items)
}

// mirrorLegacyFromDefault sets the tenant-wide settings the document has
// from its default profile.
func mirrorLegacyFromDefault(doc *jsonObject) {
	items := doc.objects("passkeyProfiles")
	i := findByID(items, doc.str("defaultPasskeyProfile"))
	if i < 0 {
		return
	}
	def := items[i]
	if _, ok := doc.get("isAttestationEnforced"); ok {
		switch def.str("attestationEnforcement") {
		case AttestationRegistrationOnly:
			doc.setValue("isAttestationEnforced", true)
		case AttestationDisabled:
			doc.setValue("isAttestationEnforced", false)
		}
	}
	if kr, ok := def.get("keyRestrictions"); ok && !isNull(kr) {
		if _, has := doc.get("keyRestrictions"); has {
			doc.set("keyRestrictions", kr)
		}
	}
}

// portalPatch turns a portal edit of the typed view into a write: the
// members the edit changed, each merged into the stored JSON so that what
// the typed view does not model survives.
func portalPatch(stored jsonObject, edited Fido2Document) fido2Patch {
	before := viewOf(stored)
	edited = edited.Clone()
	p := fido2Patch{sent: map[string]bool{}}
	scalar := func(name string, was, is any) {
		if !reflect.DeepEqual(was, is) {
			p.changed.setValue(name, is)
			p.sent[name] = true
		}
	}
	scalar("state", before.State, edited.State)
	scalar("isSelfServiceRegistrationAllowed", before.IsSelfServiceRegistrationAllowed, edited.IsSelfServiceRegistrationAllowed)
	scalar("isAttestationEnforced", before.IsAttestationEnforced, edited.IsAttestationEnforced)
	if !reflect.DeepEqual(before.KeyRestrictions, edited.KeyRestrictions) {
		kr, _ := stored.object("keyRestrictions")
		p.changed.set("keyRestrictions", mergeChanged(kr, mustMarshal(before.KeyRestrictions), mustMarshal(edited.KeyRestrictions)).bytes())
		p.sent["keyRestrictions"] = true
	}
	if before.DefaultPasskeyProfile != edited.DefaultPasskeyProfile {
		var v any
		if edited.DefaultPasskeyProfile != "" {
			v = edited.DefaultPasskeyProfile
		}
		p.changed.setValue("defaultPasskeyProfile", v)
		p.sent["defaultPasskeyProfile"] = true
	}
	if !reflect.DeepEqual(before.PasskeyProfiles, edited.PasskeyProfiles) {
		for i, e := range edited.PasskeyProfiles {
			j := slices.IndexFunc(before.PasskeyProfiles, func(b PasskeyProfile) bool { return e.ID != "" && strings.EqualFold(b.ID, e.ID) })
			if j < 0 || before.PasskeyProfiles[j].PasskeyTypes != e.PasskeyTypes {
				edited.PasskeyProfiles[i].PasskeyTypes = canonicalPasskeyTypes(e.PasskeyTypes)
			}
		}
		p.changed.setObjects("passkeyProfiles", mergeItems(stored.objects("passkeyProfiles"), before.PasskeyProfiles, edited.PasskeyProfiles,
			func(p PasskeyProfile) string { return p.ID }))
		p.sent["passkeyProfiles"] = true
	}
	if !reflect.DeepEqual(before.IncludeTargets, edited.IncludeTargets) {
		p.changed.setObjects("includeTargets", mergeItems(stored.objects("includeTargets"), before.IncludeTargets, edited.IncludeTargets,
			func(t IncludeTarget) string { return t.ID }))
		p.sent["includeTargets"] = true
	}
	if !reflect.DeepEqual(before.ExcludeTargets, edited.ExcludeTargets) {
		p.changed.setObjects("excludeTargets", mergeItems(stored.objects("excludeTargets"), before.ExcludeTargets, edited.ExcludeTargets,
			func(t ExcludeTarget) string { return t.ID }))
		p.sent["excludeTargets"] = true
	}
	return p
}

// mergeItems rebuilds a collection from edited typed items: an item that
// has a stored counterpart (same id) keeps its stored JSON with the changed
// fields merged in; a new one is the JSON of its typed value. before[i] is
// the typed view of stored[i].
func mergeItems[T any](stored []jsonObject, before, edited []T, id func(T) string) []jsonObject {
	used := make([]bool, len(stored))
	out := make([]jsonObject, 0, len(edited))
	for _, e := range edited {
		j := -1
		for k := range stored {
			if !used[k] && id(e) != "" && strings.EqualFold(stored[k].str("id"), id(e)) {
				j = k
				break
			}
		}
		if j >= 0 && j < len(before) {
			used[j] = true
			out = append(out, mergeChanged(stored[j], mustMarshal(before[j]), mustMarshal(e)))
			continue
		}
		item, _ := parseObject(mustMarshal(e))
		if id(e) == "" {
			item.remove("id")
		}
		out = append(out, item)
	}
	return out
}

// mergeChanged writes into raw the members whose value differs between
// old and new (both JSON objects of the typed view), recursing into nested
// objects, so that raw's other members stay as stored.
func mergeChanged(raw jsonObject, oldJSON, newJSON []byte) jsonObject {
	old, _ := parseObject(oldJSON)
	nw, _ := parseObject(newJSON)
	out := raw.clone()
	for _, m := range nw.members {
		ov, _ := old.get(m.name)
		if string(ov) == string(m.value) {
			continue
		}
		if nested, ok := out.object(m.name); ok && len(ov) > 0 && ov[0] == '{' && len(m.value) > 0 && m.value[0] == '{' {
			out.set(m.name, mergeChanged(nested, ov, m.value).bytes())
			continue
		}
		out.set(m.name, m.value)
	}
	return out
}

// canonicalPasskeyTypes writes a passkeyTypes flags value in the order of
// the enum's members (deviceBound, synced, unknownFutureValue, then any
// other), each once, as Graph serializes flags.
func canonicalPasskeyTypes(s string) string {
	members := splitFlags(s)
	var out []string
	for _, known := range declaredMembers["passkeyTypes"] {
		if slices.Contains(members, known) {
			out = append(out, known)
		}
	}
	for _, m := range members {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return strings.Join(out, ",")
}
