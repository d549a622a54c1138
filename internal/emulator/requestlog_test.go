package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRequestLogHasTimesStatusesAndVersions(t *testing.T) {
	env, token := graphEnv(t, Options{})
	before := time.Now()
	env.do(http.MethodGet, fido2Path, token, "")                             // reads version 0
	env.do(http.MethodPatch, fido2Path, token, typed(`{"state":"enabled"}`)) // writes version 1
	env.do(http.MethodPatch, fido2Path, token, typed(`{"passkeyProfiles":[]}`))
	env.do(http.MethodGet, fido2Path, token, "") // reads version 1
	// The last GET is throttled after 50ms of latency.
	if err := env.emu.SetFault(tenantA, Fault{LatencyMS: 50, ThrottleEvery: 1}); err != nil {
		t.Fatal(err)
	}
	env.do(http.MethodGet, fido2Path, token, "")
	after := time.Now()

	resp, body := env.do(http.MethodGet, "/_emulator/tenants/"+tenantA+"/requests", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET requests = %d %s", resp.StatusCode, body)
	}
	var reply struct {
		Requests []RequestRecord `json:"requests"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&reply); err != nil {
		t.Fatalf("requests body %s: %v", body, err)
	}
	want := []struct {
		method  string
		status  int
		version uint64
	}{
		{http.MethodGet, 200, 0}, {http.MethodPatch, 204, 1}, {http.MethodPatch, 400, 0}, {http.MethodGet, 200, 1}, {http.MethodGet, 429, 0},
	}
	if len(reply.Requests) != len(want) {
		t.Fatalf("%d requests logged, want %d: %s", len(reply.Requests), len(want), body)
	}
	for i, w := range want {
		r := reply.Requests[i]
		if r.Method != w.method || r.Status != w.status || r.Version != w.version || r.Path != fido2Path {
			t.Errorf("request %d = %+v, want %s %d version %d", i+1, r, w.method, w.status, w.version)
		}
		if r.Start.Before(before) || r.End.After(after) || r.End.Before(r.Start) {
			t.Errorf("request %d times %v..%v outside the test's %v..%v", i+1, r.Start, r.End, before, after)
		}
		if i > 0 && r.Start.Before(reply.Requests[i-1].End) {
			t.Errorf("request %d starts before request %d ended: not oldest first", i+1, i)
		}
	}
	if last := reply.Requests[len(want)-1]; last.End.Sub(last.Start) < 50*time.Millisecond {
		t.Errorf("the delayed request took %v, want the 50ms latency between start and end", last.End.Sub(last.Start))
	}

	// Admin requests and the token endpoint are not Graph requests.
	env.do(http.MethodGet, "/_emulator/tenants/"+tenantA, "", "")
	env.token(tenantA, appRW, secret)
	if got, _ := env.emu.Requests(tenantA); len(got) != len(want) {
		t.Errorf("%d requests after admin and token requests, want still %d", len(got), len(want))
	}
	if resp, _ := env.do(http.MethodGet, "/_emulator/tenants/"+tenantB+"/requests", "", ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("requests of an unknown tenant = %d, want 404", resp.StatusCode)
	}
}

func TestRequestLogKeepsTheNewest(t *testing.T) {
	env, _ := graphEnv(t, Options{})
	for i := range maxRequestRecords + 5 {
		env.emu.recordRequest(tenantA, RequestRecord{Method: http.MethodGet, Version: uint64(i)})
	}
	got, err := env.emu.Requests(tenantA)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxRequestRecords || got[0].Version != 5 || got[len(got)-1].Version != maxRequestRecords+4 {
		t.Errorf("log holds %d records, %d..%d; want the newest %d", len(got), got[0].Version, got[len(got)-1].Version, maxRequestRecords)
	}
}

func TestPortalEditIfMatch(t *testing.T) {
	env, _ := graphEnv(t, Options{})
	path := "/_emulator/tenants/" + tenantA + "/fido2"
	patch := func(ifMatch, body string) (*http.Response, []byte) {
		req, err := http.NewRequest(http.MethodPatch, env.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("If-Match", ifMatch)
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp, readBody(t, resp)
	}
	if resp, body := patch("0", `{"state":"enabled"}`); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"version":1`) {
		t.Fatalf("PATCH If-Match 0 at version 0 = %d %s", resp.StatusCode, body)
	}
	// A read-modify-write that read version 0 must not undo version 1.
	resp, body := patch(`"0"`, `{"state":"disabled"}`)
	expectGraphError(t, resp, body, http.StatusPreconditionFailed, "PreconditionFailed", "version 1, not 0")
	if doc, v, _ := env.emu.Fido2(tenantA); v != 1 || doc.State != StateEnabled {
		t.Errorf("after the refused edit: version %d state %s, want 1 enabled", v, doc.State)
	}
	resp, body = patch("one", `{"state":"disabled"}`)
	expectGraphError(t, resp, body, http.StatusBadRequest, "BadRequest", "If-Match")
	if resp, body := patch(`"1"`, `{"state":"disabled"}`); resp.StatusCode != http.StatusOK {
		t.Errorf("PATCH If-Match \"1\" at version 1 = %d %s", resp.StatusCode, body)
	}
}
