package sources

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

func constRand(v float64) func() float64 { return func() float64 { return v } }

func TestBackoffDelay(t *testing.T) {
	const almostOne = 0.999999999
	tests := []struct {
		name     string
		b        Backoff
		failures int
		want     time.Duration
	}{
		{"no failures", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(0.5)}, 0, 0},
		{"negative failures", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(0.5)}, -3, 0},
		{"first failure low jitter", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(0)}, 1, 500 * time.Millisecond},
		{"first failure high jitter", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(almostOne)}, 1, time.Second - 1},
		{"third failure doubles twice", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(0)}, 3, 2 * time.Second},
		{"sixth failure", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(0)}, 6, 16 * time.Second},
		{"capped", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(0)}, 7, 30 * time.Second},
		{"capped far out without overflow", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(0)}, 10000, 30 * time.Second},
		{"base above max", Backoff{Base: time.Hour, Max: time.Minute, Rand: constRand(0)}, 1, 30 * time.Second},
		{"defaults", Backoff{Rand: constRand(0)}, 1, DefaultBackoffBase / 2},
		{"default max", Backoff{Rand: constRand(0)}, 100, DefaultBackoffMax / 2},
		{"out of range rand is clamped", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(7)}, 1, 500 * time.Millisecond},
		{"negative rand is clamped", Backoff{Base: time.Second, Max: time.Minute, Rand: constRand(-1)}, 1, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Delay(tt.failures); got != tt.want {
				t.Errorf("Delay(%d) = %s, want %s", tt.failures, got, tt.want)
			}
		})
	}
}

func TestBackoffDelayJitterBounds(t *testing.T) {
	src := rand.New(rand.NewPCG(1, 2))
	b := Backoff{Base: 100 * time.Millisecond, Max: 10 * time.Second, Rand: src.Float64}
	for failures := 1; failures <= 12; failures++ {
		nominal := min(b.Base<<(failures-1), b.Max)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := b.Delay(failures)
			if d < nominal/2 || d > nominal {
				t.Fatalf("Delay(%d) = %s, want within [%s, %s]", failures, d, nominal/2, nominal)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Delay(%d) is not jittered: always %v", failures, seen)
		}
	}
}

func TestBackoffDelayGrowsUntilCap(t *testing.T) {
	b := Backoff{Base: time.Second, Max: time.Hour, Rand: constRand(0.5)}
	prev := time.Duration(0)
	for failures := 1; failures <= 40; failures++ {
		d := b.Delay(failures)
		if d < prev {
			t.Fatalf("Delay(%d) = %s shrank from %s", failures, d, prev)
		}
		if d > b.Max {
			t.Fatalf("Delay(%d) = %s exceeds Max %s", failures, d, b.Max)
		}
		prev = d
	}
	// Once capped, the mid-range jitter puts the delay at three quarters of Max.
	if want := b.Max * 3 / 4; prev != want {
		t.Errorf("Delay(40) = %s, want %s", prev, want)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		want   time.Duration
		wantOK bool
	}{
		{"nil", nil, 0, false},
		{"plain", errors.New("boom"), 0, false},
		{"http error without retry-after", &HTTPError{URL: "u", StatusCode: 500}, 0, false},
		{"http error", &HTTPError{URL: "u", StatusCode: 429, RetryAfter: 2 * time.Minute}, 2 * time.Minute, true},
		{"wrapped http error", fmt.Errorf("poll arxiv: %w", &HTTPError{URL: "u", StatusCode: 503, RetryAfter: time.Second}), time.Second, true},
		{"host blocked", fmt.Errorf("poll: %w", &HostBlockedError{URL: "u", Host: "h", Wait: 42 * time.Second}), 42 * time.Second, true},
		{"host blocked elapsed", &HostBlockedError{URL: "u", Host: "h"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := RetryAfter(tt.err)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter(%v) = %s, %v; want %s, %v", tt.err, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
