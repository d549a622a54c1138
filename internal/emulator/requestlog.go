package emulator

import (
	"net/http"
	"slices"
	"time"
)

// RequestRecord is one Graph request a tenant received, for tests that
// must know what happened when: whether a portal edit fell between a
// client's read and its write, how often a client polls.
type RequestRecord struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Status is the status answered; 0 for a dropped connection.
	Status int `json:"status"`
	// Start is when the request arrived, End when its answer was written
	// (or the connection dropped); injected latency lies in between.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Version is, for a fido2 GET answered 200, the policy version it read,
	// and for a fido2 PATCH answered 204, the version it wrote; 0 otherwise.
	// Versions order reads and writes exactly, where times only bound them.
	Version uint64 `json:"version,omitempty"`
}

// maxRequestRecords bounds each tenant's request log; the oldest records go
// first. Ten thousand is hours of a client polling every few seconds.
const maxRequestRecords = 10000

// setVersion records the policy version a fido2 request read or wrote.
func setVersion(r *http.Request, v uint64) {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		info.version = v
	}
}

// recordRequest adds a Graph request to its tenant's log.
func (e *Emulator) recordRequest(tenantID string, rec RequestRecord) {
	_ = e.withTenant(tenantID, func(tn *tenant) error {
		if len(tn.requests) >= maxRequestRecords {
			tn.requests = slices.Delete(tn.requests, 0, len(tn.requests)-maxRequestRecords+1)
		}
		tn.requests = append(tn.requests, rec)
		return nil
	})
}

// Requests returns a tenant's Graph requests (token requests are not Graph
// requests), oldest first, at most the last ten thousand; Reset does not
// forget them.
func (e *Emulator) Requests(tenantID string) ([]RequestRecord, error) {
	var out []RequestRecord
	err := e.withTenant(tenantID, func(tn *tenant) error {
		out = slices.Clone(tn.requests)
		return nil
	})
	return out, err
}
