package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
)

var subscriptionCases = []testCase{
	{"add, list and duplicates", testSubscriptionsAdd},
	{"remove", testSubscriptionsRemove},
	{"the version changes with every change", testSubscriptionsVersion},
	{"configured channels", testSyncConfigChannels},
}

func addSub(t *testing.T, s Store, ch channel.Ref, q string, added time.Time) channel.Subscription {
	t.Helper()
	sub, err := s.AddSubscription(t.Context(), channel.Subscription{Channel: ch, Query: q + " ", Canonical: q, AddedBy: "U1", AddedAt: added})
	if err != nil {
		t.Fatalf("AddSubscription(%s, %q): %v", ch, q, err)
	}
	return sub
}

func subs(t *testing.T, s Store, ch channel.Ref) []channel.Subscription {
	t.Helper()
	out, err := s.Subscriptions(t.Context(), ch)
	if err != nil {
		t.Fatalf("Subscriptions(%s): %v", ch, err)
	}
	return out
}

func canonicals(subs []channel.Subscription) []string {
	out := []string{}
	for _, s := range subs {
		out = append(out, s.Channel.String()+" "+s.Canonical)
	}
	return out
}

func testSubscriptionsAdd(t *testing.T, s Store) {
	eeg := addSub(t, s, slackA, "eeg", at(1))
	snn := addSub(t, s, slackA, "snn", at(2))
	other := addSub(t, s, slackB, "eeg", at(3))
	if eeg.ID <= 0 || snn.ID <= 0 || other.ID <= 0 || eeg.ID == snn.ID || snn.ID == other.ID || eeg.ID == other.ID {
		t.Errorf("ids %d, %d, %d: want distinct and positive", eeg.ID, snn.ID, other.ID)
	}
	_, err := s.AddSubscription(t.Context(), channel.Subscription{Channel: slackA, Query: "EEG", Canonical: "eeg", AddedAt: at(4)})
	if !errors.Is(err, channel.ErrDuplicate) {
		t.Errorf("adding a canonical query twice: err = %v, want channel.ErrDuplicate", err)
	}
	got := subs(t, s, slackA)
	if jsonOf(t, got) != jsonOf(t, []channel.Subscription{eeg, snn}) {
		t.Errorf("Subscriptions(%s) =\n %+v\nwant\n %+v", slackA, got, []channel.Subscription{eeg, snn})
	}
	if len(got) == 2 && (got[0].Query != "eeg " || got[0].AddedBy != "U1" || !got[0].AddedAt.Equal(at(1)) || got[0].FromConfig) {
		t.Errorf("subscription %+v: fields not kept", got[0])
	}
	if got := subs(t, s, discordC); len(got) != 0 {
		t.Errorf("Subscriptions of a channel without any = %+v", got)
	}
	all, err := s.AllSubscriptions(t.Context())
	check(t, err, "AllSubscriptions")
	if got, want := canonicals(all), []string{"slack:C0A eeg", "slack:C0A snn", "slack:C0B eeg"}; !slices.Equal(got, want) {
		t.Errorf("AllSubscriptions = %v, want %v (in the order added)", got, want)
	}
}

func testSubscriptionsRemove(t *testing.T, s Store) {
	eeg := addSub(t, s, slackA, "eeg", at(1))
	snn := addSub(t, s, slackA, "snn", at(2))
	theirs := addSub(t, s, slackB, "llm", at(3))
	if err := s.RemoveSubscription(t.Context(), slackA, theirs.ID); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("removing another channel's subscription: err = %v, want channel.ErrNotFound", err)
	}
	if got := canonicals(subs(t, s, slackB)); !slices.Equal(got, []string{"slack:C0B llm"}) {
		t.Errorf("the other channel's subscriptions = %v, want them kept", got)
	}
	if err := s.RemoveSubscription(t.Context(), slackA, theirs.ID+snn.ID+1000); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("removing an unknown id: err = %v, want channel.ErrNotFound", err)
	}
	check(t, s.RemoveSubscription(t.Context(), slackA, eeg.ID), "RemoveSubscription")
	if err := s.RemoveSubscription(t.Context(), slackA, eeg.ID); !errors.Is(err, channel.ErrNotFound) {
		t.Errorf("removing twice: err = %v, want channel.ErrNotFound", err)
	}
	if got := canonicals(subs(t, s, slackA)); !slices.Equal(got, []string{"slack:C0A snn"}) {
		t.Errorf("Subscriptions after remove = %v", got)
	}
	// The query can be followed again.
	addSub(t, s, slackA, "eeg", at(4))
	if got := canonicals(subs(t, s, slackA)); !slices.Equal(got, []string{"slack:C0A snn", "slack:C0A eeg"}) {
		t.Errorf("Subscriptions after adding again = %v", got)
	}
}

func testSubscriptionsVersion(t *testing.T, s Store) {
	version := func() int64 {
		t.Helper()
		v, err := s.SubscriptionsVersion(t.Context())
		check(t, err, "SubscriptionsVersion")
		return v
	}
	seen := []int64{version()}
	changed := func(what string) {
		t.Helper()
		v := version()
		if slices.Contains(seen, v) {
			t.Errorf("after %s: version %d was already seen (%v): a router would miss the change", what, v, seen)
		}
		seen = append(seen, v)
	}
	addSub(t, s, slackA, "eeg", at(1))
	changed("the first add")
	newest := addSub(t, s, slackA, "snn", at(2))
	changed("a second add")
	if v := version(); v != seen[len(seen)-1] {
		t.Errorf("the version moved without a change: %d, then %d", seen[len(seen)-1], v)
	}
	check(t, s.RemoveSubscription(t.Context(), slackA, newest.ID), "RemoveSubscription")
	changed("removing the newest")
	addSub(t, s, slackA, "transformer", at(3))
	changed("adding another after removing the newest")
	addSub(t, s, slackB, "llm", at(4))
	changed("an add in another channel")
	// A configured query that a command added is adopted (an update).
	check(t, s.SyncConfigChannels(t.Context(), []channel.ConfigChannel{{Ref: slackA, Subscriptions: []channel.Subscription{
		{Query: "eeg", Canonical: "eeg"}, {Query: "transformer", Canonical: "transformer"}}}}, at(5)), "SyncConfigChannels")
	changed("adopting subscriptions into the configuration")
	check(t, s.SyncConfigChannels(t.Context(), []channel.ConfigChannel{{Ref: slackA, Subscriptions: []channel.Subscription{
		{Query: "eeg", Canonical: "eeg"}}}}, at(6)), "SyncConfigChannels")
	changed("a configured subscription removed")
}

func testSyncConfigChannels(t *testing.T, s Store) {
	cmdA := addSub(t, s, slackA, "transformer", at(0))
	cmdB := addSub(t, s, slackB, "by hand", at(0))
	cfg := func(ch channel.Ref, qs ...string) channel.ConfigChannel {
		c := channel.ConfigChannel{Ref: ch}
		for _, q := range qs {
			c.Subscriptions = append(c.Subscriptions, channel.Subscription{Query: q, Canonical: q})
		}
		return c
	}
	type row struct {
		Sub        string
		FromConfig bool
	}
	state := func() []row {
		t.Helper()
		all, err := s.AllSubscriptions(t.Context())
		check(t, err, "AllSubscriptions")
		out := []row{}
		for _, sub := range all {
			out = append(out, row{sub.Channel.String() + " " + sub.Canonical, sub.FromConfig})
		}
		return out
	}
	steps := []struct {
		name string
		cfg  []channel.ConfigChannel
		want []row
	}{
		{"adds what is configured", []channel.ConfigChannel{cfg(slackA, "eeg", "snn"), cfg(discordC, "llm")}, []row{
			{"slack:C0A transformer", false}, {"slack:C0B by hand", false}, {"slack:C0A eeg", true}, {"slack:C0A snn", true},
			{"discord:1234 llm", true}}},
		{"the same again changes nothing", []channel.ConfigChannel{cfg(slackA, "eeg", "snn"), cfg(discordC, "llm")}, []row{
			{"slack:C0A transformer", false}, {"slack:C0B by hand", false}, {"slack:C0A eeg", true}, {"slack:C0A snn", true},
			{"discord:1234 llm", true}}},
		{"removes only what the configuration added, adopts a command's", []channel.ConfigChannel{cfg(slackA, "eeg", "transformer")}, []row{
			{"slack:C0A transformer", true}, {"slack:C0B by hand", false}, {"slack:C0A eeg", true}}},
		{"an adopted subscription belongs to the configuration", []channel.ConfigChannel{cfg(slackA, "eeg"), cfg(slackB)}, []row{
			{"slack:C0B by hand", false}, {"slack:C0A eeg", true}}},
		{"an empty configuration", nil, []row{{"slack:C0B by hand", false}}},
	}
	version := func() int64 {
		t.Helper()
		v, err := s.SubscriptionsVersion(t.Context())
		check(t, err, "SubscriptionsVersion")
		return v
	}
	for i, st := range steps {
		before := version()
		check(t, s.SyncConfigChannels(t.Context(), st.cfg, at(i+1)), "SyncConfigChannels")
		if got := state(); jsonOf(t, got) != jsonOf(t, st.want) {
			t.Errorf("%s: subscriptions =\n %v\nwant\n %v", st.name, got, st.want)
		}
		// A restart with an unchanged configuration writes nothing: routers need not recompile.
		if changed := version() != before; changed != (i != 1) {
			t.Errorf("%s: the subscriptions version changed = %t, want %t", st.name, changed, i != 1)
		}
		if i == 2 {
			// Adopting keeps the subscription's number and history.
			if got := subs(t, s, slackA); len(got) == 0 || got[0].ID != cmdA.ID || !got[0].AddedAt.Equal(at(0)) || got[0].AddedBy != "U1" {
				t.Errorf("adopted subscription = %+v, want id %d added by U1 at %s", got, cmdA.ID, at(0))
			}
		}
	}
	if got := subs(t, s, slackB); len(got) != 1 || got[0].ID != cmdB.ID {
		t.Errorf("the command's subscription = %+v, want %+v", got, cmdB)
	}
	// A query configured twice in a channel is stored once, as first written; the new ones keep the configured
	// order in their ids (their /papers list numbers).
	twice := cfg(discordC, "zeta", "alpha", "zeta", "mid")
	twice.Subscriptions[0].Query = "zeta (first)"
	check(t, s.SyncConfigChannels(t.Context(), []channel.ConfigChannel{twice}, at(10)), "SyncConfigChannels")
	got := []string{}
	for _, sub := range subs(t, s, discordC) {
		got = append(got, sub.Query)
	}
	if want := []string{"zeta (first)", "alpha", "mid"}; !slices.Equal(got, want) {
		t.Errorf("a channel configured with a query twice has %q, want %q", got, want)
	}
}

var channelCases = []testCase{
	{"an unconfigured channel is instant", testChannelDefault},
	{"modes", testChannelModes},
	{"blocking", testChannelBlock},
}

func mustChannel(t *testing.T, s Store, ch channel.Ref) channel.Channel {
	t.Helper()
	c, err := s.Channel(t.Context(), ch)
	if err != nil {
		t.Fatalf("Channel(%s): %v", ch, err)
	}
	return c
}

func testChannelDefault(t *testing.T, s Store) {
	if got, want := mustChannel(t, s, slackA), (channel.Channel{Ref: slackA, Mode: channel.ModeInstant}); got != want {
		t.Errorf("Channel = %+v, want %+v", got, want)
	}
	// A subscription alone does not change the mode.
	addSub(t, s, slackB, "eeg", at(0))
	if got, want := mustChannel(t, s, slackB), (channel.Channel{Ref: slackB, Mode: channel.ModeInstant}); got != want {
		t.Errorf("Channel = %+v, want %+v", got, want)
	}
}

func testChannelModes(t *testing.T, s Store) {
	digest := channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "Europe/Berlin"}
	check(t, s.SetChannelMode(t.Context(), digest, at(0)), "SetChannelMode")
	if got := mustChannel(t, s, slackA); got != digest {
		t.Errorf("Channel = %+v, want %+v", got, digest)
	}
	addSub(t, s, slackA, "eeg", at(1))
	if got := mustChannel(t, s, slackA); got != digest {
		t.Errorf("Channel after a subscription = %+v, want %+v", got, digest)
	}
	instant := channel.Channel{Ref: slackA, Mode: channel.ModeInstant}
	check(t, s.SetChannelMode(t.Context(), instant, at(2)), "SetChannelMode")
	if got := mustChannel(t, s, slackA); got != instant {
		t.Errorf("Channel = %+v, want %+v", got, instant)
	}
	if got := mustChannel(t, s, slackB); got.Mode != channel.ModeInstant {
		t.Errorf("another channel's mode = %q", got.Mode)
	}
}

func testChannelBlock(t *testing.T, s Store) {
	blocked := func() []string {
		t.Helper()
		cs, err := s.BlockedChannels(t.Context())
		check(t, err, "BlockedChannels")
		out := []string{}
		for _, c := range cs {
			out = append(out, c.Ref.String()+" "+c.Mode+" "+c.Blocked+" since "+c.BlockedAt.Format(time.RFC3339))
		}
		return out
	}
	if got := blocked(); len(got) != 0 {
		t.Errorf("BlockedChannels = %v, want none", got)
	}
	digest := channel.Channel{Ref: slackA, Mode: channel.ModeDigest, DigestAt: "09:00", DigestTZ: "UTC"}
	check(t, s.SetChannelMode(t.Context(), digest, at(0)), "SetChannelMode")
	check(t, s.BlockChannel(t.Context(), slackA, "channel_not_found", at(1)), "BlockChannel")
	check(t, s.BlockChannel(t.Context(), discordC, "Missing Access", at(1)), "BlockChannel")
	if got, want := blocked(), []string{"discord:1234 instant Missing Access since 2026-09-28T21:00:00Z", "slack:C0A digest channel_not_found since 2026-09-28T21:00:00Z"}; !slices.Equal(got, want) {
		t.Errorf("BlockedChannels = %v, want %v", got, want)
	}
	want := digest
	want.Blocked, want.BlockedAt = "channel_not_found", at(1)
	if got := mustChannel(t, s, slackA); got != want {
		t.Errorf("Channel = %+v, want %+v", got, want)
	}
	check(t, s.BlockChannel(t.Context(), slackA, "", at(2)), "BlockChannel")
	if got, want := blocked(), []string{"discord:1234 instant Missing Access since 2026-09-28T21:00:00Z"}; !slices.Equal(got, want) {
		t.Errorf("BlockedChannels after unblocking = %v, want %v", got, want)
	}
	if got := mustChannel(t, s, slackA); got != digest {
		t.Errorf("Channel after unblocking = %+v, want %+v", got, digest)
	}
}
