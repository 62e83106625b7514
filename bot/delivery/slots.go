package delivery

import "sync"

// slots are the sender's workers, counted per platform: each platform may have up to n channels in flight, so
// that a platform whose sends wait (a long rate limit, an API that hangs until the timeout) never takes the
// workers another platform's deliveries need. The dispatcher never blocks on them: a channel whose platform has
// no free slot is left for the next pass, which the finishing worker of that platform triggers.
type slots struct {
	n int

	mu      sync.Mutex
	busy    map[string]int
	skipped map[string]bool // a channel was left waiting for a slot of this platform
}

func newSlots(n int) *slots {
	return &slots{n: max(n, 1), busy: map[string]int{}, skipped: map[string]bool{}}
}

// take reserves a slot of platform, or reports false (and remembers that work waits) when all are busy.
func (s *slots) take(platform string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[platform] >= s.n {
		s.skipped[platform] = true
		return false
	}
	s.busy[platform]++
	return true
}

// takeLow is take for low-priority work (a channel with only card edits): it never takes a platform's last free
// slot, which stays for a channel with new cards, so that a wave of edits cannot hold every worker while cards
// arrive. With one worker per platform, low-priority work may use it: the dispatcher still offers it the channels
// with cards first.
func (s *slots) takeLow(platform string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[platform] >= max(s.n-1, 1) {
		s.skipped[platform] = true
		return false
	}
	s.busy[platform]++
	return true
}

// put frees a slot of platform and reports whether work was left waiting for one, in which case the caller
// wakes the dispatcher.
func (s *slots) put(platform string) (waiting bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy[platform]--
	waiting = s.skipped[platform]
	delete(s.skipped, platform)
	return waiting
}
