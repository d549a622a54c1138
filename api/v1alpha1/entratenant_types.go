package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CloudName names the Microsoft cloud the tenant lives in.
// +kubebuilder:validation:Enum=AzurePublic;AzureUSGovernment;AzureChina;Custom
type CloudName string

const (
	CloudAzurePublic       CloudName = "AzurePublic"
	CloudAzureUSGovernment CloudName = "AzureUSGovernment"
	CloudAzureChina        CloudName = "AzureChina"
	CloudCustom            CloudName = "Custom"
)

// CredentialType says how the operator authenticates to Entra.
// +kubebuilder:validation:Enum=WorkloadIdentity;ClientSecret;ClientCertificate;ManagedIdentity
type CredentialType string

const (
	CredentialWorkloadIdentity  CredentialType = "WorkloadIdentity"
	CredentialClientSecret      CredentialType = "ClientSecret"
	CredentialClientCertificate CredentialType = "ClientCertificate"
	CredentialManagedIdentity   CredentialType = "ManagedIdentity"
)

// ManagementMode says what the operator does with the parts of the tenant's
// policy that no resource declares.
// +kubebuilder:validation:Enum=Merge;Authoritative
type ManagementMode string

const (
	// ManagementMerge touches only what resources declare and reports the rest
	// as unmanaged.
	ManagementMerge ManagementMode = "Merge"
	// ManagementAuthoritative removes profiles and targets that no resource
	// declares (never the tenant's default profile).
	ManagementAuthoritative ManagementMode = "Authoritative"
)

// MethodState turns the passkey (FIDO2) authentication method on or off for
// the whole tenant.
// +kubebuilder:validation:Enum=Enabled;Disabled
type MethodState string

const (
	MethodEnabled  MethodState = "Enabled"
	MethodDisabled MethodState = "Disabled"
)

// Cloud selects the Microsoft cloud, or custom endpoints.
// +kubebuilder:validation:XValidation:rule="self.name == 'Custom' ? (has(self.authorityHost) && has(self.graphEndpoint)) : true",message="cloud name Custom needs both authorityHost and graphEndpoint"
// +kubebuilder:validation:XValidation:rule="self.name != 'Custom' ? (!has(self.authorityHost) && !has(self.graphEndpoint)) : true",message="authorityHost and graphEndpoint are only for cloud name Custom; remove them, or set name: Custom"
type Cloud struct {
	// Name is the cloud: AzurePublic (the default), AzureUSGovernment,
	// AzureChina, or Custom with both endpoints given below.
	// +kubebuilder:default=AzurePublic
	// +optional
	Name CloudName `json:"name,omitempty"`

	// AuthorityHost is the Microsoft Entra sign-in endpoint, for cloud name
	// Custom only, for example https://login.example.test/.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https'",message="authorityHost must be an https:// URL"
	// +optional
	AuthorityHost string `json:"authorityHost,omitempty"`

	// GraphEndpoint is the Microsoft Graph endpoint, for cloud name Custom
	// only, for example https://graph.example.test/.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https'",message="graphEndpoint must be an https:// URL"
	// +optional
	GraphEndpoint string `json:"graphEndpoint,omitempty"`
}

// SecretKeyRef points at one key of a Secret. EntraTenant is cluster-scoped,
// so the namespace is always given.
type SecretKeyRef struct {
	// Namespace of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// Key in the Secret's data. For ClientSecret it holds the client secret;
	// for ClientCertificate a PEM bundle with the certificate and its
	// unencrypted private key.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// Credentials say how the operator signs in to Entra as an application.
// +kubebuilder:validation:XValidation:rule="(self.type == 'ClientSecret' || self.type == 'ClientCertificate') ? has(self.secretRef) : true",message="credentials of type ClientSecret and ClientCertificate need secretRef naming the Secret that holds them"
// +kubebuilder:validation:XValidation:rule="(self.type == 'WorkloadIdentity' || self.type == 'ManagedIdentity') ? !has(self.secretRef) : true",message="credentials of type WorkloadIdentity and ManagedIdentity use no Secret; remove secretRef"
// +kubebuilder:validation:XValidation:rule="(self.type == 'ClientSecret' || self.type == 'ClientCertificate') ? has(self.clientID) : true",message="credentials of type ClientSecret and ClientCertificate need clientID, the application (client) ID of the app registration"
type Credentials struct {
	// Type is WorkloadIdentity (the default: a federated Kubernetes service
	// account token), ClientSecret, ClientCertificate or ManagedIdentity.
	// +kubebuilder:default=WorkloadIdentity
	// +optional
	Type CredentialType `json:"type,omitempty"`

	// ClientID is the application (client) ID of the app registration, or of
	// a user-assigned managed identity. Required for ClientSecret and
	// ClientCertificate; for WorkloadIdentity it defaults to AZURE_CLIENT_ID,
	// which the workload identity webhook sets from the service account.
	// +kubebuilder:validation:MaxLength=36
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="clientID must be a GUID such as 0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e (the Application (client) ID of the app registration)"
	// +optional
	ClientID string `json:"clientID,omitempty"`

	// SecretRef names the Secret key holding the client secret or the client
	// certificate. Required for ClientSecret and ClientCertificate, forbidden
	// otherwise. Never put a secret in the EntraTenant itself.
	// +optional
	SecretRef *SecretKeyRef `json:"secretRef,omitempty"`
}

// MethodSettings are the method-wide settings of the passkey (FIDO2) policy.
type MethodSettings struct {
	// State turns passkeys on (Enabled) or off (Disabled) for the tenant.
	// Omitted: not managed.
	// +optional
	State MethodState `json:"state,omitempty"`

	// SelfServiceRegistration lets users register passkeys themselves.
	// Omitted: not managed.
	// +optional
	SelfServiceRegistration *bool `json:"selfServiceRegistration,omitempty"`
}

// EntraTenantSpec declares a Microsoft Entra tenant, how to reach it, and how
// the operator manages its passkey policy.
type EntraTenantSpec struct {
	// TenantID is the Directory (tenant) ID, a GUID.
	// +kubebuilder:validation:MaxLength=36
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="tenantID must be a GUID such as 3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b (the Directory (tenant) ID in the Entra admin center)"
	TenantID string `json:"tenantID"`

	// Cloud selects the Microsoft cloud; omitted means AzurePublic.
	// +optional
	Cloud *Cloud `json:"cloud,omitempty"`

	// Credentials say how the operator signs in; omitted means workload identity.
	// +kubebuilder:default:={"type":"WorkloadIdentity"}
	// +optional
	Credentials Credentials `json:"credentials,omitempty"`

	// AllowedNamespaces selects, by label, the namespaces whose
	// PasskeyProfiles and GroupAssignments may write to this tenant. Omitted
	// means every namespace; an empty selector ({}) also matches every namespace.
	// +optional
	AllowedNamespaces *metav1.LabelSelector `json:"allowedNamespaces,omitempty"`

	// Management is Merge (the default: touch only what resources declare and
	// report the rest as unmanaged) or Authoritative (remove profiles and
	// targets that no resource declares).
	// +kubebuilder:default=Merge
	// +optional
	Management ManagementMode `json:"management,omitempty"`

	// DriftPolicy is the default for this tenant's resources: Enforce (write
	// the spec back when Entra differs) or Report (only report it).
	// +kubebuilder:default=Enforce
	// +optional
	DriftPolicy DriftPolicy `json:"driftPolicy,omitempty"`

	// ResyncInterval is how often the operator compares Entra with the spec
	// when nothing changes here: between 30s and 24h; the default is 10m.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ms|s|m|h))+$') && duration(self) >= duration('30s') && duration(self) <= duration('24h')",message="resyncInterval must be a duration between 30s and 24h, such as 10m or 1h30m"
	// +optional
	ResyncInterval *metav1.Duration `json:"resyncInterval,omitempty"`

	// Method holds the method-wide settings; omitted means not managed.
	// +optional
	Method *MethodSettings `json:"method,omitempty"`

	// Reporting turns on reports the operator reads from Entra besides the
	// policy; omitted means none.
	// +optional
	Reporting *Reporting `json:"reporting,omitempty"`

	// Suspend stops all reads and writes to this tenant until set back to false.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// Reporting lists the reports the operator reads from Entra.
type Reporting struct {
	// Registration counts who has registered which kind of passkey, in the
	// tenant and in each GroupAssignment's group, from Entra's user
	// registration details report.
	// +optional
	Registration *RegistrationReporting `json:"registration,omitempty"`
}

// RegistrationReporting turns on the passkey registration report. It needs
// the AuditLog.Read.All permission and an Entra ID P1 or P2 licence, and
// GroupMember.Read.All for the counts per GroupAssignment. A report that
// cannot be read is shown in the Reporting condition; it never stops the
// policy from being applied.
type RegistrationReporting struct {
	// Enabled turns the report on; it is off by default.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// Interval is how often the report is read: at least 1h, at most 168h;
	// the default is 6h.
	// +kubebuilder:default="6h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+([.][0-9]+)?(ms|s|m|h))+$') && duration(self) >= duration('1h') && duration(self) <= duration('168h')",message="reporting.registration.interval must be a duration between 1h and 168h, such as 6h"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
}

// RegistrationCounts are how many users have registered which kind of
// passkey, as Entra's user registration details report said at readTime.
type RegistrationCounts struct {
	// ReadTime is when the report was read.
	ReadTime metav1.Time `json:"readTime"`
	// Users is how many users the report lists (for a group: its members,
	// nested groups included).
	Users int32 `json:"users"`
	// DeviceBound is how many of them registered a device-bound passkey
	// (a security key, or Microsoft Authenticator).
	DeviceBound int32 `json:"deviceBound"`
	// Synced is how many of them registered a synced passkey.
	Synced int32 `json:"synced"`
	// AnyPasskey is how many of them registered a passkey of either kind.
	AnyPasskey int32 `json:"anyPasskey"`
	// None is how many of them registered no passkey.
	None int32 `json:"none"`
}

// UnmanagedProfile is a passkey profile in Entra that no PasskeyProfile declares.
type UnmanagedProfile struct {
	// ID is the profile's id in Entra.
	ID string `json:"id"`
	// Name is the profile's name in Entra.
	// +optional
	Name string `json:"name,omitempty"`
}

// UnmanagedSummary is what Entra holds that no resource manages.
type UnmanagedSummary struct {
	// Profiles are passkey profiles that no PasskeyProfile declares.
	// +optional
	// +listType=atomic
	Profiles []UnmanagedProfile `json:"profiles,omitempty"`
	// IncludeTargets are the ids (group object ids or all_users) of include
	// targets that no GroupAssignment declares.
	// +optional
	// +listType=atomic
	IncludeTargets []string `json:"includeTargets,omitempty"`
	// ExcludeTargets are the group object ids of exclude targets that no
	// GroupAssignment declares.
	// +optional
	// +listType=atomic
	ExcludeTargets []string `json:"excludeTargets,omitempty"`
}

// EntraTenantStatus is the observed state of the tenant connection and policy.
type EntraTenantStatus struct {
	SyncStatus `json:",inline"`

	// Unmanaged is what Entra holds that no resource manages (under Merge), as
	// of the last sync.
	// +optional
	Unmanaged *UnmanagedSummary `json:"unmanaged,omitempty"`

	// Registration counts the tenant's users by the passkeys they have
	// registered, when spec.reporting.registration is enabled. The
	// Reporting condition says whether the last read succeeded.
	// +optional
	Registration *RegistrationCounts `json:"registration,omitempty"`
}

// EntraTenant is a Microsoft Entra tenant whose passkey policy this cluster
// manages: how to reach it and how to manage it.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=et,categories=passkeys
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Drifted",type=string,JSONPath=`.status.conditions[?(@.type=="Drifted")].status`
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenantID`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`,priority=1
type EntraTenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec declares the tenant.
	Spec EntraTenantSpec `json:"spec"`

	// Status is the observed state, written by the operator.
	// +kubebuilder:default:={"observedGeneration":-1}
	// +optional
	Status EntraTenantStatus `json:"status,omitempty"`
}

// EntraTenantList is a list of EntraTenants.
// +kubebuilder:object:root=true
type EntraTenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []EntraTenant `json:"items"`
}
