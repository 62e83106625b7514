package postgres

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

var (
	slackA   = channel.Ref{Platform: "slack", ID: "C0A"}
	slackB   = channel.Ref{Platform: "slack", ID: "C0B"}
	discordC = channel.Ref{Platform: "discord", ID: "1234"}
)

func subsOf(t *testing.T, s *Store, ch channel.Ref) []string {
	t.Helper()
	subs, err := s.Subscriptions(t.Context(), ch)
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, sub := range subs {
		out = append(out, sub.Canonical)
	}
	return out
}

func version(t *testing.T, s *Store) int64 {
	t.Helper()
	v, err := s.SubscriptionsVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	add := func(ch channel.Ref, q string) (channel.Subscription, error) {
		return s.AddSubscription(ctx, channel.Subscription{Channel: ch, Query: q, Canonical: q, AddedBy: "U1", AddedAt: t0})
	}
	v0 := version(t, s)
	eeg, err := add(slackA, "eeg")
	if err != nil || eeg.ID == 0 {
		t.Fatalf("AddSubscription = %+v, %v", eeg, err)
	}
	v1 := version(t, s)
	if v1 == v0 {
		t.Error("adding a subscription did not change the version")
	}
	if _, err := add(slackA, "eeg"); !errors.Is(err, channel.ErrDuplicate) {
		t.Errorf("adding it again: err = %v, want ErrDuplicate", err)
	}
	if v := version(t, s); v != v1 {
		t.Error("a refused duplicate changed the version")
	}
	snn, _ := add(slackA, "snn")
	if _, err := add(slackB, "eeg"); err != nil {
		t.Errorf("the same query in another channel: %v", err)
	}
	if got := subsOf(t, s, slackA); !slices.Equal(got, []string{"eeg", "snn"}) {
		t.Errorf("Subscriptions = %v", got)
	}
	all, err := s.AllSubscriptions(ctx)
	if err != nil || len(all) != 3 || !all[0].AddedAt.Equal(t0) || all[0].AddedBy != "U1" || all[0].Channel != slackA {
		t.Errorf("AllSubscriptions = %+v, %v", all, err)
	}
	if err := s.RemoveSubscription(ctx, slackB, snn.ID); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("removing another channel's subscription: err = %v, want ErrNotFound", err)
	}
	v2 := version(t, s)
	if err := s.RemoveSubscription(ctx, slackA, snn.ID); err != nil {
		t.Fatal(err)
	}
	if v := version(t, s); v == v2 {
		t.Error("removing a subscription did not change the version")
	}
	// Ids are never reused, so the newest subscription removed and another added is a new id and a new version.
	again, _ := add(slackA, "transformer")
	if again.ID == snn.ID {
		t.Errorf("id %d reused", again.ID)
	}
}

func TestSyncConfigChannels(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	sub := func(q string) channel.Subscription { return channel.Subscription{Query: q, Canonical: q} }
	if _, err := s.AddSubscription(ctx, channel.Subscription{Channel: slackA, Query: "by hand", Canonical: "by hand", AddedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddSubscription(ctx, channel.Subscription{Channel: slackA, Query: "both", Canonical: "both", AddedAt: t0}); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	cfg := []channel.ConfigChannel{
		{Ref: slackA, Subscriptions: []channel.Subscription{sub("eeg"), sub("both"), sub("eeg")}},
		{Ref: discordC, Subscriptions: []channel.Subscription{sub("snn"), sub("eeg")}},
		{Ref: slackB},
	}
	if err := s.SyncConfigChannels(ctx, cfg, at); err != nil {
		t.Fatal(err)
	}
	if got := subsOf(t, s, slackA); !slices.Equal(got, []string{"by hand", "both", "eeg"}) {
		t.Errorf("slack A = %v", got)
	}
	if got := subsOf(t, s, discordC); !slices.Equal(got, []string{"snn", "eeg"}) {
		t.Errorf("discord C = %v (configured order)", got)
	}
	subs, _ := s.Subscriptions(ctx, discordC)
	if !subs[0].FromConfig || subs[0].AddedBy != "config" || !subs[0].AddedAt.Equal(at) {
		t.Errorf("configured subscription = %+v", subs[0])
	}
	v := version(t, s)
	if err := s.SyncConfigChannels(ctx, cfg, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := version(t, s); got != v {
		t.Error("syncing an unchanged configuration changed the subscriptions version")
	}
	// Dropping "both" from the configuration removes it, though a command added it first: it became configured.
	cfg[0].Subscriptions = []channel.Subscription{sub("eeg")}
	cfg = cfg[:1]
	if err := s.SyncConfigChannels(ctx, cfg, at); err != nil {
		t.Fatal(err)
	}
	if got := subsOf(t, s, slackA); !slices.Equal(got, []string{"by hand", "eeg"}) {
		t.Errorf("slack A after removal = %v", got)
	}
	if got := subsOf(t, s, discordC); len(got) != 0 {
		t.Errorf("discord C after removal = %v", got)
	}
	if err := s.SyncConfigChannels(ctx, nil, at); err != nil {
		t.Fatal(err)
	}
	if got := subsOf(t, s, slackA); !slices.Equal(got, []string{"by hand"}) {
		t.Errorf("slack A with no configuration = %v", got)
	}
}

func TestChannelSettings(t *testing.T) {
	t.Parallel()
	s, _ := openTest(t)
	ctx := t.Context()
	if c, err := s.Channel(ctx, slackA); err != nil || c.Mode != channel.ModeInstant || c.Ref != slackA {
		t.Errorf("Channel of an unknown channel = %+v, %v", c, err)
	}
	digest := channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "Europe/Berlin"}
	if err := s.SetChannelMode(ctx, digest, t0); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Channel(ctx, slackA); err != nil || c != digest {
		t.Errorf("Channel = %+v, %v; want %+v", c, err, digest)
	}
	if err := s.BlockChannel(ctx, discordC, "missing access", t0); err != nil {
		t.Fatal(err)
	}
	if err := s.BlockChannel(ctx, slackB, "not_in_channel", t0); err != nil {
		t.Fatal(err)
	}
	blocked, err := s.BlockedChannels(ctx)
	if err != nil || len(blocked) != 2 || blocked[0].Ref != discordC || blocked[1].Blocked != "not_in_channel" {
		t.Errorf("BlockedChannels = %+v, %v", blocked, err)
	}
	if err := s.BlockChannel(ctx, discordC, "", t0); err != nil {
		t.Fatal(err)
	}
	if blocked, _ := s.BlockedChannels(ctx); len(blocked) != 1 {
		t.Errorf("after unblocking: %+v", blocked)
	}
}

// leaseKind is a kind of lease: channels and sources share their rules.
type leaseKind struct {
	name    string
	claim   func(ctx context.Context, s *Store, owner string, at time.Time, ttl time.Duration) (bool, error)
	release func(ctx context.Context, s *Store, owner string) error
}

func leaseKinds() []leaseKind {
	return []leaseKind{
		{"channel",
			func(ctx context.Context, s *Store, owner string, at time.Time, ttl time.Duration) (bool, error) {
				return s.Claim(ctx, slackA, owner, at, ttl)
			},
			func(ctx context.Context, s *Store, owner string) error { return s.Release(ctx, slackA, owner) }},
		{"source",
			func(ctx context.Context, s *Store, owner string, at time.Time, ttl time.Duration) (bool, error) {
				return s.ClaimSource(ctx, "arxiv-lg", owner, at, ttl)
			},
			func(ctx context.Context, s *Store, owner string) error {
				return s.ReleaseSource(ctx, "arxiv-lg", owner)
			}},
	}
}

func TestLeases(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	type step struct {
		name    string
		owner   string
		at      time.Duration // after t0
		release bool
		want    bool
	}
	steps := []step{
		{"first claim", "a", 0, false, true},
		{"held by another", "b", 10 * time.Second, false, false},
		{"holder extends", "a", 30 * time.Second, false, true},
		{"still held after the first expiry", "b", 70 * time.Second, false, false},
		{"expired lease is taken over", "b", 91 * time.Second, false, true},
		{"the old holder lost it", "a", 100 * time.Second, false, false},
		{"release by a non-holder does nothing", "a", 101 * time.Second, true, false},
		{"still b's", "a", 102 * time.Second, false, false},
		{"holder releases", "b", 103 * time.Second, true, false},
		{"free at once after release", "a", 104 * time.Second, false, true},
	}
	for _, lf := range leaseKinds() {
		t.Run(lf.name, func(t *testing.T) {
			t.Parallel()
			s, _ := openTest(t)
			for _, st := range steps {
				if st.release {
					if err := lf.release(t.Context(), s, st.owner); err != nil {
						t.Fatalf("%s: %v", st.name, err)
					}
					continue
				}
				got, err := lf.claim(t.Context(), s, st.owner, t0.Add(st.at), ttl)
				if err != nil || got != st.want {
					t.Errorf("%s: claim by %s = %v, %v; want %v", st.name, st.owner, got, err, st.want)
				}
			}
		})
	}
	t.Run("one winner among instances claiming together", func(t *testing.T) {
		t.Parallel()
		s, u := openTest(t)
		others := []*Store{s, openURL(t, u), openURL(t, u), openURL(t, u)}
		for _, lf := range leaseKinds() {
			for round := range 5 {
				at := t0.Add(time.Duration(round) * time.Hour) // each round finds the last lease expired
				wins := make(chan string, len(others))
				done := make(chan error, len(others))
				for i, st := range others {
					owner := string(rune('a' + i))
					go func() {
						ok, err := lf.claim(t.Context(), st, owner, at, ttl)
						if ok {
							wins <- owner
						}
						done <- err
					}()
				}
				for range others {
					if err := <-done; err != nil {
						t.Fatal(err)
					}
				}
				if n := len(wins); n != 1 {
					t.Errorf("%s round %d: %d instances won the lease", lf.name, round, n)
				}
			}
		}
	})
}
