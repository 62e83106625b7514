package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// cliStep is one invocation of the real entry point and what its output must (and must not) say.
type cliStep struct {
	name     string
	args     []string // after the subcommand's --config flag
	wantCode int
	wantOut  []string // substrings of stdout, in this order
	notOut   []string // substrings stdout must not contain
	wantErr  string   // substring of stderr; "" means stderr must be empty
}

// storeWithPapers writes a configuration with the captured arXiv feed as its only source and fills its store
// with one "poll --once", so that commands have real papers to find (arxiv:2205.06398, "Outlier Detection for
// Multi-Network Data", is among them). It returns the configuration's path.
func storeWithPapers(t *testing.T) string {
	t.Helper()
	srv, _ := feedServer(t)
	cfg := writeConfig(t, fmt.Sprintf(`
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
categories = ["cs.LG", "cs.AI", "cs.CL", "stat.ML"]
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, srv.URL))
	if code, out, errOut := run(t, context.Background(), "poll", "--once", "--config", cfg); code != 0 {
		t.Fatalf("poll --once: exit %d\n%s%s", code, out, errOut)
	}
	return cfg
}

// runSteps runs the steps in order against one configuration (so one store file): every step is a separate
// realMain call, which opens and closes the store, so what a step sees of an earlier one went through the
// database and not through memory.
func runSteps(t *testing.T, cfg string, steps []cliStep) {
	t.Helper()
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			args := append([]string{st.args[0], "--config", cfg}, st.args[1:]...)
			code, out, errOut := run(t, context.Background(), args...)
			if code != st.wantCode {
				t.Fatalf("%q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", st.args, code, st.wantCode, out, errOut)
			}
			rest := out
			for _, w := range st.wantOut {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q: stdout lacks %q (after the earlier expected parts):\n%s", st.args, w, out)
				}
				rest = rest[i+len(w):]
			}
			for _, w := range st.notOut {
				if strings.Contains(out, w) {
					t.Errorf("%q: stdout contains %q:\n%s", st.args, w, out)
				}
			}
			switch {
			case st.wantErr == "" && errOut != "":
				t.Errorf("%q: unexpected stderr:\n%s", st.args, errOut)
			case !strings.Contains(errOut, st.wantErr):
				t.Errorf("%q: stderr lacks %q:\n%s", st.args, st.wantErr, errOut)
			}
		})
		if !ok {
			// Later steps build on this one's state; their failures would only be noise.
			t.FailNow()
		}
	}
}

// as returns the arguments of "paperboy cmd" typed in channel, as a manager or not.
func as(channel string, manager bool, text ...string) []string {
	args := []string{"cmd", "--channel", channel}
	if manager {
		args = append(args, "--manager")
	}
	return append(append(args, "--"), text...)
}

// TestCommandsEndToEnd drives the /papers command core through "paperboy cmd" the way an administrator would,
// one process-like call at a time: subscriptions made by one call must be listed, numbered and removable by the
// next ones, permissions and query errors must be replies, which exit 1 so that scripts notice, and channels must not see each
// other's subscriptions.
func TestCommandsEndToEnd(t *testing.T) {
	cfg := storeWithPapers(t)
	const (
		c1 = "slack:C1"
		c2 = "discord:G1/C2"
	)
	refused := "Only people who can manage this channel may"
	runSteps(t, cfg, []cliStep{
		{name: "help", args: as(c1, false, "help"),
			wantOut: []string{"/papers <query>", "/papers subscribe <query>", "/papers unsubscribe <number or query>", "/papers list", "Examples:"}},
		{name: "empty text is help", args: as(c1, false),
			wantOut: []string{"/papers subscribe <query>"}},
		{name: "list before any subscription", args: as(c1, false, "list"),
			wantOut: []string{"This channel follows nothing yet."}},

		{name: "subscribe", args: as(c1, true, "subscribe", "eeg", "-survey"),
			wantOut: []string{"This channel now follows eeg -survey: new matching papers will be posted here."}},
		// The reply names the canonical query, not what was typed, so the user sees how it was understood.
		{name: "subscribe replies with the canonical query", args: as(c1, true, "sub", `neuroimaging  |  "Outlier   Detection"`),
			wantOut: []string{`This channel now follows neuroimaging OR "outlier detection":`}},
		{name: "subscribe to the same query spelled differently", args: as(c1, true, "subscribe", "EEG", "AND", "NOT", "Survey"),
			wantOut: []string{"This channel already follows eeg -survey (number 1 in /papers list)."}},
		{name: "list is numbered in subscription order", args: as(c1, false, "list"),
			wantOut: []string{"This channel follows 2 queries (each paper as it arrives)", "\n1. eeg -survey  (", `2. neuroimaging OR "outlier detection"  (`},
			notOut:  []string{"3. "}},
		{name: "another channel has its own subscriptions", args: as(c2, false, "ls"),
			wantOut: []string{"This channel follows nothing yet."}},

		{name: "non-manager may not subscribe", wantCode: 1, args: as(c1, false, "subscribe", "meg"),
			wantOut: []string{refused + " subscribe this channel."}, notOut: []string{"now follows"}},
		{name: "non-manager may not unsubscribe", wantCode: 1, args: as(c1, false, "unsubscribe", "1"),
			wantOut: []string{refused + " unsubscribe this channel."}, notOut: []string{"no longer follows"}},
		{name: "non-manager may not change the digest", wantCode: 1, args: as(c1, false, "digest", "daily", "09:00"),
			wantOut: []string{refused + " change how this channel receives papers."}},
		{name: "invalid query points at the error", wantCode: 1, args: as(c1, true, "subscribe", `"foundation model`),
			wantOut: []string{"That query is not valid: unclosed quote at 1", "\n    \"foundation model\n    ^\n", "Examples:"},
			notOut:  []string{"now follows"}},
		{name: "invalid query further in", wantCode: 1, args: as(c1, true, "subscribe", "eeg", "(meg"),
			wantOut: []string{"That query is not valid: ", "\n    eeg (meg\n        ^\n"}},
		{name: "refused and invalid commands changed nothing", args: as(c1, false, "list"),
			wantOut: []string{"This channel follows 2 queries", "1. eeg -survey", `2. neuroimaging OR "outlier detection"`},
			notOut:  []string{"meg", "foundation", "3. "}},

		{name: "search finds the stored paper", args: as(c1, false, "neuroimaging"),
			wantOut: []string{"1 of 1 papers matching neuroimaging", "* Outlier Detection for Multi-Network Data",
				"https://arxiv.org/abs/2205.06398", "matched: neuroimaging"}},
		{name: "search verb with the query language", args: as(c2, false, "search", `"outlier detection"`, "-survey", "title:networks"),
			wantOut: []string{`papers matching "outlier detection" -survey title:network`, "* Outlier Detection for Multi-Network Data"}},
		{name: "search that matches nothing", args: as(c1, false, "search", `"detection outlier"`),
			wantOut: []string{`No stored paper matches "detection outlier".`}},

		{name: "digest on", args: as(c1, true, "digest", "daily", "09:00", "Europe/Berlin"),
			wantOut: []string{"This channel now gets one digest a day at 09:00 Europe/Berlin."}},
		{name: "list shows the digest mode", args: as(c1, false, "list"),
			wantOut: []string{"(daily digest at 09:00 Europe/Berlin)"}},
		{name: "digest off", args: as(c1, true, "digest", "off"),
			wantOut: []string{"each matching paper as soon as it is announced"}},

		{name: "unsubscribe a number that is not listed", wantCode: 1, args: as(c1, true, "unsubscribe", "3"),
			wantOut: []string{"There is no subscription number 3 here; /papers list shows 2."}},
		{name: "unsubscribe by number", args: as(c1, true, "unsubscribe", "1"),
			wantOut: []string{"This channel no longer follows eeg -survey."}},
		{name: "list renumbers", args: as(c1, false, "list"),
			wantOut: []string{"This channel follows 1 queries (each paper as it arrives)", `1. neuroimaging OR "outlier detection"  (`},
			notOut:  []string{"eeg", "2. "}},
		{name: "unsubscribe from a query not followed", wantCode: 1, args: as(c1, true, "unsub", "eeg", "-survey"),
			wantOut: []string{"This channel does not follow eeg -survey."}},
		// By query, in another spelling: it is compared in canonical form, as subscribe compares it.
		{name: "unsubscribe by query", wantCode: 1, args: as(c1, true, "unsubscribe", `"Outlier Detection"`, "OR", "neuroimaging"),
			notOut: []string{"no longer follows"}, wantOut: []string{`This channel does not follow "outlier detection" OR neuroimaging.`}},
		{name: "unsubscribe by query in canonical order", args: as(c1, true, "unsubscribe", "Neuroimaging", "|", `"outlier detection"`),
			wantOut: []string{`This channel no longer follows neuroimaging OR "outlier detection".`}},
		{name: "list after removing everything", args: as(c1, false, "list"),
			wantOut: []string{"This channel follows nothing yet."}},

		{name: "sources", args: as(c1, false, "sources"),
			// The state depends on the day the test runs (quiet on a weekend, ok otherwise): bot/health tests it.
			wantOut: []string{"Sources:", "arxiv-ml: ", "; last batch just now, next expected ", "; last poll just now"}},
		{name: "channel without platform", args: as("C1", true, "help"),
			wantCode: 2, wantErr: `paperboy cmd: --channel: channel "C1": want PLATFORM:ID`},
		{name: "channel of an unknown platform", args: as("irc:#ml", true, "help"),
			wantCode: 2, wantErr: `unknown platform "irc"`},
		{name: "no channel", args: []string{"cmd", "help"},
			wantCode: 2, wantErr: "paperboy cmd: --channel: "},
	})
}

// TestSearchQueryLanguage checks that the CLI's search speaks the same query language as /papers: phrases,
// negations and fields narrow the hits, and an invalid query is a usage error that says where it is.
func TestSearchQueryLanguage(t *testing.T) {
	cfg := storeWithPapers(t)
	const paper = "arxiv:2205.06398  Outlier Detection for Multi-Network Data"
	runSteps(t, cfg, []cliStep{
		{name: "phrase and negation", args: []string{"search", "--", `"outlier detection" -survey`},
			wantOut: []string{paper, "matched: outlier detection"}},
		{name: "words in any order are ANDed", args: []string{"search", "detection", "outlier"},
			wantOut: []string{paper}},
		{name: "the phrase is ordered", args: []string{"search", "--", `"detection outlier"`},
			wantOut: []string{"no matching papers"}, notOut: []string{"2205.06398"}},
		{name: "negation excludes", args: []string{"search", "--", `"outlier detection" -neuroimaging`},
			wantOut: []string{"no matching papers"}},
		{name: "field restriction", args: []string{"search", "--", `title:neuroimaging`},
			wantOut: []string{"no matching papers"}},
		{name: "plural and author field", args: []string{"search", "--", `outliers au:dunson`},
			wantOut: []string{paper, "matched: outliers, dunson"}},
		{name: "category prefix", args: []string{"search", "--json", "--", `cat:stat.* "multi network"`},
			wantOut: []string{`"key":"arxiv:2205.06398"`, `"matched":["stat.*","multi network"]`}},
		{name: "unclosed quote", args: []string{"search", "--", `"outlier detection`},
			wantCode: 2, wantErr: "paperboy search: invalid query: unclosed quote at 1"},
		{name: "only negations", args: []string{"search", "--", "-survey"},
			wantCode: 2, wantErr: "paperboy search: invalid query: "},
		{name: "unknown field", args: []string{"search", "--", "foo:bar"},
			wantCode: 2, wantErr: "paperboy search: invalid query: "},
	})
}

// TestFeedbackCLI: search --sort relevant ranks by full-text relevance, paperboy cmd answers the feedback
// commands and prints a whole BibTeX export.
func TestFeedbackCLI(t *testing.T) {
	cfg := storeWithPapers(t)
	const paper = "arxiv:2205.06398  Outlier Detection for Multi-Network Data"
	runSteps(t, cfg, []cliStep{
		{name: "search sort relevant", args: []string{"search", "--sort", "relevant", "--limit", "3", "--", `"outlier detection"`},
			wantOut: []string{paper, "matched: outlier detection"}},
		{name: "search sort newest", args: []string{"search", "--sort", "newest", "--", `"outlier detection"`},
			wantOut: []string{paper}},
		{name: "search sort bogus", args: []string{"search", "--sort", "oldest", "x"},
			wantCode: 2, wantErr: `paperboy search: --sort "oldest": want newest or relevant`},
		{name: "look-up sort:relevant", args: as("slack:C1", false, "outlier", "detection", "sort:relevant"),
			wantOut: []string{"most relevant of", "Outlier Detection for Multi-Network Data"}},
		{name: "export a query as bibtex", args: as("slack:C1", false, "export", "bibtex", `"outlier detection"`),
			wantOut: []string{"BibTeX of the papers matching", "@misc{", "eprint        = {2205.06398}", "doi           = {10.48550/arXiv.2205.06398}"}},
		{name: "like", args: as("slack:C1", false, "like", "https://arxiv.org/abs/2205.06398"),
			wantOut: []string{"stored papers most like arxiv:2205.06398 (best BM25 match of its most distinctive words: "}},
		{name: "feedback without votes", args: as("slack:C1", false, "feedback"),
			wantOut: []string{"Nobody voted on a paper in this channel in the last 30 days."}},
		{name: "saved is empty", args: as("slack:C1", false, "saved"),
			wantOut: []string{"Your reading list is empty."}},
		{name: "forget-me", args: as("slack:C1", false, "forget-me"),
			wantOut: []string{"Deleted your 0 votes and the 0 papers of your reading list"}},
		{name: "forget-me in a workspace", args: []string{"cmd", "--channel", "slack:C1", "--workspace", "T1", "--", "forget-me"},
			wantOut: []string{"Deleted your 0 votes and the 0 papers of your reading list in this Slack workspace"}},
		{name: "the pre-workspace marker is no workspace", args: []string{"cmd", "--channel", "slack:C1", "--workspace", "*", "--", "saved"},
			wantCode: 2, wantErr: `paperboy cmd: --workspace "*" is not a workspace id`},
	})
}
