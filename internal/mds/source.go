package mds

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-webauthn/webauthn/metadata"
)

// MaxBlobSize caps a download and a cache read. The production BLOB is a
// few MB; a bound keeps a broken or hostile server from filling memory.
const MaxBlobSize = 64 << 20

// Defaults of Source's settings.
const (
	DefaultRefresh  = 24 * time.Hour
	DefaultRetryMin = time.Minute
	DefaultRetryMax = time.Hour
	// defaultTimeout bounds one download: a few MB over a slow proxy.
	defaultTimeout = 2 * time.Minute
)

// Source keeps a Catalog current: it loads the last verified BLOB from
// CachePath, downloads the BLOB from URL, verifies it, installs it and
// caches it. Set its fields before Start or Load and do not change them
// after; the zero value (plus a Log) fetches the production MDS daily
// without a cache.
//
// A BLOB that fails verification is never installed or cached, and a
// failed download or verification keeps the catalog in use.
type Source struct {
	// URL of the BLOB; metadata.ProductionMDSURL when empty.
	URL string
	// Root is the trust anchor, a base64 DER certificate (RootFromPEM
	// converts a PEM file); metadata.ProductionMDSRoot when empty.
	Root string
	// CachePath is a file that keeps the last verified BLOB, so that a
	// manager that restarts without network still has names. Empty: no
	// cache.
	CachePath string
	// Refresh is how often to download; DefaultRefresh when zero. The
	// download comes sooner when the BLOB's nextUpdate passes first.
	Refresh time.Duration
	// RetryMin and RetryMax bound the wait after a failed download, which
	// doubles from RetryMin up to RetryMax; DefaultRetryMin and
	// DefaultRetryMax when zero.
	RetryMin, RetryMax time.Duration
	// Client downloads the BLOB; one with a two-minute timeout when nil.
	Client *http.Client
	// Log receives one line per load or failure; never the BLOB.
	Log logr.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OnChange, when set, is called after a newly verified catalog was
	// installed that differs from the one before (in serial number or in
	// models), with the old (nil for the first) and the new. It runs on the
	// goroutine that loaded the catalog, during the load: it should return
	// quickly and must not call Load.
	OnChange func(old, new *Catalog)

	// loadMu makes loads one at a time, so that OnChange sees them in order.
	loadMu sync.Mutex

	mu      sync.Mutex // guards the fields below
	current *Catalog
	lastErr error
}

// Current returns the catalog in use; nil until one is loaded.
func (s *Source) Current() *Catalog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current
}

// LastError returns why the last load or download failed, or nil when it
// succeeded (or none was tried). With Current nil it says why there is no
// catalog; with a catalog, why it was not refreshed.
func (s *Source) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// NeedLeaderElection tells the controller-runtime manager to run the
// Source on every replica, so that a new leader has names at once.
func (s *Source) NeedLeaderElection() bool { return false }

// Start keeps the catalog current until ctx is done; it is a
// controller-runtime manager.Runnable. It loads the cache, then downloads
// when the cached BLOB is older than Refresh (or past its nextUpdate), then
// at every Refresh. A failed download is logged and retried after RetryMin,
// doubling up to RetryMax; it never stops the manager, so Start returns
// nil.
func (s *Source) Start(ctx context.Context) error {
	due := s.loadCache()
	retry := s.retryMin()
	for {
		if !s.sleepUntil(ctx, due) {
			return nil
		}
		if err := s.download(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.Log.Error(err, "Could not refresh the authenticator catalog; keeping the one in use",
				"url", s.url(), "loaded", s.Current().Loaded(), "retryIn", retry)
			due = s.now().Add(retry)
			retry = min(retry*2, s.retryMax())
			continue
		}
		retry = s.retryMin()
		due = s.nextDue(s.Current(), s.now())
	}
}

// Load loads the catalog once, for a command-line tool: from the cache when
// it is younger than Refresh and not past its nextUpdate, else by a
// download. When the download fails but the cache gave a catalog, Load
// returns that catalog and LastError tells the failure; the error is set
// only when there is no catalog at all.
func (s *Source) Load(ctx context.Context) (*Catalog, error) {
	due := s.loadCache()
	if c := s.Current(); c != nil && s.now().Before(due) {
		return c, nil
	}
	if err := s.download(ctx); err != nil {
		if c := s.Current(); c != nil {
			return c, nil
		}
		return nil, err
	}
	return s.Current(), nil
}

// loadCache installs the cached BLOB when it verifies and returns when the
// next download is due: now when there is no usable cache.
func (s *Source) loadCache() time.Time {
	now := s.now()
	if s.CachePath == "" {
		return now
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	blob, modTime, err := readCache(s.CachePath)
	if errors.Is(err, fs.ErrNotExist) {
		s.Log.Info("No cached authenticator catalog yet", "path", s.CachePath)
		return now
	}
	var c *Catalog
	if err == nil {
		c, err = Parse(blob, s.Root)
	}
	if err != nil {
		err = fmt.Errorf("cached BLOB %s: %w", s.CachePath, err)
		s.Log.Error(err, "Ignoring the cached authenticator catalog")
		s.setError(err)
		return now
	}
	if err := s.install(c, "cache"); err != nil {
		// A newer catalog is in use already.
		return now
	}
	// A cache dated in the future (a clock set back) must not postpone the
	// next download.
	if modTime.After(now) {
		modTime = now
	}
	return s.nextDue(c, modTime)
}

// download fetches, verifies and installs the BLOB, then caches it.
func (s *Source) download(ctx context.Context) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	blob, err := s.fetch(ctx)
	var c *Catalog
	if err == nil {
		if c, err = Parse(blob, s.Root); err != nil {
			err = fmt.Errorf("BLOB from %s: %w", s.url(), err)
		}
	}
	if err == nil {
		err = s.install(c, s.url())
	}
	if err != nil {
		s.setError(err)
		return err
	}
	if s.CachePath != "" {
		if err := writeCache(s.CachePath, blob, s.now()); err != nil {
			s.Log.Error(err, "Could not cache the authenticator catalog; it is in use all the same", "path", s.CachePath)
		}
	}
	return nil
}

// fetch downloads the BLOB.
func (s *Source) fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url(), nil)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", s.url(), err)
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: defaultTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		// url.Error repeats the method and URL, which the message has.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("downloading %s: %w", s.url(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading %s: HTTP %s", s.url(), resp.Status)
	}
	blob, err := readLimited(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", s.url(), err)
	}
	return blob, nil
}

// install makes c the catalog in use unless it is older than the one in
// use (serial numbers only grow: the MDS processing rules ignore a BLOB
// whose number is not above the last one), then tells OnChange if it
// differs. One with the same number and models still replaces the old, for
// its nextUpdate.
func (s *Source) install(c *Catalog, from string) error {
	s.mu.Lock()
	old := s.current
	if old != nil && c.Number() < old.Number() {
		s.mu.Unlock()
		return fmt.Errorf("the BLOB from %s has serial number %d, older than the catalog in use (%d)",
			from, c.Number(), old.Number())
	}
	s.current, s.lastErr = c, nil
	s.mu.Unlock()

	if old != nil && c.Number() == old.Number() && slices.Equal(c.models, old.models) {
		s.Log.V(1).Info("Authenticator catalog unchanged", "from", from, "number", c.Number())
		return nil
	}
	s.Log.Info("Authenticator catalog loaded", "from", from, "number", c.Number(), "models", c.Len(),
		"nextUpdate", c.NextUpdate().Format(time.DateOnly), "stale", c.Stale(s.now()))
	if s.OnChange != nil {
		s.OnChange(old, c)
	}
	return nil
}

func (s *Source) setError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastErr = err
}

// nextDue is when to download again after c was verified at: after
// Refresh, or when c's nextUpdate passes if that is sooner.
func (s *Source) nextDue(c *Catalog, at time.Time) time.Time {
	due := at.Add(s.refresh())
	if next := c.NextUpdate(); next.After(at) && next.Before(due) {
		due = next
	}
	return due
}

// sleepUntil waits until due by the Source's clock; false when ctx ended
// first.
func (s *Source) sleepUntil(ctx context.Context, due time.Time) bool {
	d := due.Sub(s.now())
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Source) url() string { return cmp.Or(s.URL, metadata.ProductionMDSURL) }

func (s *Source) refresh() time.Duration  { return cmp.Or(s.Refresh, DefaultRefresh) }
func (s *Source) retryMin() time.Duration { return cmp.Or(s.RetryMin, DefaultRetryMin) }
func (s *Source) retryMax() time.Duration { return cmp.Or(s.RetryMax, DefaultRetryMax) }

func (s *Source) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// readLimited reads r whole, refusing more than MaxBlobSize.
func readLimited(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxBlobSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxBlobSize {
		return nil, fmt.Errorf("the BLOB is larger than %d MiB", MaxBlobSize>>20)
	}
	return b, nil
}

// readCache returns the cached BLOB and when it was written.
func readCache(path string) ([]byte, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	blob, err := readLimited(f)
	return blob, info.ModTime(), err
}

// writeCache replaces the cache file atomically (a reader sees the old BLOB
// or the new one, never half of one) and dates it at, which tells the next
// start how old the BLOB is.
func writeCache(path string, blob []byte, at time.Time) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write the cache: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	_, err = tmp.Write(blob)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(tmp.Name(), at, at)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write the cache: %w", err)
	}
	return nil
}
