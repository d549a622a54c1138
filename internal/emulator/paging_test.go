package emulator

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"

	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// generatedEnv serves tenant A with n generated users in groups, every
// third with a passkey, and an app with roles.
func generatedEnv(t *testing.T, n, groups int, roles ...string) (*testEnv, string) {
	t.Helper()
	env := newTestEnv(t, Options{})
	env.seed(tenantA, secret, roles...)
	if err := env.emu.GenerateUsers(tenantA, UserGeneration{Count: n, Groups: groups, PasskeyShare: 1.0 / 3}); err != nil {
		t.Fatal(err)
	}
	return env, env.token(tenantA, appRW, secret)
}

// generatedIDs are the ids of generated users from..to-1 with step.
func generatedIDs(from, to, step int) []string {
	var out []string
	for i := from; i < to; i += step {
		out = append(out, GeneratedUserID(i))
	}
	return out
}

func TestPagingFollowsEveryNextLink(t *testing.T) {
	env, token := generatedEnv(t, 250, 3, RoleDirectoryRead, RoleAuditLogRead)
	group0 := "/v1.0/groups/" + GeneratedGroupID(0) + "/transitiveMembers/microsoft.graph.user"
	tests := []struct {
		name      string
		path      string
		want      []string
		wantPages int
	}{
		{"report, default page", registrationPath, generatedIDs(0, 250, 1), 1},
		{"report, $top=7", registrationPath + "?$top=7", generatedIDs(0, 250, 1), 36},
		{"report, filtered, $top=10", registrationPath + "?$filter=methodsRegistered/any(m:m%20eq%20'passKeySynced')&$top=10", nil, 5},
		{"members, default page of 100", "/v1.0/groups/" + GeneratedGroupID(1) + "/transitiveMembers/microsoft.graph.user", generatedIDs(1, 250, 3), 1},
		{"members, $top=10", group0 + "?$top=10", generatedIDs(0, 250, 3), 9},
		{"members, $top equal to the count", group0 + "?$top=84", generatedIDs(0, 250, 3), 1},
		{"members, %24top as the SDK sends it", group0 + "?%24top=50", generatedIDs(0, 250, 3), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, pages := env.listAll(tt.path, token)
			got := ids(t, items)
			if tt.want == nil { // the filtered report: the synced passkey holders
				tt.want = syncedHolders(250, 1.0/3)
			}
			if !slices.Equal(got, tt.want) || pages != tt.wantPages {
				t.Errorf("%d items in %d pages, want %d in %d; first difference at %d", len(got), pages, len(tt.want), tt.wantPages,
					firstDifference(got, tt.want))
			}
		})
	}
}

// syncedHolders are the generated users with a synced passkey.
func syncedHolders(n int, share float64) []string {
	g := UserGeneration{Count: n, PasskeyShare: share}
	var out []string
	for i := range n {
		if slices.Contains(g.methods(i), "passKeySynced") {
			out = append(out, GeneratedUserID(i))
		}
	}
	return out
}

func firstDifference(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestDefaultDirectoryPageIs100(t *testing.T) {
	env, token := generatedEnv(t, 250, 1, RoleDirectoryRead)
	items, pages := env.listAll("/v1.0/groups/"+GeneratedGroupID(0)+"/transitiveMembers/microsoft.graph.user", token)
	if len(items) != 250 || pages != 3 {
		t.Errorf("%d items in %d pages, want 250 in 3", len(items), pages)
	}
}

func TestNextLinkKeepsTheQuery(t *testing.T) {
	env, token := generatedEnv(t, 30, 0, RoleAuditLogRead)
	_, body := env.do(http.MethodGet, registrationPath+"?$top=3&$filter=methodsRegistered/any(m:m%20eq%20'passKeySynced')", token, "")
	var page listing
	if err := json.Unmarshal(body, &page); err != nil || page.NextLink == "" {
		t.Fatalf("page = %s (%v)", body, err)
	}
	want := env.URL() + registrationPath + "?$top=3&$filter=methodsRegistered/any(m:m%20eq%20'passKeySynced')&$skiptoken="
	if !strings.HasPrefix(page.NextLink, want) {
		t.Errorf("nextLink = %s, want it to start with %s", page.NextLink, want)
	}
	if strings.Contains(strings.TrimPrefix(page.NextLink, want), GeneratedUserID(0)[:8]) {
		t.Errorf("nextLink %s shows the key: the token should be opaque", page.NextLink)
	}
}

func TestPagingRefusals(t *testing.T) {
	env, token := generatedEnv(t, 10, 1, RoleDirectoryRead, RoleAuditLogRead)
	members := "/v1.0/groups/" + GeneratedGroupID(0) + "/transitiveMembers/microsoft.graph.user"
	tests := []struct {
		path, code, msg string
	}{
		{members + "?$top=1000", "Request_UnsupportedQuery", "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{members + "?$top=0", "Request_UnsupportedQuery", "Invalid page size specified: '0'."},
		{members + "?$top=ten", "Request_UnsupportedQuery", "Invalid page size specified: 'ten'."},
		{registrationPath + "?$top=1001", "Request_UnsupportedQuery", "Must be between 1 and 1000 inclusive."},
		{members + "?$skiptoken=***", "Request_BadRequest", "page token"},
	}
	for _, tt := range tests {
		resp, body := env.do(http.MethodGet, tt.path, token, "")
		expectGraphError(t, resp, body, http.StatusBadRequest, tt.code, tt.msg)
	}
	if items, _ := env.listAll(registrationPath+"?$top=1000", token); len(items) != 10 {
		t.Errorf("report with $top=1000: %d items, want 10", len(items))
	}
}

// idCollection is a page of any Graph collection, read by the SDK: the
// ids of its items and its next link.
type idCollection struct {
	ids  []string
	next *string
}

func (c *idCollection) Serialize(serialization.SerializationWriter) error { return nil }
func (c *idCollection) GetValue() []string                                { return c.ids }
func (c *idCollection) GetOdataNextLink() *string                         { return c.next }

func (c *idCollection) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{
		"@odata.nextLink": func(n serialization.ParseNode) error {
			v, err := n.GetStringValue()
			c.next = v
			return err
		},
		"value": func(n serialization.ParseNode) error {
			items, err := n.GetCollectionOfObjectValues(func(serialization.ParseNode) (serialization.Parsable, error) { return &idItem{}, nil })
			for _, item := range items {
				c.ids = append(c.ids, item.(*idItem).id)
			}
			return err
		},
	}
}

type idItem struct{ id string }

func (i *idItem) Serialize(serialization.SerializationWriter) error { return nil }
func (i *idItem) GetFieldDeserializers() map[string]func(serialization.ParseNode) error {
	return map[string]func(serialization.ParseNode) error{"id": func(n serialization.ParseNode) error {
		v, err := n.GetStringValue()
		if v != nil {
			i.id = *v
		}
		return err
	}}
}

func newIDCollection(serialization.ParseNode) (serialization.Parsable, error) {
	return &idCollection{}, nil
}

// TestSDKPageIteratorReadsEveryPage lists the report and a group's members
// with the Graph SDK's own page iterator, which follows @odata.nextLink.
func TestSDKPageIteratorReadsEveryPage(t *testing.T) {
	env, _ := generatedEnv(t, 120, 2, RoleDirectoryRead, RoleAuditLogRead)
	cred, err := azidentity.NewClientSecretCredential(tenantA, appRW, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: env.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	adapter, err := entra.NewGraphRequestAdapter(cred, entra.AdapterOptions{GraphEndpoint: env.URL(), HTTPClient: env.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		template string
		want     []string
	}{
		{"{+baseurl}/reports/authenticationMethods/userRegistrationDetails{?%24top}", generatedIDs(0, 120, 1)},
		{"{+baseurl}/groups/" + GeneratedGroupID(1) + "/transitiveMembers/microsoft.graph.user{?%24top}", generatedIDs(1, 120, 2)},
	}
	for _, tt := range tests {
		req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, tt.template, map[string]string{})
		req.QueryParametersAny["%24top"] = int32(25)
		req.Headers.TryAdd("Accept", "application/json")
		first, err := adapter.Send(context.Background(), req, newIDCollection, nil)
		if err != nil {
			t.Fatalf("%s: %v", tt.template, err)
		}
		it, err := msgraphgocore.NewPageIterator[string](first, adapter, newIDCollection)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := it.Iterate(context.Background(), func(id string) bool { got = append(got, id); return true }); err != nil {
			t.Fatalf("%s: iterate: %v", tt.template, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: the SDK read %d ids, want %d (first difference at %d)", tt.template, len(got), len(tt.want), firstDifference(got, tt.want))
		}
	}
	if n := env.emu.StatsOf(tenantA, http.MethodGet, registrationPath).Count(tenantA, http.MethodGet, registrationPath, 200); n != 5 {
		t.Errorf("report requests = %d, want 5 pages of 25", n)
	}
}
