package entra

import (
	"net/http"
	"testing"
	"time"
)

// The bound on inline retries must model the waits kiota-http-go v1.5
// chooses (retry_handler.go: getRetryDelay, exponentialBackOffDelay), or
// the total could pass MaxInlineRetryWait.
func TestNextRetryDelay(t *testing.T) {
	for _, tc := range []struct {
		retryAfter string
		attempt    int
		want       time.Duration
	}{
		{"", 1, 4 * time.Second},  // 3 s + up to 1 s of jitter
		{"", 2, 7 * time.Second},  // 6 s + jitter
		{"", 3, 13 * time.Second}, // 12 s + jitter
		{"5", 1, 5 * time.Second},
		{"5", 3, 5 * time.Second},
	} {
		resp := &http.Response{Header: http.Header{}}
		if tc.retryAfter != "" {
			resp.Header.Set("Retry-After", tc.retryAfter)
		}
		if got := nextRetryDelay(resp, tc.attempt); got != tc.want {
			t.Errorf("Retry-After %q, attempt %d: %v, want %v", tc.retryAfter, tc.attempt, got, tc.want)
		}
	}
}
