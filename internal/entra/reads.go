package entra

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
)

// The reads of directory objects and of paged collections that the
// Client's look-ups share.

// getObject reads one object: the template with its path parameter param
// set to id, selecting sel.
func getObject[T any, P interface {
	*T
	serialization.Parsable
}](ctx context.Context, adapter abstractions.RequestAdapter, template, param, id, sel string) (P, error) {
	if id == "" {
		// The template would expand to the collection of all objects.
		return nil, errors.New("empty id")
	}
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, template,
		map[string]string{param: id})
	req.QueryParametersAny["%24select"] = sel
	req.Headers.TryAdd("Accept", "application/json")
	res, err := adapter.Send(ctx, req, createItem[T, P], errorMapping)
	p, ok := res.(P)
	if err == nil && (!ok || p == nil) {
		err = errors.New("empty response")
	}
	return p, err
}

// collection is one page of a Graph collection: its items and, unless it
// is the last page, the link to the next one.
type collection[T any, P interface {
	*T
	serialization.Parsable
}] struct {
	value    []P
	nextLink string
}

func createCollection[T any, P interface {
	*T
	serialization.Parsable
}](serialization.ParseNode) (serialization.Parsable, error) {
	return &collection[T, P]{}, nil
}

func createItem[T any, P interface {
	*T
	serialization.Parsable
}](serialization.ParseNode) (serialization.Parsable, error) {
	return P(new(T)), nil
}

func (c *collection[T, P]) Serialize(w serialization.SerializationWriter) error {
	return w.WriteCollectionOfObjectValues("value", parsables(c.value))
}

func (c *collection[T, P]) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"value":           objectListField(&c.value, "value", createItem[T, P]),
		"@odata.nextLink": stringValueField(&c.nextLink),
	}
}

// listRequest is the GET of the first page of the collection template
// names, selecting sel, top items a page; "" and 0 leave the option out.
func listRequest(template string, params map[string]string, sel string, top int) *abstractions.RequestInformation {
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, template, params)
	if sel != "" {
		req.QueryParametersAny["%24select"] = sel
	}
	if top > 0 {
		req.QueryParametersAny["%24top"] = top
	}
	req.Headers.TryAdd("Accept", "application/json")
	return req
}

// eachItem sends req, a GET of a collection, then follows the
// @odata.nextLink of every page, giving each item to each in turn; only
// one page is held at a time. An error from each stops the listing and is
// returned.
func eachItem[T any, P interface {
	*T
	serialization.Parsable
}](ctx context.Context, adapter abstractions.RequestAdapter, req *abstractions.RequestInformation, each func(P) error) error {
	for {
		res, err := adapter.Send(ctx, req, createCollection[T, P], errorMapping)
		page, ok := res.(*collection[T, P])
		if err == nil && (!ok || page == nil) {
			err = errors.New("empty response")
		}
		if err != nil {
			return err
		}
		for _, item := range page.value {
			if err := each(item); err != nil {
				return err
			}
		}
		if page.nextLink == "" {
			return nil
		}
		// The link is absolute and carries the query as first sent. The
		// adapter's authentication provider only gives a token to Graph's
		// own host.
		next, err := url.Parse(page.nextLink)
		if err != nil {
			return fmt.Errorf("@odata.nextLink: %w", err)
		}
		req = abstractions.NewRequestInformation()
		req.Method = abstractions.GET
		req.SetUri(*next)
		req.Headers.TryAdd("Accept", "application/json")
	}
}
