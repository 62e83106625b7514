package command

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/paperboy-bot/paperboy/bot"
)

// Defaults of a UserLimiter.
const (
	// DefaultPerUserRate is how many commands a minute one user may run, on average: a person reading replies
	// types a few a minute, a script flooding look-ups many a second.
	DefaultPerUserRate = 20
	// DefaultPerUserBurst is how many commands one user may run in a quick row before the rate applies.
	DefaultPerUserBurst = 5
	// MaxLimitedUsers bounds the users a UserLimiter remembers; past it the least recently seen is forgotten (and
	// starts again with a full burst), so that a flood of distinct ids cannot grow memory without bound.
	MaxLimitedUsers = 10_000
)

// userKey identifies a user across platforms: ids are only unique within one.
type userKey struct{ platform, user string }

// userEntry is one remembered user: its token bucket, and its key for eviction.
type userEntry struct {
	key userKey
	lim *rate.Limiter
}

// UserLimiter bounds how often each (platform, user) may run commands: a token bucket per user, in a map of at
// most a fixed size with least-recently-seen eviction. It is safe for concurrent use.
type UserLimiter struct {
	perMinute float64
	burst     int
	max       int
	now       func() time.Time

	mu    sync.Mutex
	users map[userKey]*list.Element // of *userEntry, in lru
	lru   *list.List                // most recently seen first
}

// NewUserLimiter returns a limiter letting each user run perMinute commands a minute on average, burst in a quick
// row, remembering at most maxUsers users (MaxLimitedUsers when 0). now is the clock (time.Now when nil).
func NewUserLimiter(perMinute float64, burst, maxUsers int, now func() time.Time) *UserLimiter {
	if maxUsers <= 0 {
		maxUsers = MaxLimitedUsers
	}
	if now == nil {
		now = time.Now
	}
	return &UserLimiter{perMinute: perMinute, burst: max(1, burst), max: maxUsers, now: now,
		users: make(map[userKey]*list.Element), lru: list.New()}
}

// Allow takes one command from the user's bucket; when it is empty, it returns false and how long until the
// next command would be allowed.
func (l *UserLimiter) Allow(platform, user string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := userKey{platform, user}
	el, ok := l.users[k]
	if ok {
		l.lru.MoveToFront(el)
	} else {
		if l.lru.Len() >= l.max {
			oldest := l.lru.Back()
			delete(l.users, oldest.Value.(*userEntry).key)
			l.lru.Remove(oldest)
		}
		el = l.lru.PushFront(&userEntry{key: k, lim: rate.NewLimiter(rate.Limit(l.perMinute/60), l.burst)})
		l.users[k] = el
	}
	lim := el.Value.(*userEntry).lim
	now := l.now()
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused command uses no token
		return false, d
	}
	return true, 0
}

// Len is how many users the limiter remembers.
func (l *UserLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// rateLimited is the private reply to a user over the command rate.
func rateLimited(wait time.Duration) bot.Reply {
	secs := int(math.Ceil(wait.Seconds()))
	return failed(fmt.Sprintf("You are sending commands faster than I can answer them; please wait %d second%s and try again.", secs, plural(secs)))
}
