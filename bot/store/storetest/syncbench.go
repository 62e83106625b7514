package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// SyncSizes are the configured subscription counts BenchSyncConfigChannels measures, ten per channel: the
// smallest is the baseline the others are read against (linear: 3x and 10x its time).
var SyncSizes = []int{10_000, 30_000, 100_000}

// SyncConfig is a [[channels]] table of subs subscriptions, ten per channel; shift renames every hundredth query,
// which is what editing a large configuration between two starts looks like.
func SyncConfig(subs, shift int) []channel.ConfigChannel {
	out := make([]channel.ConfigChannel, 0, subs/10)
	for i := range subs {
		if i%10 == 0 {
			out = append(out, channel.ConfigChannel{Ref: channel.Ref{Platform: "slack", ID: fmt.Sprintf("C%07d", i/10)}})
		}
		q := fmt.Sprintf("topic%d AND (method%d OR \"field %d\")", i, i%97, i%13)
		if i%100 == 0 && shift > 0 {
			q = fmt.Sprintf("renamed%d-%d", shift, i)
		}
		ch := &out[len(out)-1]
		ch.Subscriptions = append(ch.Subscriptions, channel.Subscription{Query: q, Canonical: q})
	}
	return out
}

// BenchSyncConfigChannels measures SyncConfigChannels at each of SyncSizes: into an empty store (a first start),
// with the configuration the store already holds (every later start and every command), and with 1% of the
// queries changed (an edited configuration). open returns an empty store, closed by the benchmark's cleanup.
func BenchSyncConfigChannels(b *testing.B, open func(b *testing.B) Store) {
	at := time.Date(2026, 9, 28, 20, 0, 0, 0, time.UTC)
	for _, n := range SyncSizes {
		cfg := SyncConfig(n, 0)
		b.Run(fmt.Sprintf("subs=%d/first", n), func(b *testing.B) {
			var cpu testkit.CPUMeter
			for b.Loop() {
				b.StopTimer()
				s := open(b)
				b.StartTimer()
				cpu.Start()
				if err := s.SyncConfigChannels(b.Context(), cfg, at); err != nil {
					b.Fatal(err)
				}
				cpu.Stop()
			}
			cpu.ReportCPU(b)
		})
		b.Run(fmt.Sprintf("subs=%d/unchanged", n), func(b *testing.B) {
			s := open(b)
			if err := s.SyncConfigChannels(b.Context(), cfg, at); err != nil {
				b.Fatal(err)
			}
			var cpu testkit.CPUMeter
			cpu.Start()
			for b.Loop() {
				if err := s.SyncConfigChannels(b.Context(), cfg, at); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Stop()
			cpu.ReportCPU(b)
		})
		b.Run(fmt.Sprintf("subs=%d/changed-1pct", n), func(b *testing.B) {
			s := open(b)
			if err := s.SyncConfigChannels(b.Context(), cfg, at); err != nil {
				b.Fatal(err)
			}
			edits := [2][]channel.ConfigChannel{SyncConfig(n, 1), SyncConfig(n, 2)}
			i := 0
			var cpu testkit.CPUMeter
			cpu.Start()
			for b.Loop() {
				i++
				if err := s.SyncConfigChannels(b.Context(), edits[i%2], at); err != nil {
					b.Fatal(err)
				}
			}
			cpu.Stop()
			cpu.ReportCPU(b)
		})
	}
}
