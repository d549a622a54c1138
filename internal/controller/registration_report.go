package controller

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/entra"
	"github.com/passkey-operator/passkey-operator/internal/policy"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// The registration report's pure parts: counting users by the passkeys they
// hold, when the next read is due, how a failure reads in the Reporting
// condition, and how the latest report lands in the statuses.

// passkeys is which kinds of passkey one user has registered: two bits.
type passkeys uint8

const (
	hasDeviceBound passkeys = 1 << iota
	hasSynced
)

func passkeysOf(d entra.RegistrationDetail) passkeys {
	var p passkeys
	if d.DeviceBound() {
		p |= hasDeviceBound
	}
	if d.Synced() {
		p |= hasSynced
	}
	return p
}

// userPasskeys is what the report says of each user, kept only while a
// read counts the groups: 16 bytes of object id and one byte per user, about
// 2.4 MB for 100,000 users, where the report's own items are about 1 KB each.
// Entra's object ids are GUIDs; any other id is kept by its text.
type userPasskeys struct {
	byGUID map[uuid.UUID]passkeys
	byText map[string]passkeys
}

func newUserPasskeys() *userPasskeys {
	return &userPasskeys{byGUID: map[uuid.UUID]passkeys{}, byText: map[string]passkeys{}}
}

func (u *userPasskeys) add(id string, p passkeys) {
	if guid, err := uuid.Parse(id); err == nil {
		u.byGUID[guid] = p
		return
	}
	u.byText[id] = p
}

// of is what user id has registered; a user the report does not list has
// registered nothing.
func (u *userPasskeys) of(id string) passkeys {
	if guid, err := uuid.Parse(id); err == nil {
		return u.byGUID[guid]
	}
	return u.byText[id]
}

// tally counts users by the passkeys they have registered.
type tally struct{ users, deviceBound, synced, any int32 }

func (t *tally) add(p passkeys) {
	t.users++
	if p&hasDeviceBound != 0 {
		t.deviceBound++
	}
	if p&hasSynced != 0 {
		t.synced++
	}
	if p != 0 {
		t.any++
	}
}

func (t tally) counts(readTime metav1.Time) passkeysv1alpha1.RegistrationCounts {
	return passkeysv1alpha1.RegistrationCounts{ReadTime: readTime, Users: t.users,
		DeviceBound: t.deviceBound, Synced: t.synced, AnyPasskey: t.any, None: t.users - t.any}
}

// countMembers counts a group's members by what users says of them.
func countMembers(users *userPasskeys, members []string) tally {
	var t tally
	for _, id := range members {
		t.add(users.of(id))
	}
	return t
}

// registrationReport is the outcome of a tenant's latest report read, kept
// in memory until the tenant's pass writes it to the statuses.
type registrationReport struct {
	// counts are the last counts read, nil until a read since the manager
	// started got as far as the report: a failed read keeps the counts it
	// could not renew, each with its own readTime.
	counts reportCounts
	// condition is the Reporting condition to show.
	condition reportCondition
	// attempted is when the last read started. After a failed one, the next
	// is due retryIn later; 0 after a success, when the interval applies.
	attempted time.Time
	retryIn   time.Duration
	// failures counts the failed reads in a row, for the backoff.
	failures int
	// request is the passkeys.entraops.dev/requestedAt value the read
	// handled: a new value asks for a read now.
	request string
}

// reportCounts are counts by group id, the whole tenant's under
// policy.AllUsers.
type reportCounts map[string]passkeysv1alpha1.RegistrationCounts

// of is a copy of group id's counts, nil when it was not read.
func (c reportCounts) of(id string) *passkeysv1alpha1.RegistrationCounts {
	if counts, ok := c[id]; ok {
		return &counts
	}
	return nil
}

type reportCondition struct {
	status  metav1.ConditionStatus
	reason  string
	message string
}

// readRequested says whether the tenant's passkeys.entraops.dev/requestedAt
// annotation asks for a read now: a value that no read since the manager
// started handled, nor, before any did, the passes (which echo it in
// status.lastHandledReconcileAt), so that a restart does not read again for
// a request handled before it.
func readRequested(tenant *passkeysv1alpha1.EntraTenant, last *registrationReport) bool {
	requested, ok := tenant.Annotations[passkeysv1alpha1.ReconcileRequestAnnotation]
	if !ok {
		return false
	}
	if last != nil {
		return requested != last.request
	}
	return requested != tenant.Status.LastHandledReconcileAt
}

// nextRead is when a tenant's report is due. With a read in memory: the
// interval after it, or after a failed one its retry's wait (never longer
// than the interval). With none (a manager just started): the interval
// after the read its status shows. With neither: at once (the zero time).
func nextRead(last *registrationReport, shown *passkeysv1alpha1.RegistrationCounts, interval time.Duration) time.Time {
	switch {
	case last != nil && last.retryIn > 0:
		return last.attempted.Add(min(last.retryIn, interval))
	case last != nil:
		return last.attempted.Add(interval)
	case shown != nil:
		return shown.ReadTime.Add(interval)
	}
	return time.Time{}
}

// firstReportRetry is how long a report that failed for a reason that may
// clear by itself (Graph throttling or unavailable, a dropped connection)
// waits for its first retry: a report walks every user of the tenant, so
// it is not retried at the pace of a policy pass.
const firstReportRetry = 5 * time.Minute

// reportRetry is how long a failed read waits for the next: what only a
// person can fix (a permission, the licence) the whole interval, when the
// next read sees the fix at the latest; anything else firstReportRetry,
// twice as long after each further failure in a row, never longer than the
// interval, and never shorter than the Retry-After Graph asked for.
func reportRetry(err error, needsPerson bool, failedBefore int, interval time.Duration) time.Duration {
	if needsPerson {
		return interval
	}
	backoff := firstReportRetry << min(failedBefore, 16)
	return max(min(backoff, interval), entra.RetryAfter(err))
}

// graphPermission is a Graph application permission and what it is needed
// for, as the Reporting condition names them.
type graphPermission struct{ name, neededFor string }

var (
	reportPermission = graphPermission{"AuditLog.Read.All", "reading the passkey registration report"}
	memberPermission = graphPermission{"GroupMember.Read.All", "counting the members of each GroupAssignment's group"}
)

// reportFailure words a failed read for the Reporting condition, and says
// whether only a person can fix it: the licence, or the permission that
// what failed needs, both named, rather than Graph's 403.
func reportFailure(err error, needed graphPermission) (reportCondition, bool) {
	switch {
	case entra.IsPremiumRequired(err):
		return reportCondition{metav1.ConditionFalse, ReasonLicenseRequired,
			"the passkey registration report needs a Microsoft Entra ID P1 or P2 licence, which the tenant lacks; the policy is applied all the same"}, true
	case entra.Classify(err) == entra.ClassForbidden:
		return reportCondition{metav1.ConditionFalse, ReasonMissingPermission, fmt.Sprintf(
			"%s needs the Microsoft Graph application permission %s: grant it to the application, with admin consent; the policy is applied all the same",
			needed.neededFor, needed.name)}, true
	}
	return reportCondition{metav1.ConditionFalse, ReasonReadFailed, needed.neededFor + " failed, retrying later: " + err.Error()}, false
}

// errGroupMembers marks a failure to list a group's members: the tenant's
// counts were read, so the condition says so beside the failure.
type errGroupMembers struct {
	groupID string
	err     error
}

func (e *errGroupMembers) Error() string { return "group " + e.groupID + ": " + e.err.Error() }
func (e *errGroupMembers) Unwrap() error { return e.err }

// reportOutcome is the Reporting condition after a read that ended with
// err (nil: a full success) and the counts it left, and whether only a
// person can fix the failure.
func reportOutcome(err error, counts reportCounts) (reportCondition, bool) {
	if err == nil {
		return reportCondition{metav1.ConditionTrue, ReasonReportRead, readSummary(counts)}, false
	}
	var members *errGroupMembers
	if !errors.As(err, &members) {
		return reportFailure(err, reportPermission)
	}
	c, needsPerson := reportFailure(members.err, memberPermission)
	c.message = readSummary(counts) + "; but " + c.message
	return c, needsPerson
}

// readSummary is what a read found, for people.
func readSummary(c reportCounts) string {
	t := c[policy.AllUsers]
	return fmt.Sprintf("read the passkey registration report at %s: %s users, %s of them with a passkey",
		t.ReadTime.UTC().Format(time.RFC3339), thousands(t.Users), thousands(t.AnyPasskey))
}

// thousands writes n (≥ 0) with commas between groups of three digits.
func thousands(n int32) string {
	s := strconv.Itoa(int(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// registrationReports are the latest reports by tenant name, shared by the
// reporter that reads them and the tenant pass that writes them to status.
type registrationReports struct {
	mu       sync.Mutex
	byTenant map[string]*registrationReport
}

func (s *registrationReports) get(tenant string) *registrationReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byTenant[tenant]
}

func (s *registrationReports) set(tenant string, r *registrationReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byTenant == nil {
		s.byTenant = map[string]*registrationReport{}
	}
	s.byTenant[tenant] = r
}

func (s *registrationReports) forget(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byTenant, tenant)
}

// applyRegistration writes the latest report into the statuses: the
// tenant's counts and Reporting condition, each admitted assignment's
// counts by its resolved group. Reporting off removes them all. With no
// report in memory (the manager has just started) the statuses keep what
// they show. Nothing here reads Graph, and no other condition changes.
func (p *pass) applyRegistration() {
	t := p.tenant
	if _, on := t.RegistrationReportInterval(); !on {
		t.Status.Registration = nil
		meta.RemoveStatusCondition(&t.Status.Conditions, passkeysv1alpha1.ConditionReporting)
		for _, a := range p.res.assignments {
			a.Status.Registration = nil
		}
		return
	}
	report := p.r.reports.get(t.Name)
	if report == nil {
		return
	}
	c := report.condition
	setCondition(&t.Status.SyncStatus, t.Generation, passkeysv1alpha1.ConditionReporting, c.status, c.reason, c.message)
	if report.counts == nil {
		return
	}
	t.Status.Registration = report.counts.of(policy.AllUsers)
	// Which namespaces the tenant admits is known only to a pass that read
	// Entra; another leaves the assignments' counts as they are.
	if !p.readEntra() {
		return
	}
	for _, a := range p.res.assignments {
		// Counts of a group are for the namespaces the tenant admits only,
		// and for assignments it keeps, as the reporter counts them.
		if _, refused := p.refused[specs.RefOf(a)]; refused || !a.DeletionTimestamp.IsZero() {
			a.Status.Registration = nil
			continue
		}
		a.Status.Registration = report.counts.of(a.Status.ResolvedGroupID)
	}
}
