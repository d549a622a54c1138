package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PasskeyType is a kind of passkey a profile allows.
// +kubebuilder:validation:Enum=DeviceBound;Synced
type PasskeyType string

const (
	// PasskeyDeviceBound is a passkey that never leaves its authenticator: a
	// security key, or Microsoft Authenticator.
	PasskeyDeviceBound PasskeyType = "DeviceBound"
	// PasskeySynced is a passkey synced by a provider such as iCloud Keychain,
	// Google Password Manager or 1Password.
	PasskeySynced PasskeyType = "Synced"
)

// Attestation says whether Entra verifies the authenticator's attestation.
// +kubebuilder:validation:Enum=Disabled;RegistrationOnly
type Attestation string

const (
	// AttestationDisabled accepts passkeys without verifying attestation.
	AttestationDisabled Attestation = "Disabled"
	// AttestationRegistrationOnly verifies attestation when a passkey is
	// registered. Only device-bound passkeys carry attestation.
	AttestationRegistrationOnly Attestation = "RegistrationOnly"
)

// KeyEnforcement says how the AAGUID list restricts authenticator models.
// +kubebuilder:validation:Enum=None;Allow;Block
type KeyEnforcement string

const (
	// KeyEnforcementNone allows every authenticator model.
	KeyEnforcementNone KeyEnforcement = "None"
	// KeyEnforcementAllow allows only the listed authenticator models.
	KeyEnforcementAllow KeyEnforcement = "Allow"
	// KeyEnforcementBlock allows every authenticator model but the listed ones.
	KeyEnforcementBlock KeyEnforcement = "Block"
)

// KeyRestrictions allow or block authenticator models by AAGUID, or by name.
// +kubebuilder:validation:XValidation:rule="self.enforcement == 'None' || (has(self.aaguids) && size(self.aaguids) > 0) || (has(self.authenticators) && size(self.authenticators) > 0)",message="keyRestrictions with enforcement Allow or Block need at least one AAGUID in aaguids or one name in authenticators"
// +kubebuilder:validation:XValidation:rule="self.enforcement != 'None' || !has(self.aaguids) || size(self.aaguids) == 0",message="keyRestrictions with enforcement None must not list aaguids; set enforcement to Allow or Block, or remove aaguids"
// +kubebuilder:validation:XValidation:rule="self.enforcement != 'None' || !has(self.authenticators) || size(self.authenticators) == 0",message="keyRestrictions with enforcement None must not list authenticators; set enforcement to Allow or Block, or remove authenticators"
type KeyRestrictions struct {
	// Enforcement is None (every model is allowed, the default), Allow (only
	// the models listed in aaguids) or Block (every model but those listed).
	// +kubebuilder:default=None
	// +optional
	Enforcement KeyEnforcement `json:"enforcement,omitempty"`

	// AAGUIDs are Authenticator Attestation GUIDs, which identify an
	// authenticator's make and model (for example
	// ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4 for Google Password Manager).
	// Required, non-empty and without repeats for Allow and Block; empty for None.
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=36
	// +kubebuilder:validation:XValidation:rule="self.all(g, g.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'))",message="each entry of aaguids must be an AAGUID in GUID form, such as ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"
	// +kubebuilder:validation:XValidation:rule="self.all(g, self.exists_one(h, h.lowerAscii() == g.lowerAscii()))",message="aaguids must not list the same AAGUID twice"
	// +listType=atomic
	// +optional
	AAGUIDs []string `json:"aaguids,omitempty"`

	// Authenticators select authenticator models by their description in
	// the FIDO Alliance Metadata Service (MDS3), besides those in aaguids:
	// an exact description such as "YubiKey 5 Series with NFC", or a
	// pattern where * stands for any run of characters, such as
	// "YubiKey 5*". Case is ignored. Each must match at least one model;
	// the AAGUIDs they select are listed in status.authenticators, and
	// follow the catalog as it is refreshed. Without the catalog the
	// operator cannot resolve them and leaves the profile in Entra as it is.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	// +listType=set
	// +optional
	Authenticators []string `json:"authenticators,omitempty"`
}

// PasskeyProfileSpec declares one Entra passkey profile: which passkeys it
// allows, whether attestation is enforced, and which authenticator models.
// +kubebuilder:validation:XValidation:rule="!has(self.attestation) || self.attestation == 'Disabled' || 'DeviceBound' in self.passkeyTypes",message="attestation RegistrationOnly needs DeviceBound among passkeyTypes: synced passkeys carry no attestation; add DeviceBound or set attestation to Disabled"
// +kubebuilder:validation:XValidation:rule="!has(self.default) || !self.default || !has(self.displayName)",message="a PasskeyProfile with default: true takes no displayName: Entra does not let the default passkey profile be renamed, so it keeps the name Entra gives it (see status.name)"
type PasskeyProfileSpec struct {
	// TenantRef is the name of the EntraTenant this profile belongs to.
	// It cannot be changed; create a new PasskeyProfile instead.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="tenantRef cannot be changed; create a new PasskeyProfile for the other tenant"
	TenantRef string `json:"tenantRef"`

	// DisplayName is the profile's name in Entra; empty means metadata.name.
	// Not allowed with default: true: Entra's default profile cannot be
	// renamed.
	// +kubebuilder:validation:MaxLength=256
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// PasskeyTypes are the kinds of passkey the profile allows: DeviceBound,
	// Synced, or both.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +listType=set
	PasskeyTypes []PasskeyType `json:"passkeyTypes"`

	// Attestation is Disabled (the default) or RegistrationOnly, which
	// verifies attestation at registration and needs DeviceBound among
	// passkeyTypes. Synced passkeys carry no attestation: with Synced too
	// (as Entra's migration left many default profiles) they cannot be
	// registered, which the API server warns about; the operator keeps that
	// state where Entra holds it but never writes it anew.
	// +kubebuilder:default=Disabled
	// +optional
	Attestation Attestation `json:"attestation,omitempty"`

	// KeyRestrictions allow or block authenticator models by AAGUID; omitted
	// means every model is allowed.
	// +optional
	KeyRestrictions *KeyRestrictions `json:"keyRestrictions,omitempty"`

	// Default marks this resource as the manager of the tenant's default
	// passkey profile, which Entra never lets anyone delete. At most one
	// PasskeyProfile per tenant may set it.
	// +optional
	Default bool `json:"default,omitempty"`

	// DriftPolicy overrides the tenant's driftPolicy for this profile:
	// Enforce or Report.
	// +optional
	DriftPolicy DriftPolicy `json:"driftPolicy,omitempty"`

	// DeletionPolicy is Delete (the default: remove the profile from Entra
	// when this resource is deleted) or Orphan (leave it). The default profile
	// is never removed from Entra.
	// +kubebuilder:default=Delete
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// Suspend stops writes and drift checks for this profile.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// PasskeyProfileStatus is the observed state of the profile in Entra.
type PasskeyProfileStatus struct {
	SyncStatus `json:",inline"`

	// ProfileID is the profile's id in Entra.
	// +optional
	ProfileID string `json:"profileID,omitempty"`

	// PendingName is the name the operator sent a new profile to Entra
	// under, recorded before the write and cleared once Entra's id for it is
	// in profileID. Should that id never be recorded (a crash, a failed
	// read-back), the profile of this name is this resource's, even after a
	// rename or a deletion.
	// +optional
	PendingName string `json:"pendingName,omitempty"`

	// Name is the profile's name in Entra: spec.displayName, or, for the
	// default profile, the name Entra gave it.
	// +optional
	Name string `json:"name,omitempty"`

	// UsedBy lists the GroupAssignments (namespace/name) that name this
	// profile, which keeps it from being removed from Entra.
	// +optional
	// +listType=atomic
	UsedBy []string `json:"usedBy,omitempty"`

	// Authenticators are the models the key restrictions name: each AAGUID
	// in spec.keyRestrictions.aaguids, and each that an entry of
	// spec.keyRestrictions.authenticators resolved to, with its name in the
	// FIDO Alliance Metadata Service when the catalog knows it.
	// +optional
	// +listType=atomic
	Authenticators []AuthenticatorModel `json:"authenticators,omitempty"`
}

// AuthenticatorModel is one authenticator make and model.
type AuthenticatorModel struct {
	// AAGUID identifies the model.
	AAGUID string `json:"aaguid"`
	// Name is the model's description in the FIDO Alliance Metadata Service;
	// empty when the catalog does not know it or is not loaded.
	// +optional
	Name string `json:"name,omitempty"`
	// Selector is the entry of spec.keyRestrictions.authenticators that
	// selected it; empty for an AAGUID listed in aaguids.
	// +optional
	Selector string `json:"selector,omitempty"`
}

// PasskeyProfile is one Entra passkey profile: which kinds of passkey it
// allows, attestation, and which authenticator models.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pkp,categories=passkeys
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Profile ID",type=string,JSONPath=`.status.profileID`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenantRef`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type PasskeyProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec declares the profile.
	Spec PasskeyProfileSpec `json:"spec"`

	// Status is the observed state, written by the operator.
	// +kubebuilder:default:={"observedGeneration":-1}
	// +optional
	Status PasskeyProfileStatus `json:"status,omitempty"`
}

// PasskeyProfileList is a list of PasskeyProfiles.
// +kubebuilder:object:root=true
type PasskeyProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PasskeyProfile `json:"items"`
}
