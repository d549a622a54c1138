package entra_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/passkey-operator/passkey-operator/internal/emulator"
	"github.com/passkey-operator/passkey-operator/internal/entra"
)

func TestClientsReuseAndRebuild(t *testing.T) {
	env := newEnv(t)
	clients := entra.NewClients(env.options())
	cfg := env.config(rwApp)

	first, err := clients.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := first.GetFido2(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	again, err := clients.Get(env.config(rwApp)) // equal, not the same value
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatal("Get(same config) built a new client")
	}
	if _, err := again.GetFido2(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := env.tokenCount(); n != 1 {
		t.Errorf("%d tokens issued for three reads through one cached client, want 1", n)
	}

	// The Secret is rotated: Entra only knows the new secret, and the next
	// pass hands over the new bytes.
	const rotated = "rotated-secret"
	if err := env.emu.Seed(emulator.Tenant{ID: tenantID, Apps: []emulator.App{
		{ClientID: rwApp, ClientSecret: rotated, Roles: []string{emulator.RolePolicyReadWrite}},
	}}); err != nil {
		t.Fatal(err)
	}
	cfg.Secret = entra.SecretBytes(rotated)
	second, err := clients.Get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatal("Get(config with a rotated secret) returned the old client")
	}
	if _, err := second.GetFido2(ctx(t)); err != nil {
		t.Fatalf("GetFido2() with the rotated secret = %v", err)
	}
	if n := env.tokenCount(); n != 2 {
		t.Errorf("%d tokens issued, want 2 (one per credential)", n)
	}
	if again, _ := clients.Get(cfg); again != second {
		t.Error("Get(rotated config) again built a new client")
	}

	// Another tenant name is another client, even with the same settings.
	other := cfg
	other.Name = "other"
	if c, _ := clients.Get(other); c == second {
		t.Error("two tenant names share a client")
	}

	// Forget drops the client: the next Get builds a new one.
	clients.Forget(tenantName)
	if c, _ := clients.Get(cfg); c == second {
		t.Error("Get after Forget returned the forgotten client")
	}

	// A config that cannot be built is an error, and drops the old client.
	broken := cfg
	broken.ClientID = ""
	if _, err := clients.Get(broken); !errors.Is(err, entra.ErrInvalidConfig) {
		t.Errorf("Get(no client ID) = %v, want ErrInvalidConfig", err)
	}
	if c, _ := clients.Get(cfg); c == second {
		t.Error("Get after a failed Get returned the old client")
	}

	nameless := cfg
	nameless.Name = ""
	if _, err := clients.Get(nameless); !errors.Is(err, entra.ErrInvalidConfig) {
		t.Errorf("Get(no name) = %v, want ErrInvalidConfig", err)
	}
}

// TestClientsConcurrentGet is meant for go test -race: concurrent callers
// of one config share one client, and rotation and Forget may interleave.
func TestClientsConcurrentGet(t *testing.T) {
	env := newEnv(t)
	clients := entra.NewClients(env.options())
	const goroutines, gets = 8, 50

	got := make([][]*entra.Client, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range gets {
				cfg := env.config(rwApp)
				cfg.Name = fmt.Sprintf("tenant-%d", i%2)
				c, err := clients.Get(cfg)
				if err != nil {
					t.Error(err)
					return
				}
				got[g] = append(got[g], c)
			}
		})
	}
	wg.Wait()
	for g := range goroutines {
		for i, c := range got[g] {
			if c != got[0][i%2] {
				t.Fatalf("goroutine %d, Get %d: another client than goroutine 0's for the same config", g, i)
			}
		}
	}
	if got[0][0] == got[0][1] {
		t.Fatal("two tenants share a client")
	}

	// Rotations and Forget racing with Get: for the race detector, and
	// every Get must still succeed.
	for g := range goroutines {
		wg.Go(func() {
			for i := range gets {
				cfg := env.config(rwApp)
				cfg.Secret = entra.SecretBytes(fmt.Sprintf("%s-%d", secret, i%3))
				if _, err := clients.Get(cfg); err != nil {
					t.Error(err)
				}
				if g == 0 {
					clients.Forget(cfg.Name)
				}
			}
		})
	}
	wg.Wait()
}
