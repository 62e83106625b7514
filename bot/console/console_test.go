package console_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/channel"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/console"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

var lab = channel.Ref{Platform: "console", ID: "lab"}

func testPaper(n int) paper.Paper {
	return paper.Paper{
		Key:        fmt.Sprintf("arxiv:2401.0000%d", n),
		Title:      fmt.Sprintf("Paper %d: EEG & <transformers>", n),
		Authors:    []string{"Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra"},
		Categories: []string{"cs.LG", "q-bio.NC"},
		URL:        fmt.Sprintf("https://arxiv.org/abs/2401.0000%d", n),
		Published:  time.Date(2024, 1, n, 0, 0, 0, 0, time.UTC),
		Abstract:   "We study things.",
	}
}

func card(n int, matched ...string) bot.Card { return bot.Card{Paper: testPaper(n), Matched: matched} }

func TestNew(t *testing.T) {
	tests := []struct {
		format  string
		wantErr bool
	}{{"", false}, {"text", false}, {"json", false}, {"JSON", true}, {"yaml", true}}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			c, err := console.New(console.Options{Format: tt.format, Output: &bytes.Buffer{}})
			if (err != nil) != tt.wantErr {
				t.Fatalf("New(%q) error = %v, want error %v", tt.format, err, tt.wantErr)
			}
			if err == nil && c.Name() != "console" {
				t.Errorf("Name() = %q, want console", c.Name())
			}
		})
	}
}

func TestSendText(t *testing.T) {
	evil := testPaper(3)
	evil.Title = "Clear\x1b[2J screen\r\nfake [console:other] line \u202eevil"
	tests := []struct {
		name    string
		msg     bot.Message
		want    []string // lines that must appear, in order
		notWant []string
	}{
		{
			name: "instant",
			msg:  bot.Message{Channel: lab, Cards: []bot.Card{card(1, "eeg", "transformer")}},
			want: []string{
				"[console:lab] * Paper 1: EEG & <transformers>",
				"[console:lab]   Ada Lovelace, Alan Turing, Grace Hopper et al. | 2024-01-01 | cs.LG q-bio.NC",
				"[console:lab]   https://arxiv.org/abs/2401.00001",
				"[console:lab]   matched: eeg, transformer",
			},
			notWant: []string{"==", "more"},
		},
		{
			name: "digest with overflow",
			msg: bot.Message{Channel: lab, Digest: true, Title: "2 new papers since Tuesday", Overflow: 12,
				Cards: []bot.Card{card(1, "eeg"), card(2, "meg")}},
			want: []string{
				"[console:lab] == 2 new papers since Tuesday ==",
				"[console:lab] * Paper 1: EEG & <transformers>",
				"[console:lab]   matched: eeg",
				"[console:lab] * Paper 2: EEG & <transformers>",
				"[console:lab]   matched: meg",
				"[console:lab] and 12 more",
			},
		},
		{
			name:    "digest without overflow or title",
			msg:     bot.Message{Channel: lab, Digest: true, Cards: []bot.Card{card(1)}},
			want:    []string{"[console:lab] == Digest ==", "[console:lab] * Paper 1: EEG & <transformers>"},
			notWant: []string{"more", "matched:"},
		},
		{
			name: "untrusted text cannot drive the terminal",
			msg:  bot.Message{Channel: lab, Cards: []bot.Card{{Paper: evil}}},
			// A title is one line: the line break in it cannot start a line that looks like another channel's.
			want:    []string{"[console:lab] * Clear [2J screen fake [console:other] line evil"},
			notWant: []string{"\x1b", "\r", "\u202e"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := console.New(console.Options{Output: &out})
			if err != nil {
				t.Fatal(err)
			}
			id, err := c.Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if id == "" {
				t.Error("empty message id")
			}
			got := out.String()
			lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
			for _, l := range lines {
				if !strings.HasPrefix(l, "[console:lab]") {
					t.Errorf("line %q lacks the channel prefix", l)
				}
			}
			i := 0
			for _, l := range lines {
				if i < len(tt.want) && strings.TrimRight(l, " ") == tt.want[i] {
					i++
				}
			}
			if i < len(tt.want) {
				t.Errorf("output lacks line %q (in order); got:\n%s", tt.want[i], got)
			}
			for _, s := range tt.notWant {
				if strings.Contains(got, s) {
					t.Errorf("output contains %q:\n%s", s, got)
				}
			}
		})
	}
}

// line mirrors the JSON record for decoding; pointers tell a missing field from an empty one.
type line struct {
	ID          string    `json:"id"`
	Channel     string    `json:"channel"`
	Nonce       string    `json:"nonce"`
	Digest      *bool     `json:"digest"`
	DigestTitle string    `json:"digest_title"`
	Overflow    int       `json:"overflow"`
	Key         string    `json:"key"`
	Title       string    `json:"title"`
	URL         string    `json:"url"`
	Authors     []string  `json:"authors"`
	Published   time.Time `json:"published"`
	Categories  []string  `json:"categories"`
	Matched     *[]string `json:"matched"`
	Upvotes     *int      `json:"upvotes"`
}

func decodeLines(t *testing.T, b []byte) []line {
	t.Helper()
	var out []line
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var l line
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func TestSendJSON(t *testing.T) {
	hf := testPaper(4)
	hf.HasHF, hf.Upvotes = true, 0
	tests := []struct {
		name  string
		msg   bot.Message
		check func(t *testing.T, id string, lines []line)
	}{
		{
			name: "instant",
			msg:  bot.Message{Channel: lab, Cards: []bot.Card{card(1, "eeg")}, Nonce: "pb-7"},
			check: func(t *testing.T, id string, lines []line) {
				if len(lines) != 1 {
					t.Fatalf("%d lines, want 1", len(lines))
				}
				l := lines[0]
				if l.ID != id || l.Nonce != "pb-7" || l.Channel != "console:lab" || l.Digest == nil || *l.Digest || l.Key != "arxiv:2401.00001" ||
					l.Title != "Paper 1: EEG & <transformers>" || l.URL != "https://arxiv.org/abs/2401.00001" ||
					len(l.Authors) != 4 || !l.Published.Equal(testPaper(1).Published) || len(l.Categories) != 2 ||
					l.Matched == nil || len(*l.Matched) != 1 || (*l.Matched)[0] != "eeg" || l.Upvotes != nil || l.DigestTitle != "" {
					t.Errorf("unexpected line %+v (id %s)", l, id)
				}
			},
		},
		{
			name: "digest writes a line per card",
			msg: bot.Message{Channel: lab, Digest: true, Title: "3 new papers", Overflow: 1, Nonce: "pbd-1-4",
				Cards: []bot.Card{card(1, "eeg"), card(2), {Paper: hf}}},
			check: func(t *testing.T, id string, lines []line) {
				if len(lines) != 3 {
					t.Fatalf("%d lines, want 3", len(lines))
				}
				for i, l := range lines {
					if l.ID != id || l.Nonce != "pbd-1-4" || l.Digest == nil || !*l.Digest || l.DigestTitle != "3 new papers" || l.Overflow != 1 {
						t.Errorf("line %d: %+v", i, l)
					}
				}
				if lines[1].Key != "arxiv:2401.00002" || lines[1].Matched == nil || len(*lines[1].Matched) != 0 {
					t.Errorf("card without matches must have matched: [], got %+v", lines[1])
				}
				if lines[2].Upvotes == nil || *lines[2].Upvotes != 0 {
					t.Errorf("known upvotes must be present even when 0, got %+v", lines[2])
				}
			},
		},
		{
			name: "message without cards still leaves a line",
			msg:  bot.Message{Channel: lab, Digest: true, Title: "nothing new"},
			check: func(t *testing.T, id string, lines []line) {
				if len(lines) != 1 || lines[0].ID != id || lines[0].DigestTitle != "nothing new" {
					t.Errorf("got %+v", lines)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c, err := console.New(console.Options{Format: console.FormatJSON, Output: &out})
			if err != nil {
				t.Fatal(err)
			}
			id, err := c.Send(context.Background(), tt.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if strings.Contains(out.String(), `\u0026`) {
				t.Errorf("HTML-escaped output: %s", out.String())
			}
			tt.check(t, id, decodeLines(t, out.Bytes()))
		})
	}
}

// TestSendConcurrent sends digests from many goroutines: every line must be whole JSON, the lines of one message
// adjacent, and every message id distinct.
func TestSendConcurrent(t *testing.T) {
	var out bytes.Buffer
	c, err := console.New(console.Options{Format: console.FormatJSON, Output: &out})
	if err != nil {
		t.Fatal(err)
	}
	const senders, each = 16, 20
	ids := make(chan string, senders*each)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for range each {
				id, err := c.Send(context.Background(), bot.Message{Channel: lab, Digest: true,
					Cards: []bot.Card{card(1), card(2), card(3)}})
				if err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				ids <- id
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("message id %s returned twice", id)
		}
		seen[id] = true
	}
	lines := decodeLines(t, out.Bytes())
	if len(lines) != senders*each*3 {
		t.Fatalf("%d lines, want %d", len(lines), senders*each*3)
	}
	for i := 0; i < len(lines); i += 3 {
		if lines[i].ID != lines[i+1].ID || lines[i].ID != lines[i+2].ID || !seen[lines[i].ID] {
			t.Fatalf("lines %d-%d are not one message: %s %s %s", i, i+2, lines[i].ID, lines[i+1].ID, lines[i+2].ID)
		}
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestSendErrors(t *testing.T) {
	diskFull := errors.New("no space left on device")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		out     *failingWriter
		wantErr error
	}{
		{name: "write error", ctx: context.Background(), out: &failingWriter{diskFull}, wantErr: diskFull},
		{name: "canceled context", ctx: canceled, out: &failingWriter{errors.New("must not be written")}, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		for _, format := range []string{console.FormatText, console.FormatJSON} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				c, err := console.New(console.Options{Format: format, Output: tt.out})
				if err != nil {
					t.Fatal(err)
				}
				id, err := c.Send(tt.ctx, bot.Message{Channel: lab, Cards: []bot.Card{card(1)}})
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Send error = %v, want %v", err, tt.wantErr)
				}
				if errors.Is(err, bot.ErrPermanent) {
					t.Errorf("error %v is permanent; the outbox must retry", err)
				}
				if !strings.Contains(err.Error(), "console:lab") {
					t.Errorf("error %q does not name the channel", err)
				}
				if id != "" {
					t.Errorf("id %q returned with an error", id)
				}
			})
		}
	}
}

func TestOpen(t *testing.T) {
	t.Run("file is created, then appended to", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "out.jsonl")
		for _, s := range []string{"one\n", "two\n"} {
			w, err := console.Open(path)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if _, err := w.Write([]byte(s)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "one\ntwo\n" {
			t.Errorf("file holds %q, want both writes appended", got)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// The umask may remove bits, never add them.
		if perm := fi.Mode().Perm(); perm&^0o644 != 0 {
			t.Errorf("mode %v, want at most 0644", perm)
		}
	})
	t.Run("empty path is stdout, left open", func(t *testing.T) {
		w, err := console.Open("")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := os.Stdout.Stat(); err != nil {
			t.Errorf("stdout closed: %v", err)
		}
	})
	t.Run("unwritable path", func(t *testing.T) {
		if _, err := console.Open(filepath.Join(t.TempDir(), "missing", "out.txt")); err == nil {
			t.Error("Open in a missing directory succeeded")
		}
	})
}

// TestEdit prints an edit recognisably: text output says "edited message ID:" before the new card, JSON lines carry
// "edited": true and the edited message's id.
func TestEdit(t *testing.T) {
	p := testPaper(1)
	p.Version, p.HasHF, p.Upvotes, p.GitHubRepo = 2, true, 57, "https://github.com/ada/engine"
	msg := bot.Message{Channel: lab, Cards: []bot.Card{{Paper: p, Matched: []string{"eeg"}}}}
	tests := []struct {
		format string
		want   []string
	}{
		{console.FormatText, []string{"[console:lab] edited message 7:", "(v2)", "50+ upvotes", "code https://github.com/ada/engine"}},
		{console.FormatJSON, []string{`"id":"7"`, `"edited":true`, `"version":2`, `"code_url":"https://github.com/ada/engine"`}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var out bytes.Buffer
			c, err := console.New(console.Options{Format: tt.format, Output: &out})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Edit(context.Background(), msg, "7"); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
			// An edit is not a post: it takes no message id.
			id, err := c.Send(context.Background(), msg)
			if err != nil || id != "1" {
				t.Errorf("Send after an edit = %q, %v; want id 1", id, err)
			}
		})
	}
}
