package config

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// TestCheckCatchesWhatBreaksLater gives each mistake of issue 13 as a config snippet and wants the exact message
// `paperboy check` prints for it: file, line, what is wrong and how to fix it.
func TestCheckCatchesWhatBreaksLater(t *testing.T) {
	const hf = "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n"
	arxiv := func(extra string) string { return "[[sources]]\nname = \"a\"\nkind = \"arxiv\"\n" + extra }
	tests := []struct {
		name, toml string
		want       []string
	}{
		// Durations: a bare number would be nanoseconds.
		{"timeout as a bare number", "[fetch]\ntimeout = 60\n" + hf,
			[]string{`paperboy.toml:2: fetch.timeout = 60 is a bare number, which would mean 60 nanoseconds: write the unit in a string, e.g. timeout = "60s"`}},
		{"interval as a bare number", hf + "interval = 3600\n",
			[]string{`paperboy.toml:4: sources.interval = 3600 is a bare number, which would mean 3600 nanoseconds: write the unit in a string, e.g. interval = "3600s"`}},
		{"a decimal number", "[commands]\nlookup_timeout = 1.5\n" + hf,
			[]string{`paperboy.toml:2: commands.lookup_timeout = 1.5 is a bare number, which would mean 1.5 nanoseconds: write the unit in a string, e.g. lookup_timeout = "1.5s"`}},
		{"arxiv_api_interval", "[fetch]\narxiv_api_interval = 3\n" + hf,
			[]string{`paperboy.toml:2: fetch.arxiv_api_interval = 3 is a bare number, which would mean 3 nanoseconds: write the unit in a string, e.g. arxiv_api_interval = "3s"`}},
		{"health_max_silence", "[http]\nhealth_max_silence = 21600\n" + hf,
			[]string{`paperboy.toml:2: http.health_max_silence = 21600 is a bare number, which would mean 21600 nanoseconds: write the unit in a string, e.g. health_max_silence = "21600s"`}},
		{"history as a bare number", arxiv("categories = [\"cs.LG\"]\nhistory = 30\n"),
			[]string{`paperboy.toml:5: sources.history = 30 is a bare number, which would mean 30 nanoseconds: write the unit in a string, e.g. history = "30d"`}},
		{"not a duration", "[http]\nhealth_max_silence = \"often\"\n" + hf,
			[]string{`paperboy.toml:2: http.health_max_silence: invalid duration "often" (use e.g. "30m" or "1h")`}},
		{"dotted key", "fetch.timeout = 60\n" + hf,
			[]string{`paperboy.toml:1: fetch.timeout = 60 is a bare number, which would mean 60 nanoseconds: write the unit in a string, e.g. timeout = "60s"`}},
		{"inline table", "fetch = { user_agent = \"x\",\n  timeout = 60 }\n" + hf,
			[]string{`paperboy.toml:2: fetch.timeout = 60 is a bare number, which would mean 60 nanoseconds: write the unit in a string, e.g. timeout = "60s"`}},
		{"array of inline tables", "sources = [{name = \"a\", kind = \"hf-daily\"},\n  {name = \"b\", kind = \"hf-daily\", interval = 600}]\n",
			[]string{`paperboy.toml:2: sources.interval = 600 is a bare number, which would mean 600 nanoseconds: write the unit in a string, e.g. interval = "600s"`}},

		// Listen addresses.
		{"http listen without host", "[http]\nlisten = \"9090\"\n" + hf,
			[]string{`paperboy.toml:2: http.listen: "9090" is not host:port; write e.g. "127.0.0.1:9090" (this machine only) or ":9090" (every interface)`}},
		{"slack listen without port", "[slack]\nlisten = \"localhost\"\n" + hf,
			[]string{`paperboy.toml:2: slack.listen: "localhost" is not host:port; write e.g. "127.0.0.1:8080" or ":8080"`}},
		{"discord listen with a named port", "[discord]\nlisten = \"127.0.0.1:http\"\n" + hf,
			[]string{`paperboy.toml:2: discord.listen: "127.0.0.1:http" is not host:port; write e.g. "127.0.0.1:8080" or ":8080"`}},
		{"listen in an inline table", "http = { listen = \"9090\" }\n" + hf,
			[]string{`paperboy.toml:1: http.listen: "9090" is not host:port; write e.g. "127.0.0.1:9090" (this machine only) or ":9090" (every interface)`}},

		// Ids.
		{"slack channel name", hf + "[[channels]]\nplatform = \"slack\"\nid = \"#papers\"\n",
			[]string{`paperboy.toml:6: channels[0]: id "#papers" is a channel name; want the Slack channel id, like C0123ABCD (in Slack: the channel's name → About → Channel ID)`}},
		{"slack id in lower case", hf + "[[channels]]\nplatform = \"slack\"\nid = \"c0123abcd\"\n",
			[]string{`paperboy.toml:6: channels[0]: id "c0123abcd": want a Slack channel id: C, G or D then capital letters and digits, like C0123ABCD (in Slack: the channel's name → About → Channel ID)`}},
		{"discord channel name", hf + "[[channels]]\nplatform = \"discord\"\nid = \"general\"\n",
			[]string{`paperboy.toml:6: channels[0]: id "general": want a Discord channel id, a snowflake of 17 to 20 digits (turn on Developer Mode in User Settings → Advanced, then right-click the channel → Copy Channel ID)`}},
		{"application_id not a snowflake", "[discord]\napplication_id = \"my-app\"\n" + hf,
			[]string{`paperboy.toml:2: discord.application_id "my-app": want a Discord id, a snowflake of 17 to 20 digits (Developer Portal → your application → General Information → Application ID)`}},
		{"guild_id too short", "[discord]\nguild_id = \"123\"\n" + hf,
			[]string{`paperboy.toml:2: discord.guild_id "123": want a Discord id, a snowflake of 17 to 20 digits (turn on Developer Mode in User Settings → Advanced, then right-click the server → Copy Server ID)`}},
		{"slack manager not a user id", "[slack]\nmanagers = [\"alice\"]\n" + hf,
			[]string{`paperboy.toml:2: slack.managers[0] "alice": want a Slack user id like U0123ABCD (a profile's ⋮ menu → Copy member ID)`}},

		// arXiv categories, against the shipped taxonomy.
		{"category in the wrong case", arxiv("categories = [\"cs.lg\"]\n"),
			[]string{`paperboy.toml:4: source "a": categories: "cs.lg" is not an arXiv category: did you mean "cs.LG"? (case matters)`}},
		{"no such subject class", arxiv("categories = [\"cs.LG\", \"cs.XY\"]\n"),
			[]string{`paperboy.toml:4: source "a": categories: "cs.XY" is not an arXiv category: cs has no such subject class (see https://arxiv.org/category_taxonomy)`}},
		{"retired archive", arxiv("categories = [\"chao-dyn\"]\n"),
			[]string{`paperboy.toml:4: source "a": categories: "chao-dyn" is a retired arXiv archive, merged into nlin.CD: use "nlin.CD"`}},
		{"no such archive", arxiv("categories = [\"bio.NC\"]\n"),
			[]string{`paperboy.toml:4: source "a": categories: "bio.NC" is not an arXiv category: no archive "bio" (see https://arxiv.org/category_taxonomy)`}},
		{"arxiv-api categories", "[[sources]]\nname = \"a\"\nkind = \"arxiv-api\"\ncategories = [\"q-bio.XX\"]\n",
			[]string{`paperboy.toml:4: source "a": categories: "q-bio.XX" is not an arXiv category: q-bio has no such subject class (see https://arxiv.org/category_taxonomy)`}},

		// Keys of another kind.
		{"query on arxiv", arxiv("categories = [\"cs.LG\"]\nquery = \"abs:EEG\"\n"),
			[]string{`paperboy.toml:5: source "a": query does not apply to kind arxiv (query is for arxiv-api sources; arxiv reads name, kind, interval, url, categories, history): remove it or change kind`}},
		{"query on arxiv and a bad category", arxiv("categories = [\"cs.lg\", \"math.XX\"]\nquery = \"abs:EEG\"\n"), []string{
			`paperboy.toml:4: source "a": categories: "cs.lg" is not an arXiv category: did you mean "cs.LG"? (case matters)`,
			`paperboy.toml:4: source "a": categories: "math.XX" is not an arXiv category: math has no such subject class (see https://arxiv.org/category_taxonomy)`,
			`paperboy.toml:5: source "a": query does not apply to kind arxiv (query is for arxiv-api sources; arxiv reads name, kind, interval, url, categories, history): remove it or change kind`}},
		{"categories on hf-daily", "[[sources]]\nname = \"a\"\nkind = \"hf-daily\"\ncategories = [\"cs.LG\"]\n",
			[]string{`paperboy.toml:4: source "a": categories does not apply to kind hf-daily (categories is for arxiv or arxiv-api sources; hf-daily reads name, kind, interval, url, min_upvotes, days): remove it or change kind`}},
		{"min_upvotes on rss", "[[sources]]\nname = \"a\"\nkind = \"rss\"\nurl = \"https://x.org/f\"\nmin_upvotes = 3\n",
			[]string{`paperboy.toml:5: source "a": min_upvotes does not apply to kind rss (min_upvotes is for hf-daily sources; rss reads name, kind, interval, url): remove it or change kind`}},
		{"days and max_results on arxiv", arxiv("categories = [\"cs.LG\"]\ndays = 3\nmax_results = 10\n"), []string{
			`paperboy.toml:5: source "a": days does not apply to kind arxiv (days is for hf-daily sources; arxiv reads name, kind, interval, url, categories, history): remove it or change kind`,
			`paperboy.toml:6: source "a": max_results does not apply to kind arxiv (max_results is for arxiv-api sources; arxiv reads name, kind, interval, url, categories, history): remove it or change kind`}},

		// Types in the file's words, never Go's.
		{"integer key given a string", "[fetch]\nmax_body_bytes = \"big\"\n" + hf,
			[]string{`paperboy.toml:2: fetch.max_body_bytes: want a whole number without quotes, not a string`}},
		{"integer key in an inline table", "fetch = { user_agent = \"x\",\n  max_body_bytes = \"big\" }\n" + hf,
			[]string{`paperboy.toml:2: fetch.max_body_bytes: want a whole number without quotes, not a string`}},
		{"list given a string", arxiv("categories = \"cs.LG\"\n"),
			[]string{`paperboy.toml:4: sources.categories: want a list of strings, e.g. categories = ["cs.LG"], not a string`}},
		{"list of numbers", arxiv("categories = [1]\n"),
			[]string{`paperboy.toml:4: sources.categories: every element must be a string in quotes, not a number`}},
		{"string given a number", "[[sources]]\nname = 5\nkind = \"hf-daily\"\n",
			[]string{`paperboy.toml:2: sources.name: want a string in quotes, e.g. name = "5", not a number`}},
		{"table given a number", "log = 3\n" + hf,
			[]string{`paperboy.toml:1: log: want a table ([log] or log = { ... }), not a number`}},
		{"bool given a string", "[fetch]\nallow_private_networks = \"yes\"\n" + hf,
			[]string{`paperboy.toml:2: fetch.allow_private_networks: want true or false, not a string`}},
		{"integer out of range", "[delivery]\nworkers = 99999999999999999999\n" + hf,
			[]string{`paperboy.toml:2: delivery.workers: 99999999999999999999 is out of range`}},
		{"misspelt table", "[stor]\npath = \"x\"\n" + hf,
			[]string{`paperboy.toml:1: unknown key "stor": did you mean "store"?`}},
		{"misspelt key", "[log]\nlevle = \"debug\"\n" + hf,
			[]string{`paperboy.toml:2: unknown key "log.levle": did you mean "level"?`}},
		{"unknown key", "[log]\ncolour = \"debug\"\n" + hf,
			[]string{`paperboy.toml:2: unknown key "log.colour" ([log] has level, format)`}},
		{"unknown dotted key", "log.colour = \"debug\"\n" + hf,
			[]string{`paperboy.toml:1: unknown key "log.colour" ([log] has level, format)`}},
		{"syntax error", "[store\n", []string{`paperboy.toml:1: expected ']' to close table name`}},

		// One run lists every problem: the values are validated even when a duration was a bare number, and
		// the line of that number is not reported twice (interval = 3600 decodes below the minimum interval).
		{"type and value errors together", "[fetch]\ntimeout = 60\n[http]\nlisten = \"x\"\n" + hf + "interval = 3600\n", []string{
			`paperboy.toml:2: fetch.timeout = 60 is a bare number, which would mean 60 nanoseconds: write the unit in a string, e.g. timeout = "60s"`,
			`paperboy.toml:4: http.listen: "x" is not host:port; write e.g. "127.0.0.1:8080" or ":8080"`,
			`paperboy.toml:8: sources.interval = 3600 is a bare number, which would mean 3600 nanoseconds: write the unit in a string, e.g. interval = "3600s"`}},

		// Values checked after decoding still get the line of a dotted key or an inline table.
		{"log level in an inline table", "log = { format = \"text\",\n  level = \"loud\" }\n" + hf,
			[]string{`paperboy.toml:2: log.level "loud": want debug, info, warn or error`}},
		{"dotted log level", "\nlog.level = \"loud\"\n" + hf,
			[]string{`paperboy.toml:2: log.level "loud": want debug, info, warn or error`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("paperboy.toml", []byte(tt.toml), testPlatforms)
			if err == nil {
				t.Fatal("accepted")
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			text := strings.ReplaceAll(err.Error(), "paperboy.toml:", "")
			for _, word := range []string{"config.", "int64", "struct", "toml:"} {
				if strings.Contains(text, word) {
					t.Errorf("the message shows Go's or the library's words (%q): %v", word, err)
				}
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("%T is not a *ConfigError", err)
			}
		})
	}
}

// TestCheckAcceptsWhatWorks: the forms the refusals above point to are accepted.
func TestCheckAcceptsWhatWorks(t *testing.T) {
	for _, body := range []string{
		"[fetch]\ntimeout = \"60s\"\narxiv_api_interval = \"3s\"\n",
		"fetch.timeout = \"60s\"\n",
		"fetch = { timeout = \"60s\" }\n",
		"[http]\nlisten = \":9090\"\n[slack]\nlisten = \"127.0.0.1:8080\"\n[discord]\nlisten = \"[::1]:8081\"\n",
		"[discord]\napplication_id = \"123456789012345678\"\nguild_id = \"12345678901234567890\"\n",
		"[slack]\nmanagers = [\"U0123ABCD\", \"W0123ABCDEF\"]\n",
		"[[channels]]\nplatform = \"slack\"\nid = \"C0123ABCD\"\n[[channels]]\nplatform = \"slack\"\nid = \"G0123ABCD\"\n" +
			"[[channels]]\nplatform = \"discord\"\nid = \"111122223333444455\"\n[[channels]]\nplatform = \"console\"\nid = \"lab\"\n",
	} {
		src := body + "[[sources]]\nname = \"a\"\nkind = \"arxiv\"\ncategories = [\"cs.LG\", \"q-bio.NC\", \"cond-mat.str-el\", \"hep-th\", \"math\", \"eess.SP\"]\nhistory = \"30d\"\ninterval = \"1h\"\n" +
			"[[sources]]\nname = \"b\"\nkind = \"arxiv-api\"\nquery = \"abs:EEG\"\nmax_results = 50\n" +
			"[[sources]]\nname = \"c\"\nkind = \"hf-daily\"\nmin_upvotes = 3\ndays = 2\n"
		if _, err := Parse("paperboy.toml", []byte(src), testPlatforms); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestUnservedChannels(t *testing.T) {
	cfg, err := Parse("paperboy.toml", []byte("[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n"+
		"[[channels]]\nplatform = \"console\"\nid = \"lab\"\n"+
		"[[channels]]\nplatform = \"slack\"\nid = \"C0123ABCD\"\n"+
		"[[channels]]\nplatform = \"discord\"\nid = \"111122223333444455\"\n"), testPlatforms)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.UnservedChannels(map[string]string{"slack": "SLACK_BOT_TOKEN is not set"})
	want := []string{"paperboy.toml:8: warning: channel slack:C0123ABCD cannot be served: slack is off (SLACK_BOT_TOKEN is not set)"}
	if len(got) != len(want) || got[0].String() != want[0] {
		t.Errorf("warnings %v, want %v", got, want)
	}
	if got := cfg.UnservedChannels(nil); len(got) != 0 {
		t.Errorf("every platform on: warnings %v", got)
	}
}

// TestDecodeErrorInFileWords: should the decoder still refuse a value checkSettings let through, its message is
// translated to the key and the type the key wants, without Go's names.
func TestDecodeErrorInFileWords(t *testing.T) {
	data := []byte("[[sources]]\nname = \"a\"\nmin_upvotes = \"ten\"\n")
	var raw Config
	decErr := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw)
	if decErr == nil || !strings.Contains(decErr.Error(), "config.SourceConfig.MinUpvotes") {
		t.Fatalf("the decoder's own error is %v; this test needs one naming Go's struct field", decErr)
	}
	got := decodeError("paperboy.toml", decErr).Error()
	if want := "paperboy.toml:3: sources.min_upvotes: want a whole number without quotes"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
