package policy

import "strings"

// AssignProfileIDs gives each PasskeyProfile the Entra id it manages. The
// controller writes new ids to status before the PATCH that creates the
// profiles, so a crash in between can never create a duplicate (DESIGN §3).
//
// In order of preference, oldest resource first:
//  1. the resource that owns default: true gets the tenant's default
//     profile, even over an earlier KnownID: default is what it asks for;
//  2. KnownID, when Entra has that profile;
//  3. an observed profile with the same name (any case) that no other
//     resource claims: this is how importing a tenant yields zero changes,
//     and how a KnownID that Entra replaced is found again;
//  4. KnownID, which recreates the profile with the same id;
//  5. newID().
//
// A resource that loses a conflict or is being deleted keeps its KnownID
// and gets no new one: it will not create anything.
func AssignProfileIDs(profiles []ProfileSpec, observed Policy, newID func() string) map[Ref]string {
	sorted := oldestFirst(profiles)
	conflicts := profileConflicts(sorted)
	ids := map[Ref]string{}
	// The default is placed first, so that adoption by name never hands the
	// default profile to another resource. Its owner's KnownID, if another
	// profile, is released: no resource manages that one any more.
	owner, hasOwner := defaultOwner(sorted, conflicts)
	if hasOwner && observed.DefaultProfileID != "" {
		ids[owner] = observed.DefaultProfileID
	}
	claimed := idSet{}
	for _, p := range profiles {
		if id, done := ids[p.Ref]; done {
			claimed.add(id)
		} else if p.KnownID != "" {
			claimed.add(p.KnownID)
		}
	}
	for _, p := range sorted {
		if _, done := ids[p.Ref]; done {
			continue
		}
		_, lost := conflicts[p.Ref]
		if id := chooseID(p, lost || p.Deleting, observed, claimed, newID); id != "" {
			ids[p.Ref] = id
			claimed.add(id)
		}
	}
	return ids
}

func defaultOwner(sorted []ProfileSpec, conflicts map[Ref]Problem) (Ref, bool) {
	for _, p := range sorted {
		if _, lost := conflicts[p.Ref]; p.Default && !lost {
			return p.Ref, true
		}
	}
	return Ref{}, false
}

// chooseID applies steps 2 to 5 of AssignProfileIDs; a passive resource
// (conflict loser, deleting) stops after its KnownID.
func chooseID(p ProfileSpec, passive bool, observed Policy, claimed idSet, newID func() string) string {
	if p.KnownID != "" && findProfile(observed.Profiles, p.KnownID) >= 0 {
		return p.KnownID
	}
	if passive {
		return p.KnownID
	}
	if id, ok := adoptByName(p.name(), observed, claimed); ok {
		return id
	}
	if p.KnownID != "" {
		return p.KnownID
	}
	return newID()
}

// adoptByName finds the first observed profile with the name that no
// resource claims.
func adoptByName(name string, observed Policy, claimed idSet) (string, bool) {
	for _, p := range observed.Profiles {
		if strings.EqualFold(p.Name, name) && !claimed.has(p.ID) {
			return p.ID, true
		}
	}
	return "", false
}

// MatchByName handles the read-back after a PATCH: a profile we wrote that
// Entra does not hold under our id, but holds under another id with the same
// name, was stored under Entra's id. It returns the ids to put in status,
// only for the resources whose id moved.
func MatchByName(desired Desired, readBack Policy) map[Ref]string {
	claimed := idSet{}
	for _, p := range desired.Profiles {
		if p.Profile.ID != "" {
			claimed.add(p.Profile.ID)
		}
	}
	moved := map[Ref]string{}
	for _, p := range desired.Profiles {
		if p.action() != actionWrite || findProfile(readBack.Profiles, p.Profile.ID) >= 0 {
			continue
		}
		if id, ok := adoptByName(p.Profile.Name, readBack, claimed); ok {
			moved[p.Spec.Ref] = id
			claimed.add(id)
		}
	}
	return moved
}
