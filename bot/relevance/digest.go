package relevance

import (
	"context"
	"fmt"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// VoteSource gives a channel's votes with their papers (both stores).
type VoteSource interface {
	ChannelVotes(ctx context.Context, ch channel.Ref, since time.Time) ([]channel.Vote, error)
}

// DigestWindow is how far back the votes go that rank a channel's digests (as the look-ups' sort:relevant).
const DigestWindow = 365 * 24 * time.Hour

// DigestRanker orders a channel's digests by what its members voted, once they cast at least MinDigestVotes
// votes; before that the digest keeps its usual order.
type DigestRanker struct {
	Votes VoteSource
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// RankDigest returns items best first for ch with why each ranked high (by paper key, only where the channel's
// votes helped), or ok false when ch has fewer than MinDigestVotes votes. Items come in their usual order, which
// breaks ties.
func (r DigestRanker) RankDigest(ctx context.Context, ch channel.Ref, items []channel.OutboxItem) (ranked []channel.OutboxItem, why map[string]string, ok bool, err error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	votes, err := r.Votes.ChannelVotes(ctx, ch, now.Add(-DigestWindow))
	if err != nil {
		return nil, nil, false, fmt.Errorf("rank digest of %s: %w", ch, err)
	}
	if len(votes) < MinDigestVotes {
		return nil, nil, false, nil
	}
	m := Learn(votes)
	papers := make([]paper.Paper, len(items))
	matched := make([]int, len(items))
	byKey := make(map[string]channel.OutboxItem, len(items))
	for i, it := range items {
		papers[i], matched[i] = it.Paper, len(it.Matched)
		byKey[it.Paper.Key] = it
	}
	why = map[string]string{}
	for _, rk := range m.Rank(papers, nil, matched, now) {
		ranked = append(ranked, byKey[rk.Paper.Key])
		if w := rk.Score.Why(); w != "" {
			why[rk.Paper.Key] = w
		}
	}
	return ranked, why, true, nil
}
