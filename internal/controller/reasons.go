package controller

// Reasons the controller itself decides, besides the policy package's.
const (
	ReasonSucceeded           = "Succeeded"
	ReasonApplied             = "Applied"
	ReasonDriftDetected       = "DriftDetected"
	ReasonSuspended           = "Suspended"
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	ReasonTenantNotFound      = "TenantNotFound"
	ReasonCredentialsInvalid  = "CredentialsInvalid"
	ReasonGraphUnavailable    = "GraphUnavailable"
	ReasonThrottled           = "Throttled"
	ReasonForbidden           = "Forbidden"
	ReasonRefusedByEntra      = "RefusedByEntra"
	ReasonNotPersisted        = "NotPersisted"
	ReasonInUse               = "InUse"
)
