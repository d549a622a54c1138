package controller

import (
	"k8s.io/apimachinery/pkg/labels"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// lastAppliedAnnotation is where `kubectl apply` keeps a copy of the whole
// object it applied: as large as the spec again, and never read by a pass.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// CacheOptions is how the manager's informer cache is set up: it holds only
// the EntraTenants the tenants selector matches (a shard's tenants; nil or
// labels.Everything() for all of them), and no object in it keeps the
// metadata passes never read. At 1,000 tenants that metadata is most of what
// the cache holds (docs/performance.md).
func CacheOptions(tenants labels.Selector) cache.Options {
	opts := cache.Options{DefaultTransform: stripUnread}
	if tenants != nil && !tenants.Empty() {
		opts.ByObject = map[client.Object]cache.ByObject{
			&passkeysv1alpha1.EntraTenant{}: {Label: tenants},
		}
	}
	return opts
}

// stripUnread drops managedFields and kubectl's last-applied copy before an
// object enters the cache. Writes from the cache stay correct: finalizers
// and statuses are sent as merge patches computed between two copies of the
// cached object, so what the cache lacks is never part of a write.
var stripUnread toolscache.TransformFunc = func(in any) (any, error) {
	obj, ok := in.(client.Object)
	if !ok {
		return in, nil
	}
	if obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	if annotations := obj.GetAnnotations(); annotations[lastAppliedAnnotation] != "" {
		kept := make(map[string]string, len(annotations)-1)
		for k, v := range annotations {
			if k != lastAppliedAnnotation {
				kept[k] = v
			}
		}
		obj.SetAnnotations(kept)
	}
	return obj, nil
}
