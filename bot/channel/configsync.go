package channel

// ConfigDiff is what it takes to make the stored configuration-managed subscriptions match the [[channels]] table:
// the stores compute it in memory from one read of what they hold, so that a restart with an unchanged
// configuration writes nothing, and a changed one writes only the difference, in time linear in subscriptions.
type ConfigDiff struct {
	// NewChannels are configured channels the store has no row for.
	NewChannels []Ref
	// Add are configured subscriptions the channel does not follow yet, in the configured order (their ids,
	// and so their /papers list numbers, follow it); Channel, Query and Canonical are set.
	Add []Subscription
	// Adopt are the ids of subscriptions a command added that the configuration now names: they become
	// configuration-managed and keep their number and history.
	Adopt []int64
	// Remove are the ids of configuration-managed subscriptions the configuration no longer names.
	Remove []int64
}

// Empty reports whether the store already matches the configuration.
func (d ConfigDiff) Empty() bool {
	return len(d.NewChannels) == 0 && len(d.Add) == 0 && len(d.Adopt) == 0 && len(d.Remove) == 0
}

// SubKey identifies a subscription within the store: a channel follows a canonical query at most once.
type SubKey struct {
	Channel   Ref
	Canonical string
}

// DiffConfig compares the configured channels chans with what the store holds: known, its channels' refs, and
// stored, its subscriptions (ID, Channel, Canonical and FromConfig are used). Of two equal canonical queries in a
// channel's configuration the first wins, as applying them one by one would.
func DiffConfig(chans []ConfigChannel, known map[Ref]bool, stored []Subscription) ConfigDiff {
	byKey := make(map[SubKey]Subscription, len(stored))
	for _, s := range stored {
		byKey[SubKey{s.Channel, s.Canonical}] = s
	}
	var d ConfigDiff
	want := make(map[SubKey]bool, len(stored))
	newCh := map[Ref]bool{}
	for _, ch := range chans {
		if !known[ch.Ref] && !newCh[ch.Ref] {
			newCh[ch.Ref] = true
			d.NewChannels = append(d.NewChannels, ch.Ref)
		}
		for _, sub := range ch.Subscriptions {
			k := SubKey{ch.Ref, sub.Canonical}
			if want[k] {
				continue
			}
			want[k] = true
			s, ok := byKey[k]
			switch {
			case !ok:
				d.Add = append(d.Add, Subscription{Channel: ch.Ref, Query: sub.Query, Canonical: sub.Canonical, FromConfig: true})
			case !s.FromConfig:
				d.Adopt = append(d.Adopt, s.ID)
			}
		}
	}
	for _, s := range stored {
		if s.FromConfig && !want[SubKey{s.Channel, s.Canonical}] {
			d.Remove = append(d.Remove, s.ID)
		}
	}
	return d
}
