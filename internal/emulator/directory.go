package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The directory's users and nested group membership, and the Graph
// endpoints that read them:
//
//	GET /v1.0/users/{id or userPrincipalName}
//	GET /v1.0/users/{id or userPrincipalName}/transitiveMemberOf/microsoft.graph.group
//	GET /v1.0/groups/{id}/transitiveMembers/microsoft.graph.user
//
// A tenant may hold 100,000 users (the adoption benchmark), so users are
// kept compact: lists of method names are shared between users that have
// the same ones, and the sorted order and the membership index are built
// once after a seed, not per request.

// directory holds a tenant's users and what is derived from them and the
// groups; the zero value is an empty directory. Emulator.mu guards it.
type directory struct {
	users map[string]User   // by lower-case id
	byUPN map[string]string // lower-case userPrincipalName → lower-case id
	// methods interns the users' method lists, keyed by the names joined.
	methods map[string][]string
	// updated is when users were last seeded: the report's
	// lastUpdatedDateTime.
	updated time.Time
	// order is the lower-case user ids, sorted, for paging; nil when stale.
	order []string
	// memberOf maps a lower-case member id to the lower-case ids of the
	// groups it is a direct member of; nil when stale.
	memberOf map[string][]string
	// groupUsers maps a lower-case group id to its users, direct and
	// nested, sorted, so that each page of a large group's members does
	// not walk and sort the group again; nil when stale.
	groupUsers map[string][]string
}

// checkUserSeeds refuses users without an id or userPrincipalName, and two
// users of one seed with the same id or userPrincipalName.
func checkUserSeeds(users []User) error {
	ids, upns := map[string]bool{}, map[string]bool{}
	for _, u := range users {
		id, upn := normalizeID(u.ID), normalizeID(u.UserPrincipalName)
		switch {
		case id == "":
			return errors.New("user with empty id")
		case upn == "":
			return fmt.Errorf("user %s has no userPrincipalName", u.ID)
		case ids[id]:
			return fmt.Errorf("user %s is given twice", u.ID)
		case upns[upn]:
			return fmt.Errorf("userPrincipalName %s is given to two users", u.UserPrincipalName)
		}
		ids[id], upns[upn] = true, true
	}
	return nil
}

// checkUPNs refuses users whose userPrincipalName another user already has:
// a userPrincipalName names one user in a tenant.
func (d *directory) checkUPNs(users []User) error {
	for _, u := range users {
		if owner, ok := d.byUPN[normalizeID(u.UserPrincipalName)]; ok && owner != normalizeID(u.ID) {
			return fmt.Errorf("userPrincipalName %s belongs to user %s", u.UserPrincipalName, owner)
		}
	}
	return nil
}

// putUsers adds users, replacing those with the same id, and marks what is
// derived from users and groups stale (a seed may have changed groups).
func (d *directory) putUsers(users []User, now time.Time) {
	if d.users == nil {
		d.users, d.byUPN, d.methods = map[string]User{}, map[string]string{}, map[string][]string{}
	}
	for _, u := range users {
		id := normalizeID(u.ID)
		if old, ok := d.users[id]; ok {
			delete(d.byUPN, normalizeID(old.UserPrincipalName))
		}
		u.MethodsRegistered = d.intern(u.MethodsRegistered)
		d.users[id] = u
		d.byUPN[normalizeID(u.UserPrincipalName)] = id
	}
	if len(users) > 0 {
		d.updated = now
	}
	d.order, d.memberOf, d.groupUsers = nil, nil, nil
}

// intern returns the shared copy of a list of method names; callers never
// change it.
func (d *directory) intern(methods []string) []string {
	key := strings.Join(methods, "\x00")
	if shared, ok := d.methods[key]; ok {
		return shared
	}
	shared := slices.Clip(slices.Clone(methods))
	d.methods[key] = shared
	return shared
}

// lookup finds a user by object id or userPrincipalName, as Graph's
// /users/{id | userPrincipalName} does, and returns its lower-case id.
func (d *directory) lookup(idOrUPN string) (string, bool) {
	key := normalizeID(idOrUPN)
	if _, ok := d.users[key]; ok {
		return key, true
	}
	id, ok := d.byUPN[key]
	return id, ok
}

// find is lookup with Graph's answer for a user that does not exist.
func (d *directory) find(idOrUPN string) (string, *graphError) {
	if id, ok := d.lookup(idOrUPN); ok {
		return id, nil
	}
	return "", resourceNotFound(idOrUPN)
}

// sortedUserIDs returns the lower-case user ids in order.
func (d *directory) sortedUserIDs() []string {
	if d.order == nil {
		d.order = make([]string, 0, len(d.users))
		for id := range d.users {
			d.order = append(d.order, id)
		}
		slices.Sort(d.order)
	}
	return d.order
}

// directMemberOf returns the index from a member to the groups it is a
// direct member of.
func (tn *tenant) directMemberOf() map[string][]string {
	d := &tn.directory
	if d.memberOf == nil {
		d.memberOf = map[string][]string{}
		for gid, g := range tn.groups {
			for _, m := range g.Members {
				d.memberOf[normalizeID(m)] = append(d.memberOf[normalizeID(m)], gid)
			}
		}
	}
	return d.memberOf
}

// transitiveGroups returns the lower-case ids of the groups memberID is in,
// directly or through nested groups, sorted. Each group is visited once, so
// a cycle of groups ends.
func (tn *tenant) transitiveGroups(memberID string) []string {
	index := tn.directMemberOf()
	seen := map[string]bool{}
	queue := slices.Clone(index[memberID])
	for len(queue) > 0 {
		gid := queue[0]
		queue = queue[1:]
		if seen[gid] {
			continue
		}
		seen[gid] = true
		queue = append(queue, index[gid]...)
	}
	return sortedKeys(seen)
}

// transitiveUsers returns the lower-case ids of the users in a group,
// directly or through nested groups, sorted. Each group is visited once.
// Callers must not change the list.
func (tn *tenant) transitiveUsers(groupID string) []string {
	d := &tn.directory
	if users, ok := d.groupUsers[groupID]; ok {
		return users
	}
	if d.groupUsers == nil {
		d.groupUsers = map[string][]string{}
	}
	d.groupUsers[groupID] = tn.walkUsers(groupID)
	return d.groupUsers[groupID]
}

// walkUsers walks a group and the groups nested in it for their users.
func (tn *tenant) walkUsers(groupID string) []string {
	users := map[string]bool{}
	seen := map[string]bool{groupID: true}
	queue := []string{groupID}
	for len(queue) > 0 {
		g := tn.groups[queue[0]]
		queue = queue[1:]
		for _, m := range g.Members {
			id := normalizeID(m)
			if _, isUser := tn.directory.users[id]; isUser {
				users[id] = true
			} else if _, isGroup := tn.groups[id]; isGroup && !seen[id] {
				seen[id] = true
				queue = append(queue, id)
			}
		}
	}
	return sortedKeys(users)
}

func sortedKeys(set map[string]bool) []string {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// userResource is a user as Graph returns it: the properties a v1.0 GET
// returns by default (those the emulator does not model are null or
// empty).
type userResource struct {
	Context           string   `json:"@odata.context,omitempty"`
	Type              string   `json:"@odata.type,omitempty"`
	ID                string   `json:"id"`
	UserPrincipalName *string  `json:"userPrincipalName"`
	DisplayName       *string  `json:"displayName"`
	BusinessPhones    []string `json:"businessPhones"`
	GivenName         *string  `json:"givenName"`
	JobTitle          *string  `json:"jobTitle"`
	Mail              *string  `json:"mail"`
	MobilePhone       *string  `json:"mobilePhone"`
	OfficeLocation    *string  `json:"officeLocation"`
	PreferredLanguage *string  `json:"preferredLanguage"`
	Surname           *string  `json:"surname"`
}

func newUserResource(u User, context string) userResource {
	return userResource{Context: context, ID: u.ID, UserPrincipalName: &u.UserPrincipalName,
		DisplayName: &u.DisplayName, BusinessPhones: []string{}}
}

// limitedUserResource is a user listed to a caller that may not read
// users: Graph returns such members "with limited information", their type
// and id, the other properties null (permissions overview, "Limited
// information returned for inaccessible member objects").
func limitedUserResource(u User) userResource {
	return userResource{Type: "#microsoft.graph.user", ID: u.ID}
}

// userReadRoles may read users (get user page).
var userReadRoles = []string{RoleUserRead, RoleUserReadWrite, RoleDirectoryRead, RoleDirectoryWrite}

// groupMembersRoles may list a group's members (list group transitive
// members, application permissions: GroupMember.Read.All or higher), and
// read the groups a user's memberships list.
var groupMembersRoles = append(slices.Clone(groupReadRoles), RoleGroupMemberReadWrite)

// userGroupsRoles may list a user's groups (list a user's memberships,
// application permissions: User.Read.All, or one of groupMembersRoles). A
// caller that may read users but not groups gets the groups "with limited
// information".
var userGroupsRoles = append([]string{RoleUserRead}, groupMembersRoles...)

// limitedGroupResource is a group listed to a caller that may not read
// groups: its type and id, the other properties null, as
// limitedUserResource is for users.
func limitedGroupResource(id string) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.group", "id": id, "displayName": nil}
}

func (e *Emulator) serveUser(w http.ResponseWriter, r *http.Request, who caller, idOrUPN string) {
	if !e.readAllowed(w, r, who, directoryAccessDenied(), userReadRoles...) {
		return
	}
	var u User
	gerr := e.readTenant(who.tenantID, func(tn *tenant) *graphError {
		id, gerr := tn.directory.find(idOrUPN)
		u = tn.directory.users[id]
		return gerr
	})
	if gerr != nil {
		writeGraphError(w, e.now(), gerr)
		return
	}
	writeJSON(w, http.StatusOK, newUserResource(u, origin(r)+"/v1.0/$metadata#users/$entity"))
}

func (e *Emulator) serveUserGroups(w http.ResponseWriter, r *http.Request, who caller, idOrUPN string) {
	q, ok := e.startListing(w, r, who, directoryPageSize, userGroupsRoles...)
	if !ok {
		return
	}
	mayReadGroups := who.hasAnyRole(groupMembersRoles...)
	var page collectionPage
	gerr := e.readTenant(who.tenantID, func(tn *tenant) *graphError {
		id, gerr := tn.directory.find(idOrUPN)
		if gerr != nil {
			return gerr
		}
		page = listPage(tn.transitiveGroups(id), q, nil, func(gid string) any {
			if !mayReadGroups {
				return limitedGroupResource(gid)
			}
			g := newGroupResource(tn.groups[gid], "")
			g.Type = "#microsoft.graph.group"
			return g
		})
		return nil
	})
	e.writeCollection(w, r, "groups", page, gerr)
}

func (e *Emulator) serveGroupUsers(w http.ResponseWriter, r *http.Request, who caller, groupID string) {
	q, ok := e.startListing(w, r, who, directoryPageSize, groupMembersRoles...)
	if !ok {
		return
	}
	mayReadUsers := who.hasAnyRole(userReadRoles...)
	var page collectionPage
	gerr := e.readTenant(who.tenantID, func(tn *tenant) *graphError {
		id := normalizeID(groupID)
		if _, ok := tn.groups[id]; !ok {
			return resourceNotFound(groupID)
		}
		page = listPage(tn.transitiveUsers(id), q, nil, func(uid string) any {
			u := tn.directory.users[uid]
			if !mayReadUsers {
				return limitedUserResource(u)
			}
			res := newUserResource(u, "")
			res.Type = "#microsoft.graph.user"
			return res
		})
		return nil
	})
	e.writeCollection(w, r, "users", page, gerr)
}
