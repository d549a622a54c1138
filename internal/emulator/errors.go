package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// graphDateLayout is how Graph writes innerError.date: UTC without a zone
// designator (the SDK's JSON parser accepts exactly this form).
const graphDateLayout = "2006-01-02T15:04:05"

// graphError is a Microsoft Graph error: the HTTP status plus the code and
// message of the OData error body.
type graphError struct {
	Status  int
	Code    string
	Message string
	// InnerMessage repeats Message in innerError.message, as the passkey
	// policy service's refusals do (real traces in docs/emulator.md).
	InnerMessage bool
}

func (e *graphError) Error() string { return e.Code + ": " + e.Message }

// odataError is a request Graph's OData layer refuses before the service sees
// it (malformed JSON, unknown property, wrong type, unknown enum member).
func odataError(format string, args ...any) *graphError {
	return &graphError{Status: http.StatusBadRequest, Code: "BadRequest", Message: fmt.Sprintf(format, args...), InnerMessage: true}
}

// ruleError is a well-formed request the passkey policy service refuses.
func ruleError(format string, args ...any) *graphError {
	return &graphError{Status: http.StatusBadRequest, Code: "badRequest", Message: fmt.Sprintf(format, args...), InnerMessage: true}
}

// writeGraphError writes err in Graph's error shape:
// {"error": {"code", "message", "innerError": {["message",] "date", "request-id", "client-request-id"}}}.
// The request ids are the ones ServeHTTP already put on the response headers.
func writeGraphError(w http.ResponseWriter, now time.Time, err *graphError) {
	type innerError struct {
		Message         string `json:"message,omitempty"`
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	}
	type mainError struct {
		Code       string     `json:"code"`
		Message    string     `json:"message"`
		InnerError innerError `json:"innerError"`
	}
	body := struct {
		Error mainError `json:"error"`
	}{mainError{
		Code:    err.Code,
		Message: err.Message,
		InnerError: innerError{
			Date:            now.UTC().Format(graphDateLayout),
			RequestID:       w.Header().Get("request-id"),
			ClientRequestID: w.Header().Get("client-request-id"),
		},
	}}
	if err.InnerMessage {
		body.Error.InnerError.Message = err.Message
	}
	writeJSON(w, err.Status, body)
}

// oauthError is an error of the Entra token endpoint (RFC 6749 §5.2 plus
// Entra's AADSTS code).
type oauthError struct {
	Status      int
	Code        string // RFC 6749 error, e.g. invalid_client
	AADSTS      int
	Description string
}

func (e *oauthError) Error() string {
	return fmt.Sprintf("%s: AADSTS%d: %s", e.Code, e.AADSTS, e.Description)
}

func newOAuthError(status int, code string, aadsts int, format string, args ...any) *oauthError {
	return &oauthError{Status: status, Code: code, AADSTS: aadsts, Description: fmt.Sprintf(format, args...)}
}

// writeOAuthError writes err the way Entra does: the description starts with
// the AADSTS code and ends with trace and correlation ids and a timestamp.
func writeOAuthError(w http.ResponseWriter, now time.Time, err *oauthError) {
	traceID := w.Header().Get("request-id")
	correlationID := w.Header().Get("client-request-id")
	stamp := now.UTC().Format("2006-01-02 15:04:05Z")
	body := map[string]any{
		"error": err.Code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			err.AADSTS, err.Description, traceID, correlationID, stamp),
		"error_codes":    []int{err.AADSTS},
		"timestamp":      stamp,
		"trace_id":       traceID,
		"correlation_id": correlationID,
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, err.Status, body)
}

// writeJSON writes v as the JSON body of a response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		// Only values built in this package are written; failing to marshal
		// one is a programming error.
		panic(fmt.Sprintf("emulator: marshal response: %v", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
