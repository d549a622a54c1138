package controller

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

func TestBurstDueAt(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		name                string
		firstMiss, lastMiss int
		want                int
	}{
		{"one change: a quiet moment after it", 0, 0, 200},
		{"a burst: a quiet moment after its last change", 0, 500, 700},
		{"a stream: no later than the window after the first", 0, 900, 1000},
		{"the window caps it exactly", 100, 1000, 1100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := burst{firstMiss: at(tc.firstMiss), lastMiss: at(tc.lastMiss)}
			if got := b.dueAt(time.Second, 200*time.Millisecond); !got.Equal(at(tc.want)) {
				t.Errorf("dueAt = +%s, want +%dms", got.Sub(t0), tc.want)
			}
		})
	}
}

// coalescerStep is one thing that happens to a tenant, at a time in units
// (see TestCoalescer).
type coalescerStep struct {
	at     int
	action string // change, start, finish, due
}

func TestCoalescer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []coalescerStep
		// adds is how many times the tenant was added to the queue;
		// due is when a folding pass is scheduled, -1 for none.
		adds int
		due  int
		// forgotten: the tenant's state is dropped.
		forgotten bool
	}{
		{
			name:  "the first change to an idle tenant queues it at once",
			steps: []coalescerStep{{0, "change"}},
			adds:  1, due: -1,
		},
		{
			name:  "changes before the pass starts are in it: one add",
			steps: []coalescerStep{{0, "change"}, {5, "change"}, {9, "change"}},
			adds:  1, due: -1,
		},
		{
			name:  "a pass that missed nothing leaves the tenant idle",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {150, "finish"}},
			adds:  1, due: -1, forgotten: true,
		},
		{
			name:  "a change after an idle pass starts the next at once",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {150, "finish"}, {160, "change"}},
			adds:  2, due: -1,
		},
		{
			name:  "changes during a pass fold into one more, after a quiet moment",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {50, "change"}, {90, "change"}, {150, "finish"}},
			adds:  1, due: 290,
		},
		{
			name: "changes after that pass ends push the folding pass back",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {50, "change"}, {150, "finish"},
				{200, "change"}, {400, "change"}},
			adds: 1, due: 600,
		},
		{
			name: "but no further than the window after the first missed change",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {50, "change"}, {150, "finish"},
				{300, "change"}, {480, "change"}, {660, "change"}, {840, "change"}, {1020, "change"}},
			adds: 1, due: 1050,
		},
		{
			name:  "when due, the tenant is queued once",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {50, "change"}, {150, "finish"}, {250, "due"}, {260, "change"}},
			adds:  2, due: -1,
		},
		{
			name: "a pass from elsewhere (resync, tenant edit) covers the missed changes",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {50, "change"}, {150, "finish"},
				{170, "start"}, {300, "finish"}},
			adds: 1, due: -1, forgotten: true,
		},
		{
			name:  "a timer that fires late after such a pass queues nothing",
			steps: []coalescerStep{{0, "change"}, {10, "start"}, {50, "change"}, {150, "finish"}, {170, "start"}, {250, "due"}},
			adds:  1, due: -1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A unit is an hour rather than a millisecond, so the
			// coalescer's real timers never fire during the test; "due"
			// steps stand for them.
			const unit = time.Hour
			t0 := time.Now()
			now := t0
			c := newCoalescer(1000*unit, 200*unit, func() time.Time { return now })
			q := &countingQueue{TypedRateLimitingInterface: workqueue.NewTypedRateLimitingQueue(
				workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())}
			defer q.ShutDown()
			req := reconcile.Request{NamespacedName: types.NamespacedName{Name: "contoso"}}
			for _, s := range tc.steps {
				now = t0.Add(time.Duration(s.at) * unit)
				switch s.action {
				case "change":
					c.changed(req, q)
				case "start":
					c.started(req)
				case "finish":
					c.finished(req)
				case "due":
					c.due(req)
				}
			}

			if q.adds != tc.adds {
				t.Errorf("queued %d times, want %d", q.adds, tc.adds)
			}
			b, ok := c.tenants[req]
			if ok == tc.forgotten {
				t.Errorf("state kept = %v, want %v", ok, !tc.forgotten)
			}
			switch {
			case tc.due < 0 && ok && b.timer != nil:
				t.Errorf("a folding pass is scheduled for +%s, want none", b.dueAt(c.window, c.quiet).Sub(t0)/unit)
			case tc.due >= 0 && (!ok || b.timer == nil):
				t.Errorf("no folding pass is scheduled, want one at +%d", tc.due)
			case tc.due >= 0:
				if got, want := b.dueAt(c.window, c.quiet), t0.Add(time.Duration(tc.due)*unit); !got.Equal(want) {
					t.Errorf("folding pass due at +%d, want +%d", got.Sub(t0)/unit, tc.due)
				}
			}
			for _, b := range c.tenants {
				if b.timer != nil {
					b.timer.Stop()
				}
			}
		})
	}
}

// countingQueue counts Adds.
type countingQueue struct {
	workqueue.TypedRateLimitingInterface[reconcile.Request]
	adds int
}

func (q *countingQueue) Add(req reconcile.Request) {
	q.adds++
	q.TypedRateLimitingInterface.Add(req)
}
