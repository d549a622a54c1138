package entra

import (
	"context"
	"errors"
	"fmt"
	"strings"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
)

// Group is a directory group, as far as passkey targeting needs one.
type Group struct {
	ID          string
	DisplayName string
}

const (
	groupURLTemplate  = "{+baseurl}/groups/{group%2Did}{?%24select}"
	groupsURLTemplate = "{+baseurl}/groups{?%24filter,%24select}"
	groupSelect       = "id,displayName"
)

// GroupByID reads a group by object id; an unknown id is an error of
// ClassNotFound. It needs Group.Read.All (or another group read
// permission).
func (c *Client) GroupByID(ctx context.Context, id string) (Group, error) {
	g, err := getObject[groupResource](withOperation(ctx, OpGroupByID), c.adapter, groupURLTemplate, "group%2Did", id, groupSelect)
	if err != nil {
		return Group{}, c.fail(fmt.Sprintf("looking up group %s", id), permissionGroupRead, err)
	}
	return g.Group, nil
}

// GroupsByDisplayName lists the groups with this display name; Graph
// compares ignoring case. Only the first page of results is read (Graph's
// default page holds 100), which is enough to tell none, one and several
// apart. It needs Group.Read.All (or another group read permission).
func (c *Client) GroupsByDisplayName(ctx context.Context, name string) ([]Group, error) {
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, groupsURLTemplate,
		map[string]string{})
	// OData string literals escape a quote by doubling it.
	req.QueryParametersAny["%24filter"] = "displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"
	req.QueryParametersAny["%24select"] = groupSelect
	req.Headers.TryAdd("Accept", "application/json")
	res, err := c.adapter.Send(withOperation(ctx, OpGroupsByDisplayName), req, createGroupCollection, errorMapping)
	page, ok := res.(*groupCollection)
	if err == nil && (!ok || page == nil) {
		err = errors.New("empty response")
	}
	if err != nil {
		return nil, c.fail(fmt.Sprintf("looking up groups named %q", name), permissionGroupRead, err)
	}
	groups := make([]Group, 0, len(page.value))
	for _, g := range page.value {
		groups = append(groups, g.Group)
	}
	return groups, nil
}

// groupResource is the kiota Parsable for a group; the SDK's models package
// would do, but compiling it takes minutes (ADR 0003).
type groupResource struct{ Group }

func (g *groupResource) Serialize(w serialization.SerializationWriter) error {
	return firstErr(
		w.WriteStringValue("id", &g.ID),
		w.WriteStringValue("displayName", &g.DisplayName),
	)
}

func (g *groupResource) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"id":          stringValueField(&g.ID),
		"displayName": stringValueField(&g.DisplayName),
	}
}

// groupCollection is a page of groups.
type groupCollection = collection[groupResource, *groupResource]

func createGroupCollection(n serialization.ParseNode) (serialization.Parsable, error) {
	return createCollection[groupResource](n)
}
