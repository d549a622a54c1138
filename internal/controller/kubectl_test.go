package controller_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// kubectlWait runs `kubectl wait --for=condition=Ready` on one resource.
func kubectlWait(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	return kubectl(t, timeout+30*time.Second, append([]string{"wait", "--for=condition=Ready", "--timeout=" + timeout.String()}, args...)...)
}

// kubectl runs the kubectl built beside the control plane, as a user would.
func kubectl(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args = append([]string{"--kubeconfig", env.KubeconfigPath}, args...)
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, env.KubectlPath, args...)
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// TestKubectlWaitForReady: `kubectl wait --for=condition=Ready` succeeds on
// each kind once the operator has applied it, right after `kubectl apply`
// (nothing to poll for first), and times out on a Stalled resource.
func TestKubectlWaitForReady(t *testing.T) {
	f := newTenant(t)
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupName: "Staff"}, Profiles: []string{"staff"},
	})
	// Another group, so the two assignments do not conflict over one target.
	broken := f.assignment("broken", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: "00000000-0000-4000-8000-000000000001"}, Profiles: []string{"nonexistent"},
	})

	for _, target := range [][]string{
		{"entratenant/" + f.name},
		{"-n", f.namespace, "passkeyprofile/staff"},
		{"-n", f.namespace, "groupassignment/staff"},
	} {
		out, err := kubectlWait(t, 60*time.Second, target...)
		if err != nil {
			t.Errorf("kubectl wait %v: %v\n%s", target, err, out)
		} else if !strings.Contains(out, "condition met") {
			t.Errorf("kubectl wait %v said %q, want \"condition met\"", target, out)
		}
	}

	waitCondition(t, broken, stalled, metav1.ConditionTrue, "ProfileNotFound")
	out, err := kubectlWait(t, 3*time.Second, "-n", f.namespace, "groupassignment/broken")
	if err == nil {
		t.Fatalf("kubectl wait on a Stalled GroupAssignment succeeded:\n%s", out)
	}
	if !strings.Contains(out, "timed out") {
		t.Errorf("kubectl wait on a Stalled GroupAssignment failed for another reason than a timeout: %v\n%s", err, out)
	}
}

// TestKubectlAnnotateForcesReconcile runs the commands docs/gitops.md gives
// for forcing a reconcile, on each kind, and expects the value echoed in
// status.lastHandledReconcileAt.
func TestKubectlAnnotateForcesReconcile(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	assignment := f.assignment("staff", passkeysv1alpha1.GroupAssignmentSpec{
		Target: passkeysv1alpha1.AssignmentTarget{GroupID: staffGroup}, Profiles: []string{"staff"},
	})
	waitCondition(t, assignment, ready, metav1.ConditionTrue, "Succeeded")

	for _, target := range [][]string{
		{"entratenant/" + f.name},
		{"-n", f.namespace, "passkeyprofile/" + profile.Name},
		{"-n", f.namespace, "groupassignment/" + assignment.Name},
	} {
		value := time.Now().UTC().Format(time.RFC3339Nano)
		args := append([]string{"annotate", "--overwrite"}, target...)
		if out, err := kubectl(t, 30*time.Second, append(args, passkeysv1alpha1.ReconcileRequestAnnotation+"="+value)...); err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		get := append([]string{"get", "-o", "jsonpath={.status.lastHandledReconcileAt}"}, target...)
		eventually(t, fmt.Sprintf("%v to echo %s", target, value), func() (bool, string) {
			out, err := kubectl(t, 30*time.Second, get...)
			if err != nil {
				return false, err.Error() + ": " + out
			}
			return out == value, out
		})
	}
}
