package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// AssignmentMode says whether a target gains profiles or is excluded from
// passkeys altogether.
// +kubebuilder:validation:Enum=Include;Exclude
type AssignmentMode string

const (
	// AssignmentInclude lets the target's users register the passkeys its
	// profiles allow.
	AssignmentInclude AssignmentMode = "Include"
	// AssignmentExclude keeps the target's users from using passkeys, whatever
	// other assignments say.
	AssignmentExclude AssignmentMode = "Exclude"
)

// AssignmentTarget names the users an assignment applies to: exactly one of
// groupID, groupName or allUsers.
// +kubebuilder:validation:XValidation:rule="[has(self.groupID), has(self.groupName), has(self.allUsers)].filter(x, x).size() == 1",message="target must set exactly one of groupID, groupName or allUsers"
type AssignmentTarget struct {
	// GroupID is the object id of an Entra group, a GUID.
	// +kubebuilder:validation:MaxLength=36
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="groupID must be the group's Object ID, a GUID such as 7c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f; to name a group by its display name use groupName"
	// +optional
	GroupID string `json:"groupID,omitempty"`

	// GroupName is the display name of an Entra group; the operator resolves
	// it to the group's id (this needs the Group.Read.All permission), and it
	// must match exactly one group.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +optional
	GroupName string `json:"groupName,omitempty"`

	// AllUsers targets every user in the tenant.
	// +kubebuilder:validation:XValidation:rule="self",message="allUsers can only be true; to target a group, remove allUsers and set groupID or groupName"
	// +optional
	AllUsers *bool `json:"allUsers,omitempty"`
}

// GroupAssignmentSpec declares which passkey profiles a group (or all users)
// may use, or excludes the group from passkeys.
// +kubebuilder:validation:XValidation:rule="self.mode != 'Include' || (has(self.profiles) && size(self.profiles) > 0)",message="an Include assignment needs profiles: name one to three PasskeyProfiles in this namespace"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Exclude' || !has(self.profiles) || size(self.profiles) == 0",message="an Exclude assignment takes no profiles: excluded users cannot use passkeys at all; remove profiles"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Exclude' || !has(self.registrationRequired) || !self.registrationRequired",message="an Exclude assignment cannot require registration; remove registrationRequired"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Exclude' || !has(self.target.allUsers)",message="an Exclude assignment cannot target allUsers; to turn passkeys off for everyone, set the EntraTenant's method.state to Disabled"
type GroupAssignmentSpec struct {
	// TenantRef is the name of the EntraTenant this assignment belongs to.
	// It cannot be changed; create a new GroupAssignment instead.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="tenantRef cannot be changed; create a new GroupAssignment for the other tenant"
	TenantRef string `json:"tenantRef"`

	// Target is exactly one of groupID, groupName or allUsers: true.
	Target AssignmentTarget `json:"target"`

	// Profiles are the names of PasskeyProfiles in this namespace that the
	// target's users may use: one to three, no repeats. Empty for Exclude.
	// A user in several targeted groups may use any profile any of them allows.
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	// +optional
	Profiles []string `json:"profiles,omitempty"`

	// RegistrationRequired asks the target's users to register a passkey.
	// +optional
	RegistrationRequired bool `json:"registrationRequired,omitempty"`

	// Mode is Include (the default: the target may use the profiles) or
	// Exclude (the target may not use passkeys).
	// +kubebuilder:default=Include
	// +optional
	Mode AssignmentMode `json:"mode,omitempty"`

	// DriftPolicy overrides the tenant's driftPolicy for this assignment:
	// Enforce or Report.
	// +optional
	DriftPolicy DriftPolicy `json:"driftPolicy,omitempty"`

	// DeletionPolicy is Delete (the default: remove the target from Entra when
	// this resource is deleted) or Orphan (leave it).
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Suspend stops writes and drift checks for this assignment.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// GroupAssignmentStatus is the observed state of the target in Entra.
type GroupAssignmentStatus struct {
	SyncStatus `json:",inline"`

	// ResolvedGroupID is the Entra group object id the target resolved to
	// (all_users for allUsers).
	// +optional
	ResolvedGroupID string `json:"resolvedGroupID,omitempty"`

	// AppliedTarget is the target this assignment last had in Entra. When the
	// spec moves to another group or mode, the operator takes this one out
	// (unless deletionPolicy is Orphan), and while the new group cannot be
	// resolved it keeps this one.
	// +optional
	AppliedTarget *AppliedTarget `json:"appliedTarget,omitempty"`

	// PendingTargets are targets a write may have put in Entra for this
	// assignment that no read-back has confirmed yet: recorded before the
	// write, and dropped once a pass finds them gone or confirms the
	// declared target. Until then they are this assignment's, like
	// appliedTarget: taken out when it moves or is deleted.
	// +optional
	// +listType=atomic
	PendingTargets []AppliedTarget `json:"pendingTargets,omitempty"`

	// Registration counts the members of the target group (nested groups
	// included; every user for allUsers) by the passkeys they have
	// registered, when the tenant's spec.reporting.registration is enabled.
	// +optional
	Registration *RegistrationCounts `json:"registration,omitempty"`
}

// AppliedTarget is a target as Entra holds it.
type AppliedTarget struct {
	// GroupID is the group object id, or all_users.
	GroupID string `json:"groupID"`
	// Mode is Include (in includeTargets) or Exclude (in excludeTargets).
	Mode AssignmentMode `json:"mode"`
}

// GroupAssignment gives a group (or all users) one to three passkey profiles,
// or excludes the group from passkeys.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pkga,categories=passkeys
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.status.resolvedGroupID`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`,priority=1
// +kubebuilder:printcolumn:name="Users",type=integer,JSONPath=`.status.registration.users`,priority=1
// +kubebuilder:printcolumn:name="Passkeys",type=integer,JSONPath=`.status.registration.anyPasskey`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type GroupAssignment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec declares the assignment.
	Spec GroupAssignmentSpec `json:"spec"`

	// Status is the observed state, written by the operator.
	// +kubebuilder:default:={"observedGeneration":-1}
	// +optional
	Status GroupAssignmentStatus `json:"status,omitempty"`
}

// GroupAssignmentList is a list of GroupAssignments.
// +kubebuilder:object:root=true
type GroupAssignmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GroupAssignment `json:"items"`
}
