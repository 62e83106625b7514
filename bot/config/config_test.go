package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/sources"
)

func TestExampleConfigIsValid(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "config.example.toml"), testPlatforms)
	if err != nil {
		t.Fatalf("config.example.toml: %v", err)
	}
	if len(cfg.Sources) < 2 {
		t.Fatalf("example has %d sources, want arXiv and Hugging Face at least", len(cfg.Sources))
	}
	kinds := map[string]bool{}
	for _, s := range cfg.Sources {
		kinds[s.Kind] = true
	}
	if !kinds[sources.KindArxiv] || !kinds[sources.KindHFDaily] {
		t.Errorf("example polls kinds %v, want arxiv and hf-daily", kinds)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Parse("t.toml", []byte(`
[[sources]]
name = "hf"
kind = "hf-daily"
`), testPlatforms)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.Path != DefaultStorePath || time.Duration(cfg.Sources[0].Interval) != DefaultInterval ||
		cfg.Log.Level != "info" || cfg.Log.Format != "text" || time.Duration(cfg.Commands.LookupTimeout) != time.Second ||
		cfg.Commands.PerUserRate != 20 || cfg.Commands.PerUserBurst != 5 ||
		time.Duration(cfg.Health.LateAfter) != 2*time.Hour || time.Duration(cfg.Health.NotifyAfter) != 6*time.Hour ||
		cfg.Health.NotifyChannel != "" || time.Duration(cfg.Delivery.KeepSent) != 90*24*time.Hour {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name     string
		toml     string
		wantLine int
		wantMsg  string
	}{
		{"unknown top-level key", "[store]\npath = \"x.db\"\ncolour = 3\n", 3, `unknown key "store.colour"`},
		{"unknown source key", "[[sources]]\nname = \"a\"\nkind = \"rss\"\nurl = \"http://x\"\ncategorie = [\"cs.LG\"]\n", 5, `unknown key "sources.categorie"`},
		{"bad kind", "[[sources]]\nname = \"a\"\nkind = \"atom\"\n", 3, "unknown source kind"},
		{"bad duration", "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\ninterval = \"often\"\n", 4, "invalid duration"},
		{"interval too short", "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\ninterval = \"5s\"\n", 4, "below the minimum"},
		{"wrong type", "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\nmin_upvotes = \"ten\"\n", 4, ""},
		{"duplicate name", "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 5, "used twice"},
		{"missing name", "[[sources]]\nkind = \"hf-daily\"\n", 1, "name is required"},
		{"arxiv without categories", "[[sources]]\nname = \"a\"\nkind = \"arxiv\"\n", 1, `source "a"`},
		{"rss without url", "[[sources]]\nname = \"a\"\nkind = \"rss\"\n", 1, `source "a"`},
		{"bad log level", "[log]\nlevel = \"loud\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "log.level"},
		{"no sources", "[store]\npath = \"x.db\"\n", 0, "no [[sources]]"},
		{"syntax error", "[store\npath = 1\n", 1, ""},
		{"path and url", "[store]\npath = \"x.db\"\nurl = \"postgres://pb@db/pb\"\n", 3, "not both"},
		{"password in url", "[store]\nurl = \"postgres://pb:hunter2@db/pb\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "holds a password"},
		{"password parameter in url", "[store]\nurl = \"postgres://pb@db/pb?password=hunter2\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "holds a password"},
		{"not a postgres url", "[store]\nurl = \"mysql://db/pb\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "postgres://"},
		{"lookup timeout too long", "[commands]\nlookup_timeout = \"5m\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "commands.lookup_timeout"},
		{"bad per-user rate", "[commands]\nper_user_rate = -5\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "commands.per_user_rate"},
		{"bad per-user burst", "[commands]\nper_user_burst = -1\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "commands.per_user_burst"},
		{"notify channel without platform", "[health]\nnotify_channel = \"C0123\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "want PLATFORM:ID"},
		{"notify channel on an unknown platform", "[health]\nnotify_channel = \"irc:ops\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, `platform "irc"`},
		{"late_after a day", "[health]\nlate_after = \"24h\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "health.late_after"},
		{"keep_sent too short", "[delivery]\nkeep_sent = \"2h\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "delivery.keep_sent"},
		{"keep_sent not a span", "[delivery]\nkeep_sent = \"90 days\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "invalid window"},
		{"expensive subscription", "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n[[channels]]\nplatform = \"console\"\nid = \"x\"\nsubscriptions = [\"a* OR b*\"]\n", 7, "prefix a* is too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("paperboy.toml", []byte(tt.toml), testPlatforms)
			if err == nil {
				t.Fatal("no error")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *ConfigError", err, err)
			}
			if ce.Line != tt.wantLine {
				t.Errorf("line = %d, want %d (%v)", ce.Line, tt.wantLine, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error shows the password: %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), "paperboy.toml") {
				t.Errorf("error %q does not name the file and say %q", err, tt.wantMsg)
			}
		})
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.toml"), testPlatforms)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}

// testPlatforms are the platform names the composition root registers.
var testPlatforms = []string{"slack", "discord", "console"}

func TestDatabase(t *testing.T) {
	const hf = "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n"
	tests := []struct {
		name, toml, env string
		want            Database
		shown           string
	}{
		{"default SQLite", hf, "", Database{Path: DefaultStorePath}, "SQLite file paperboy.db"},
		{"url in the file", "[store]\nurl = \"postgres://pb@db:5432/pb\"\n" + hf, "",
			Database{Postgres: true, URL: "postgres://pb@db:5432/pb"}, "PostgreSQL postgres://pb@db:5432/pb (from [store] url)"},
		{"the environment wins", "[store]\npath = \"x.db\"\n" + hf, "postgres://pb:s3cret@db/pb?sslmode=disable",
			Database{Postgres: true, URL: "postgres://pb:s3cret@db/pb?sslmode=disable", FromEnv: true},
			"PostgreSQL postgres://pb@db/pb?sslmode=disable (from PAPERBOY_DATABASE_URL)"},
		{"key=value string", hf, "host=db password=s3cret",
			Database{Postgres: true, URL: "host=db password=s3cret", FromEnv: true}, "PostgreSQL (connection string) (from PAPERBOY_DATABASE_URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(DatabaseURLEnv, tt.env)
			cfg, err := Parse("t.toml", []byte(tt.toml), testPlatforms)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cfg.Database()
			if err != nil || got != tt.want {
				t.Fatalf("Database() = %+v, %v; want %+v", got, err, tt.want)
			}
			if s := got.String(); s != tt.shown || strings.Contains(s, "s3cret") {
				t.Errorf("shown as %q, want %q", s, tt.shown)
			}
		})
	}
}

func TestConfigImportAndHistory(t *testing.T) {
	t.Run("defaults and values", func(t *testing.T) {
		cfg, err := Parse("t.toml", []byte(`
[[sources]]
name = "ml"
kind = "arxiv"
categories = ["cs.LG"]
history = "30d"

[[sources]]
name = "eeg"
kind = "arxiv-api"
query = "abs:EEG"
history = "36h"

[[sources]]
name = "hf"
kind = "hf-daily"
`), testPlatforms)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Import.OAIURL != sources.DefaultOAIBase {
			t.Errorf("import.oai_url default %q", cfg.Import.OAIURL)
		}
		if got := time.Duration(cfg.Sources[0].History); got != 30*24*time.Hour {
			t.Errorf("history 30d = %s", got)
		}
		if got := time.Duration(cfg.Sources[1].History); got != 36*time.Hour {
			t.Errorf("history 36h = %s", got)
		}
		if cfg.Sources[2].History != 0 {
			t.Errorf("history without the key = %s", time.Duration(cfg.Sources[2].History))
		}
	})
	tests := []struct {
		name     string
		toml     string
		wantLine int
		wantMsg  string
	}{
		{"history on hf-daily", "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\nhistory = \"30d\"\n", 4, "history is for arxiv or arxiv-api sources"},
		{"history on rss", "[[sources]]\nname = \"a\"\nkind = \"rss\"\nurl = \"https://x.org/f\"\nhistory = \"30d\"\n", 5, "history is for arxiv or arxiv-api sources"},
		{"history not a duration", "[[sources]]\nname = \"a\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\"]\nhistory = \"a month\"\n", 5, "invalid window"},
		{"history of days not a number", "[[sources]]\nname = \"a\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\"]\nhistory = \"xd\"\n", 5, "invalid window"},
		{"history too long", "[[sources]]\nname = \"a\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\"]\nhistory = \"400d\"\n", 5, "paperboy import arxiv"},
		{"history of an arxiv url source", "[[sources]]\nname = \"a\"\nkind = \"arxiv\"\nurl = \"https://rss.arxiv.org/rss/cs.LG\"\nhistory = \"30d\"\n", 5, "needs the source's categories"},
		{"oai_url not a url", "[import]\noai_url = \"oaipmh.arxiv.org\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "import.oai_url"},
		{"oai_url with a query", "[import]\noai_url = \"https://oaipmh.arxiv.org/oai?verb=Identify\"\n[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\n", 2, "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("paperboy.toml", []byte(tt.toml), testPlatforms)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *ConfigError", err, err)
			}
			if ce.Line != tt.wantLine || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q at line %d, want line %d saying %q", err, ce.Line, tt.wantLine, tt.wantMsg)
			}
		})
	}
}

// TestDeliveryEdits: [delivery] edits is on unless the file turns it off.
func TestDeliveryEdits(t *testing.T) {
	for _, tt := range []struct {
		name, toml string
		want       bool
	}{
		{"default", "", true},
		{"on", "[delivery]\nedits = true\n", true},
		{"off", "[delivery]\nedits = false\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.toml", []byte("[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n"+tt.toml), testPlatforms)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Delivery.EditsEnabled(); got != tt.want {
				t.Errorf("EditsEnabled = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := Parse("t.toml", []byte("[delivery]\nedits = \"yes\"\n"), testPlatforms); err == nil {
		t.Error("edits = \"yes\" accepted, want an error")
	}
}
