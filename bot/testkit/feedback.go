package testkit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// MemFeedback is an in-memory stand-in for the store's votes and reading lists (command.Feedback and
// command.SimilarPapers), for the tests of the card buttons. Unknown paper keys are channel.ErrNotFound, as the
// stores answer. It is safe for concurrent use.
type MemFeedback struct {
	mu     sync.Mutex
	papers map[string]paper.Paper
	votes  map[string]map[string]int // channel/paper -> user -> vote
	voters map[string]channel.User   // channel/paper/user -> who voted, with their workspace
	saved  map[string]bool           // user (channel.User's String)/paper
	calls  int
	// Err, when set, is returned by every call (a store that is down).
	Err error
}

// NewMemFeedback returns a fake knowing papers.
func NewMemFeedback(papers ...paper.Paper) *MemFeedback {
	f := &MemFeedback{papers: map[string]paper.Paper{}, votes: map[string]map[string]int{}, voters: map[string]channel.User{}, saved: map[string]bool{}}
	for _, p := range papers {
		f.papers[paper.KeyOf(p)] = p
	}
	return f
}

func (f *MemFeedback) known(key string) error {
	f.calls++
	if f.Err != nil {
		return f.Err
	}
	if _, ok := f.papers[key]; !ok {
		return fmt.Errorf("paper %s: %w", key, channel.ErrNotFound)
	}
	return nil
}

// Vote records user's vote on paperKey in ch, replacing an earlier one, and returns the counts.
func (f *MemFeedback) Vote(_ context.Context, ch channel.Ref, paperKey string, user channel.User, vote int, _ time.Time) (up, down int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(paperKey); err != nil {
		return 0, 0, err
	}
	k := ch.String() + "/" + paperKey
	if f.votes[k] == nil {
		f.votes[k] = map[string]int{}
	}
	if vote == 0 {
		delete(f.votes[k], user.ID)
		delete(f.voters, k+"/"+user.ID)
	} else {
		f.votes[k][user.ID] = vote
		f.voters[k+"/"+user.ID] = user
	}
	for _, v := range f.votes[k] {
		if v > 0 {
			up++
		} else {
			down++
		}
	}
	return up, down, nil
}

// Save adds paperKey to user's reading list; false when it was there.
func (f *MemFeedback) Save(_ context.Context, user channel.User, paperKey string, _ time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(paperKey); err != nil {
		return false, err
	}
	k := user.String() + "/" + paperKey
	if f.saved[k] {
		return false, nil
	}
	f.saved[k] = true
	return true, nil
}

// Similar returns up to n other known papers, in key order.
func (f *MemFeedback) Similar(_ context.Context, paperKey string, n int) ([]paper.Paper, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.known(paperKey); err != nil {
		return nil, err
	}
	var keys []string
	for k := range f.papers {
		if k != paperKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []paper.Paper
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, f.papers[k])
	}
	return out, nil
}

// Calls is how many times the store was asked anything.
func (f *MemFeedback) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// Saved reports whether user saved paperKey.
func (f *MemFeedback) Saved(user channel.User, paperKey string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saved[user.String()+"/"+paperKey]
}

// Voter returns who voted on paperKey in ch with user id, with the workspace the vote was recorded in; false when
// they have no vote there.
func (f *MemFeedback) Voter(ch channel.Ref, paperKey, user string) (channel.User, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.voters[ch.String()+"/"+paperKey+"/"+user]
	return u, ok
}

// PaperByKey returns a paper the fake knows (command.PaperLookup); it is not counted in Calls, as it records
// nothing.
func (f *MemFeedback) PaperByKey(_ context.Context, key string) (paper.Paper, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.papers[key]
	if !ok {
		return paper.Paper{}, fmt.Errorf("paper %s: %w", key, channel.ErrNotFound)
	}
	return p, nil
}
