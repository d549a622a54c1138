package mds_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/mds/mdstest"
)

// blobServer serves whatever BLOB (or status) it was last given, over TLS.
type blobServer struct {
	srv *httptest.Server

	mu     sync.Mutex
	blob   []byte
	status int
	hits   int
}

func newBlobServer(t *testing.T, blob []byte) *blobServer {
	b := &blobServer{blob: blob, status: http.StatusOK}
	b.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.hits++
		w.WriteHeader(b.status)
		_, _ = w.Write(b.blob)
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *blobServer) serve(status int, blob []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status, b.blob = status, blob
}

func (b *blobServer) Hits() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hits
}

// changes records OnChange calls.
type changes struct {
	mu    sync.Mutex
	calls [][2]int // old and new Number; 0 for nil
}

func (c *changes) record(old, new *mds.Catalog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, [2]int{old.Number(), new.Number()})
}

func (c *changes) get() [][2]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][2]int(nil), c.calls...)
}

// unreachable is a URL nothing listens on: port 1 on loopback refuses at
// once.
const unreachable = "https://127.0.0.1:1/"

func newSource(t *testing.T, a *mdstest.Authority, url, cache string) *mds.Source {
	return &mds.Source{
		URL:       url,
		Root:      a.RootBase64(),
		CachePath: cache,
		Log:       testr.New(t),
		RetryMin:  5 * time.Millisecond,
		RetryMax:  20 * time.Millisecond,
	}
}

// start runs s.Start until the test ends, and checks that it returns nil.
func start(t *testing.T, s *mds.Source) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start() = %v, want nil", err)
		}
	})
}

// eventually polls cond until it holds, failing the test after ten seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestLoadDownloadsCachesAndRestartsOffline(t *testing.T) {
	a := newAuthority(t)
	server := newBlobServer(t, sign(t, a, 3, sampleModels))
	cache := filepath.Join(t.TempDir(), "mds.jwt")

	s := newSource(t, a, server.srv.URL, cache)
	s.Client = server.srv.Client()
	c, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if c.Number() != 3 || c.Name(yubiKey5) != "YubiKey 5 Series" || s.Current() != c || s.LastError() != nil {
		t.Fatalf("Load() = catalog %d, Current %p, LastError %v", c.Number(), s.Current(), s.LastError())
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache written: %v", err)
	}

	// A cache younger than Refresh is used without a download.
	again := newSource(t, a, server.srv.URL, cache)
	again.Client = server.srv.Client()
	if c, err := again.Load(context.Background()); err != nil || c.Number() != 3 || server.Hits() != 1 {
		t.Fatalf("Load() with a fresh cache = %v, %v after %d downloads; want the cache, no download", c, err, server.Hits())
	}

	// A day later, without network: the cache still gives names, and
	// LastError says why it was not refreshed.
	offline := newSource(t, a, unreachable, cache)
	offline.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	c, err = offline.Load(context.Background())
	if err != nil || c.Name(yubiKey5NFC) != "YubiKey 5 Series with NFC" {
		t.Fatalf("offline Load() = %v, %v; want the cached catalog", c, err)
	}
	if err := offline.LastError(); err == nil || !strings.Contains(err.Error(), "downloading "+unreachable) {
		t.Errorf("offline LastError() = %v, want the download failure", err)
	}
}

func TestLoadWithoutCatalog(t *testing.T) {
	a := newAuthority(t)
	s := newSource(t, a, unreachable, filepath.Join(t.TempDir(), "none.jwt"))
	c, err := s.Load(context.Background())
	if c != nil || err == nil || !strings.Contains(err.Error(), "downloading "+unreachable+": ") {
		t.Fatalf("Load() = %v, %v; want no catalog and the download error", c, err)
	}
	if !errors.Is(s.LastError(), err) {
		t.Errorf("LastError() = %v, want %v", s.LastError(), err)
	}
	if s.Current() != nil {
		t.Error("a catalog without a BLOB")
	}
}

func TestLoadRefusesHTTPErrorsAndForeignBLOBs(t *testing.T) {
	a, other := newAuthority(t), newAuthority(t)
	server := newBlobServer(t, nil)
	tests := []struct {
		name   string
		status int
		blob   []byte
		want   string
	}{
		{"HTTP error", http.StatusServiceUnavailable, []byte("busy"), "HTTP 503 Service Unavailable"},
		{"foreign BLOB", http.StatusOK, sign(t, other, 9, sampleModels),
			"BLOB from " + server.srv.URL + ": the BLOB's signature chain does not lead to the configured root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server.serve(tt.status, tt.blob)
			cache := filepath.Join(t.TempDir(), "mds.jwt")
			s := newSource(t, a, server.srv.URL, cache)
			s.Client = server.srv.Client()
			if c, err := s.Load(context.Background()); c != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() = %v, %v; want an error containing %q", c, err, tt.want)
			}
			if _, err := os.Stat(cache); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused BLOB was cached (%v)", err)
			}
		})
	}
}

// A corrupt cache is ignored, and the download replaces it.
func TestCorruptCache(t *testing.T) {
	a := newAuthority(t)
	server := newBlobServer(t, sign(t, a, 5, sampleModels))
	cache := filepath.Join(t.TempDir(), "mds.jwt")
	if err := os.WriteFile(cache, []byte("half a BLOB"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSource(t, a, server.srv.URL, cache)
	s.Client = server.srv.Client()
	if c, err := s.Load(context.Background()); err != nil || c.Number() != 5 {
		t.Fatalf("Load() = %v, %v", c, err)
	}
	if c, err := mds.Parse(mustRead(t, cache), a.RootBase64()); err != nil || c.Number() != 5 {
		t.Errorf("cache after the download: %v, %v", c, err)
	}
}

func TestStartRefreshesAndReportsChanges(t *testing.T) {
	a, other := newAuthority(t), newAuthority(t)
	server := newBlobServer(t, sign(t, a, 1, sampleModels))
	cache := filepath.Join(t.TempDir(), "mds.jwt")
	var seen changes
	s := newSource(t, a, server.srv.URL, cache)
	s.Client = server.srv.Client()
	s.Refresh = 5 * time.Millisecond
	s.OnChange = seen.record
	start(t, s)

	eventually(t, "the first catalog", func() bool { return len(seen.get()) == 1 })

	// A new BLOB with one more model: one change from 1 to 2.
	solo := mds.Model{AAGUID: "8876631b-d4a0-427f-5773-0ec71c9e0279", Name: "Solo Secp256R1 FIDO2 CTAP2 Authenticator"}
	server.serve(http.StatusOK, sign(t, a, 2, append(sampleModels[:len(sampleModels):len(sampleModels)], solo)))
	eventually(t, "the second catalog", func() bool { return s.Current().Number() == 2 })
	if got := s.Current().Resolve("Solo*"); len(got) != 1 || got[0] != solo {
		t.Errorf("Resolve(Solo*) = %v", got)
	}

	// A BLOB that fails verification keeps the catalog and the cache, and
	// says why; downloads go on.
	forged, err := other.Forge(a, 3, nextUpdate, nil)
	if err != nil {
		t.Fatal(err)
	}
	server.serve(http.StatusOK, forged)
	eventually(t, "the refusal", func() bool { return s.LastError() != nil })
	if msg := s.LastError().Error(); !strings.Contains(msg, "signature does not match") {
		t.Errorf("LastError() = %q", msg)
	}
	if s.Current().Number() != 2 {
		t.Errorf("Current() = %d after a forged BLOB, want 2", s.Current().Number())
	}
	if c, err := mds.Parse(mustRead(t, cache), a.RootBase64()); err != nil || c.Number() != 2 {
		t.Errorf("cache after a forged BLOB: %v, %v", c, err)
	}

	// An older BLOB is refused too (serial numbers only grow).
	server.serve(http.StatusOK, sign(t, a, 1, sampleModels))
	eventually(t, "the refusal of an older BLOB", func() bool {
		err := s.LastError()
		return err != nil && strings.Contains(err.Error(), "older than the catalog in use (2)")
	})

	// The same BLOB again and again changes nothing.
	server.serve(http.StatusOK, sign(t, a, 2, append(sampleModels[:len(sampleModels):len(sampleModels)], solo)))
	eventually(t, "a good download", func() bool { return s.LastError() == nil })
	hits := server.Hits()
	eventually(t, "more downloads", func() bool { return server.Hits() >= hits+3 })
	if got := seen.get(); len(got) != 2 || got[0] != [2]int{0, 1} || got[1] != [2]int{1, 2} {
		t.Errorf("OnChange calls (old, new number) = %v, want [[0 1] [1 2]]", got)
	}
}

// A download that fails at start does not stop Start: it retries and loads
// the catalog once the server answers.
func TestStartRetriesAfterFailures(t *testing.T) {
	a := newAuthority(t)
	server := newBlobServer(t, nil)
	server.serve(http.StatusInternalServerError, nil)
	s := newSource(t, a, server.srv.URL, "")
	s.Client = server.srv.Client()
	start(t, s)

	eventually(t, "three failed downloads", func() bool { return server.Hits() >= 3 })
	if s.Current() != nil || s.LastError() == nil {
		t.Fatalf("Current %v, LastError %v after failures", s.Current(), s.LastError())
	}
	server.serve(http.StatusOK, sign(t, a, 4, sampleModels))
	eventually(t, "the catalog", func() bool { return s.Current().Number() == 4 })
	if s.LastError() != nil {
		t.Errorf("LastError() = %v after a good download", s.LastError())
	}
}

// With a long Refresh, the download comes when the cached BLOB's nextUpdate
// passes, not at start.
func TestStartRefetchesAtNextUpdate(t *testing.T) {
	a := newAuthority(t)
	// The clock runs from 50ms before nextUpdate; the cache was written
	// then.
	base, began := nextUpdate.Add(-50*time.Millisecond), time.Now()
	cache := filepath.Join(t.TempDir(), "mds.jwt")
	if err := os.WriteFile(cache, sign(t, a, 1, sampleModels), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(cache, base, base); err != nil {
		t.Fatal(err)
	}
	next, err := a.Sign(2, nextUpdate.AddDate(0, 0, 1), sampleModels)
	if err != nil {
		t.Fatal(err)
	}
	server := newBlobServer(t, next)
	s := newSource(t, a, server.srv.URL, cache)
	s.Client = server.srv.Client()
	s.Refresh = time.Hour
	s.Now = func() time.Time { return base.Add(time.Since(began)) }
	start(t, s)

	eventually(t, "the download at nextUpdate", func() bool { return s.Current().Number() == 2 })
	if server.Hits() != 1 {
		t.Errorf("%d downloads, want 1: the fresh cache needs none before nextUpdate", server.Hits())
	}
	if s.Current().Stale(s.Now()) {
		t.Error("the BLOB fetched at nextUpdate is stale")
	}
}

// A stale BLOB (nextUpdate passed) is still used.
func TestStaleBLOBIsUsed(t *testing.T) {
	a := newAuthority(t)
	old := time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC)
	blob, err := a.Sign(1, old, sampleModels)
	if err != nil {
		t.Fatal(err)
	}
	server := newBlobServer(t, blob)
	s := newSource(t, a, server.srv.URL, "")
	s.Client = server.srv.Client()
	c, err := s.Load(context.Background())
	if err != nil || !c.Stale(time.Now()) || c.Name(yubiKey5) == "" {
		t.Errorf("Load() of a stale BLOB = %v, %v", c, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
