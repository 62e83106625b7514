package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paperboy-bot/paperboy/bot/testkit"
)

// startupConfig writes a configuration of subs subscriptions, ten per channel, with its store in dir.
func startupConfig(b *testing.B, dir string, subs int) string {
	b.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "[store]\npath = %q\n[[sources]]\nname = \"arxiv\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\"]\n",
		filepath.Join(dir, "paperboy.db"))
	for i := range subs {
		if i%10 == 0 {
			fmt.Fprintf(&sb, "\n[[channels]]\nplatform = \"console\"\nid = \"C%07d\"\nsubscriptions = [\n", i/10)
		}
		fmt.Fprintf(&sb, "  'topic%d (method%d OR \"field %d\")',\n", i, i%97, i%13)
		if i%10 == 9 || i == subs-1 {
			sb.WriteString("]\n")
		}
	}
	path := filepath.Join(dir, "paperboy.toml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkStartup is what every command pays before its work with a large [[channels]] table: reading the
// configuration, opening the store, syncing the configured subscriptions and compiling them (app.New, then
// Close). first is a new store; restart is the same configuration again (every later start and every `paperboy
// cmd`); search is `paperboy search`, which neither syncs nor compiles. The smallest size is the baseline of the
// others.
//
//	go test -run '^$' -bench Startup -benchtime 3x ./bot/app/
func BenchmarkStartup(b *testing.B) {
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	start := func(b *testing.B, cfgPath string, o Options) {
		cfg, err := LoadConfig(cfgPath)
		if err != nil {
			b.Fatal(err)
		}
		a, err := New(ctx, cfg, logger, o)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Close(); err != nil {
			b.Fatal(err)
		}
	}
	for _, n := range []int{10_000, 30_000, 100_000} {
		b.Run(fmt.Sprintf("subs=%d/first", n), func(b *testing.B) {
			var cpu testkit.CPUMeter
			for b.Loop() {
				b.StopTimer()
				cfgPath := startupConfig(b, b.TempDir(), n)
				b.StartTimer()
				cpu.Start()
				start(b, cfgPath, Options{})
				cpu.Stop()
			}
			cpu.ReportCPU(b)
		})
		for _, c := range []struct {
			name string
			o    Options
		}{{"restart", Options{}}, {"search", Options{LookupOnly: true}}} {
			b.Run(fmt.Sprintf("subs=%d/%s", n, c.name), func(b *testing.B) {
				cfgPath := startupConfig(b, b.TempDir(), n)
				start(b, cfgPath, Options{})
				var cpu testkit.CPUMeter
				cpu.Start()
				for b.Loop() {
					start(b, cfgPath, c.o)
				}
				cpu.Stop()
				cpu.ReportCPU(b)
			})
		}
	}
}
