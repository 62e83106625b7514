package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/sources"
)

// memLeases is an in-memory Leases; a dead owner's release is lost, as when its process is killed.
type memLeases struct {
	mu    sync.Mutex
	owner map[string]string
	until map[string]time.Time
	dead  map[string]bool
}

func (m *memLeases) ClaimSource(_ context.Context, source, owner string, at time.Time, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead[owner] {
		return false, context.Canceled
	}
	if o := m.owner[source]; o != "" && o != owner && at.Before(m.until[source]) {
		return false, nil
	}
	m.owner[source], m.until[source] = owner, at.Add(ttl)
	return true, nil
}

func (m *memLeases) ReleaseSource(_ context.Context, source, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dead[owner] && m.owner[source] == owner {
		delete(m.owner, source)
	}
	return nil
}

func (m *memLeases) SourceStates(context.Context) ([]paper.SourceState, error) { return nil, nil }

func (m *memLeases) kill(owner string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dead[owner] = true
}

// TestSourceLeaseFailover: of two pollers sharing a source, only the lease holder polls it; when the holder dies
// without releasing, the other takes the source over once the lease expires.
func TestSourceLeaseFailover(t *testing.T) {
	t.Parallel()
	leases := &memLeases{owner: map[string]string{}, until: map[string]time.Time{}, dead: map[string]bool{}}
	srcA := &fakeSource{name: "arxiv", steps: []fakeStep{{res: sources.PollResult{NotModified: true}}}}
	srcB := &fakeSource{name: "arxiv", steps: []fakeStep{{res: sources.PollResult{NotModified: true}}}}
	st := newMemStore()
	const ttl = 150 * time.Millisecond
	run := func(ctx context.Context, owner string, src *fakeSource) *sync.WaitGroup {
		p := &Poller{State: st, Sink: st, Leases: leases, Owner: owner, LeaseTTL: ttl,
			Sources: []ScheduledSource{{Source: src, Interval: 20 * time.Millisecond}}}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Run(ctx); err != nil {
				t.Error(err)
			}
		}()
		return &wg
	}
	ctxA, stopA := context.WithCancel(context.Background())
	wgA := run(ctxA, "a", srcA)
	for srcA.pollCount() < 3 { // a holds the lease and polls on its schedule
		time.Sleep(5 * time.Millisecond)
	}
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	wgB := run(ctxB, "b", srcB)
	time.Sleep(3 * ttl)
	if n := srcB.pollCount(); n != 0 {
		t.Fatalf("b polled %d times while a held the lease", n)
	}
	leases.kill("a")
	stopA()
	wgA.Wait()
	deadline := time.Now().Add(time.Minute)
	for srcB.pollCount() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if srcB.pollCount() == 0 {
		t.Fatal("b never took the source over after a died")
	}
	stopB()
	wgB.Wait()
}
