package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	kiotaauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// PublicGraphEndpoint is Microsoft Graph in the public cloud.
const PublicGraphEndpoint = "https://graph.microsoft.com"

const fido2URLTemplate = "{+baseurl}/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2"

// preferUnknownEnumMembers asks Graph for enum members added after
// unknownFutureValue by name.
const preferUnknownEnumMembers = "include-unknown-enum-members"

// errorMapping turns every 4xx and 5xx response into the SDK's
// *odataerrors.ODataError, as the generated request builders do.
var errorMapping = abstractions.ErrorMappings{"XXX": odataerrors.CreateODataErrorFromDiscriminatorValue}

var registerJSONSerialization sync.Once

// AdapterOptions configure NewGraphRequestAdapter.
type AdapterOptions struct {
	// GraphEndpoint is Graph's origin without the version, e.g.
	// PublicGraphEndpoint (the default), a national cloud, or an emulator.
	// Tokens are requested for "<GraphEndpoint>/.default".
	GraphEndpoint string
	// HTTPClient carries the transport (for example one trusting a private
	// CA) and timeout; the SDK's middleware (retry, redirect, telemetry,
	// ...) is layered on top of its transport. nil uses the defaults.
	HTTPClient *http.Client
}

// NewGraphRequestAdapter returns the Graph SDK's request adapter for Graph
// v1.0 at opts.GraphEndpoint, authenticating with cred.
//
// It is msgraph-sdk-go-core's GraphRequestAdapterBase, which is all that
// msgraph-sdk-go's GraphRequestAdapter wraps: same middleware, same
// behaviour. Importing msgraph-sdk-go's root package would compile every
// request builder of Graph (about 75 packages, 190 MB of source) for nothing.
// The adapter also serves msgraphsdk.NewGraphServiceClient should a caller
// need the SDK's own request builders.
func NewGraphRequestAdapter(cred azcore.TokenCredential, opts AdapterOptions) (*msgraphgocore.GraphRequestAdapterBase, error) {
	endpoint := strings.TrimSuffix(opts.GraphEndpoint, "/")
	if endpoint == "" {
		endpoint = PublicGraphEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, fmt.Errorf("graph endpoint %q is not an https URL", opts.GraphEndpoint)
	}
	registerJSONSerialization.Do(func() {
		// What msgraph-sdk-go's service client registers; the adapter finds
		// its (de)serializers for application/json in these registries.
		abstractions.RegisterDefaultSerializer(func() serialization.SerializationWriterFactory {
			return jsonserialization.NewJsonSerializationWriterFactory()
		})
		abstractions.RegisterDefaultDeserializer(func() serialization.ParseNodeFactory {
			return jsonserialization.NewJsonParseNodeFactory()
		})
	})
	// The token provider only attaches tokens to requests for these hosts
	// (host names, without ports).
	auth, err := kiotaauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		cred, []string{endpoint + "/.default"}, []string{u.Hostname()})
	if err != nil {
		return nil, fmt.Errorf("graph authentication provider: %w", err)
	}

	// No service-library version: the telemetry header then names only
	// msgraph-sdk-go-core, which is the code actually in use.
	clientOptions := msgraphgocore.GraphClientOptions{}
	middleware := withBoundedRetries(withoutCompression(msgraphgocore.GetDefaultMiddlewaresWithOptions(&clientOptions)))
	httpClient := &http.Client{Timeout: 100 * time.Second}
	var base http.RoundTripper
	if opts.HTTPClient != nil {
		base = opts.HTTPClient.Transport
		if opts.HTTPClient.Timeout > 0 {
			httpClient.Timeout = opts.HTTPClient.Timeout
		}
	}
	httpClient.Transport = khttp.NewCustomTransportWithParentTransport(base, middleware...)
	// The SDK's redirect middleware follows redirects itself.
	httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	adapter, err := msgraphgocore.NewGraphRequestAdapterBaseWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		auth, clientOptions, nil, nil, httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph request adapter: %w", err)
	}
	adapter.SetBaseUrl(endpoint + "/v1.0")
	return adapter, nil
}

// withoutCompression drops the request-body compression middleware. In
// kiota-http-go v1.5.4 a request the retry handler resends after a 429 or
// 503 goes out with its uncompressed body still labelled
// "Content-Encoding: gzip" (kiota-http-go issue 183), which Graph refuses.
// The passkey policy is under 20 KB, so compression gains nothing anyway.
func withoutCompression(middleware []khttp.Middleware) []khttp.Middleware {
	out := middleware[:0:0]
	for _, m := range middleware {
		if _, isCompression := m.(*khttp.CompressionHandler); !isCompression {
			out = append(out, m)
		}
	}
	return out
}

// MaxInlineRetryWait bounds how long the SDK's retry handler may wait, in
// total, inside one request. Its own bound is three minutes of Retry-After,
// during which a reconcile worker would be blocked; beyond this one the
// throttled response comes back as an error, and the reconciler requeues
// the tenant after Retry-After without holding a worker.
const MaxInlineRetryWait = 10 * time.Second

// The retry handler's settings, as kiota-http-go's defaults.
const (
	retryMaxRetries   = 3
	retryDelaySeconds = 3
)

// withBoundedRetries replaces the SDK's retry handler with one that retries
// as before (429, 503, 504; three times; Retry-After or a growing delay)
// but gives up when the next wait would take the total beyond
// MaxInlineRetryWait.
func withBoundedRetries(middleware []khttp.Middleware) []khttp.Middleware {
	out := slices.Clone(middleware)
	for i, m := range out {
		if _, isRetry := m.(*khttp.RetryHandler); isRetry {
			out[i] = khttp.NewRetryHandlerWithOptions(khttp.RetryHandlerOptions{
				MaxRetries:   retryMaxRetries,
				DelaySeconds: retryDelaySeconds,
				ShouldRetry: func(waited time.Duration, attempt int, _ *http.Request, resp *http.Response) bool {
					return waited+nextRetryDelay(resp, attempt+1) <= MaxInlineRetryWait
				},
			})
		}
	}
	return out
}

// nextRetryDelay is the longest wait the retry handler may choose before
// retry number attempt: Retry-After when the response has one, else
// kiota-http-go's exponentialBackOffDelay, retryDelaySeconds doubled per
// attempt (3, 6, 12 s) plus a jitter of up to a second, counted in full.
func nextRetryDelay(resp *http.Response, attempt int) time.Duration {
	if d := parseRetryAfter(resp.Header.Get("Retry-After")); d > 0 {
		return d
	}
	return time.Duration(retryDelaySeconds<<(attempt-1))*time.Second + time.Second
}

// GetFido2Configuration reads the tenant's passkey (FIDO2) policy.
// It needs Policy.Read.AuthenticationMethod.
func GetFido2Configuration(ctx context.Context, adapter abstractions.RequestAdapter) (*Fido2Configuration, error) {
	cfg, err := getFido2(ctx, adapter)
	if err != nil {
		return nil, fmt.Errorf("get fido2 configuration: %w", err)
	}
	return cfg, nil
}

// getFido2 is GetFido2Configuration without the error context, which the
// callers add.
func getFido2(ctx context.Context, adapter abstractions.RequestAdapter) (*Fido2Configuration, error) {
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.GET, fido2URLTemplate, map[string]string{})
	req.Headers.TryAdd("Accept", "application/json")
	// Graph's evolvable enums show a member added since the client's view of
	// them as unknownFutureValue unless asked for the real names. The model
	// keeps any member it reads and a PATCH sends it back, so it must read
	// the real one: sending unknownFutureValue back is not "unchanged".
	req.Headers.TryAdd("Prefer", preferUnknownEnumMembers)
	res, err := adapter.Send(ctx, req, CreateFido2ConfigurationFromDiscriminatorValue, errorMapping)
	if err != nil {
		return nil, err
	}
	cfg, ok := res.(*Fido2Configuration)
	if !ok || cfg == nil {
		return nil, errors.New("empty response")
	}
	return cfg, nil
}

// PatchFido2Configuration updates the tenant's passkey (FIDO2) policy with
// the properties cfg sets (see Fido2Configuration for what is sent). It needs
// Policy.ReadWrite.AuthenticationMethod.
func PatchFido2Configuration(ctx context.Context, adapter abstractions.RequestAdapter, cfg *Fido2Configuration) error {
	if err := patchFido2(ctx, adapter, cfg); err != nil {
		return fmt.Errorf("patch fido2 configuration: %w", err)
	}
	return nil
}

// patchFido2 is PatchFido2Configuration without the error context, which
// the callers add.
func patchFido2(ctx context.Context, adapter abstractions.RequestAdapter, cfg *Fido2Configuration) error {
	req := abstractions.NewRequestInformationWithMethodAndUrlTemplateAndPathParameters(abstractions.PATCH, fido2URLTemplate, map[string]string{})
	req.Headers.TryAdd("Accept", "application/json")
	if err := req.SetContentFromParsable(ctx, adapter, "application/json", cfg); err != nil {
		return fmt.Errorf("serialize: %w", err)
	}
	return adapter.SendNoContent(ctx, req, errorMapping)
}

// GraphError is what a failed Graph call reported.
type GraphError struct {
	StatusCode int
	Code       string
	Message    string
	RequestID  string
	// RetryAfter is the response's Retry-After, 0 when absent.
	RetryAfter time.Duration
}

// AsGraphError extracts the Graph error from err (as returned by the
// functions above, after the SDK's own retries), if there is one.
func AsGraphError(err error) (GraphError, bool) {
	var apiErr abstractions.ApiErrorable
	if !errors.As(err, &apiErr) {
		return GraphError{}, false
	}
	ge := GraphError{StatusCode: apiErr.GetStatusCode()}
	if h := apiErr.GetResponseHeaders(); h != nil {
		if v := h.Get("request-id"); len(v) > 0 {
			ge.RequestID = v[0]
		}
		if v := h.Get("Retry-After"); len(v) > 0 {
			ge.RetryAfter = parseRetryAfter(v[0])
		}
	}
	var odataErr *odataerrors.ODataError
	if errors.As(err, &odataErr) {
		if main := odataErr.GetErrorEscaped(); main != nil {
			ge.Code = deref(main.GetCode())
			ge.Message = deref(main.GetMessage())
		}
	}
	return ge, true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
