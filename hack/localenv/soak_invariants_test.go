package main

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
)

func TestDuplicateProfileNames(t *testing.T) {
	doc := func(names ...string) emulator.Fido2Document {
		var d emulator.Fido2Document
		for i, n := range names {
			d.PasskeyProfiles = append(d.PasskeyProfiles, emulator.PasskeyProfile{ID: string(rune('a' + i)), Name: n})
		}
		return d
	}
	for _, tt := range []struct {
		names, want []string
	}{
		{nil, nil},
		{[]string{"Default passkey profile", "Staff"}, nil},
		{[]string{"Default passkey profile", "Staff", "Staff"}, []string{"Staff"}},
		{[]string{"B", "A", "B", "A"}, []string{"A", "B"}},
	} {
		if got := duplicateProfileNames(doc(tt.names...)); !slices.Equal(got, tt.want) {
			t.Errorf("duplicateProfileNames(%v) = %v, want %v", tt.names, got, tt.want)
		}
	}
}

func TestOverwriteExcuse(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	req := func(method string, status int, start, end float64, version uint64) emulator.RequestRecord {
		return emulator.RequestRecord{Method: method, Path: graphFido2Path, Status: status, Start: at(start), End: at(end), Version: version}
	}
	get := func(start float64, version uint64) emulator.RequestRecord {
		return req("GET", 200, start, start+0.1, version)
	}
	patch := func(start float64, version uint64) emulator.RequestRecord {
		return req("PATCH", 204, start, start+0.1, version)
	}
	tests := []struct {
		name           string
		requests       []emulator.RequestRecord
		edited, seen   uint64
		wantRead, want uint64 // versions of the excusing GET and PATCH
		excused        bool
	}{
		{
			name:     "the edit landed between the GET and the PATCH",
			requests: []emulator.RequestRecord{get(1, 3), patch(2, 5)},
			edited:   4, seen: 5, excused: true, wantRead: 3, want: 5,
		},
		{
			name:     "the GET read the edit, yet the PATCH removed it",
			requests: []emulator.RequestRecord{get(1, 4), patch(2, 5)},
			edited:   4, seen: 5,
		},
		{
			name:     "no PATCH after the edit at all",
			requests: []emulator.RequestRecord{get(1, 3), patch(0.5, 3), get(3, 4)},
			edited:   4, seen: 4,
		},
		{
			name: "a refused PATCH writes nothing; its retry does, from the same GET",
			requests: []emulator.RequestRecord{get(1, 3), req("PATCH", 429, 2, 2.1, 0), req("PATCH", 0, 3, 3.1, 0),
				req("PATCH", 400, 4, 4.1, 0), patch(5, 5)},
			edited: 4, seen: 5, excused: true, wantRead: 3, want: 5,
		},
		{
			name:     "a failed GET is no read",
			requests: []emulator.RequestRecord{get(1, 3), req("GET", 503, 2, 2.1, 0), patch(3, 5)},
			edited:   4, seen: 5, excused: true, wantRead: 3, want: 5,
		},
		{
			name:     "the read-back after the first PATCH read before the edit, the second PATCH wrote after it",
			requests: []emulator.RequestRecord{get(1, 2), patch(2, 3), get(3, 3), patch(5, 5)},
			edited:   4, seen: 5, excused: true, wantRead: 3, want: 5,
		},
		{
			name:     "the read-back saw the edit, so the second PATCH had no excuse",
			requests: []emulator.RequestRecord{get(1, 2), patch(2, 3), get(4, 4), patch(5, 5)},
			edited:   4, seen: 5,
		},
		{
			name:     "the overwriting PATCH came after the item was found missing",
			requests: []emulator.RequestRecord{get(1, 3), patch(2, 6)},
			edited:   4, seen: 5,
		},
		{
			// A GET slowed by injected latency ends after a later PATCH
			// started; the log is in the order requests ended.
			name:     "the log is in end order; a pass goes in start order",
			requests: []emulator.RequestRecord{req("GET", 200, 1, 2.5, 3), req("PATCH", 204, 2.6, 2.7, 5), req("GET", 200, 0.5, 4, 2)},
			edited:   4, seen: 5, excused: true, wantRead: 3, want: 5,
		},
		{
			name: "requests to other paths do not count",
			requests: []emulator.RequestRecord{get(1, 4), {Method: "GET", Path: "/v1.0/groups", Status: 200, Start: at(1.5), End: at(1.6), Version: 0},
				patch(2, 5)},
			edited: 4, seen: 5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := overwriteExcuse(tt.requests, tt.edited, tt.seen)
			if ok != tt.excused {
				t.Fatalf("excused = %v, want %v (%v)", ok, tt.excused, w)
			}
			if ok && (w.read.Version != tt.wantRead || w.write.Version != tt.want) {
				t.Errorf("excused by read %d and write %d, want %d and %d", w.read.Version, w.write.Version, tt.wantRead, tt.want)
			}
		})
	}
}

func TestPortalItemPresentIn(t *testing.T) {
	doc := emulator.Fido2Document{
		PasskeyProfiles: []emulator.PasskeyProfile{{ID: "P1", Name: "Portal"}},
		IncludeTargets:  []emulator.IncludeTarget{{ID: "G1"}},
		ExcludeTargets:  []emulator.ExcludeTarget{{ID: "g2"}},
	}
	for _, tt := range []struct {
		item portalItem
		want bool
	}{
		{portalItem{kind: itemProfile, id: "p1"}, true},
		{portalItem{kind: itemProfile, id: "g1"}, false},
		{portalItem{kind: itemIncludeTarget, id: "g1"}, true},
		{portalItem{kind: itemIncludeTarget, id: "g2"}, false},
		{portalItem{kind: itemExcludeTarget, id: "G2"}, true},
		{portalItem{kind: itemExcludeTarget, id: "g1"}, false},
	} {
		if got := tt.item.presentIn(doc); got != tt.want {
			t.Errorf("%s %s present = %v, want %v", tt.item.kind, tt.item.id, got, tt.want)
		}
	}
}

func TestDocumentMismatches(t *testing.T) {
	const (
		defaultID = emulator.DefaultPasskeyProfileID
		staffID   = "11111111-1111-4111-8111-111111111111"
		groupA    = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
		groupB    = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
		groupOld  = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"
		unmanaged = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"
	)
	profile := func(name string, spec passkeysv1alpha1.PasskeyProfileSpec) passkeysv1alpha1.PasskeyProfile {
		return passkeysv1alpha1.PasskeyProfile{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}, Spec: spec}
	}
	profiles := []passkeysv1alpha1.PasskeyProfile{
		profile("p1", passkeysv1alpha1.PasskeyProfileSpec{Default: true, PasskeyTypes: []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeyDeviceBound},
			Attestation: passkeysv1alpha1.AttestationRegistrationOnly}),
		profile("p2", passkeysv1alpha1.PasskeyProfileSpec{DisplayName: "Staff",
			PasskeyTypes: []passkeysv1alpha1.PasskeyType{passkeysv1alpha1.PasskeySynced, passkeysv1alpha1.PasskeyDeviceBound}}),
	}
	yes := true
	assignments := []passkeysv1alpha1.GroupAssignment{
		{ObjectMeta: metav1.ObjectMeta{Name: "a1", Namespace: "ns"}, Spec: passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupName: "Group A"}, Profiles: []string{"p2", "p1"}, RegistrationRequired: true}},
		{ObjectMeta: metav1.ObjectMeta{Name: "a2", Namespace: "ns"}, Spec: passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupID: strings.ToUpper(groupB)}, Mode: passkeysv1alpha1.AssignmentExclude}},
		{ObjectMeta: metav1.ObjectMeta{Name: "a3", Namespace: "ns"}, Spec: passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{AllUsers: &yes}, Profiles: []string{"p1"}}},
	}
	groups := map[string]string{"Group A": groupA}
	everNames := map[string]bool{"Staff": true, "Old name": true}
	everTargets := map[string]bool{groupA: true, groupB: true, emulator.AllUsers: true, groupOld: true}
	converged := func() emulator.Fido2Document {
		return emulator.Fido2Document{
			DefaultPasskeyProfile: defaultID,
			PasskeyProfiles: []emulator.PasskeyProfile{
				{ID: defaultID, Name: emulator.DefaultPasskeyProfileName, PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly"},
				{ID: staffID, Name: "Staff", PasskeyTypes: "deviceBound,synced", AttestationEnforcement: "disabled"},
			},
			IncludeTargets: []emulator.IncludeTarget{
				{ID: groupA, IsRegistrationRequired: true, AllowedPasskeyProfiles: []string{defaultID, staffID}},
				{ID: emulator.AllUsers, AllowedPasskeyProfiles: []string{defaultID}},
			},
			ExcludeTargets: []emulator.ExcludeTarget{{ID: groupB}},
		}
	}
	tests := []struct {
		name          string
		authoritative bool
		change        func(*emulator.Fido2Document)
		want          []string // a substring of each mismatch, in order
	}{
		{name: "converged", change: func(*emulator.Fido2Document) {}},
		{name: "converged, with unmanaged items under Merge", change: func(d *emulator.Fido2Document) {
			d.PasskeyProfiles = append(d.PasskeyProfiles, emulator.PasskeyProfile{ID: unmanaged, Name: "Portal"})
			d.IncludeTargets = append(d.IncludeTargets, emulator.IncludeTarget{ID: unmanaged})
		}},
		{name: "unmanaged items under Authoritative", authoritative: true, change: func(d *emulator.Fido2Document) {
			d.PasskeyProfiles = append(d.PasskeyProfiles, emulator.PasskeyProfile{ID: unmanaged, Name: "Portal"})
			d.ExcludeTargets = append(d.ExcludeTargets, emulator.ExcludeTarget{ID: unmanaged})
		}, want: []string{`undeclared profile "Portal"`, "undeclared target " + unmanaged}},
		{name: "drifted fields", change: func(d *emulator.Fido2Document) {
			d.PasskeyProfiles[0].PasskeyTypes = "deviceBound,synced"
			d.PasskeyProfiles[1].AttestationEnforcement = "registrationOnly"
			d.IncludeTargets[0].IsRegistrationRequired = false
		}, want: []string{"ns/p1 has passkeyTypes deviceBound,synced", "ns/p2 has attestationEnforcement registrationOnly", "isRegistrationRequired false"}},
		{name: "a profile missing, and the targets naming it", change: func(d *emulator.Fido2Document) {
			d.PasskeyProfiles = d.PasskeyProfiles[:1]
			d.IncludeTargets[0].AllowedPasskeyProfiles = []string{defaultID}
		}, want: []string{`ns/p2 ("Staff") is missing`, "allowedPasskeyProfiles"}},
		{name: "a target allowing the wrong profiles", change: func(d *emulator.Fido2Document) {
			d.IncludeTargets[1].AllowedPasskeyProfiles = []string{staffID}
		}, want: []string{"ns/a3: allowedPasskeyProfiles"}},
		{name: "an exclusion that is an inclusion", change: func(d *emulator.Fido2Document) {
			d.ExcludeTargets = nil
			d.IncludeTargets = append(d.IncludeTargets, emulator.IncludeTarget{ID: groupB})
		}, want: []string{"ns/a2: " + groupB + " is not an exclude target"}},
		{name: "an exclusion that is an inclusion too", change: func(d *emulator.Fido2Document) {
			d.IncludeTargets = append(d.IncludeTargets, emulator.IncludeTarget{ID: groupB})
		}, want: []string{"ns/a2: " + groupB + " is an exclude target but also an include target"}},
		{name: "an inclusion that is an exclusion too", change: func(d *emulator.Fido2Document) {
			d.ExcludeTargets = append(d.ExcludeTargets, emulator.ExcludeTarget{ID: groupA})
		}, want: []string{"ns/a1: " + groupA + " is an include target but also an exclude target"}},
		{name: "a target missing", change: func(d *emulator.Fido2Document) {
			d.IncludeTargets = d.IncludeTargets[1:]
		}, want: []string{"ns/a1: " + groupA + " is not an include target"}},
		{name: "a renamed profile's old name and a moved target's old group remain", change: func(d *emulator.Fido2Document) {
			d.PasskeyProfiles = append(d.PasskeyProfiles, emulator.PasskeyProfile{ID: unmanaged, Name: "Old name"})
			d.ExcludeTargets = append(d.ExcludeTargets, emulator.ExcludeTarget{ID: strings.ToUpper(groupOld)})
		}, want: []string{`profile "Old name" is still there`, "target " + groupOld + " is still there"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := converged()
			tt.change(&doc)
			want := expectationOf(tt.authoritative, profiles, assignments, groups, everNames, everTargets)
			got := documentMismatches(doc, want)
			if len(got) != len(tt.want) {
				t.Fatalf("mismatches = %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("mismatch %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

func TestNotConverged(t *testing.T) {
	ready := passkeysv1alpha1.SyncStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Succeeded"}}}
	if got := notConverged([]resourceStatus{{"PasskeyProfile ns/p", 2, ready}}, nil); got != nil {
		t.Errorf("Ready at its generation: %q, want nothing", got)
	}
	got := notConverged([]resourceStatus{{"PasskeyProfile ns/p", 3, ready}}, []string{"GroupAssignment ns/a"})
	if len(got) != 2 || !strings.Contains(got[0], "ns/p: Pending") || !strings.Contains(got[1], "ns/a: still being deleted") {
		t.Errorf("a new generation and a deletion: %q", got)
	}
}

func TestBudgets(t *testing.T) {
	for _, tt := range []struct {
		triggers int
		calm     bool
		want     int
	}{
		{0, true, 15}, {2, true, 21}, {0, false, 204}, {2, false, 228},
	} {
		if got := minuteBudget(tt.triggers, tt.calm); got != tt.want {
			t.Errorf("minuteBudget(%d, %v) = %d, want %d", tt.triggers, tt.calm, got, tt.want)
		}
	}
	for _, tt := range []struct {
		window      time.Duration
		least, most int
	}{
		{10 * time.Second, 0, 1}, {31 * time.Second, 0, 2}, {34 * time.Second, 1, 2}, {time.Minute, 1, 3},
	} {
		if least, most := quietBudget(tt.window, 30*time.Second); least != tt.least || most != tt.most {
			t.Errorf("quietBudget(%s) = %d, %d; want %d, %d", tt.window, least, most, tt.least, tt.most)
		}
	}
	t0 := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	spans := []span{{t0.Add(10 * time.Second), t0.Add(20 * time.Second)}}
	for _, tt := range []struct {
		from, to time.Duration
		want     bool
	}{
		{0, 10 * time.Second, false}, {0, 11 * time.Second, true}, {15 * time.Second, 16 * time.Second, true}, {20 * time.Second, time.Minute, false},
	} {
		if got := overlaps(spans, t0.Add(tt.from), t0.Add(tt.to)); got != tt.want {
			t.Errorf("overlaps([10s, 20s), [%s, %s)) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}

func TestSecretsIn(t *testing.T) {
	const secret = "local-s3cr3tValueOfTwentyFour"
	jwt := "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl"
	for _, tt := range []struct {
		line string
		want []string
	}{
		{`{"level":"info","msg":"pass done","tenant":"soak-01","patches":1}`, nil},
		{`GET /v1.0/policies/... 429 throttled; Retry-After 1`, nil},
		{`WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`, nil},
		{`the app needs a bearer token`, nil},
		{`client_secret=` + secret, []string{"the client secret"}},
		{`token ` + jwt, []string{"a JWT"}},
		{`Authorization: Bearer ` + jwt, []string{"a JWT", "a bearer token"}},
		{`"authorization":"bearer abcdefghijklmnopqrstuvwxyz0123"`, []string{"a bearer token"}},
	} {
		if got := secretsIn(tt.line, secret); !slices.Equal(got, tt.want) {
			t.Errorf("secretsIn(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Second)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 50 * time.Second}, {99, 99 * time.Second}, {100, 100 * time.Second}, {0, time.Second},
	} {
		if got := percentile(ds, tt.p); got != tt.want {
			t.Errorf("percentile(1..100s, %v) = %s, want %s", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %s", got)
	}
}

// TestGUIDsReplay: a seed gives the same ids, and they pass the CRDs'
// GUID validation.
func TestGUIDsReplay(t *testing.T) {
	pattern := regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	a, b := rand.New(rand.NewPCG(7, 1)), rand.New(rand.NewPCG(7, 1))
	for range 100 {
		x, y := guid(a), guid(b)
		if x != y || !pattern.MatchString(x) {
			t.Fatalf("guid = %q and %q from one seed", x, y)
		}
	}
}
