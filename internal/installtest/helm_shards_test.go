package installtest

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	passkeysv1alpha1 "github.com/passkey-operator/passkey-operator/api/v1alpha1"
)

// TestHelmShards installs the chart with two shards: three Deployments, each
// reconciling its own tenants (the main one those with no shard label),
// each electing its leader on its own Lease, none selecting another's pods,
// and all of them scraped through the one metrics Service.
func TestHelmShards(t *testing.T) {
	const release, namespace = "sharded", "helm-shards"
	createNamespace(t, namespace)
	applyServerSide(t, helmTemplate(t, release, namespace, "--set", "shards={a,b}"))

	const name = release + "-passkey-operator"
	var svc corev1.Service
	get(t, namespace, name+"-metrics", &svc)
	// The tenants, by their labels, each Deployment must reconcile and must
	// leave alone.
	unlabelled, inA, inB := labels.Set{}, labels.Set{passkeysv1alpha1.ShardLabel: "a"}, labels.Set{passkeysv1alpha1.ShardLabel: "b"}
	deployments := []struct {
		name         string
		owns, leaves []labels.Set
		deploy       appsv1.Deployment
	}{
		{name: name, owns: []labels.Set{unlabelled}, leaves: []labels.Set{inA, inB}},
		{name: name + "-a", owns: []labels.Set{inA}, leaves: []labels.Set{unlabelled, inB}},
		{name: name + "-b", owns: []labels.Set{inB}, leaves: []labels.Set{unlabelled, inA}},
	}
	leases := map[string]string{}
	for i := range deployments {
		d := &deployments[i]
		get(t, namespace, d.name, &d.deploy)
		template := d.deploy.Spec.Template
		assertHardened(t, namespace, template)
		assertMetricsService(t, svc, template)
		args := template.Spec.Containers[0].Args
		assertManagerAccepts(t, args)

		tenants, err := labels.Parse(flagValue(args, "--watch-label-selector", ""))
		if err != nil {
			t.Fatalf("%s: --watch-label-selector: %v", d.name, err)
		}
		for _, tenant := range d.owns {
			if !tenants.Matches(tenant) {
				t.Errorf("%s (selector %q) does not reconcile a tenant labelled %v", d.name, tenants, tenant)
			}
		}
		for _, tenant := range d.leaves {
			if tenants.Matches(tenant) {
				t.Errorf("%s (selector %q) also reconciles a tenant labelled %v: two writers", d.name, tenants, tenant)
			}
		}
		lease := flagValue(args, "--leader-election-id", "passkey-operator.passkeys.entraops.dev")
		if other, taken := leases[lease]; taken {
			t.Errorf("%s and %s elect their leader on the one Lease %s: only one of them would run", other, d.name, lease)
		}
		leases[lease] = d.name
	}
	// Deployments whose selectors overlap fight over each other's pods.
	for _, d := range deployments {
		pods, err := metav1.LabelSelectorAsSelector(d.deploy.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range deployments {
			if other.name != d.name && pods.Matches(labels.Set(other.deploy.Spec.Template.Labels)) {
				t.Errorf("%s's selector %q matches the pods of %s", d.name, pods, other.name)
			}
		}
	}

	// Without shards the one Deployment reconciles every tenant.
	var unsharded appsv1.Deployment
	find(t, decodeAll(t, helmTemplate(t, release, namespace)), "Deployment", name, &unsharded)
	if args := unsharded.Spec.Template.Spec.Containers[0].Args; flagValue(args, "--watch-label-selector", "") != "" {
		t.Errorf("without shards the Deployment selects tenants: %q", args)
	}
}

// flagValue is the value of a --name=value argument, or def if there is none.
func flagValue(args []string, name, def string) string {
	for _, arg := range args {
		if value, ok := strings.CutPrefix(arg, name+"="); ok {
			return value
		}
	}
	return def
}
