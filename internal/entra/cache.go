package entra

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"net/http"
	"sync"

	khttp "github.com/microsoft/kiota-http-go"
)

// Clients keeps one Client per tenant, so each tenant's credential and its
// cached access token live from one reconcile to the next. It is safe for
// concurrent use.
type Clients struct {
	opts ClientOptions

	mu      sync.Mutex
	clients map[string]cachedClient // by TenantConfig.Name
}

type cachedClient struct {
	fingerprint [sha256.Size]byte
	client      *Client
}

// NewClients returns an empty cache whose clients are built with opts.
// Without opts.HTTPClient, every tenant's client shares one transport:
// tenants reach the same sign-in and Graph hosts, so one connection pool
// (HTTP/2, multiplexed) serves them all, where a transport per tenant would
// keep an idle TLS connection, and its buffers, open for each of thousands.
func NewClients(opts ClientOptions) *Clients {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: khttp.GetDefaultTransport()}
	}
	return &Clients{opts: opts, clients: map[string]cachedClient{}}
}

// Get returns the client for cfg.Name, building a new one when cfg differs
// in any way (a rotated Secret included) from the config the cached one was
// built from; the old one is dropped. A config that cannot be built drops
// the cached client too: it no longer matches the tenant.
func (cs *Clients) Get(cfg TenantConfig) (*Client, error) {
	if cfg.Name == "" {
		return nil, fmt.Errorf("tenant %s: %w: no name", cfg.label(), ErrInvalidConfig)
	}
	fp := cfg.fingerprint()

	// Building holds the lock: it is quick and local (no network), and no
	// two callers then build the same client.
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cached, ok := cs.clients[cfg.Name]; ok && cached.fingerprint == fp {
		return cached.client, nil
	}
	c, err := NewClient(cfg, cs.opts)
	if err != nil {
		delete(cs.clients, cfg.Name)
		return nil, err
	}
	cs.clients[cfg.Name] = cachedClient{fingerprint: fp, client: c}
	return c, nil
}

// Forget drops a tenant's client, and with it the access token its
// credential caches: for a tenant that is gone, or one whose token lacks
// what it needs, since Entra puts application permissions in the token and a
// permission granted since it was issued shows only in a new one.
func (cs *Clients) Forget(name string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.clients, name)
}

// fingerprint is a SHA-256 of every field of c, secret included. It stays
// in memory: it only tells whether the config changed.
func (c TenantConfig) fingerprint() [sha256.Size]byte {
	h := sha256.New()
	for _, field := range [][]byte{
		[]byte(c.Name), []byte(c.TenantID),
		[]byte(c.Cloud), []byte(c.AuthorityHost), []byte(c.GraphEndpoint),
		[]byte(c.Credential), []byte(c.ClientID), c.Secret, []byte(c.TokenFilePath),
	} {
		writeField(h, field)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// writeField writes a length-prefixed field, so that moving bytes from one
// field to the next changes the hash.
func writeField(h hash.Hash, field []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(field)))
	_, _ = h.Write(n[:])
	_, _ = h.Write(field)
}
