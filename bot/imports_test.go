package bot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/paperboy-bot/paperboy"

// pkg is what `go list -json` says of one package (without its tests).
type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// listPackages runs `go list -deps`-style listing over the whole module: direct imports and every package linked.
func listPackages(t *testing.T) map[string]pkg {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module+"/")] = p
	}
	return pkgs
}

// TestImportRules holds the layout of DESIGN.md section 10: dependencies point one way, the domain and the query
// language link no storage, network or feed code, only the composition root builds on the SQLite store, and no
// core package knows a platform SDK.
func TestImportRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 15 {
		t.Fatalf("go list found %d packages; is the module layout as expected?", len(pkgs))
	}
	heavy := []string{"modernc.org/sqlite", "net/http", "github.com/mmcdole/gofeed", "github.com/jackc/pgx/v5"}
	sdks := []string{"github.com/slack-go/slack", "github.com/bwmarrin/discordgo"}
	linksAny := func(p pkg, prefixes []string) string {
		for _, d := range p.Deps {
			for _, pre := range prefixes {
				if d == pre || strings.HasPrefix(d, pre+"/") {
					return d
				}
			}
		}
		return ""
	}
	t.Run("light packages link no storage, network or feed code", func(t *testing.T) {
		for _, name := range []string{"bot", "bot/paper", "bot/channel", "bot/console", "filters"} {
			p, ok := pkgs[name]
			if !ok {
				t.Fatalf("package %s not found", name)
			}
			if d := linksAny(p, heavy); d != "" {
				t.Errorf("%s links %s", name, d)
			}
		}
	})
	t.Run("only the composition root imports the SQLite store", func(t *testing.T) {
		for name, p := range pkgs {
			if name == "bot/app" || strings.HasPrefix(name, "bot/store") {
				continue
			}
			if slices.Contains(p.Imports, module+"/bot/store") {
				t.Errorf("%s imports bot/store; only bot/app may (others use the interfaces they own)", name)
			}
		}
	})
	t.Run("the core knows no platform SDK", func(t *testing.T) {
		for name, p := range pkgs {
			if name == "bot/app" || name == "cmd/paperboy" || name == "bot/slack" || name == "bot/discord" {
				continue
			}
			if d := linksAny(p, sdks); d != "" {
				t.Errorf("%s links the platform SDK %s", name, d)
			}
		}
	})
	t.Run("adapters import the contract and the command table only", func(t *testing.T) {
		allowed := []string{"bot", "bot/channel", "bot/paper", "bot/command", "bot/httpserve", "filters"}
		for _, name := range []string{"bot/slack", "bot/discord", "bot/console"} {
			for _, imp := range pkgs[name].Imports {
				rel, ok := strings.CutPrefix(imp, module+"/")
				if ok && !slices.Contains(allowed, rel) {
					t.Errorf("%s imports %s", name, rel)
				}
			}
		}
	})
	t.Run("the domain imports nothing of the bot but the domain", func(t *testing.T) {
		for _, name := range []string{"bot/paper", "bot/channel"} {
			for _, imp := range pkgs[name].Imports {
				rel, ok := strings.CutPrefix(imp, module+"/")
				if ok && rel != "bot/paper" {
					t.Errorf("%s imports %s", name, rel)
				}
			}
		}
	})
	t.Run("test helpers are for tests only", func(t *testing.T) {
		for name, p := range pkgs {
			// storetest is the stores' contract suite and benchmark harness: tests are its only importers.
			if name == "bot/store/storetest" {
				continue
			}
			if slices.Contains(p.Imports, module+"/bot/testkit") {
				t.Errorf("%s (not a test) imports bot/testkit", name)
			}
		}
	})
	t.Run("cmd/paperboy builds on the composition root", func(t *testing.T) {
		for _, imp := range pkgs["cmd/paperboy"].Imports {
			rel, ok := strings.CutPrefix(imp, module+"/")
			if ok && !slices.Contains([]string{"bot", "bot/app", "bot/channel", "bot/paper", "bot/discord", "bot/store/dump", "bot/snapshot", "bot/oaiimport", "filters"}, rel) {
				t.Errorf("cmd/paperboy imports %s: wiring belongs in bot/app", rel)
			}
		}
	})
}
