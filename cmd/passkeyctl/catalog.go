package main

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"

	"github.com/passkey-operator/passkey-operator/internal/mds"
	"github.com/passkey-operator/passkey-operator/internal/specs"
)

// catalogFlags say where the authenticator catalog (FIDO MDS3) comes from.
// It is off unless asked for: a CLI that runs in CI should not reach out
// to a third site on its own. Names resolve and show only with it.
type catalogFlags struct {
	url, rootFile string
	caFile        *string // the connection's --ca-file, trusted for the download too
}

func (c *catalogFlags) register(fs *flag.FlagSet, getenv func(string) string, caFile *string) {
	c.caFile = caFile
	fs.StringVar(&c.url, "authenticator-catalog", getenv("PASSKEYCTL_AUTHENTICATOR_CATALOG"),
		"URL of the FIDO MDS3 BLOB that names authenticator models, such as https://mds.fidoalliance.org (default $PASSKEYCTL_AUTHENTICATOR_CATALOG; empty: no names). Cached in the user cache directory")
	fs.StringVar(&c.rootFile, "authenticator-catalog-root", getenv("PASSKEYCTL_AUTHENTICATOR_CATALOG_ROOT"),
		"PEM file of the root the BLOB's signature must lead to (default: the FIDO Alliance's, GlobalSign Root R46)")
}

// load returns the catalog, or none when not asked for. A catalog that was
// asked for and cannot be had is said on stderr, and the command goes on
// with AAGUIDs alone, as the operator does.
func (c *catalogFlags) load(ctx context.Context, stderr io.Writer) (specs.Catalog, error) {
	if c.url == "" {
		return specs.Catalog{}, nil
	}
	src := &mds.Source{URL: c.url, Log: logr.Discard()}
	if c.rootFile != "" {
		pem, err := os.ReadFile(c.rootFile)
		if err != nil {
			return specs.Catalog{}, fmt.Errorf("reading --authenticator-catalog-root: %w", err)
		}
		if src.Root, err = mds.RootFromPEM(pem); err != nil {
			return specs.Catalog{}, fmt.Errorf("--authenticator-catalog-root %s: %w", c.rootFile, err)
		}
	}
	if *c.caFile != "" {
		client, err := trusting(*c.caFile)
		if err != nil {
			return specs.Catalog{}, err
		}
		src.Client = client
	}
	if dir, err := os.UserCacheDir(); err == nil {
		src.CachePath = filepath.Join(dir, "passkeyctl", "mds3-"+cacheKey(c.url)+".jwt")
	}
	catalog, err := src.Load(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "warning: no authenticator catalog, AAGUIDs are shown without names: %v\n", err)
		return specs.Catalog{NotLoaded: err.Error()}, nil
	}
	if err := src.LastError(); err != nil {
		fmt.Fprintf(stderr, "warning: the authenticator catalog is the cached one: %v\n", err)
	}
	return specs.Catalog{Models: catalog}, nil
}

// cacheKey keeps the catalogs of different URLs apart in the cache.
func cacheKey(url string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(url))
	return fmt.Sprintf("%08x", h.Sum32())
}
