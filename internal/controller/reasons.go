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
	// ReasonAuthenticatorsChanged: a new authenticator catalog changed what
	// a profile's authenticator names select (an event, not a condition).
	ReasonAuthenticatorsChanged = "AuthenticatorsChanged"
)

// Reasons of the Reporting condition: a report read, or why it was not.
// None of them touches Ready.
const (
	ReasonReportRead        = "ReportRead"
	ReasonMissingPermission = "MissingPermission"
	ReasonLicenseRequired   = "LicenseRequired"
	ReasonReadFailed        = "ReadFailed"
)
