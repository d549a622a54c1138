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
	doing := fmt.Sprintf("looking up group %s", id)
	if id == "" {
		// The template would expand to /groups, the list of all groups.
		return Group{}, c.fail(doing, permissionGroupRead, errors.New("empty group id"))
	}
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, groupURLTemplate,
		map[string]string{"group%2Did": id})
	req.QueryParametersAny["%24select"] = groupSelect
	req.Headers.TryAdd("Accept", "application/json")
	res, err := c.adapter.Send(withOperation(ctx, OpGroupByID), req, createGroupResource, errorMapping)
	g, ok := res.(*groupResource)
	if err == nil && (!ok || g == nil) {
		err = errors.New("empty response")
	}
	if err != nil {
		return Group{}, c.fail(doing, permissionGroupRead, err)
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

// groupResource and groupCollection are the kiota Parsables for a group
// and a page of groups; the SDK's models package would do, but compiling
// it takes minutes (ADR 0003).
type groupResource struct{ Group }

func createGroupResource(serialization.ParseNode) (serialization.Parsable, error) {
	return &groupResource{}, nil
}

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

type groupCollection struct{ value []*groupResource }

func createGroupCollection(serialization.ParseNode) (serialization.Parsable, error) {
	return &groupCollection{}, nil
}

func (c *groupCollection) Serialize(w serialization.SerializationWriter) error {
	return w.WriteCollectionOfObjectValues("value", parsables(c.value))
}

func (c *groupCollection) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"value": objectListField(&c.value, "value", createGroupResource),
	}
}
