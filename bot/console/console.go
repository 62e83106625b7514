// Package console is the terminal platform: it prints announcements as readable text or as JSON lines, so the bot
// runs out of the box without any chat token and its output can be piped into other tools.
package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/paperboy-bot/paperboy/bot"
)

// Output formats.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Options configure a Console.
type Options struct {
	// Format is FormatText (the default when empty) or FormatJSON.
	Format string
	// Output receives the announcements; os.Stdout when nil. See Open for the [console] output key.
	Output io.Writer
	// FilesDir receives the files posted (the /papers trends chart), whose paths are printed; the system's
	// temporary directory when "".
	FilesDir string
}

// Console is the console Platform. It is safe for concurrent use: each Send is written with a single Write under a
// lock, so announcements never interleave.
type Console struct {
	json     bool
	filesDir string

	mu   sync.Mutex
	out  io.Writer
	sent uint64 // messages sent, the source of message ids
}

var _ bot.Platform = (*Console)(nil)

// New returns a Console writing to opts.Output in opts.Format.
func New(opts Options) (*Console, error) {
	c := &Console{out: opts.Output, filesDir: opts.FilesDir}
	switch opts.Format {
	case "", FormatText:
	case FormatJSON:
		c.json = true
	default:
		return nil, fmt.Errorf("console format %q: want %q or %q", opts.Format, FormatText, FormatJSON)
	}
	if c.out == nil {
		c.out = os.Stdout
	}
	return c, nil
}

// Open opens the destination named by the [console] output key: "" is standard output (which Close leaves open),
// anything else a file appended to, created with mode 0644 when missing.
func Open(path string) (io.WriteCloser, error) {
	if path == "" {
		return nopCloser{os.Stdout}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("console output: %w", err) // err names the file: "open FILE: ..."
	}
	return f, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Name is "console".
func (c *Console) Name() string { return "console" }

// Send prints msg and returns its message id, unique among this Console's sends. A write error is returned
// wrapped and is not permanent: a full disk or a closed pipe may well recover, and the outbox keeps the message.
func (c *Console) Send(ctx context.Context, msg bot.Message) (string, error) {
	channel := msg.Channel.Platform + ":" + msg.Channel.ID
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("post to %s: %w", channel, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// The id is taken before writing since JSON lines carry it; a failed write burns one, which keeps ids unique.
	c.sent++
	id := strconv.FormatUint(c.sent, 10)
	var (
		buf []byte
		err error
	)
	if c.json {
		buf, err = jsonLines(channel, id, msg)
		if err != nil {
			return "", fmt.Errorf("post to %s: %w", channel, err)
		}
	} else {
		buf = text(channel, msg)
	}
	if _, err := c.out.Write(buf); err != nil {
		return "", fmt.Errorf("post to %s: write console output: %w", channel, err)
	}
	return id, nil
}

// Edit prints msg as the new content of the message messageID: in text, a line "edited message ID:" and the card;
// in JSON, the card's line with "edited": true and the edited message's id.
func (c *Console) Edit(ctx context.Context, msg bot.Message, messageID string) error {
	channel := msg.Channel.Platform + ":" + msg.Channel.ID
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("edit %s in %s: %w", messageID, channel, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var buf []byte
	if c.json {
		var err error
		if buf, err = jsonLinesOf(channel, messageID, msg, true); err != nil {
			return fmt.Errorf("edit %s in %s: %w", messageID, channel, err)
		}
	} else {
		buf = textOf(channel, msg, "edited message "+messageID+":")
	}
	if _, err := c.out.Write(buf); err != nil {
		return fmt.Errorf("edit %s in %s: write console output: %w", messageID, channel, err)
	}
	return nil
}

// text renders msg with every line prefixed by the channel, so that output stays attributable even when several
// channels print to one terminal and a title contains line breaks.
func text(channel string, msg bot.Message) []byte { return textOf(channel, msg, "") }

// textOf is text with a first line head (none when "").
func textOf(channel string, msg bot.Message, head string) []byte {
	var body strings.Builder
	if head != "" {
		body.WriteString(head + "\n")
	}
	if msg.Digest {
		title := msg.Title
		if title == "" {
			title = "Digest"
		}
		fmt.Fprintf(&body, "== %s ==\n", title)
	}
	for _, c := range msg.Cards {
		if msg.Reduced {
			body.WriteString(bot.ReducedCardText(c))
			continue
		}
		body.WriteString(bot.CardText(c))
	}
	if msg.Overflow > 0 {
		fmt.Fprintf(&body, "and %d more\n", msg.Overflow)
	}
	return prefixed(channel, body.String())
}

// prefixed is text with every line prefixed by the channel, sanitized for a terminal.
func prefixed(channel, text string) []byte {
	prefix := "[" + channel + "]"
	var b bytes.Buffer
	for line := range strings.Lines(sanitize(text)) {
		line = strings.TrimRight(line, "\n")
		b.WriteString(prefix)
		if line != "" {
			b.WriteByte(' ')
			b.WriteString(line)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// sanitize makes untrusted feed text harmless on a terminal: control characters (ANSI escape sequences could
// clear the screen or retitle the window) become spaces, and bidirectional overrides, which can make text read
// differently from what it is, are dropped. Line breaks stay.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case unicode.Is(unicode.Cc, r):
			return ' '
		case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f':
			return -1
		}
		return r
	}, s)
}

// record is one JSON line: one card of one message.
type record struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	// Nonce is the message's Nonce, the same across retries of one send: a consumer that keeps the first line of
	// each nonce sees what a platform deduplicating by nonce would have posted.
	Nonce  string `json:"nonce,omitempty"`
	Digest bool   `json:"digest"`
	// DigestTitle and Overflow repeat the digest's header on each of its lines, so every line stands alone.
	DigestTitle string    `json:"digest_title,omitempty"`
	Overflow    int       `json:"overflow,omitempty"`
	Key         string    `json:"key"`
	Title       string    `json:"title"`
	URL         string    `json:"url"`
	Authors     []string  `json:"authors"`
	Published   time.Time `json:"published,omitzero"`
	Categories  []string  `json:"categories"`
	Matched     []string  `json:"matched"`
	PDFURL      string    `json:"pdf_url,omitempty"`
	HFURL       string    `json:"hf_url,omitempty"`
	Upvotes     *int      `json:"upvotes,omitempty"`
	Abstract    string    `json:"abstract,omitempty"`
	// Edited marks the new content of a card posted earlier as message ID (a change of its paper).
	Edited      bool   `json:"edited,omitempty"`
	Version     int    `json:"version,omitempty"`
	CodeURL     string `json:"code_url,omitempty"`
	ProjectPage string `json:"project_page,omitempty"`
	JournalRef  string `json:"journal_ref,omitempty"`
	DOI         string `json:"doi,omitempty"`
}

// jsonLines renders msg as one JSON object per card; a message without cards still gets one line, so that no send
// goes unrecorded.
func jsonLines(channel, id string, msg bot.Message) ([]byte, error) {
	return jsonLinesOf(channel, id, msg, false)
}

// jsonLinesOf is jsonLines, the lines marked as an edit of message id when edited.
func jsonLinesOf(channel, id string, msg bot.Message, edited bool) ([]byte, error) {
	cards := msg.Cards
	if len(cards) == 0 {
		cards = []bot.Card{{}}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// Titles are text, not HTML: keep & < > readable for grep and jq users.
	enc.SetEscapeHTML(false)
	for _, c := range cards {
		p := c.Paper
		r := record{
			ID: id, Channel: channel, Nonce: msg.Nonce, Digest: msg.Digest, Key: p.Key, Title: p.Title, URL: p.URL,
			Authors: nonNil(p.Authors), Published: p.Published, Categories: nonNil(p.Categories),
			Matched: nonNil(c.Matched), PDFURL: p.PDFURL, HFURL: p.HFURL, Abstract: p.Abstract, Edited: edited,
			Version: p.Version, CodeURL: p.GitHubRepo, ProjectPage: p.ProjectPage, JournalRef: p.JournalRef, DOI: p.DOI,
		}
		if msg.Digest {
			r.DigestTitle, r.Overflow = msg.Title, msg.Overflow
		}
		if p.HasHF {
			r.Upvotes = &p.Upvotes
		}
		if err := enc.Encode(r); err != nil {
			return nil, fmt.Errorf("encode %s: %w", p.Key, err)
		}
	}
	return b.Bytes(), nil
}

// nonNil keeps empty lists as [] in JSON, so consumers need not handle null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
