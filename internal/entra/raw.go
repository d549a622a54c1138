package entra

import (
	"context"
	"errors"
	"fmt"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
)

// This file serves passkeyctl doctor, which checks the model against what
// a real tenant sends: the GET body as Graph sent it, the PATCH body the
// model would send, and a probe of the group read permission.

// GetFido2Raw reads the tenant's passkey (FIDO2) policy as GetFido2 does,
// and returns the response body exactly as Graph sent it besides the
// parsed configuration. It needs Policy.Read.AuthenticationMethod.
func (c *Client) GetFido2Raw(ctx context.Context) ([]byte, *Fido2Configuration, error) {
	body, cfg, err := getFido2Raw(withOperation(ctx, OpGetFido2), c.adapter)
	if err != nil {
		return nil, nil, c.fail("reading the passkey (FIDO2) policy", permissionPolicyRead, err)
	}
	return body, cfg, nil
}

func getFido2Raw(ctx context.Context, adapter abstractions.RequestAdapter) ([]byte, *Fido2Configuration, error) {
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, fido2URLTemplate, map[string]string{})
	req.Headers.TryAdd("Accept", "application/json")
	req.Headers.TryAdd("Prefer", preferUnknownEnumMembers) // as getFido2
	res, err := adapter.SendPrimitive(ctx, req, "[]byte", errorMapping)
	if err != nil {
		return nil, nil, err
	}
	body, ok := res.([]byte)
	if !ok || len(body) == 0 {
		return nil, nil, errors.New("empty response")
	}
	cfg, err := ParseFido2JSON(body)
	return body, cfg, err
}

// ParseFido2JSON parses a fido2 GET response body as GetFido2 does.
func ParseFido2JSON(body []byte) (*Fido2Configuration, error) {
	node, err := jsonserialization.NewJsonParseNode(body)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	v, err := node.GetObjectValue(CreateFido2ConfigurationFromDiscriminatorValue)
	if err != nil {
		return nil, err
	}
	cfg, ok := v.(*Fido2Configuration)
	if !ok || cfg == nil {
		return nil, errors.New("empty response")
	}
	return cfg, nil
}

// Fido2PatchJSON is the body PatchFido2 sends for cfg.
func Fido2PatchJSON(cfg *Fido2Configuration) ([]byte, error) {
	w := jsonserialization.NewJsonSerializationWriter()
	defer w.Close()
	if err := w.WriteObjectValue("", cfg); err != nil {
		return nil, fmt.Errorf("serialize: %w", err)
	}
	return w.GetSerializedContent()
}

const groupsTopURLTemplate = "{+baseurl}/groups{?%24top,%24select}"

// ProbeGroupRead lists at most one group (GET /groups?$top=1), to learn
// whether the application may read groups: a 403 is an error that
// IsForbidden recognises. It needs Group.Read.All (or another group read
// permission).
func (c *Client) ProbeGroupRead(ctx context.Context) error {
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, groupsTopURLTemplate,
		map[string]string{})
	req.QueryParametersAny["%24top"] = 1
	req.QueryParametersAny["%24select"] = groupSelect
	req.Headers.TryAdd("Accept", "application/json")
	res, err := c.adapter.Send(withOperation(ctx, OpGroupsByDisplayName), req, createGroupCollection, errorMapping)
	if _, ok := res.(*groupCollection); err == nil && !ok {
		err = errors.New("empty response")
	}
	if err != nil {
		return c.fail("listing groups", permissionGroupRead, err)
	}
	return nil
}
