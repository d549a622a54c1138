package controller_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

const (
	reportPath      = "/v1.0/reports/authenticationMethods/userRegistrationDetails"
	reporting       = passkeysv1alpha1.ConditionReporting
	registeredUsers = "passkey_operator_passkey_registered_users"
	reportUsers     = "passkey_operator_registration_report_users"
	reportTimestamp = "passkey_operator_registration_report_timestamp_seconds"
	assignmentUsers = "passkey_operator_assignment_passkey_registered_users"
	pilotGroup      = "8a000000-0000-4000-8000-000000000001"
	nestedGroup     = "8a000000-0000-4000-8000-000000000002"
	reportInterval  = passkeysv1alpha1.DefaultRegistrationReportInterval
	reporterName    = "registration-report"
)

// directory is the seeded tenant's users: a security key, an Authenticator
// passkey with a synced one, a synced one, and three users without a
// passkey (one with Windows Hello, which is no passkey). Pilot holds two
// users and the nested group, which holds two more and an id that names
// nothing.
var directory = emulator.Tenant{
	Users: []emulator.User{
		{ID: "9b000000-0000-4000-8000-000000000001", UserPrincipalName: "key@contoso.example", MethodsRegistered: []string{"passKeyDeviceBound"}},
		{ID: "9b000000-0000-4000-8000-000000000002", UserPrincipalName: "synced@contoso.example", MethodsRegistered: []string{"passKeySynced"}},
		{ID: "9b000000-0000-4000-8000-000000000003", UserPrincipalName: "both@contoso.example",
			MethodsRegistered: []string{"microsoftAuthenticatorPush", "passKeyDeviceBoundAuthenticator", "passKeySynced"}},
		{ID: "9b000000-0000-4000-8000-000000000004", UserPrincipalName: "push@contoso.example", MethodsRegistered: []string{"microsoftAuthenticatorPush"}},
		{ID: "9b000000-0000-4000-8000-000000000005", UserPrincipalName: "hello@contoso.example", MethodsRegistered: []string{"windowsHelloForBusiness"}},
		{ID: "9b000000-0000-4000-8000-000000000006", UserPrincipalName: "nothing@contoso.example"},
	},
	Groups: []emulator.Group{
		{ID: pilotGroup, DisplayName: "Pilot", Members: []string{"9b000000-0000-4000-8000-000000000001", "9b000000-0000-4000-8000-000000000004", nestedGroup}},
		{ID: nestedGroup, DisplayName: "Nested", Members: []string{"9b000000-0000-4000-8000-000000000002", "9b000000-0000-4000-8000-000000000005",
			"9b000000-0000-4000-8000-0000000000ff"}},
	},
}

// The counts the seeded directory gives, ReadTime aside.
var (
	wantTenantCounts = passkeysv1alpha1.RegistrationCounts{Users: 6, DeviceBound: 2, Synced: 2, AnyPasskey: 3, None: 3}
	wantPilotCounts  = passkeysv1alpha1.RegistrationCounts{Users: 4, DeviceBound: 1, Synced: 1, AnyPasskey: 2, None: 2}
	wantNestedCounts = passkeysv1alpha1.RegistrationCounts{Users: 2, Synced: 1, AnyPasskey: 1, None: 1}
)

// reportingFixture is a tenant with the seeded directory, a profile and
// three assignments (all users, Pilot, and Nested excluded), all Ready, with
// the report still off.
type reportingFixture struct {
	*tenantFixture
	staff                   *passkeysv1alpha1.PasskeyProfile
	everyone, pilot, nested *passkeysv1alpha1.GroupAssignment
}

func newReportingTenant(t *testing.T, roles []string, premium bool) *reportingFixture {
	t.Helper()
	f := &reportingFixture{tenantFixture: newTenantWithRoles(t, roles)}
	seed := directory
	seed.ID, seed.Premium = f.tenantID, &premium
	if err := emu.Seed(seed); err != nil {
		t.Fatal(err)
	}
	allUsers := true
	f.staff = f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	f.everyone = f.assignment("everyone", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{AllUsers: &allUsers}, Profiles: []string{"staff"}})
	f.pilot = f.assignment("pilot", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: pilotGroup}, Profiles: []string{"staff"}})
	f.nested = f.assignment("nested", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: nestedGroup}, Mode: passkeysv1alpha1.AssignmentExclude})
	for _, o := range []client.Object{f.staff, f.everyone, f.pilot, f.nested, f.tenant} {
		waitCondition(t, o, ready, metav1.ConditionTrue, "Succeeded")
	}
	return f
}

// setReporting turns the registration report on or off, as a person
// editing the EntraTenant would.
func (f *reportingFixture) setReporting(t *testing.T, enabled bool) {
	t.Helper()
	update(t, f.tenant, func() {
		f.tenant.Spec.Reporting = &passkeysv1alpha1.Reporting{Registration: &passkeysv1alpha1.RegistrationReporting{Enabled: enabled}}
	})
}

func (f *reportingFixture) reportReads() int { return reportRequests(f.tenantID).report }

// memberReads counts the requests for group members.
func (f *reportingFixture) memberReads() int { return reportRequests(f.tenantID).members }

// wantPolicyApplied checks that the report, whatever it did, left the
// policy alone: the tenant and its resources Ready, and Entra holding the
// profile.
func (f *reportingFixture) wantPolicyApplied(t *testing.T) {
	t.Helper()
	for _, o := range []client.Object{f.tenant, f.staff, f.everyone, f.pilot, f.nested} {
		waitCondition(t, o, ready, metav1.ConditionTrue, "Succeeded")
	}
	if _, ok := profileByName(f.fido2(), "staff"); !ok {
		t.Errorf("Entra lost the staff profile: %+v", f.fido2().PasskeyProfiles)
	}
}

// waitCounts waits until obj's status.registration, read afresh, has want's
// counts (whatever its readTime), and returns it.
func waitCounts(t *testing.T, obj client.Object, counts func() *passkeysv1alpha1.RegistrationCounts, want *passkeysv1alpha1.RegistrationCounts) *passkeysv1alpha1.RegistrationCounts {
	t.Helper()
	var got *passkeysv1alpha1.RegistrationCounts
	eventually(t, obj.GetName()+"'s registration counts", func() (bool, string) {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return false, err.Error()
		}
		got = counts()
		if got == nil || want == nil {
			return got == nil && want == nil, "status.registration: " + describeCounts(got)
		}
		same := *got
		same.ReadTime = want.ReadTime
		return same == *want, "status.registration: " + describeCounts(got)
	})
	return got
}

func describeCounts(c *passkeysv1alpha1.RegistrationCounts) string {
	if c == nil {
		return "none"
	}
	return fmt.Sprintf("%+v", *c)
}

func tenantCounts(f *reportingFixture) func() *passkeysv1alpha1.RegistrationCounts {
	return func() *passkeysv1alpha1.RegistrationCounts { return f.tenant.Status.Registration }
}

func assignmentCounts(a *passkeysv1alpha1.GroupAssignment) func() *passkeysv1alpha1.RegistrationCounts {
	return func() *passkeysv1alpha1.RegistrationCounts { return a.Status.Registration }
}

// TestRegistrationReportCounts turns the report on for a seeded tenant: the
// tenant and each assignment show exact counts (nested groups counted, a
// member the report lacks as a user without a passkey), from one report
// read and one member list per group; the metrics say the same; the policy
// stays Ready. Turned off, counts, condition and series go.
func TestRegistrationReportCounts(t *testing.T) {
	f := newReportingTenant(t, append(slices.Clone(emulator.ReadWriteRoles), emulator.RoleAuditLogRead), true)
	before := time.Now().Truncate(time.Second)
	f.setReporting(t, true)

	waitCondition(t, f.tenant, reporting, metav1.ConditionTrue, controller.ReasonReportRead)
	got := waitCounts(t, f.tenant, tenantCounts(f), &wantTenantCounts)
	if got.ReadTime.Before(&metav1.Time{Time: before}) || time.Since(got.ReadTime.Time) > time.Minute {
		t.Errorf("readTime %s, want the read just made (after %s)", got.ReadTime, before)
	}
	c := meta.FindStatusCondition(f.tenant.Status.Conditions, reporting)
	if !strings.Contains(c.Message, "6 users, 3 of them with a passkey") {
		t.Errorf("Reporting message %q does not give the counts", c.Message)
	}
	// An Exclude assignment's group is counted too; so is all users.
	waitCounts(t, f.everyone, assignmentCounts(f.everyone), &wantTenantCounts)
	waitCounts(t, f.pilot, assignmentCounts(f.pilot), &wantPilotCounts)
	waitCounts(t, f.nested, assignmentCounts(f.nested), &wantNestedCounts)
	f.wantPolicyApplied(t)
	if reads, members := f.reportReads(), f.memberReads(); reads != 1 || members != 2 {
		t.Errorf("%d report reads and %d member lists, want 1 and 2 (one per group)", reads, members)
	}

	tenant := map[string]string{"tenant": f.name}
	for typ, want := range map[string]float64{"deviceBound": 2, "synced": 2, "any": 3, "none": 3} {
		waitMetric(t, registeredUsers, map[string]string{"tenant": f.name, "type": typ}, equal(want))
	}
	waitMetric(t, reportUsers, tenant, equal(6))
	waitMetric(t, reportTimestamp, tenant, equal(float64(got.ReadTime.Unix())))
	pilot := map[string]string{"tenant": f.name, "namespace": f.namespace, "name": "pilot"}
	waitMetric(t, assignmentUsers, with(pilot, "type", "any"), equal(2))
	waitMetric(t, assignmentUsers, with(pilot, "type", "none"), equal(2))

	// An assignment that goes takes its series along.
	if err := env.Client.Delete(context.Background(), f.nested); err != nil {
		t.Fatal(err)
	}
	waitNoMetric(t, assignmentUsers, with(pilot, "name", "nested"))
	waitMetric(t, assignmentUsers, with(pilot, "type", "any"), equal(2))

	f.setReporting(t, false)
	waitCounts(t, f.tenant, tenantCounts(f), nil)
	waitCounts(t, f.pilot, assignmentCounts(f.pilot), nil)
	waitCounts(t, f.everyone, assignmentCounts(f.everyone), nil)
	if c := meta.FindStatusCondition(f.tenant.Status.Conditions, reporting); c != nil {
		t.Errorf("Reporting condition %+v left after reporting was turned off", c)
	}
	for _, name := range []string{registeredUsers, reportUsers, reportTimestamp} {
		waitNoMetric(t, name, tenant)
	}
	waitNoMetric(t, assignmentUsers, tenant)
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
}

func with(labels map[string]string, kv ...string) map[string]string {
	out := maps.Clone(labels)
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func waitNoMetric(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	eventually(t, fmt.Sprintf("no %s%v", name, labels), func() (bool, string) {
		_, found := value(t, crmetrics.Registry, name, labels)
		return !found, "still there"
	})
}

// TestRegistrationReportHonoursItsInterval: the report is read once per
// interval, however often the tenant changes; a manager that has just
// started (nothing in memory) goes by the read time its status shows; and
// the read is made once that is an interval ago. The clock is injected into
// a second reporter, standing in for the restarted manager: no test waits
// six hours, and the product has no shorter interval than the CRD allows.
func TestRegistrationReportHonoursItsInterval(t *testing.T) {
	ctx := context.Background()
	f := newReportingTenant(t, append(slices.Clone(emulator.ReadWriteRoles), emulator.RoleAuditLogRead), true)
	f.setReporting(t, true)
	read := waitCounts(t, f.tenant, tenantCounts(f), &wantTenantCounts).ReadTime.Time

	// A spec change brings the reporter back, not a read.
	reconciled := reconcileCount(t, reporterName)
	update(t, f.tenant, func() { f.tenant.Spec.ResyncInterval = &metav1.Duration{Duration: 5 * time.Minute} })
	eventually(t, "the reporter to see the change", func() (bool, string) {
		n := reconcileCount(t, reporterName)
		return n > reconciled, fmt.Sprint("reconciles: ", n)
	})
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")
	if n := f.reportReads(); n != 1 {
		t.Errorf("%d report reads after a spec change, want still 1: the interval has not passed", n)
	}

	// A restarted manager: nothing in memory, the status's read time.
	now := time.Now()
	restarted := &controller.RegistrationReporter{
		Tenants: &controller.TenantReconciler{Client: cached, APIReader: env.Client, Connect: controller.ConnectWith(entra.NewClients(entra.ClientOptions{}))},
		Now:     func() time.Time { return now },
	}
	req := ctrl.Request{NamespacedName: types.NamespacedName{Name: f.name}}
	result, err := restarted.Reconcile(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if want := read.Add(reportInterval).Sub(now); result.RequeueAfter != want {
		t.Errorf("a restarted reporter waits %s, want %s (the interval after status.registration.readTime)", result.RequeueAfter, want)
	}
	if n := f.reportReads(); n != 1 {
		t.Errorf("%d report reads after a restart, want still 1", n)
	}

	// An interval later, it reads, and waits an interval again.
	now = read.Add(reportInterval + time.Second)
	if result, err = restarted.Reconcile(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := f.reportReads(); n != 2 {
		t.Errorf("%d report reads once the interval passed, want 2", n)
	}
	if result.RequeueAfter != reportInterval {
		t.Errorf("after a read the reporter waits %s, want the interval %s", result.RequeueAfter, reportInterval)
	}

	// Asked for with the force-reconcile annotation (a new assignment
	// wants its counts), the manager's reporter reads at once.
	requestReconcile(t, f.tenant, "read-now")
	eventually(t, "a read on request", func() (bool, string) {
		n := f.reportReads()
		return n == 3, fmt.Sprint("report reads: ", n)
	})
}

// reconcileCount is how many reconciles controller-runtime counted for the
// named controller, whatever their result.
func reconcileCount(t *testing.T, controllerName string) float64 {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, family := range families {
		if family.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range family.GetMetric() {
			if labelsOf(m)["controller"] == controllerName {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// TestRegistrationReportWithoutPermission: without AuditLog.Read.All the
// report is not read and the Reporting condition says what to grant;
// without GroupMember.Read.All (nor another group read permission) the
// tenant's counts are there and the condition names that permission. The
// policy is applied either way.
func TestRegistrationReportWithoutPermission(t *testing.T) {
	t.Run("AuditLog.Read.All", func(t *testing.T) {
		f := newReportingTenant(t, emulator.ReadWriteRoles, true)
		f.setReporting(t, true)
		waitCondition(t, f.tenant, reporting, metav1.ConditionFalse, controller.ReasonMissingPermission)
		wantMessage(t, f.tenant, "AuditLog.Read.All", "admin consent")
		if f.tenant.Status.Registration != nil {
			t.Errorf("status.registration = %+v without the report", f.tenant.Status.Registration)
		}
		f.wantPolicyApplied(t)
	})
	t.Run("GroupMember.Read.All", func(t *testing.T) {
		f := newReportingTenant(t, []string{emulator.RolePolicyReadWrite, emulator.RoleAuditLogRead}, true)
		f.setReporting(t, true)
		waitCondition(t, f.tenant, reporting, metav1.ConditionFalse, controller.ReasonMissingPermission)
		wantMessage(t, f.tenant, "GroupMember.Read.All", "6 users")
		waitCounts(t, f.tenant, tenantCounts(f), &wantTenantCounts)
		waitCounts(t, f.everyone, assignmentCounts(f.everyone), &wantTenantCounts)
		waitCounts(t, f.pilot, assignmentCounts(f.pilot), nil)
		f.wantPolicyApplied(t)
		if n := f.memberReads(); n != 1 {
			t.Errorf("%d member lists, want 1: the permission is the tenant's, so the first refusal ends the read", n)
		}
	})
}

// TestRegistrationReportWithoutLicence: a tenant without Entra ID P1 or P2
// shows LicenseRequired, and its policy is applied.
func TestRegistrationReportWithoutLicence(t *testing.T) {
	f := newReportingTenant(t, append(slices.Clone(emulator.ReadWriteRoles), emulator.RoleAuditLogRead), false)
	f.setReporting(t, true)
	waitCondition(t, f.tenant, reporting, metav1.ConditionFalse, controller.ReasonLicenseRequired)
	wantMessage(t, f.tenant, "Microsoft Entra ID P1 or P2")
	f.wantPolicyApplied(t)
}

func wantMessage(t *testing.T, tenant *passkeysv1alpha1.EntraTenant, says ...string) {
	t.Helper()
	c := meta.FindStatusCondition(tenant.Status.Conditions, reporting)
	for _, s := range says {
		if c == nil || !strings.Contains(c.Message, s) {
			t.Errorf("Reporting condition %+v does not say %q", c, s)
		}
	}
}
