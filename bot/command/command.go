// Package command is the /papers command core: one table of subcommands drives the text parser, help, Discord's
// command definition, autocomplete and deferral; Commander answers requests from the local store; Runner answers
// within a budget or defers, for every command transport.
package command

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/health"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/paperboy-bot/paperboy/filters"
)

// Store is what the command core needs from the store.
type Store interface {
	AddSubscription(ctx context.Context, sub channel.Subscription) (channel.Subscription, error)
	RemoveSubscription(ctx context.Context, ch channel.Ref, id int64) error
	Subscriptions(ctx context.Context, ch channel.Ref) ([]channel.Subscription, error)
	Channel(ctx context.Context, ch channel.Ref) (channel.Channel, error)
	SetChannelMode(ctx context.Context, c channel.Channel, at time.Time) error
	SourceStates(ctx context.Context) ([]paper.SourceState, error)
	BlockedChannels(ctx context.Context) ([]channel.Channel, error)
	BlockChannel(ctx context.Context, ch channel.Ref, reason string, at time.Time) error
	Enqueue(ctx context.Context, ch channel.Ref, kind string, matched map[string][]string, at time.Time) (int, error)
	// ScanCandidates calls yield with up to limit papers that may satisfy pre (a superset; nil is every paper),
	// sorting at or after since, newest first, reading further only while yield returns true.
	ScanCandidates(ctx context.Context, pre *filters.Prefilter, since time.Time, limit int, yield func(paper.Paper) bool) error
	// CountFailed, ListFailed (latest first; limit <= 0 is all) and RequeueFailed (back to pending, attempts
	// reset; it returns how many) are about ch's papers the platform rejected until they were set aside.
	CountFailed(ctx context.Context, ch channel.Ref) (int, error)
	ListFailed(ctx context.Context, ch channel.Ref, limit int) ([]channel.OutboxItem, error)
	RequeueFailed(ctx context.Context, ch channel.Ref) (int, error)
}

// Commander answers /papers commands from the local store. It is safe for concurrent use.
type Commander struct {
	Store Store
	Now   func() time.Time
	// OnChange, if set, is called after a channel's subscriptions, mode or outbox changed, so the engine can
	// recompile its matcher and look at the outbox.
	OnChange func(ctx context.Context, ch channel.Ref)
	// DigestCards is how many papers a digest message shows ([delivery] digest_cards), for the replies that
	// promise it.
	DigestCards int
	// LookupTimeout bounds each look-up in the store ([commands] lookup_timeout): a query that takes longer is
	// cancelled, in the database too, and the user is asked to narrow it. DefaultLookupTimeout when 0.
	LookupTimeout time.Duration
	// Limiter, when set, bounds how often each user may run commands ([commands] per_user_rate).
	Limiter *UserLimiter
	// Health, when set, adds each source's health to /papers sources.
	Health SourceHealth
	// Access, when set, tells whether the bot can post in a channel (Slack: is it a member). Without it, a
	// channel the bot cannot post in is noticed by the first post's error.
	Access ChannelAccess
	// Feedback keeps votes and reading lists (/papers feedback, like, saved, unsave, export, forget-me, and
	// sort:relevant); the Store when nil and it implements FeedbackStore.
	Feedback FeedbackStore
	// WholeExports makes /papers export print every entry (paperboy cmd) instead of what one chat message holds.
	WholeExports bool
}

// ChannelAccess tells whether the bot can post in a channel; bot.AccessChecker platforms provide it.
type ChannelAccess interface {
	// CheckAccess returns nil when the bot can post in ch, an error wrapping bot.ErrPermanent when it cannot,
	// any other error when it could not tell.
	CheckAccess(ctx context.Context, ch channel.Ref) error
}

// DefaultLookupTimeout is a look-up's time budget when none is configured: the slowest reasonable query on a
// million papers answers well within it, and it leaves room in the platforms' 3-second answer window.
const DefaultLookupTimeout = time.Second

// ErrLookupTimeout means a look-up ran out of its time budget and was cancelled.
var ErrLookupTimeout = errors.New("look-up took too long")

// Limits of the command core.
const (
	SearchResults    = 5
	SubscribeWindow  = 7 * 24 * time.Hour
	SubscribeSamples = 3
	// candidateLimit bounds how many FTS candidates one look-up examines, newest first, so that a very common
	// word stays fast; the matcher then decides.
	candidateLimit = 5000
	// MaxSubscriptions per channel keeps one channel from turning the matcher into its private database.
	MaxSubscriptions = 100
)

// Handle runs one command and returns the reply. Problems the user can fix (bad query, no permission, unknown
// command) are replies, not errors; an error means the bot itself failed (store down) and the adapter should
// say so generically and log it.
func (c *Commander) Handle(ctx context.Context, req bot.Request) (bot.Reply, error) {
	// The rate comes first, before anything touches the store: it is what keeps one user from keeping the
	// store busy.
	if c.Limiter != nil {
		if ok, wait := c.Limiter.Allow(req.Channel.Platform, req.User); !ok {
			return rateLimited(wait), nil
		}
	}
	blockedNote, err := c.unblock(ctx, req)
	if err != nil {
		return bot.Reply{}, err
	}
	sub, args, err := parse(req)
	if errors.Is(err, errUnknown) {
		return withNote(failed("Unknown command; try /papers help."), blockedNote), nil
	}
	// Permission comes before the arguments: someone who may not run it needs no usage lesson.
	if sub.Access == Managers && !req.CanManage {
		return withNote(refuse(sub.Refusal), blockedNote), nil
	}
	if err != nil {
		return withNote(sub.badArgs(), blockedNote), nil
	}
	r, err := sub.run(c, ctx, req, args)
	if err != nil {
		return r, err
	}
	if blockedNote == "" && sub.Posts {
		// The papers this command queues must not silently go nowhere.
		var perm *bot.PermanentError
		if aerr := c.checkAccess(ctx, req); errors.As(aerr, &perm) {
			blockedNote = "The bot cannot post in this channel (" + perm.Reason + "), so no paper will appear here yet." + fixSentence(perm.Fix)
		}
	}
	return withNote(r, blockedNote), nil
}

// checkAccess is whether the bot can post where req was typed: the platform's word sent with the command, else
// the answer of Access, else nil (unknown).
func (c *Commander) checkAccess(ctx context.Context, req bot.Request) error {
	switch {
	case req.CannotPost != nil:
		return req.CannotPost
	case c.Access != nil:
		return c.Access.CheckAccess(ctx, req.Channel)
	}
	return nil
}

// withNote adds note, if any, as the reply's last paragraph, or before the last one when it introduces cards
// ("for example:").
func withNote(r bot.Reply, note string) bot.Reply {
	switch {
	case note == "":
	case len(r.Cards) > 0 && len(r.Text) > 0:
		r.Text = slices.Insert(r.Text, len(r.Text)-1, note)
	default:
		r.Text = append(r.Text, note)
	}
	return r
}

// fixSentence tells what to do about a permanent error whose fix the platform knows, and that a command typed
// afterwards resumes delivery; "" when no fix is known.
func fixSentence(fix string) string {
	if fix == "" {
		return ""
	}
	return " To fix it: " + fix + "; then type any /papers command here and the papers that wait are posted."
}

// Complete offers values for option of req's subcommand while typed is being typed (Discord's autocomplete);
// nil when the option offers none. At most MaxChoices, with names and values of at most MaxChoiceLen characters.
func (c *Commander) Complete(ctx context.Context, req bot.Request, option, typed string) ([]Choice, error) {
	sub, ok := Find(req)
	if !ok {
		return nil, nil
	}
	for _, o := range sub.Options {
		if o.Name == option && o.complete != nil {
			return o.complete(c, ctx, req, typed)
		}
	}
	return nil, nil
}

// completeSubscription offers the channel's subscriptions, filtered by what was typed (a part of the query or
// its number). The value is the canonical query, which stays right when the list is renumbered, or the number
// when the query is too long for a value.
func (c *Commander) completeSubscription(ctx context.Context, req bot.Request, typed string) ([]Choice, error) {
	subs, err := c.Store.Subscriptions(ctx, req.Channel)
	if err != nil {
		return nil, fmt.Errorf("complete subscriptions of %s: %w", req.Channel, err)
	}
	typed = strings.ToLower(strings.TrimSpace(typed))
	var out []Choice
	for i, s := range subs {
		if len(out) >= MaxChoices {
			break
		}
		n := strconv.Itoa(i + 1)
		if typed != "" && !strings.Contains(strings.ToLower(s.Canonical), typed) && typed != n {
			continue
		}
		value := s.Canonical
		if utf8.RuneCountInString(value) > MaxChoiceLen {
			value = n
		}
		name := n + ". " + cmp.Or(strings.Join(strings.Fields(s.Canonical), " "), s.Query)
		out = append(out, Choice{Name: strings.TrimSpace(bot.Truncate(name, MaxChoiceLen)), Value: value})
	}
	return out, nil
}

func private(lines ...string) bot.Reply { return bot.Reply{Private: true, Text: lines} }

// failed is a private reply that refuses the command or says it could not be done (bot.Reply.Error).
func failed(lines ...string) bot.Reply { return bot.Reply{Private: true, Text: lines, Error: true} }

func refuse(what string) bot.Reply {
	return failed(fmt.Sprintf("Only people who can manage this channel may %s. Ask a channel manager, or see /papers help.", what))
}

// parseQuery parses q and turns a syntax error into a reply that shows where it is.
func parseQuery(q string) (*filters.Query, *bot.Reply) {
	parsed, err := filters.Parse(q)
	if err == nil {
		return parsed, nil
	}
	var se *filters.SyntaxError
	msg := err.Error()
	if errors.As(err, &se) && se.Pos > 0 {
		caret := strings.Repeat(" ", max(0, se.Pos-1)) + "^"
		msg = fmt.Sprintf("%s\n    %s\n    %s", err, q, caret)
	}
	r := failed("That query is not valid: "+msg, `Examples: eeg transformer | "foundation model" -survey | title:(snn OR "spiking network") cat:cs.NE`)
	return nil, &r
}

// matching returns up to limit papers published since since that q matches, newest first, with explanations, and
// how many matched. The query's pre-filter narrows the candidates; its own matcher decides, so look-ups and
// subscriptions always agree.
//
// With exact, every candidate is matched and total counts them all. Without it, the scan stops at the first match
// past limit, so total is len(cards) when that is all there is and len(cards)+1 when more papers match: a
// look-up for a common word reads a few dozen candidates instead of thousands, with the same cards.
//
// The look-up runs within the Commander's time budget; past it, the store's query is cancelled and the error is
// ErrLookupTimeout.
func (c *Commander) matching(ctx context.Context, q *filters.Query, since time.Time, limit int, exact bool) ([]bot.Card, int, error) {
	// The store's work stops a tenth of the budget early: stopping is not instant (SQLite notices an interrupt
	// between steps of its program, and an FTS5 prefix merge runs to its end), and the answer, even a refusal, is
	// due within the budget. At 100k papers on a quiet 2-core machine the dearest accepted query was refused 25 ms
	// past a full budget (BenchmarkWorstLookup).
	lctx, cancel := context.WithTimeout(ctx, c.lookupTimeout()-c.lookupTimeout()/10)
	defer cancel()
	var cards []bot.Card
	total, seen := 0, 0
	var stopped error
	err := c.Store.ScanCandidates(lctx, q.Prefilter(), since, candidateLimit, func(p paper.Paper) bool {
		// Matching thousands of candidates takes a while too; the budget covers it.
		if seen++; seen%256 == 0 && lctx.Err() != nil {
			stopped = lctx.Err()
			return false
		}
		exp, ok := q.Match(&p)
		if !ok {
			return true
		}
		total++
		if len(cards) < limit {
			cards = append(cards, bot.Card{Paper: p, Matched: exp.Terms()})
		}
		return exact || total <= limit
	})
	if err == nil {
		err = stopped
	}
	if err != nil {
		return nil, 0, timedOut(lctx, err)
	}
	return cards, total, nil
}

// timedOut turns err into ErrLookupTimeout when ctx, a look-up's context, ran out of time, whatever the store
// made of the cancellation (an interrupted statement, a closed result set).
func timedOut(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrLookupTimeout, err)
	}
	return err
}

func (c *Commander) lookupTimeout() time.Duration {
	if c.LookupTimeout > 0 {
		return c.LookupTimeout
	}
	return DefaultLookupTimeout
}

// tooSlow is the reply to a look-up that ran out of its time budget.
func (c *Commander) tooSlow(q *filters.Query) bot.Reply {
	return failed(fmt.Sprintf("Looking up %s took too long (over %s), so I stopped it. Narrow the query: fewer alternatives and prefixes, longer prefixes (neuro* rather than ne*), or a rarer word.", q, c.lookupTimeout()))
}

// Search returns up to limit stored papers matching query, newest first, with the terms that matched (for
// `paperboy search`). An invalid query is a *filters.SyntaxError.
func (c *Commander) Search(ctx context.Context, query string, limit int) ([]bot.Card, error) {
	q, err := filters.Parse(query)
	if err != nil {
		return nil, err
	}
	cards, _, err := c.matching(ctx, q, time.Time{}, limit, false)
	return cards, err
}

func (c *Commander) search(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	text, sort, err := splitSort(args.String("query"))
	if err != nil {
		return failed(err.Error() + ". Example: /papers eeg transformer sort:relevant"), nil
	}
	if text == "" {
		return failed("What should I look for? Try /papers eeg transformer, or /papers help."), nil
	}
	q, bad := parseQuery(text)
	if bad != nil {
		return *bad, nil
	}
	if sort == SortRelevant {
		return c.searchRanked(ctx, req, q)
	}
	cards, total, err := c.matching(ctx, q, time.Time{}, SearchResults, false)
	if errors.Is(err, ErrLookupTimeout) {
		return c.tooSlow(q), nil
	}
	if err != nil {
		return bot.Reply{}, fmt.Errorf("search %q: %w", text, err)
	}
	if total == 0 {
		return private(fmt.Sprintf("No stored paper matches %s.", q)), nil
	}
	head := fmt.Sprintf("%d of %d papers matching %s, newest first:", len(cards), total, q)
	if total > len(cards) {
		// The look-up stopped at the first match it would not show: counting them all would read every
		// candidate.
		head = fmt.Sprintf("The %d newest of the papers matching %s:", len(cards), q)
	}
	r := private(head)
	r.Cards = cards
	return r, nil
}

func (c *Commander) subscribe(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	text := args.String("query")
	if text == "" {
		return failed("Subscribe to what? Example: /papers subscribe eeg -survey"), nil
	}
	q, bad := parseQuery(text)
	if bad != nil {
		return *bad, nil
	}
	subs, err := c.Store.Subscriptions(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("subscribe: %w", err)
	}
	canon := q.String()
	for i, s := range subs {
		if s.Canonical == canon {
			return private(fmt.Sprintf("This channel already follows %s (number %d in /papers list).", canon, i+1)), nil
		}
	}
	if len(subs) >= MaxSubscriptions {
		return failed(fmt.Sprintf("This channel already has %d subscriptions, the most it may have. Remove one with /papers unsubscribe.", len(subs))), nil
	}
	now := c.now()
	if _, err := c.Store.AddSubscription(ctx, channel.Subscription{Channel: req.Channel, Query: text, Canonical: canon, AddedBy: req.User, AddedAt: now}); err != nil {
		if errors.Is(err, channel.ErrDuplicate) { // someone else subscribed it a moment ago
			return private(fmt.Sprintf("This channel already follows %s.", canon)), nil
		}
		return bot.Reply{}, fmt.Errorf("subscribe %s to %q: %w", req.Channel, canon, err)
	}
	c.changed(ctx, req.Channel)
	cards, total, err := c.matching(ctx, q, now.Add(-SubscribeWindow), SubscribeSamples, true)
	slow := errors.Is(err, ErrLookupTimeout)
	if err != nil && !slow {
		return bot.Reply{}, fmt.Errorf("subscribe: preview: %w", err)
	}
	r := bot.Reply{Text: []string{fmt.Sprintf("This channel now follows %s: new matching papers will be posted here.", canon)}}
	switch {
	case slow:
		r.Text = append(r.Text, fmt.Sprintf("Looking up which recent papers it would have matched took too long (over %s), so I stopped; a narrower query would be cheaper to check.", c.lookupTimeout()))
	case total == 0:
		r.Text = append(r.Text, "No paper of the last 7 days would have matched; check the spelling, or try a broader query.")
	default:
		r.Text = append(r.Text, fmt.Sprintf("In the last 7 days it would have matched %d paper%s, for example:", total, plural(total)))
		r.Cards = cards
	}
	return r, nil
}

func (c *Commander) unsubscribe(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	text := args.String("subscription")
	subs, err := c.Store.Subscriptions(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("unsubscribe: %w", err)
	}
	if text == "" {
		return failed("Unsubscribe from what? Give its number from /papers list, or the query itself."), nil
	}
	target := -1
	if n, err := strconv.Atoi(text); err == nil {
		if n < 1 || n > len(subs) {
			return failed(fmt.Sprintf("There is no subscription number %d here; /papers list shows %d.", n, len(subs))), nil
		}
		target = n - 1
	} else {
		q, bad := parseQuery(text)
		if bad != nil {
			return *bad, nil
		}
		for i, s := range subs {
			if s.Canonical == q.String() {
				target = i
			}
		}
		if target < 0 {
			return failed(fmt.Sprintf("This channel does not follow %s. /papers list shows what it follows.", q)), nil
		}
	}
	s := subs[target]
	if s.FromConfig {
		return failed(fmt.Sprintf("%s comes from the bot's configuration file; remove it there.", s.Canonical)), nil
	}
	if err := c.Store.RemoveSubscription(ctx, req.Channel, s.ID); err != nil {
		return bot.Reply{}, fmt.Errorf("unsubscribe %s from %q: %w", req.Channel, s.Canonical, err)
	}
	c.changed(ctx, req.Channel)
	return bot.Reply{Text: []string{fmt.Sprintf("This channel no longer follows %s.", s.Canonical)}}, nil
}

func (c *Commander) list(ctx context.Context, req bot.Request, _ Args) (bot.Reply, error) {
	subs, err := c.Store.Subscriptions(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("list: %w", err)
	}
	ch, err := c.Store.Channel(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("list: %w", err)
	}
	if len(subs) == 0 {
		return private("This channel follows nothing yet. Try /papers subscribe eeg -survey"), nil
	}
	lines := []string{fmt.Sprintf("This channel follows %d queries (%s); papers matched in the last 7 days:", len(subs), ch.ModeString())}
	since := c.now().Add(-SubscribeWindow)
	// The counts share one budget, so that a long list of subscriptions costs a bounded time too; those not
	// counted within it show "?".
	lctx, cancel := context.WithTimeout(ctx, listBudget*c.lookupTimeout())
	defer cancel()
	slow := false
	for i, s := range subs {
		count := "?"
		if q, err := filters.ParseStored(s.Query); err == nil && !slow {
			_, total, err := c.matching(lctx, q, since, 0, true)
			switch {
			case err == nil:
				count = strconv.Itoa(total)
			case errors.Is(err, ErrLookupTimeout):
				slow = true
			default:
				return bot.Reply{}, fmt.Errorf("list: count %q: %w", s.Canonical, err)
			}
		}
		lines = append(lines, fmt.Sprintf("%d. %s  (%s)", i+1, s.Canonical, count))
	}
	if slow {
		lines = append(lines, "? means counting took too long and was stopped.")
	}
	return private(lines...), nil
}

func (c *Commander) digest(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	ch, err := c.Store.Channel(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("digest: %w", err)
	}
	mode, at, tz, day := args.String("mode"), args.String("time"), args.String("timezone"), args.String("day")
	if mode == "weekly" {
		day, at, tz = weeklyArgs(day, at, tz)
	}
	switch {
	case mode == "off" && at == "" && tz == "" && day == "":
		ch.Mode, ch.DigestAt, ch.DigestTZ = channel.ModeInstant, "", ""
	case mode == "daily" && at != "" && day == "", mode == "weekly" && at != "" && day != "":
		when := at
		if mode == "weekly" {
			when = day + " " + at
		}
		sched, err := channel.ParseDigestSchedule(when, cmp.Or(tz, "UTC"))
		if err != nil {
			return failed(fmt.Sprintf("That is not a schedule I understand: %v. Example: /papers digest daily 09:00 Europe/Berlin, /papers digest weekly monday 09:00 Europe/Berlin", err)), nil
		}
		ch.Mode, ch.DigestAt, ch.DigestTZ = channel.ModeDigest, sched.At, sched.TZ
	default:
		sub, _ := Lookup("digest")
		return sub.badArgs(), nil
	}
	if err := c.Store.SetChannelMode(ctx, ch, c.now()); err != nil {
		return bot.Reply{}, fmt.Errorf("digest: %w", err)
	}
	c.changed(ctx, req.Channel)
	if ch.Mode == channel.ModeInstant {
		return bot.Reply{Text: []string{"This channel now gets each matching paper as soon as it is announced."}}, nil
	}
	if sched, err := channel.ParseDigestSchedule(ch.DigestAt, ch.DigestTZ); err == nil && sched.Weekly {
		return bot.Reply{Text: []string{fmt.Sprintf("This channel now gets one digest a week, on %s at %s %s, starting with the chart of /papers trends.",
			sched.Day, sched.At[4:], sched.TZ)}}, nil
	}
	return bot.Reply{Text: []string{fmt.Sprintf("This channel now gets one digest a day at %s %s.", ch.DigestAt, ch.DigestTZ)}}, nil
}

// weeklyArgs puts the values of "digest weekly" in their places: typed as text, "weekly DAY HH:MM [TZ]" fills the
// options in table order (time=DAY, timezone=HH:MM, day=TZ); named options (Discord) are already in place.
func weeklyArgs(day, at, tz string) (string, string, string) {
	if !strings.Contains(at, ":") && strings.Contains(tz, ":") {
		return at, tz, day
	}
	return day, at, tz
}

func (c *Commander) sources(ctx context.Context, req bot.Request, _ Args) (bot.Reply, error) {
	states, err := c.Store.SourceStates(ctx)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("sources: %w", err)
	}
	if len(states) == 0 {
		return private("No source has been polled yet."), nil
	}
	now := c.now()
	reports, err := c.healthReports(ctx)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("sources: %w", err)
	}
	lines := []string{"Sources:"}
	for _, s := range states {
		lines = append(lines, sourceLine(now, s, reports[s.Source]))
	}
	blocked, err := c.Store.BlockedChannels(ctx)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("sources: %w", err)
	}
	// Other channels may belong to other teams or servers: say how many are stopped, not which (the log has
	// the details for the operator).
	if len(blocked) > 0 {
		lines = append(lines, fmt.Sprintf("%d channel%s cannot receive posts (the bot was removed or lost access); their papers wait until a command is typed there again.", len(blocked), plural(len(blocked))))
	}
	// Set-aside papers are counted for this channel only, for the same reason.
	failed, err := c.Store.CountFailed(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("sources: %w", err)
	}
	if failed > 0 {
		lines = append(lines, fmt.Sprintf("%d paper%s could not be posted in this channel (the platform kept rejecting the message); /papers failed lists them, /papers retry queues them again.", failed, plural(failed)))
	}
	return private(lines...), nil
}

// SourceHealth gives the configured sources' health (bot/health) for /papers sources.
type SourceHealth interface {
	Reports(ctx context.Context) ([]health.Report, error)
}

// healthReports returns the sources' health by name; none without a Health.
func (c *Commander) healthReports(ctx context.Context) (map[string]*health.Report, error) {
	if c.Health == nil {
		return nil, nil
	}
	reps, err := c.Health.Reports(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*health.Report, len(reps))
	for i := range reps {
		out[reps[i].Source] = &reps[i]
	}
	return out, nil
}

// sourceLine is one source's line of /papers sources: its health first when known (state, why, last and next
// batch; a failing source's error and since when), then its poll history.
func sourceLine(now time.Time, s paper.SourceState, h *health.Report) string {
	line := s.Source + ": "
	if h != nil {
		line += string(h.State)
		switch {
		case h.State == health.Failing:
			line += fmt.Sprintf(" for %s (since %s): %s", until(h.Since, now), health.FormatTime(h.Since, time.UTC), h.LastError)
		case h.Why != "":
			line += " (" + h.Why + ")"
		}
		line += "; last batch " + ago(now, h.LastBatch)
		if !h.NextBatch.IsZero() {
			line += fmt.Sprintf(", next expected %s (in %s)", health.FormatTime(h.NextBatch, h.NextBatch.Location()), until(now, h.NextBatch))
		}
		line += "; "
	}
	line += fmt.Sprintf("last poll %s, last success %s, last new paper %s, %d papers",
		ago(now, s.LastPoll), ago(now, s.LastSuccess), ago(now, s.LastNewPaper), s.Papers)
	if s.PolledBy != "" {
		line += ", polled by " + s.PolledBy
	}
	if s.ConsecutiveFailures > 0 && (h == nil || h.State != health.Failing) {
		line += fmt.Sprintf("; the last %d polls failed, latest %s: %s", s.ConsecutiveFailures, ago(now, s.LastErrorAt), s.LastError)
	}
	return line
}

// until says how far ahead t is, as ago says how far back (and how long since now, given the two the other way).
func until(now, t time.Time) string {
	d := t.Sub(now)
	switch {
	case d < time.Minute:
		return "under a minute"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}

// unblock resumes delivery to a channel that was stopped by a permanent platform error: a command typed there
// shows the bot can reach it again (re-invited, permissions fixed), unless the platform says it still cannot post
// there (Request.CannotPost, Access). Either way it returns the paragraph that tells the channel why delivery had stopped, and since
// when, so that /papers sources (and any command) typed there explains it; "" when the channel was not stopped.
func (c *Commander) unblock(ctx context.Context, req bot.Request) (string, error) {
	ch := req.Channel
	st, err := c.Store.Channel(ctx, ch)
	if err != nil || st.Blocked == "" {
		return "", err
	}
	now := c.now()
	since := ""
	if !st.BlockedAt.IsZero() {
		since = fmt.Sprintf(" since %s (%s)", st.BlockedAt.UTC().Format("2006-01-02 15:04 UTC"), ago(now, st.BlockedAt))
	}
	var perm *bot.PermanentError
	if aerr := c.checkAccess(ctx, req); errors.As(aerr, &perm) {
		return fmt.Sprintf("The bot has not been able to post in this channel%s: %s. Matching papers wait.%s", since, st.Blocked, fixSentence(perm.Fix)), nil
	}
	if err := c.Store.BlockChannel(ctx, ch, "", now); err != nil {
		return "", err
	}
	c.changed(ctx, ch)
	return fmt.Sprintf("Posting in this channel had stopped%s: %s. This command resumed it; the papers that waited follow.", since, st.Blocked), nil
}

// listBudget is how many look-up budgets the counts of /papers list share.
const listBudget = 3

// Backfill limits: how far back, and how many papers at most go into the one digest message.
const (
	MaxBackfillDays   = 30
	MaxBackfillPapers = 100
)

func (c *Commander) backfill(ctx context.Context, req bot.Request, args Args) (bot.Reply, error) {
	days, ok := args.Int("days")
	if !ok {
		sub, _ := Lookup("backfill")
		return sub.badArgs(), nil
	}
	subs, err := c.Store.Subscriptions(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("backfill: %w", err)
	}
	if len(subs) == 0 {
		return private("This channel follows nothing yet, so there is nothing to backfill. Try /papers subscribe eeg"), nil
	}
	since := c.now().Add(-time.Duration(days) * 24 * time.Hour)
	matched := map[string][]string{}
	var slow []string
	for _, s := range subs {
		q, err := filters.ParseStored(s.Query)
		if err != nil {
			continue
		}
		cards, _, err := c.matching(ctx, q, since, MaxBackfillPapers, false)
		if errors.Is(err, ErrLookupTimeout) {
			slow = append(slow, s.Canonical)
			continue
		}
		if err != nil {
			return bot.Reply{}, fmt.Errorf("backfill %q: %w", s.Canonical, err)
		}
		for _, card := range cards {
			if len(matched) >= MaxBackfillPapers && matched[card.Paper.Key] == nil {
				continue
			}
			for _, t := range card.Matched {
				if !slices.Contains(matched[card.Paper.Key], t) {
					matched[card.Paper.Key] = append(matched[card.Paper.Key], t)
				}
			}
		}
	}
	n, err := c.Store.Enqueue(ctx, req.Channel, channel.KindBackfill, matched, c.now())
	if err != nil {
		return bot.Reply{}, fmt.Errorf("backfill: %w", err)
	}
	c.changed(ctx, req.Channel)
	var r bot.Reply
	switch {
	case len(matched) == 0:
		r = private(fmt.Sprintf("No stored paper of the last %d days matches this channel's subscriptions.", days))
	case n == 0:
		r = private(fmt.Sprintf("Nothing to backfill: the %d matching papers of the last %d days were already posted here.", len(matched), days))
	default:
		r = bot.Reply{Text: []string{fmt.Sprintf("Backfill: %d matching paper%s from the last %d days will be posted here as one digest message (the best %d shown, the rest counted).", n, plural(n), days, c.digestCards())}}
	}
	if len(slow) > 0 {
		r.Text = append(r.Text, fmt.Sprintf("Looking up %s took too long (over %s each), so I left them out.", strings.Join(slow, ", "), c.lookupTimeout()))
	}
	return r, nil
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

// digestCards is how many papers a digest shows, as the sender was configured.
func (c *Commander) digestCards() int {
	if c.DigestCards > 0 {
		return c.DigestCards
	}
	return defaultDigestCards
}

// defaultDigestCards matches the sender's default (delivery.DefaultDigestCards) for a Commander built without
// the configured value.
const defaultDigestCards = 10

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (c *Commander) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Commander) changed(ctx context.Context, ch channel.Ref) {
	if c.OnChange != nil {
		c.OnChange(ctx, ch)
	}
}

// FailedShown bounds the papers /papers failed lists; the rest are counted.
const FailedShown = 20

// failedErrorRunes bounds the platform error shown per paper: enough for the reason, not a whole response body.
const failedErrorRunes = 160

func (c *Commander) failed(ctx context.Context, req bot.Request, _ Args) (bot.Reply, error) {
	total, err := c.Store.CountFailed(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("failed: %w", err)
	}
	if total == 0 {
		return private("No paper is set aside in this channel: every paper matched here was posted or is on its way."), nil
	}
	items, err := c.Store.ListFailed(ctx, req.Channel, FailedShown)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("failed: %w", err)
	}
	now := c.now()
	lines := []string{fmt.Sprintf("%d paper%s could not be posted here: the platform rejected the message several times, the last time in a reduced form. Latest first:",
		total, plural(total))}
	for _, it := range items {
		title := strings.Join(strings.Fields(bot.CleanLaTeX(it.Paper.Title)), " ")
		reason := strings.Join(strings.Fields(it.LastError), " ")
		lines = append(lines, fmt.Sprintf("%s  %s (set aside %s): %s", it.Paper.Key, bot.Truncate(title, 120),
			ago(now, it.FailedAt), bot.Truncate(reason, failedErrorRunes)))
	}
	if more := total - len(items); more > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more.", more))
	}
	return private(append(lines, "/papers retry queues them all again.")...), nil
}

func (c *Commander) retry(ctx context.Context, req bot.Request, _ Args) (bot.Reply, error) {
	n, err := c.Store.RequeueFailed(ctx, req.Channel)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("retry: %w", err)
	}
	if n == 0 {
		return private("No paper is set aside in this channel; nothing to retry."), nil
	}
	c.changed(ctx, req.Channel)
	return bot.Reply{Text: []string{fmt.Sprintf("%d set-aside paper%s queued again, to be posted here once the platform accepts the message.", n, plural(n))}}, nil
}
