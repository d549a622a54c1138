package entra_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

func TestGroupLookups(t *testing.T) {
	// Record the Graph queries, to check what is selected and how quotes
	// are escaped.
	var mu sync.Mutex
	var queries []url.Values
	env := newEnvWithHandler(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v1.0/groups") {
				mu.Lock()
				queries = append(queries, r.URL.Query())
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	groups := []entra.Group{
		{ID: "a1a1a1a1-0000-4000-8000-000000000001", DisplayName: "Passkey Admins"},
		{ID: "a2a2a2a2-0000-4000-8000-000000000002", DisplayName: "Helpdesk"},
		{ID: "a3a3a3a3-0000-4000-8000-000000000003", DisplayName: "Helpdesk"},
		{ID: "a4a4a4a4-0000-4000-8000-000000000004", DisplayName: "O'Brien's team"},
	}
	seed := emulator.Tenant{ID: tenantID}
	for _, g := range groups {
		seed.Groups = append(seed.Groups, emulator.Group{ID: g.ID, DisplayName: g.DisplayName})
	}
	if err := env.emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	lastQuery := func() url.Values {
		mu.Lock()
		defer mu.Unlock()
		return queries[len(queries)-1]
	}
	c := env.client(t, env.config(groupApp))

	got, err := c.GroupByID(ctx(t), groups[0].ID)
	if err != nil || got != groups[0] {
		t.Errorf("GroupByID() = %+v, %v; want %+v", got, err, groups[0])
	}
	if q := lastQuery(); q.Get("$select") != "id,displayName" {
		t.Errorf("GroupByID query = %v, want $select=id,displayName", q)
	}

	byName := []struct {
		name       string
		want       []entra.Group
		wantFilter string
	}{
		{"Nobody", []entra.Group{}, "displayName eq 'Nobody'"},
		{"Passkey Admins", groups[0:1], "displayName eq 'Passkey Admins'"},
		{"Helpdesk", groups[1:3], "displayName eq 'Helpdesk'"},
		{"O'Brien's team", groups[3:4], "displayName eq 'O''Brien''s team'"},
	}
	for _, tt := range byName {
		got, err := c.GroupsByDisplayName(ctx(t), tt.name)
		if err != nil {
			t.Errorf("GroupsByDisplayName(%q) = %v", tt.name, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("GroupsByDisplayName(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
		q := lastQuery()
		if q.Get("$filter") != tt.wantFilter || q.Get("$select") != "id,displayName" {
			t.Errorf("GroupsByDisplayName(%q) query = %v, want $filter=%s and $select=id,displayName", tt.name, q, tt.wantFilter)
		}
	}

	if _, err := c.GroupByID(ctx(t), ""); err == nil {
		t.Error(`GroupByID("") succeeded`)
	}
	if _, err := c.GroupByID(ctx(t), unknownGroup); entra.Classify(err) != entra.ClassNotFound {
		t.Errorf("GroupByID(unknown) = %v, want ClassNotFound", err)
	}
}
