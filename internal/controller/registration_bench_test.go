package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

// Sizes of BenchmarkRegistrationReport's tenant: the 100,000 users,
// in ten groups of 10,000 direct members, a third of them with a passkey.
const (
	benchUsers        = 100_000
	benchUserGroups   = 10
	benchCountedGroup = 4
)

// BenchmarkRegistrationReport measures one full read of a tenant's passkey
// registration report, the report itself and the members of each
// assignment's group, for 100,000 users and five assignments (all users
// and four groups): the Graph requests it takes, by kind, and its time. An
// iteration is one Reconcile of a reporter of the benchmark's own, with its
// clock an interval further on each time, so each one reads. B/op counts
// every allocation in the process, the in-process emulator's serving of
// the pages included. Run it with -benchtime 1x, or a few:
//
//	KUBEBUILDER_ASSETS=$(make -s envtest-path) go test -run '^$' -bench Registration -benchtime 1x ./internal/controller/
func BenchmarkRegistrationReport(b *testing.B) {
	ctx := context.Background()
	f := newTenantWithRoles(b, append(slices.Clone(emulator.ReadWriteRoles), emulator.RoleAuditLogRead))
	if err := emu.GenerateUsers(f.tenantID, emulator.UserGeneration{Count: benchUsers, Groups: benchUserGroups, PasskeyShare: 0.3}); err != nil {
		b.Fatal(err)
	}
	createReportAssignments(b, f)
	waitAllReady(b, f)
	// The manager's own reporter reads once when reporting is turned on;
	// the iterations start once that read is in status and Graph is quiet.
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"reporting":{"registration":{"enabled":true}}}}`))
	if err := env.Client.Patch(ctx, f.tenant, patch); err != nil {
		b.Fatal(err)
	}
	waitFor(b, "the manager's report read", 100*time.Millisecond, func() (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(f.tenant), f.tenant); err != nil {
			return false, err.Error()
		}
		c := f.tenant.Status.Registration
		return c != nil && c.Users == benchUsers, describeCounts(c)
	})
	settle(b, f.tenantID)

	now := time.Now()
	reporter := &controller.RegistrationReporter{
		Tenants: &controller.TenantReconciler{Client: cached, APIReader: env.Client, Connect: controller.ConnectWith(entra.NewClients(entra.ClientOptions{}))},
		Now:     func() time.Time { return now },
	}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(f.tenant)}
	before := reportRequests(f.tenantID)
	reads := 0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(passkeysv1alpha1.DefaultRegistrationReportInterval + time.Second)
		if _, err := reporter.Reconcile(ctx, req); err != nil {
			b.Fatal(err)
		}
		reads++
	}
	spent := reportRequests(f.tenantID).minus(before)
	if spent.report == 0 {
		b.Fatal("no report was read")
	}
	perRead := func(n int) float64 { return float64(n) / float64(reads) }
	b.ReportMetric(perRead(spent.report), "report-requests/read")
	b.ReportMetric(perRead(spent.members), "member-requests/read")
	b.ReportMetric(perRead(spent.other), "other-requests/read")
}

// createReportAssignments creates a profile and five assignments: all
// users, and the first benchCountedGroup generated groups.
func createReportAssignments(tb testing.TB, f *tenantFixture) {
	tb.Helper()
	allUsers := true
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	f.assignment("everyone", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{AllUsers: &allUsers}, Profiles: []string{"staff"}})
	for j := range benchCountedGroup {
		f.assignment(fmt.Sprintf("group-%d", j), passkeysv1alpha1.GroupAssignmentSpec{
			Target: passkeysv1alpha1.AssignmentTarget{GroupID: emulator.GeneratedGroupID(j)}, Profiles: []string{"staff"},
			Mode: passkeysv1alpha1.AssignmentInclude, RegistrationRequired: j%2 == 0})
	}
}

// reportCalls are a tenant's requests to the emulator by kind: pages of
// the registration report, pages of group members, anything else (the
// benchmark reporter's sign-in, as its Graph client is new, and any Graph
// request the read should not make).
type reportCalls struct{ report, members, other int }

func reportRequests(tenantID string) reportCalls {
	stats := emu.StatsOf(tenantID, "", "")
	report := stats.Count("", http.MethodGet, reportPath, emulator.AnyStatus)
	members := 0
	for _, r := range stats.Requests {
		if strings.HasSuffix(r.Path, "/transitiveMembers/microsoft.graph.user") {
			members += r.Count
		}
	}
	return reportCalls{report, members, stats.Count("", "", "", emulator.AnyStatus) - report - members}
}

func (c reportCalls) minus(d reportCalls) reportCalls {
	return reportCalls{c.report - d.report, c.members - d.members, c.other - d.other}
}
