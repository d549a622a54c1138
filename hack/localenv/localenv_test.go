package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

func TestEnvFileRoundTripsThroughAShell(t *testing.T) {
	dir := t.TempDir()
	want := envFile{
		envKubeconfig:   "/tmp/a dir/kubeconfig",
		envEmulatorURL:  "https://127.0.0.1:1234",
		envClientSecret: `it's "quoted" $HOME ; rm -rf /`,
	}
	if err := want.write(dir, "/opt/bin"); err != nil {
		t.Fatal(err)
	}
	got, err := readEnvFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("readEnvFile %s = %q, want %q", k, got[k], v)
		}
	}
	// A shell must see exactly the same values, with nothing expanded.
	out, err := exec.Command("bash", "-c", `. "$1" && printf '%s\n' "$KUBECONFIG" "$CLIENT_SECRET" "${PATH%%:*}"`, "bash", envFilePath(dir)).CombinedOutput()
	if err != nil {
		t.Fatalf("sourcing: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	wantLines := []string{want[envKubeconfig], want[envClientSecret], "/opt/bin"}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("shell saw %q, want %q", lines, wantLines)
	}
	info, err := os.Stat(envFilePath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("env file mode %v, want 0600: it holds a client secret", info.Mode().Perm())
	}
}

func TestReadEnvFileSaysHowToStartTheStack(t *testing.T) {
	_, err := readEnvFile(filepath.Join(t.TempDir(), "nothing-here"))
	if err == nil || !strings.Contains(err.Error(), "make local-up") {
		t.Fatalf("error %v does not say to run make local-up", err)
	}
}

func TestSummary(t *testing.T) {
	condition := func(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message}
	}
	tests := []struct {
		name      string
		status    passkeysv1alpha1.SyncStatus
		wantReady bool
		want      string
	}{
		{
			name:   "never reconciled",
			status: passkeysv1alpha1.SyncStatus{ObservedGeneration: -1},
			want:   "Pending (not reconciled yet)",
		},
		{
			name: "ready",
			status: passkeysv1alpha1.SyncStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
				condition("Ready", metav1.ConditionTrue, "Succeeded", "Entra matches the spec"),
				condition("Drifted", metav1.ConditionFalse, "Succeeded", "Entra matches the spec"),
			}},
			wantReady: true,
			want:      "Ready",
		},
		{
			name: "stalled",
			status: passkeysv1alpha1.SyncStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
				condition("Ready", metav1.ConditionFalse, "GroupNotFound", "no group named Staf"),
				condition("Stalled", metav1.ConditionTrue, "GroupNotFound", "no group named Staf"),
			}},
			want: "Stalled GroupNotFound: no group named Staf",
		},
		{
			name: "report drift lists the fields",
			status: passkeysv1alpha1.SyncStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
				condition("Ready", metav1.ConditionFalse, "DriftDetected", "differs"),
				condition("Drifted", metav1.ConditionTrue, "DriftDetected", "differs"),
				condition("Stalled", metav1.ConditionTrue, "DriftDetected", "differs"),
			}, Drift: []passkeysv1alpha1.DriftEntry{{Field: "passkeyTypes", Desired: "deviceBound,synced", Observed: "deviceBound"}}},
			want: "Drifted: passkeyTypes (Git deviceBound,synced, Entra deviceBound)",
		},
		{
			name: "waiting",
			status: passkeysv1alpha1.SyncStatus{ObservedGeneration: 2, Conditions: []metav1.Condition{
				condition("Ready", metav1.ConditionFalse, "ProfileNotReady", "profile staff is not Ready"),
			}},
			want: "Not ready ProfileNotReady: profile staff is not Ready",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, text := resourceStatus{ref: "x", generation: 2, status: tt.status}.summary()
			if ready != tt.wantReady || text != tt.want {
				t.Errorf("summary() = %v, %q; want %v, %q", ready, text, tt.wantReady, tt.want)
			}
		})
	}
}

func TestEditProfileSendsEveryProfileWithOneChanged(t *testing.T) {
	reply := `{"version": 3, "document": {"passkeyProfiles": [
		{"id": "00000000-0000-0000-0000-000000000001", "name": "Default passkey profile", "passkeyTypes": "deviceBound", "attestationEnforcement": "registrationOnly"},
		{"id": "11111111-1111-4111-8111-111111111111", "name": "Synced passkeys for staff", "passkeyTypes": "deviceBound,synced", "attestationEnforcement": "disabled"}
	]}}`
	body, err := editProfile([]byte(reply), "Synced passkeys for staff", "deviceBound", "")
	if err != nil {
		t.Fatal(err)
	}
	var patch struct {
		PasskeyProfiles []map[string]any `json:"passkeyProfiles"`
	}
	if err := json.Unmarshal(body, &patch); err != nil {
		t.Fatal(err)
	}
	if len(patch.PasskeyProfiles) != 2 {
		t.Fatalf("PATCH carries %d profiles, want both: Entra replaces the collection whole", len(patch.PasskeyProfiles))
	}
	if got := patch.PasskeyProfiles[1]["passkeyTypes"]; got != "deviceBound" {
		t.Errorf("edited profile passkeyTypes = %v", got)
	}
	if got := patch.PasskeyProfiles[0]["attestationEnforcement"]; got != "registrationOnly" {
		t.Errorf("other profile changed: attestationEnforcement = %v", got)
	}

	_, err = editProfile([]byte(reply), "Nope", "synced", "")
	if err == nil || !strings.Contains(err.Error(), "Synced passkeys for staff") {
		t.Errorf("unknown profile error %v does not list the existing ones", err)
	}
}
