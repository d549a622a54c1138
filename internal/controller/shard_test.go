package controller_test

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
)

// TestTenantOfAnotherShardIsLeftAlone: a shard's cache holds only its own
// tenants but every profile, so it is asked to reconcile tenants it lacks.
// One that exists is another shard's: its resources must keep their
// finalizers and statuses, untouched, and Graph must not be called.
func TestTenantOfAnotherShardIsLeftAlone(t *testing.T) {
	f := newTenant(t)
	profile := f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, profile, ready, metav1.ConditionTrue, "Succeeded")

	r := &controller.TenantReconciler{
		// The manager's cache as a shard whose selector does not match the
		// tenant sees it: the tenant is missing, its resources are there.
		Client: interceptor.NewClient(withoutWatch{cached}, interceptor.Funcs{
			Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
				if _, ok := obj.(*passkeysv1alpha1.EntraTenant); ok {
					return apierrors.NewNotFound(passkeysv1alpha1.GroupVersion.WithResource("entratenants").GroupResource(), key.Name)
				}
				return c.Get(ctx, key, obj, opts...)
			},
		}),
		APIReader: env.Client,
		Connect: func(context.Context, *passkeysv1alpha1.EntraTenant, []byte) (controller.Graph, error) {
			t.Error("the shard connected to Graph for a tenant it does not own")
			return nil, errors.New("not this shard's tenant")
		},
	}
	before := profile.ResourceVersion
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: f.tenant.Name}}); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(profile), profile); err != nil {
		t.Fatal(err)
	}
	if profile.ResourceVersion != before {
		t.Errorf("the profile was written (resourceVersion %s → %s): conditions %v", before, profile.ResourceVersion, profile.Status.Conditions)
	}
	if !controllerutil.ContainsFinalizer(profile, "passkeys.entraops.dev/finalizer") {
		t.Errorf("the profile lost its finalizer: %v", profile.Finalizers)
	}
}

// TestResourceOfAMissingTenantIsStalled: when the API server confirms the
// tenant does not exist, its resources are Stalled with TenantNotFound.
func TestResourceOfAMissingTenantIsStalled(t *testing.T) {
	f := newTenant(t)
	orphan := &passkeysv1alpha1.PasskeyProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Namespace: f.namespace},
		Spec:       passkeysv1alpha1.PasskeyProfileSpec{TenantRef: f.name + "-missing", PasskeyTypes: synced},
	}
	mustCreate(t, orphan)
	waitCondition(t, orphan, stalled, metav1.ConditionTrue, controller.ReasonTenantNotFound)
}
