package controller_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/testenv"
)

// TestSamplesBecomeReady applies config/samples as a user would (in the
// fixture's namespace and tenant) and expects every resource Ready: the
// samples are documentation, and documentation that fails is worse than none.
func TestSamplesBecomeReady(t *testing.T) {
	f := newTenant(t)
	if err := emu.Seed(emulator.Tenant{ID: f.tenantID, Groups: []emulator.Group{
		{ID: "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f901", DisplayName: "Administrators"},
		{ID: "3c4d5e6f-7081-4293-a4b5-c6d7e8f90a12", DisplayName: "Contractors"},
	}}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found: %v", err)
	}
	var created []*unstructured.Unstructured
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &obj.Object); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		switch obj.GetKind() {
		case "PasskeyProfile", "GroupAssignment":
			obj.SetNamespace(f.namespace)
			if err := unstructured.SetNestedField(obj.Object, f.name, "spec", "tenantRef"); err != nil {
				t.Fatal(err)
			}
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatalf("%s refused: %v", file, err)
			}
			created = append(created, obj)
		case "EntraTenant":
			// It points at a real tenant: check it is admitted, don't create it.
			if err := env.Client.Create(ctx, obj, client.DryRunAll); err != nil {
				t.Fatalf("%s refused: %v", file, err)
			}
		}
	}
	if len(created) < 6 {
		t.Fatalf("only %d sample profiles and assignments found", len(created))
	}
	for _, obj := range created {
		eventually(t, obj.GetKind()+" "+obj.GetName()+" Ready", func() (bool, string) {
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
				return false, err.Error()
			}
			conditions, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			for _, c := range conditions {
				cond, _ := c.(map[string]any)
				if cond["type"] == ready {
					return cond["status"] == string(metav1.ConditionTrue), cond["reason"].(string) + ": " + cond["message"].(string)
				}
			}
			return false, "no Ready condition"
		})
	}
}
