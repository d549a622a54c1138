package controller_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
	"github.com/passkey-operator/passkey-operator/internal/controller"
)

// TestStatusWriteErrorIsReturned: a pass whose statuses cannot be written
// returns that error, so controller-runtime retries it, rather than only
// logging it and waiting for the next resync.
func TestStatusWriteErrorIsReturned(t *testing.T) {
	f := newTenant(t)
	f.profile("staff", passkeysv1alpha1.PasskeyProfileSpec{PasskeyTypes: synced})
	waitCondition(t, f.tenant, ready, metav1.ConditionTrue, "Succeeded")

	refused := errors.New("status write refused by the test")
	r := &controller.TenantReconciler{
		// The manager's own client to the real API server, with status
		// writes failing.
		Client: interceptor.NewClient(withoutWatch{cached}, interceptor.Funcs{
			SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
				return refused
			},
		}),
		APIReader: env.Client,
		// A Graph client that cannot be built: the pass stalls on
		// credentials, a change of every status.
		Connect: func(context.Context, *passkeysv1alpha1.EntraTenant, []byte) (controller.Graph, error) {
			return nil, errors.New("no Graph in this test")
		},
	}
	_, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: types.NamespacedName{Name: f.tenant.Name}})
	if !errors.Is(err, refused) || !strings.Contains(err.Error(), "writing status") {
		t.Errorf("Reconcile returned %v, want the status write's error", err)
	}
}

// withoutWatch lets the interceptor wrap a client that has no Watch; a pass
// never watches.
type withoutWatch struct{ client.Client }

func (withoutWatch) Watch(context.Context, client.ObjectList, ...client.ListOption) (watch.Interface, error) {
	return nil, errors.New("a pass does not watch")
}
