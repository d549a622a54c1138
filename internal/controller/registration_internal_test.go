package controller

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// TestCountingUsersByPasskey: Authenticator passkeys are device-bound, a
// user with both kinds counts in each and once in any; methods that are not
// passkeys count as none; a member the report does not list has none; ids
// that are not GUIDs are counted too.
func TestCountingUsersByPasskey(t *testing.T) {
	detail := func(id string, methods ...string) entra.RegistrationDetail {
		return entra.RegistrationDetail{ID: id, MethodsRegistered: methods}
	}
	const (
		key    = "11111111-0000-4000-8000-000000000001"
		app    = "11111111-0000-4000-8000-000000000002"
		cloud  = "11111111-0000-4000-8000-000000000003"
		both   = "11111111-0000-4000-8000-000000000004"
		hello  = "11111111-0000-4000-8000-000000000005"
		bare   = "11111111-0000-4000-8000-000000000006"
		odd    = "not-a-guid"
		absent = "11111111-0000-4000-8000-0000000000ff"
	)
	users := newUserPasskeys()
	var all tally
	for _, d := range []entra.RegistrationDetail{
		detail(key, "passKeyDeviceBound"),
		detail(app, "microsoftAuthenticatorPush", "passKeyDeviceBoundAuthenticator"),
		detail(cloud, "passKeySynced"),
		detail(both, "passKeyDeviceBound", "passKeySynced"),
		detail(hello, "windowsHelloForBusiness", "macOsSecureEnclaveKey"),
		detail(bare),
		detail(odd, "passKeySynced"),
	} {
		users.add(d.ID, passkeysOf(d))
		all.add(passkeysOf(d))
	}
	readTime := metav1.NewTime(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	for _, tc := range []struct {
		name    string
		members []string
		want    passkeysv1alpha1.RegistrationCounts
	}{
		{"no members", nil, passkeysv1alpha1.RegistrationCounts{}},
		{"device-bound of both kinds", []string{key, app}, passkeysv1alpha1.RegistrationCounts{Users: 2, DeviceBound: 2, AnyPasskey: 2}},
		{"both kinds count in each, once in any", []string{both, cloud}, passkeysv1alpha1.RegistrationCounts{Users: 2, DeviceBound: 1, Synced: 2, AnyPasskey: 2}},
		{"Windows Hello is no passkey", []string{hello, bare}, passkeysv1alpha1.RegistrationCounts{Users: 2, None: 2}},
		{"a member the report lacks has none", []string{absent, key}, passkeysv1alpha1.RegistrationCounts{Users: 2, DeviceBound: 1, AnyPasskey: 1, None: 1}},
		{"ids compare as GUIDs, in any case", []string{strings.ToUpper(key)}, passkeysv1alpha1.RegistrationCounts{Users: 1, DeviceBound: 1, AnyPasskey: 1}},
		{"an id that is no GUID", []string{odd}, passkeysv1alpha1.RegistrationCounts{Users: 1, Synced: 1, AnyPasskey: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.ReadTime = readTime
			if got := countMembers(users, tc.members).counts(readTime); got != tc.want {
				t.Errorf("counts = %+v, want %+v", got, tc.want)
			}
		})
	}
	want := passkeysv1alpha1.RegistrationCounts{ReadTime: readTime, Users: 7, DeviceBound: 3, Synced: 3, AnyPasskey: 5, None: 2}
	if got := all.counts(readTime); got != want {
		t.Errorf("tenant counts = %+v, want %+v", got, want)
	}
}

// TestNextRead: when a report is due, from memory, else from what the
// status shows (a manager that has just started), else at once.
func TestNextRead(t *testing.T) {
	const interval = 6 * time.Hour
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	shown := &passkeysv1alpha1.RegistrationCounts{ReadTime: metav1.NewTime(at.Add(-time.Hour))}
	for _, tc := range []struct {
		name  string
		last  *registrationReport
		shown *passkeysv1alpha1.RegistrationCounts
		want  time.Time
	}{
		{"never read", nil, nil, time.Time{}},
		{"after a restart, the interval after the read status shows", nil, shown, at.Add(5 * time.Hour)},
		{"the interval after the last read", &registrationReport{attempted: at}, shown, at.Add(interval)},
		{"after a failure, its retry", &registrationReport{attempted: at, retryIn: 10 * time.Minute}, shown, at.Add(10 * time.Minute)},
		{"a retry never waits longer than the interval, which may have shrunk",
			&registrationReport{attempted: at, retryIn: 24 * time.Hour}, nil, at.Add(interval)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextRead(tc.last, tc.shown, interval); !got.Equal(tc.want) {
				t.Errorf("nextRead = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestReadRequested: a requestedAt value no read handled asks for one now;
// after a restart, one the passes handled before it does not.
func TestReadRequested(t *testing.T) {
	tenant := func(requested, handled string) *passkeysv1alpha1.EntraTenant {
		t := &passkeysv1alpha1.EntraTenant{}
		if requested != "" {
			t.Annotations = map[string]string{passkeysv1alpha1.ReconcileRequestAnnotation: requested}
		}
		t.Status.LastHandledReconcileAt = handled
		return t
	}
	for _, tc := range []struct {
		name   string
		tenant *passkeysv1alpha1.EntraTenant
		last   *registrationReport
		want   bool
	}{
		{"no annotation", tenant("", ""), &registrationReport{}, false},
		{"a value no read handled", tenant("b", "b"), &registrationReport{request: "a"}, true},
		{"the value the last read handled", tenant("a", "a"), &registrationReport{request: "a"}, false},
		{"after a restart, a value the passes handled", tenant("a", "a"), nil, false},
		{"after a restart, a value nothing handled yet", tenant("b", "a"), nil, true},
	} {
		if got := readRequested(tc.tenant, tc.last); got != tc.want {
			t.Errorf("%s: readRequested = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// graphFailure is an error as a Graph client method returns it: the
// permission it needs is named, as entra words a 403.
func graphFailure(status int, retryAfter string) error {
	return fmt.Errorf("reading the authentication methods registration report of tenant acme: %w", graphError(status, retryAfter))
}

// TestReportRetry: what a person must fix waits the interval; the rest backs
// off from five minutes, doubling, up to the interval, and never sooner than
// Graph asked.
func TestReportRetry(t *testing.T) {
	const interval = 2 * time.Hour
	unavailable := graphFailure(http.StatusServiceUnavailable, "")
	for _, tc := range []struct {
		name         string
		err          error
		needsPerson  bool
		failedBefore int
		want         time.Duration
	}{
		{"a permission waits the interval", graphFailure(http.StatusForbidden, ""), true, 0, interval},
		{"first transient failure", unavailable, false, 0, 5 * time.Minute},
		{"second", unavailable, false, 1, 10 * time.Minute},
		{"fifth", unavailable, false, 4, 80 * time.Minute},
		{"capped at the interval", unavailable, false, 5, interval},
		{"long after", unavailable, false, 1000, interval},
		{"Retry-After longer than the backoff", graphFailure(http.StatusTooManyRequests, "900"), false, 0, 15 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := reportRetry(tc.err, tc.needsPerson, tc.failedBefore, interval); got != tc.want {
				t.Errorf("reportRetry = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestReportOutcome: the Reporting condition names the missing permission
// (which one depends on what failed) rather than Graph's 403, keeps the
// counts it could read in view, and says a transient failure is retried.
func TestReportOutcome(t *testing.T) {
	counts := reportCounts{policy.AllUsers: {ReadTime: metav1.NewTime(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)),
		Users: 12345, AnyPasskey: 1234, None: 11111}}
	groupFailed := func(err error) error { return &errGroupMembers{groupID: "g1", err: err} }
	for _, tc := range []struct {
		name        string
		err         error
		status      metav1.ConditionStatus
		reason      string
		needsPerson bool
		says        []string
	}{
		{"read", nil, metav1.ConditionTrue, ReasonReportRead, false,
			[]string{"at 2026-05-01T10:00:00Z", "12,345 users, 1,234 of them with a passkey"}},
		{"the report refused", graphFailure(http.StatusForbidden, ""), metav1.ConditionFalse, ReasonMissingPermission, true,
			[]string{"AuditLog.Read.All", "admin consent", "the policy is applied all the same"}},
		{"Graph unavailable", graphFailure(http.StatusServiceUnavailable, ""), metav1.ConditionFalse, ReasonReadFailed, false,
			[]string{"reading the passkey registration report failed, retrying later: reading the authentication methods"}},
		{"no credentials", &credentialsError{err: errors.New("secret ns/app has no key \"clientSecret\"")}, metav1.ConditionFalse, ReasonReadFailed, false,
			[]string{"has no key"}},
		{"a group's members refused", groupFailed(graphFailure(http.StatusForbidden, "")), metav1.ConditionFalse, ReasonMissingPermission, true,
			[]string{"12,345 users", "; but counting the members", "GroupMember.Read.All", "admin consent"}},
		{"a group's members unavailable", groupFailed(graphFailure(http.StatusBadGateway, "")), metav1.ConditionFalse, ReasonReadFailed, false,
			[]string{"12,345 users", "; but counting the members of each GroupAssignment's group failed, retrying later"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, needsPerson := reportOutcome(tc.err, counts)
			if c.status != tc.status || c.reason != tc.reason || needsPerson != tc.needsPerson {
				t.Errorf("= %s %s (person: %v), want %s %s (person: %v): %s", c.status, c.reason, needsPerson, tc.status, tc.reason, tc.needsPerson, c.message)
			}
			for _, s := range tc.says {
				if !strings.Contains(c.message, s) {
					t.Errorf("message %q does not say %q", c.message, s)
				}
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int32]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 12345: "12,345", 100000: "100,000", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestApplyRegistration: a pass writes the latest report into the statuses
// without touching any other condition, keeps what status shows when it
// has no report, leaves counts out of assignments whose namespace the
// tenant refuses, and removes everything when reporting is off.
func TestApplyRegistration(t *testing.T) {
	readTime := metav1.NewTime(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	all := passkeysv1alpha1.RegistrationCounts{ReadTime: readTime, Users: 10, DeviceBound: 3, AnyPasskey: 3, None: 7}
	pilot := passkeysv1alpha1.RegistrationCounts{ReadTime: readTime, Users: 4, Synced: 1, AnyPasskey: 1, None: 3}
	report := &registrationReport{counts: reportCounts{policy.AllUsers: all, "pilot-id": pilot},
		condition: reportCondition{metav1.ConditionTrue, ReasonReportRead, "read"}}
	enabled := &passkeysv1alpha1.Reporting{Registration: &passkeysv1alpha1.RegistrationReporting{Enabled: true}}
	earlier := &passkeysv1alpha1.RegistrationCounts{ReadTime: metav1.NewTime(readTime.Add(-time.Hour)), Users: 1}

	type setup struct {
		reporting *passkeysv1alpha1.Reporting
		report    *registrationReport
	}
	for _, tc := range []struct {
		name string
		setup
		wantTenant                 *passkeysv1alpha1.RegistrationCounts
		wantEveryone, wantPilot    *passkeysv1alpha1.RegistrationCounts
		wantUnread, wantRefused    *passkeysv1alpha1.RegistrationCounts
		wantReporting, wantMessage string
	}{
		{"a report", setup{enabled, report}, &all, &all, &pilot, nil, nil, "True", "read"},
		{"no report in memory keeps the status", setup{enabled, nil}, earlier, earlier, earlier, earlier, earlier, "False", "earlier"},
		{"a failure before any counts keeps them too", setup{enabled, &registrationReport{
			condition: reportCondition{metav1.ConditionFalse, ReasonReadFailed, "failed"}}},
			earlier, earlier, earlier, earlier, earlier, "False", "failed"},
		{"reporting off removes it all", setup{nil, report}, nil, nil, nil, nil, nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tenant := &passkeysv1alpha1.EntraTenant{ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 3}}
			tenant.Spec.Reporting = tc.reporting
			tenant.Status.Registration = earlier
			meta.SetStatusCondition(&tenant.Status.Conditions, metav1.Condition{Type: passkeysv1alpha1.ConditionReady, Status: "True", Reason: ReasonSucceeded})
			meta.SetStatusCondition(&tenant.Status.Conditions, metav1.Condition{Type: passkeysv1alpha1.ConditionReporting, Status: "False", Reason: ReasonReadFailed, Message: "earlier"})
			assignment := func(name, group string) *passkeysv1alpha1.GroupAssignment {
				a := &passkeysv1alpha1.GroupAssignment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
				a.Status.ResolvedGroupID, a.Status.Registration = group, earlier
				return a
			}
			everyone, pilotA, unread, refused := assignment("everyone", policy.AllUsers), assignment("pilot", "pilot-id"),
				assignment("unread", "new-id"), assignment("refused", "pilot-id")
			r := &TenantReconciler{}
			if tc.report != nil {
				r.reports.set("acme", tc.report)
			}
			p := r.newPass(tenant, resources{assignments: []*passkeysv1alpha1.GroupAssignment{everyone, pilotA, unread, refused}})
			p.refused[specs.RefOf(refused)] = policy.Problem{Reason: ReasonNamespaceNotAllowed}

			p.applyRegistration()

			for _, got := range []struct {
				what      string
				got, want *passkeysv1alpha1.RegistrationCounts
			}{
				{"tenant", tenant.Status.Registration, tc.wantTenant},
				{"all-users assignment", everyone.Status.Registration, tc.wantEveryone},
				{"group assignment", pilotA.Status.Registration, tc.wantPilot},
				{"assignment whose group was not read", unread.Status.Registration, tc.wantUnread},
				{"refused assignment", refused.Status.Registration, tc.wantRefused},
			} {
				if (got.got == nil) != (got.want == nil) || (got.got != nil && *got.got != *got.want) {
					t.Errorf("%s counts = %+v, want %+v", got.what, got.got, got.want)
				}
			}
			c := meta.FindStatusCondition(tenant.Status.Conditions, passkeysv1alpha1.ConditionReporting)
			switch {
			case tc.wantReporting == "" && c != nil:
				t.Errorf("Reporting = %+v, want none", c)
			case tc.wantReporting != "" && (c == nil || string(c.Status) != tc.wantReporting || c.Message != tc.wantMessage):
				t.Errorf("Reporting = %+v, want %s %q", c, tc.wantReporting, tc.wantMessage)
			case c != nil && tc.report != nil && c.ObservedGeneration != 3:
				t.Errorf("Reporting observedGeneration = %d, want the tenant's 3", c.ObservedGeneration)
			}
			if r := meta.FindStatusCondition(tenant.Status.Conditions, passkeysv1alpha1.ConditionReady); r == nil || r.Status != "True" || len(tenant.Status.Conditions) > 2 {
				t.Errorf("conditions = %+v; Ready must stay as it was, and nothing else be added", tenant.Status.Conditions)
			}
		})
	}
}
