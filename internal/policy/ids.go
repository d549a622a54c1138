package policy

import "strings"

// AssignProfileIDs gives each PasskeyProfile the Entra id it manages, when
// Entra holds that profile. A profile Entra does not hold yet gets none: it
// is created without an id, as Microsoft documents, and Entra's id is read
// back (MatchByName). Whether Entra would honour an id we chose is unknown,
// so we never send one; names are unique per tenant (conflicts are refused),
// so a crash between the create and recording its id adopts the profile by
// name instead of creating a duplicate (DESIGN §3).
//
// In order of preference, oldest resource first:
//  1. the resource that owns default: true gets the tenant's default
//     profile, even over an earlier KnownID: default is what it asks for;
//  2. KnownID, when Entra has that profile;
//  3. an observed profile named PendingName that no other resource claims:
//     the one an earlier pass created for it, when a crash or a failed
//     read-back kept its id from being recorded. This comes before any
//     adoption by name, so that it holds after a rename too;
//  4. an observed profile with the same name (any case) that no other
//     resource claims: this is how importing a tenant yields zero changes,
//     and how a profile created in an earlier pass is found again;
//  5. none: the profile is created.
//
// A resource that loses a conflict or is being deleted keeps its KnownID,
// or the profile it created (3), and is never adopted: it will not create
// anything, and a deletion removes what it created.
func AssignProfileIDs(profiles []ProfileSpec, observed Policy) map[Ref]string {
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
		if _, done := ids[p.Ref]; done || p.PendingName == "" || findProfile(observed.Profiles, p.KnownID) >= 0 {
			continue
		}
		if id, ok := adoptByName(p.PendingName, observed, claimed); ok {
			ids[p.Ref] = id
			claimed.add(id)
		}
	}
	for _, p := range sorted {
		if _, done := ids[p.Ref]; done {
			continue
		}
		_, lost := conflicts[p.Ref]
		if id := chooseID(p, lost || p.Deleting, observed, claimed); id != "" {
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

// chooseID applies steps 2, 4 and 5 of AssignProfileIDs; a passive resource
// (conflict loser, deleting) stops after its KnownID.
func chooseID(p ProfileSpec, passive bool, observed Policy, claimed idSet) string {
	if p.KnownID != "" && findProfile(observed.Profiles, p.KnownID) >= 0 {
		return p.KnownID
	}
	if passive {
		return p.KnownID
	}
	id, _ := adoptByName(p.name(), observed, claimed)
	return id
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

// MatchByName handles the read-back after a PATCH: each profile we wrote
// that Entra does not hold under its id — a new one, sent without an id —
// is found by its name. It returns the ids to put in status, only for the
// resources whose id is new or moved.
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
