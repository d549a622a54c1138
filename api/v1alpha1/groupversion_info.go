// Package v1alpha1 contains the passkeys.entraops.dev/v1alpha1 API: EntraTenant,
// PasskeyProfile and GroupAssignment, which together declare a Microsoft Entra
// tenant's passkey (FIDO2) policy.
//
// +kubebuilder:object:generate=true
// +groupName=passkeys.entraops.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "passkeys.entraops.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this package's kinds with a runtime.Scheme. It
	// is apimachinery's, not controller-runtime's, so importing the API pulls
	// in nothing beyond apimachinery.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's kinds to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(GroupVersion,
		&EntraTenant{}, &EntraTenantList{},
		&PasskeyProfile{}, &PasskeyProfileList{},
		&GroupAssignment{}, &GroupAssignmentList{},
	)
	metav1.AddToGroupVersion(scheme, GroupVersion)
	return nil
}
