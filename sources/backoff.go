package sources

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff defaults, used when the corresponding field is zero.
const (
	DefaultBackoffBase = time.Minute
	DefaultBackoffMax  = time.Hour
)

// Backoff computes how long to wait after consecutive failures. The zero value uses DefaultBackoffBase and
// DefaultBackoffMax with a random jitter; it holds no state, so one value can serve every source.
type Backoff struct {
	// Base is the delay after the first failure.
	Base time.Duration
	// Max caps every delay.
	Max time.Duration
	// Rand returns a number in [0, 1); math/rand/v2's Float64 when nil. Tests inject a fixed value.
	Rand func() float64
}

// Delay returns the wait after the given number of consecutive failures: zero for none, else Base doubled per extra
// failure, capped at Max, then jittered into [d/2, d]. Half the delay is kept fixed so that the wait still grows
// with failures; the other half is random so that sources failing together do not retry in lockstep.
func (b Backoff) Delay(failures int) time.Duration {
	if failures <= 0 {
		return 0
	}
	base, ceiling := b.Base, b.Max
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if ceiling <= 0 {
		ceiling = DefaultBackoffMax
	}
	if base > ceiling {
		base = ceiling
	}
	d := base
	for i := 1; i < failures && d < ceiling; i++ {
		// Doubling past half the ceiling would only be capped (and could overflow), so stop there.
		if d > ceiling/2 {
			d = ceiling
			break
		}
		d *= 2
	}
	d = min(d, ceiling)

	rnd := b.Rand
	if rnd == nil {
		rnd = rand.Float64
	}
	r := rnd()
	if r < 0 || r >= 1 {
		// A misbehaving source of randomness must not push the delay outside its documented bounds.
		r = 0
	}
	half := d / 2
	return d - half + time.Duration(r*float64(half))
}

// RetryAfter extracts a wait the server asked for from an error chain: the Retry-After of an *HTTPError, or the
// remaining pause of a *HostBlockedError. The bool is false when the error carries no such request, in which case
// the caller uses its Backoff.
func RetryAfter(err error) (time.Duration, bool) {
	var blocked *HostBlockedError
	if errors.As(err, &blocked) && blocked.Wait > 0 {
		return blocked.Wait, true
	}
	var herr *HTTPError
	if errors.As(err, &herr) && herr.RetryAfter > 0 {
		return herr.RetryAfter, true
	}
	return 0, false
}
