package entra

import (
	"context"
	"errors"
	"fmt"

	"github.com/microsoft/kiota-abstractions-go/serialization"
)

// User is a directory user, as far as explaining its passkey policy needs
// one.
type User struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
}

const (
	userURLTemplate       = "{+baseurl}/users/{user%2Did}{?%24select}"
	userGroupsURLTemplate = "{+baseurl}/users/{user%2Did}/transitiveMemberOf/microsoft.graph.group{?%24select,%24top}"
	groupUsersURLTemplate = "{+baseurl}/groups/{group%2Did}/transitiveMembers/microsoft.graph.user{?%24select,%24top}"
	userSelect            = "id,userPrincipalName,displayName"
	// directoryPage is the largest page directory collections give.
	directoryPage = 999
)

// User reads a user by object id or userPrincipalName; an unknown user is
// an error of ClassNotFound. It needs User.Read.All (or another user read
// permission).
func (c *Client) User(ctx context.Context, idOrUPN string) (User, error) {
	u, err := getObject[userResource](withOperation(ctx, OpUser), c.adapter, userURLTemplate, "user%2Did", idOrUPN, userSelect)
	if err != nil {
		return User{}, c.fail(fmt.Sprintf("looking up user %s", idOrUPN), permissionUserRead, err)
	}
	return u.User, nil
}

// UserGroups lists the groups a user is a member of, directly or through
// nested groups, reading every page. An unknown user is an error of
// ClassNotFound. It needs User.Read.All; without a permission that reads
// groups too (GroupMember.Read.All or higher), Graph leaves out the
// groups' names.
func (c *Client) UserGroups(ctx context.Context, userID string) ([]Group, error) {
	return listMembership(withOperation(ctx, OpUserGroups), c, fmt.Sprintf("listing the groups of user %s", userID), permissionUserRead,
		userGroupsURLTemplate, "user%2Did", userID, groupSelect, func(g *groupResource) Group { return g.Group })
}

// GroupUserIDs lists the object ids of the users in a group, directly or
// through nested groups, reading every page. An unknown group is an error
// of ClassNotFound. It needs GroupMember.Read.All (or another group read
// permission).
func (c *Client) GroupUserIDs(ctx context.Context, groupID string) ([]string, error) {
	return listMembership(withOperation(ctx, OpGroupUserIDs), c, fmt.Sprintf("listing the users of group %s", groupID), permissionMembershipRead,
		groupUsersURLTemplate, "group%2Did", groupID, "id", func(u *userResource) string { return u.ID })
}

// listMembership reads every page of a membership list of the object
// whose id is the template's path parameter param, selecting sel, and
// returns what pick takes of each item; a 403 names permission.
func listMembership[T any, P interface {
	*T
	serialization.Parsable
}, V any](ctx context.Context, c *Client, doing, permission, template, param, id, sel string, pick func(P) V) ([]V, error) {
	if id == "" {
		// The template would name another list.
		return nil, c.fail(doing, permission, errors.New("empty id"))
	}
	req := listRequest(template, map[string]string{param: id}, sel, directoryPage)
	var out []V
	err := eachItem(ctx, c.adapter, req, func(p P) error {
		out = append(out, pick(p))
		return nil
	})
	if err != nil {
		return nil, c.fail(doing, permission, err)
	}
	return out, nil
}

// userResource is the kiota Parsable for a user.
type userResource struct{ User }

func (u *userResource) Serialize(w serialization.SerializationWriter) error {
	return firstErr(
		w.WriteStringValue("id", &u.ID),
		w.WriteStringValue("userPrincipalName", &u.UserPrincipalName),
		w.WriteStringValue("displayName", &u.DisplayName),
	)
}

func (u *userResource) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":                stringValueField(&u.ID),
		"userPrincipalName": stringValueField(&u.UserPrincipalName),
		"displayName":       stringValueField(&u.DisplayName),
	}
}
