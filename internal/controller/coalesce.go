package controller

import (
	"context"
	"sync"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Defaults of the burst coalescing; TenantReconciler.BurstWindow and
// BurstQuiet override them.
const (
	// DefaultBurstWindow is the longest a change waits for the pass that
	// carries it, counted from the first change the running pass missed.
	DefaultBurstWindow = time.Second
	// DefaultBurstQuiet is how long a tenant must see no change before the
	// pass that folds a burst starts: longer than the gaps between the
	// writes of one `kubectl apply -f dir/` or GitOps sync.
	DefaultBurstQuiet = 200 * time.Millisecond
)

// coalescer decides when a change to a profile or assignment starts its
// tenant's pass. The first change to an idle tenant starts one at once
// (the leading edge), so apply→Ready costs one pass. Changes a running pass
// may have missed fold into one more pass, started once the tenant has been
// quiet for a moment (or the window is up), so a burst of edits costs two
// passes and two PATCHes at most, not one per pass-length of edits.
//
// A change that arrives while the tenant is queued but its pass has not
// started needs nothing: the pass reads the informer cache, which holds the
// change before any handler hears of it.
type coalescer struct {
	window, quiet time.Duration
	now           func() time.Time

	mu      sync.Mutex
	tenants map[reconcile.Request]*burst
}

// burst is one tenant's coalescing state.
type burst struct {
	queued  bool // added to the queue, pass not started yet
	running bool
	// missed: changes after the running (or last) pass started.
	missed              bool
	firstMiss, lastMiss time.Time
	timer               *time.Timer
	queue               workqueue.TypedRateLimitingInterface[reconcile.Request]
}

func newCoalescer(window, quiet time.Duration, now func() time.Time) *coalescer {
	return &coalescer{window: window, quiet: quiet, now: now, tenants: map[reconcile.Request]*burst{}}
}

// dueAt is when the pass folding the missed changes should start: after a
// quiet moment since the last of them, but no later than the window after
// the first.
func (b *burst) dueAt(window, quiet time.Duration) time.Time {
	quietAt, latest := b.lastMiss.Add(quiet), b.firstMiss.Add(window)
	if quietAt.Before(latest) {
		return quietAt
	}
	return latest
}

func (c *coalescer) tenant(req reconcile.Request) *burst {
	b, ok := c.tenants[req]
	if !ok {
		b = &burst{}
		c.tenants[req] = b
	}
	return b
}

// changed is called for every change to one of a tenant's resources.
func (c *coalescer) changed(req reconcile.Request, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.tenant(req)
	b.queue = q
	switch {
	case b.queued:
		return
	case b.running || b.missed:
		now := c.now()
		if !b.missed {
			b.firstMiss = now
		}
		b.missed, b.lastMiss = true, now
		if b.timer != nil {
			c.schedule(req, b)
		}
	default:
		b.queued = true
		q.Add(req)
	}
}

// started is called when a pass of the tenant begins: it sees every change
// made so far, so nothing is missed any more.
func (c *coalescer) started(req reconcile.Request) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.tenant(req)
	b.queued, b.running, b.missed = false, true, false
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// finished is called when a pass of the tenant ends: if it missed changes,
// the pass that folds them is scheduled; otherwise the tenant is idle and
// its state is dropped.
func (c *coalescer) finished(req reconcile.Request) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.tenant(req)
	b.running = false
	if !b.missed {
		delete(c.tenants, req)
		return
	}
	c.schedule(req, b)
}

// schedule (re)arms the timer that queues the folding pass. Called with
// c.mu held.
func (c *coalescer) schedule(req reconcile.Request, b *burst) {
	delay := max(b.dueAt(c.window, c.quiet).Sub(c.now()), 0)
	if b.timer != nil {
		b.timer.Reset(delay)
		return
	}
	b.timer = time.AfterFunc(delay, func() { c.due(req) })
}

// due queues the tenant for the pass that folds its missed changes.
func (c *coalescer) due(req reconcile.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.tenants[req]
	if !ok || !b.missed || b.running || b.queue == nil {
		return
	}
	b.timer, b.missed, b.queued = nil, false, true
	b.queue.Add(req)
}

// handler maps each event on a resource to its tenant and hands the tenant
// to the coalescer.
func (c *coalescer) handler(tenants handler.MapFunc) handler.EventHandler {
	enqueue := func(ctx context.Context, o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range tenants(ctx, o) {
			c.changed(req, q)
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.ObjectNew, q)
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.Object, q)
		},
		GenericFunc: func(ctx context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.Object, q)
		},
	}
}
