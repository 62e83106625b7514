package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Request is one /papers command as a platform adapter hands it over, whatever the platform.
type Request struct {
	// Channel is where the command was typed.
	Channel channel.Ref
	// User is the platform's user id of who typed it, recorded with subscriptions.
	User string
	// Workspace is the Slack team id or Discord guild id the command comes from; "" where there is none (a
	// Discord DM, paperboy cmd without --workspace). Reading lists and forget-me are per workspace.
	Workspace string
	// CanManage says whether the user may manage this channel's subscriptions, as the platform decided it
	// (Slack: channel member or configured manager; Discord: Manage Channels).
	CanManage bool
	// Text is everything after "/papers", for platforms whose command is free text (Slack, `paperboy cmd`).
	Text string
	// Invocation, when not nil, is the command as the platform already split it into a subcommand and typed
	// options (Discord's native subcommands); the command core then reads it and ignores Text.
	Invocation *Invocation
	// CannotPost, when not nil, is the platform's word, sent with the command itself, that the bot cannot post in
	// the channel: an error wrapping ErrPermanent (a *PermanentError with the fix), e.g. Discord's
	// app_permissions without Send Messages. Nil says nothing; the command core may then ask the platform.
	CannotPost error
}

// Invocation is a subcommand with its option values as the platform typed them.
type Invocation struct {
	// Subcommand is the subcommand's name, e.g. "backfill".
	Subcommand string
	// Options are the values of the options given, by name: a string, or an int64 for an integer option.
	Options map[string]any
}

// String renders the invocation for logs: the subcommand, then its options by name (`backfill days=7`).
func (inv Invocation) String() string {
	parts := []string{inv.Subcommand}
	names := make([]string, 0, len(inv.Options))
	for name := range inv.Options {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch v := inv.Options[name].(type) {
		case string:
			parts = append(parts, fmt.Sprintf("%s=%q", name, v))
		default:
			parts = append(parts, fmt.Sprintf("%s=%v", name, v))
		}
	}
	return strings.Join(parts, " ")
}

// Member is who typed the command, in its workspace: whose reading list and votes it reads.
func (r Request) Member() channel.User {
	return channel.User{Platform: r.Channel.Platform, Workspace: r.Workspace, ID: r.User}
}

// CommandLine is the command as typed, for logs: Text, or the rendered Invocation.
func (r Request) CommandLine() string {
	if r.Invocation != nil {
		return r.Invocation.String()
	}
	return r.Text
}

// Reply is the platform-neutral answer: text paragraphs and paper cards.
type Reply struct {
	// Private replies are shown only to the caller (Slack ephemeral, Discord ephemeral); look-ups are private.
	Private bool
	// Text holds paragraphs of plain text; adapters escape it for their markup.
	Text []string
	// Cards are papers to show, in order.
	Cards []Card
	// Files are images or other files to post with the reply (the /papers trends chart). Adapters that can
	// upload (Uploader) attach them; the others say where they put them. Text must make sense without them.
	Files []File
	// Code holds preformatted blocks shown verbatim after the text and cards (a BibTeX export): a code block on
	// Slack and Discord, plain lines on the terminal. Each is at most about 1,900 characters.
	Code []string
	// Document, when not nil, is the whole of a preformatted answer too long for one message (a BibTeX export),
	// as a file for the caller alone. An adapter that can deliver a file privately sends it (Slack: to the
	// caller's direct messages; Discord: attached to the ephemeral answer) and shows Text, without Code, saying
	// where it went. Otherwise, or when that fails, it shows Text, the Document's Shortfall, why the file did not
	// come, and Code: what one message holds of it. Only private replies carry one.
	Document *Document
	// Error marks a reply that refuses what was asked or could not do it (bad arguments, no permission, an invalid
	// query, a rate limit, a look-up that took too long): adapters show it like any reply, `paperboy cmd` exits 1.
	Error bool
}

// Document is a long answer delivered as a file, with what to say when it cannot be (Reply.Document).
type Document struct {
	File File
	// Summary names it in the sentence that says where it went: "papers.bib (37 entries)".
	Summary string
	// Shortfall says what Code lacks of the file, shown with Code when the file cannot be delivered; empty when
	// Code holds all of it.
	Shortfall []string
}

// WithoutDocument is the reply shown when the Document cannot be delivered: Text, the Document's Shortfall and
// why (one sentence), then Code.
func (r Reply) WithoutDocument(why string) Reply {
	if r.Document == nil {
		return r
	}
	out := r
	out.Text = append(append(append([]string(nil), r.Text...), r.Document.Shortfall...), why)
	out.Document = nil
	return out
}

// DocumentSent is the reply shown once the Document went out: Text and where it went (one sentence), without
// Code.
func (r Reply) DocumentSent(where string) Reply {
	out := r
	out.Text = append(append([]string(nil), r.Text...), where)
	out.Code = nil
	out.Document = nil
	return out
}

// Card is one paper to show, with why it matched.
type Card struct {
	Paper paper.Paper
	// Matched lists the query terms that hit, for "matched: eeg, foundation model".
	Matched []string
	// Up and Down are the channel's votes on the paper, shown on the card's vote buttons; 0 before any vote. A
	// card re-rendered (an edit) keeps its counts only if the caller fills them in.
	Up, Down int
	// Why says why the card ranked high for the channel ("you marked 4 papers on `ssvep` relevant"), "" when
	// the channel's votes did not rank it.
	Why string
}

// File is a file a reply or message carries: the bytes and how to present them.
type File struct {
	// Name is the file name, with the extension that tells its type ("trends.png").
	Name string
	// Data is the file's content.
	Data []byte
	// Title is shown with the file where the platform shows one (Slack's file title).
	Title string
	// AltText describes an image for screen readers and clients that cannot show it.
	AltText string
}

// Uploader is a Platform that can post files to a channel: Slack uploads them (files.uploadV2), Discord attaches
// them to a message. Platforms that cannot simply do not implement it.
type Uploader interface {
	// Upload posts files in ch with text as the message that introduces them, and returns the id of the message
	// or file posted; errors are classified as Send's.
	Upload(ctx context.Context, ch channel.Ref, text string, files []File) (string, error)
}
