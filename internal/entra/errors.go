package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Class is what the controller should make of an error: retry soon, back
// off, or stop until something changes.
type Class int

const (
	// ClassUnknown is an error none of the rules below recognise (and nil).
	ClassUnknown Class = iota
	// ClassThrottled is a 429: retry after RetryAfter.
	ClassThrottled
	// ClassTransient is a failure that retrying may cure: 5xx (a 503 carries
	// RetryAfter), 408, a network error, a dropped connection, a timeout.
	ClassTransient
	// ClassAuth is Entra refusing the credential (a 401 from Graph, a wrong
	// secret, an unregistered certificate or federated identity, an unknown
	// tenant) or a credential that cannot work here (no managed identity).
	ClassAuth
	// ClassForbidden is a 403: the application lacks a Graph permission;
	// the error says which one to grant. Or the tenant lacks the licence
	// the request needs: IsPremiumRequired tells.
	ClassForbidden
	// ClassInvalid is a 400 or another 4xx: Graph refused the request,
	// usually the policy document.
	ClassInvalid
	// ClassNotFound is a 404, such as an unknown group id.
	ClassNotFound
	// ClassConfig is a TenantConfig the client cannot be built from
	// (ErrInvalidConfig): nothing was sent.
	ClassConfig
)

var classNames = [...]string{
	ClassUnknown:   "Unknown",
	ClassThrottled: "Throttled",
	ClassTransient: "Transient",
	ClassAuth:      "Auth",
	ClassForbidden: "Forbidden",
	ClassInvalid:   "Invalid",
	ClassNotFound:  "NotFound",
	ClassConfig:    "Config",
}

func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Classify sorts an error from this package (a Client method or
// Clients.Get) into a Class.
func Classify(err error) Class {
	if err == nil {
		return ClassUnknown
	}
	if errors.Is(err, ErrInvalidConfig) {
		return ClassConfig
	}
	if ge, ok := AsGraphError(err); ok {
		return classifyStatus(ge.StatusCode)
	}
	var authErr *azidentity.AuthenticationFailedError
	if errors.As(err, &authErr) {
		if authErr.RawResponse == nil {
			// Entra did not answer: azidentity keeps only the text of what
			// failed, which is nearly always an unreachable or slow token
			// endpoint.
			return ClassTransient
		}
		if c := classifyStatus(authErr.RawResponse.StatusCode); c == ClassThrottled || c == ClassTransient {
			return c
		}
		return ClassAuth
	}
	// azidentity marks the errors that retrying cannot fix, among them
	// "credential unavailable" (no managed identity on this host).
	var nonRetriable interface{ NonRetriable() }
	if errors.As(err, &nonRetriable) {
		return ClassAuth
	}
	// No response from Graph: a refused or dropped connection, a timeout, a
	// deadline that expired while Graph was slow.
	var urlErr *url.Error
	var netErr net.Error
	if errors.As(err, &urlErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ClassTransient
	}
	return ClassUnknown
}

func classifyStatus(code int) Class {
	switch {
	case code == http.StatusTooManyRequests:
		return ClassThrottled
	case code == http.StatusUnauthorized:
		return ClassAuth
	case code == http.StatusForbidden:
		return ClassForbidden
	case code == http.StatusNotFound:
		return ClassNotFound
	case code == http.StatusRequestTimeout || code >= 500:
		return ClassTransient
	case code >= 400:
		return ClassInvalid
	}
	return ClassUnknown
}

// codeNotPremium is Graph's answer to a request for a report that needs
// Microsoft Entra ID P1 or P2 in a tenant without it.
const codeNotPremium = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"

// IsPremiumRequired reports whether err is Graph refusing a request
// because the tenant lacks Microsoft Entra ID P1 or P2 (a 403 of
// ClassForbidden that no permission cures).
func IsPremiumRequired(err error) bool {
	ge, ok := AsGraphError(err)
	return ok && ge.StatusCode == http.StatusForbidden && ge.Code == codeNotPremium
}

// RetryAfter is the Retry-After that came with err's response (Graph's, or
// Entra's token endpoint's), 0 when there was none. The SDK has already
// waited it out up to three times when a Client method returns.
func RetryAfter(err error) time.Duration {
	if ge, ok := AsGraphError(err); ok {
		return ge.RetryAfter
	}
	var authErr *azidentity.AuthenticationFailedError
	if errors.As(err, &authErr) && authErr.RawResponse != nil {
		return parseRetryAfter(authErr.RawResponse.Header.Get("Retry-After"))
	}
	return 0
}

// describedError gives err a one-line message for people (conditions,
// events) while keeping err in the chain for Classify and AsGraphError.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// describe words err from the SDKs. Their own texts will not do: an
// ODataError's Error() dereferences a nil pointer when the body held no
// error object, and an AuthenticationFailedError's runs to twenty lines.
// permission is what a 403 asks to grant. No SDK text here quotes a
// secret, an assertion or a token.
func describe(err error, permission string) error {
	var msg string
	var authErr *azidentity.AuthenticationFailedError
	if ge, ok := AsGraphError(err); ok {
		msg = describeGraphError(ge)
		if IsPremiumRequired(err) {
			msg += "; the tenant needs a Microsoft Entra ID P1 or P2 licence"
		} else if ge.StatusCode == http.StatusForbidden {
			msg += "; grant the application the Microsoft Graph application permission " + permission + " (with admin consent)"
		}
	} else if errors.As(err, &authErr) && authErr.RawResponse != nil {
		msg = "signing in to Entra failed: " + describeSignInError(authErr.RawResponse)
	} else {
		// Some azidentity messages span lines ("server response error:\n
		// context deadline exceeded"); a condition message should not.
		msg = strings.Join(strings.Fields(err.Error()), " ")
	}
	return &describedError{msg: msg, err: err}
}

func describeGraphError(ge GraphError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Graph answered %d", ge.StatusCode)
	if ge.Code != "" {
		b.WriteString(" " + ge.Code)
	}
	if ge.Message != "" {
		b.WriteString(": " + ge.Message)
	}
	if ge.RequestID != "" {
		b.WriteString(" (request-id " + ge.RequestID + ")")
	}
	return b.String()
}

// requestIDNote is what describeGraphError adds for Graph's request id.
var requestIDNote = regexp.MustCompile(` \(request-id [^)]*\)`)

// SameFailure reports whether two messages of this package's errors tell of
// the same failure: equal but for Graph's request ids, which differ on every
// attempt even when nothing else does.
func SameFailure(a, b string) bool {
	return requestIDNote.ReplaceAllString(a, "") == requestIDNote.ReplaceAllString(b, "")
}

// describeSignInError reads Entra's OAuth error body: "error" and the
// first line of "error_description" (the others are trace and correlation
// ids and a timestamp).
func describeSignInError(resp *http.Response) string {
	msg := resp.Status
	body, err := runtime.Payload(resp)
	if err != nil {
		return msg
	}
	// OAuth endpoints answer {"error","error_description"}; App Service's
	// managed identity endpoint answers {"statusCode","message"}.
	var signInErr struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"`
	}
	if json.Unmarshal(body, &signInErr) != nil {
		return msg
	}
	switch {
	case signInErr.Error != "":
		msg = fmt.Sprintf("%d %s", resp.StatusCode, signInErr.Error)
		if first, _, _ := strings.Cut(signInErr.Description, "\n"); first != "" {
			msg += ": " + strings.TrimSpace(first)
		}
	case signInErr.Message != "":
		first, _, _ := strings.Cut(signInErr.Message, "\n")
		msg += ": " + strings.TrimSpace(first)
	}
	return msg
}
