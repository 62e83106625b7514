package slack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Slack's documented Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
const (
	maxBlocks      = 50
	maxHeaderText  = 150
	maxSectionText = 3000
	maxButtonText  = 75
	maxAltText     = 2000
	maxActionElems = 25
	maxURL         = 3000 // button url and image_url
	maxOptionText  = 75   // an overflow or select option's text
	maxOptionValue = 150  // and its value
)

// Our own budgets, kept under Slack's limits with room to spare: Slack counts characters in ways it does not
// document (we count UTF-16 units, which is never less than code points), and a rejected message is worse than a
// shorter one.
const (
	sectionBudget  = 2900
	abstractBudget = 600
	authorsBudget  = 300
	listBudget     = 300 // categories, matched terms
	digestTitle    = 200
	reducedText    = 200 // abstract start of a reduced card (bot.Message.Reduced)
	fallbackBudget = 300
	urlBudget      = 1000 // feed links longer than this are dropped rather than sent
	// messageBudget bounds the JSON size of one message's blocks. Slack rejects messages far larger than this
	// (msg_too_long, invalid_blocks); a digest of 100 papers is cut to what fits and the rest counted as overflow.
	messageBudget = 24 << 10
)

// escape makes untrusted text inert in mrkdwn: Slack's only control characters are &, < and >, and with < and >
// escaped no <!channel>, <@U123> or <https://evil|arxiv.org> can be formed.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// units is the length Slack's limits are checked against, counted conservatively in UTF-16 code units (an emoji
// or a mathematical letter counts twice).
func units(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// fit truncates s (rune-safe, with an ellipsis) so that render of the result is at most limit units long, and
// returns the rendered result. It is how every untrusted string is sized after escaping, which can grow it
// fivefold.
func fit(s string, limit int, render func(string) string) string {
	// Every rune renders as at least one unit, so more than limit runes never fit.
	for n := min(utf8.RuneCountInString(s), limit); n > 0; {
		out := render(bot.Truncate(s, n))
		u := units(out)
		if u <= limit {
			return out
		}
		// Shrink in proportion to the overshoot (escaping grows text unevenly), by at least one rune.
		n = min(n-1, n*limit/u)
	}
	return ""
}

func fitPlain(s string, limit int) string   { return fit(s, limit, func(s string) string { return s }) }
func fitEscaped(s string, limit int) string { return fit(s, limit, escape) }

// clean prepares feed text for display: LaTeX read as text, control characters as spaces (a title is one line),
// bidirectional overrides dropped (they make text read differently from what it is), whitespace collapsed.
func clean(s string) string {
	s = bot.CleanLaTeX(s)
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f':
			return -1
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// safeURL is bot.WebURL within the length Slack takes for a button or image URL.
func safeURL(raw string) string { return bot.WebURL(raw, urlBudget) }

// codeURL links a Hugging Face githubRepo value.
func codeURL(repo string) string { return safeURL(bot.CodeURL(repo)) }

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// mrkdwn builds a verbatim mrkdwn text: Slack then does not turn bare URLs, #channel or @name in feed text into
// links or mentions, on top of the escaping.
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

// cardBlocks renders one paper as Block Kit: a header with the title, a section with authors, date, categories,
// upvotes and matched terms, the abstract snippet (with the Hugging Face thumbnail beside it when images is set),
// and link buttons. n numbers the card within its message so that action ids stay unique.
func cardBlocks(c bot.Card, n int, images bool) []slack.Block {
	p := c.Paper
	title := fitPlain(clean(p.Title), maxHeaderText)
	if title == "" {
		title = "(untitled paper)"
	}
	blocks := []slack.Block{slack.NewHeaderBlock(plain(title))}

	var meta []string
	if a := clean(bot.ShortAuthors(p.Authors)); a != "" {
		meta = append(meta, "*"+fitEscaped(a, authorsBudget)+"*")
	}
	if !p.Published.IsZero() {
		meta = append(meta, p.Published.UTC().Format("2006-01-02"))
	}
	if v := paper.VersionLabel(&p); v != "" {
		meta = append(meta, v)
	}
	if len(p.Categories) > 0 {
		meta = append(meta, fitEscaped(clean(strings.Join(p.Categories, " ")), listBudget))
	}
	if u := bot.UpvoteBadge(p); u != "" {
		meta = append(meta, "▲ "+u)
	}
	line := strings.Join(meta, "  ·  ")
	if p.JournalRef != "" {
		line += "\n_published in_ " + fitEscaped(clean(p.JournalRef), listBudget)
	}
	if len(c.Matched) > 0 {
		if line != "" {
			line += "\n"
		}
		line += "_matched: " + fitEscaped(clean(strings.Join(c.Matched, ", ")), listBudget) + "_"
	}
	if c.Why != "" {
		if line != "" {
			line += "\n"
		}
		line += "_why: " + fitEscaped(clean(c.Why), listBudget) + "_"
	}

	var thumb *slack.Accessory
	if img := safeURL(p.Thumbnail); images && img != "" {
		thumb = slack.NewAccessory(slack.NewImageBlockElement(img, "Thumbnail of the paper on Hugging Face"))
	}
	abstract := fitEscaped(clean(p.Abstract), abstractBudget)
	if line != "" {
		var acc *slack.Accessory
		if abstract == "" {
			acc, thumb = thumb, nil
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(line), nil, acc))
	}
	if abstract != "" || thumb != nil {
		if abstract == "" {
			abstract = " "
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(abstract), nil, thumb))
	}

	var buttons []slack.BlockElement
	for _, l := range []struct{ id, label, url string }{
		{"abstract", "Abstract", safeURL(p.URL)},
		{"pdf", "PDF", safeURL(p.PDFURL)},
		{"hf", "Hugging Face", safeURL(p.HFURL)},
		{"code", "Code", codeURL(p.GitHubRepo)},
		{"project", "Project page", safeURL(p.ProjectPage)},
		{"doi", "DOI", safeURL(bot.DOIURL(p.DOI))},
	} {
		if l.url == "" {
			continue
		}
		b := slack.NewButtonBlockElement(l.id+"-"+strconv.Itoa(n), "", plain(l.label))
		b.URL = l.url
		buttons = append(buttons, b)
	}
	if len(buttons) > 0 {
		blocks = append(blocks, slack.NewActionBlock("", buttons...))
	}
	if fb := feedbackBlock(c, n); fb != nil {
		blocks = append(blocks, fb)
	}
	return blocks
}

// feedbackBlock is the card's feedback buttons (Relevant, Not relevant, Save, More like this), each carrying its
// click token as value; nil when the paper's key makes a token too long. The action ids only need to be unique
// within the message.
func feedbackBlock(c bot.Card, n int) *slack.ActionBlock {
	key := command.CardKey(c.Paper)
	counts := map[string]int{command.ActionRelevant: c.Up, command.ActionNotRelevant: c.Down}
	var buttons []slack.BlockElement
	for _, a := range command.FeedbackActions {
		tok, ok := command.ClickToken(a, key)
		if !ok {
			return nil
		}
		buttons = append(buttons, slack.NewButtonBlockElement("fb-"+a+"-"+strconv.Itoa(n), tok, plain(command.ButtonLabel(a, counts[a]))))
	}
	return slack.NewActionBlock("", buttons...)
}

// withCounts returns blocks with the vote buttons of paperKey relabelled with up and down; false when no such
// button was found (a message without the card's buttons).
func withCounts(blocks []slack.Block, paperKey string, up, down int) bool {
	found := false
	for _, b := range blocks {
		ab, ok := b.(*slack.ActionBlock)
		if !ok || ab.Elements == nil {
			continue
		}
		for _, el := range ab.Elements.ElementSet {
			btn, ok := el.(*slack.ButtonBlockElement)
			if !ok {
				continue
			}
			action, key, err := command.ParseClickToken(btn.Value)
			if err != nil || key != paperKey {
				continue
			}
			switch action {
			case command.ActionRelevant:
				btn.Text = plain(command.ButtonLabel(action, up))
				found = true
			case command.ActionNotRelevant:
				btn.Text = plain(command.ButtonLabel(action, down))
				found = true
			}
		}
	}
	return found
}

// rendered is one message ready for chat.postMessage or a response_url.
type rendered struct {
	blocks []slack.Block
	// text is the notification fallback, escaped.
	text string
	// images reports whether any block holds an image accessory, which Slack must fetch.
	images bool
}

// builder adds blocks while the message stays within Slack's block count and our size budget.
type builder struct {
	blocks []slack.Block
	size   int
	images bool
}

func blockSize(bs ...slack.Block) int {
	b, err := json.Marshal(bs)
	if err != nil {
		return messageBudget + 1 // cannot happen with our block types; refuse rather than guess
	}
	return len(b)
}

// add appends bs as a unit if they fit, keeping reserve blocks free for what must come after (an overflow note).
func (b *builder) add(reserve int, bs ...slack.Block) bool {
	size := blockSize(bs...)
	if len(b.blocks)+len(bs)+reserve > maxBlocks || b.size+size > messageBudget-reserve*300 {
		return false
	}
	b.blocks = append(b.blocks, bs...)
	b.size += size
	for _, bl := range bs {
		if s, ok := bl.(*slack.SectionBlock); ok && s.Accessory != nil && s.Accessory.ImageElement != nil {
			b.images = true
		}
	}
	return true
}

// note appends a small context line; it always fits, as add kept room for it.
func (b *builder) note(text string) {
	b.blocks = append(b.blocks, slack.NewContextBlock("", plain(fitPlain(text, sectionBudget))))
}

// renderMessage renders a delivery: a digest as one message with a compact list, otherwise the cards in full.
func renderMessage(msg bot.Message, images bool) rendered {
	if msg.Reduced {
		return renderReduced(msg)
	}
	if msg.Digest {
		return renderDigest(msg)
	}
	var b builder
	shown := addCards(&b, msg.Cards, images)
	if more := len(msg.Cards) - shown + msg.Overflow; more > 0 {
		b.note(fmt.Sprintf("and %d more", more))
	}
	text := "New paper"
	if len(msg.Cards) > 0 {
		text = "New paper: " + clean(msg.Cards[0].Paper.Title)
	}
	return rendered{blocks: b.blocks, text: fitEscaped(text, fallbackBudget), images: b.images}
}

// renderReduced renders the last try of a paper Slack kept rejecting: per card, one section with the linked title
// and the start of the abstract; no header, image, buttons or context, whichever of them was the trouble.
func renderReduced(msg bot.Message) rendered {
	var b builder
	shown := 0
	for _, c := range msg.Cards {
		line := digestLine(bot.Card{Paper: c.Paper})
		if abs := fitEscaped(clean(c.Paper.Abstract), reducedText); abs != "" {
			line += "\n" + abs
		}
		if !b.add(1, slack.NewSectionBlock(mrkdwn(line), nil, nil)) {
			break
		}
		shown++
	}
	if more := len(msg.Cards) - shown + msg.Overflow; more > 0 {
		b.note(fmt.Sprintf("and %d more", more))
	}
	text := "New paper"
	if len(msg.Cards) > 0 {
		text = "New paper: " + clean(msg.Cards[0].Paper.Title)
	}
	return rendered{blocks: b.blocks, text: fitEscaped(text, fallbackBudget)}
}

// addCards adds whole cards while they fit (one block is kept for an overflow note) and returns how many did.
func addCards(b *builder, cards []bot.Card, images bool) int {
	for i, c := range cards {
		if !b.add(1, cardBlocks(c, i, images)...) {
			return i
		}
	}
	return len(cards)
}

// digestLine is one paper of a digest: linked title, authors, date, upvotes, why it matched.
func digestLine(c bot.Card) string {
	p := c.Paper
	title := clean(p.Title)
	if title == "" {
		title = "(untitled paper)"
	}
	// A | in a link label is legal but invites misreading of the markup; a look-alike keeps the title readable.
	label := strings.ReplaceAll(fitEscaped(title, digestTitle), "|", "∣")
	var line string
	if u := safeURL(p.URL); u != "" {
		line = "• <" + u + "|" + label + ">"
	} else {
		line = "• *" + label + "*"
	}
	var meta []string
	if a := clean(bot.ShortAuthors(p.Authors)); a != "" {
		meta = append(meta, fitEscaped(a, 120))
	}
	if !p.Published.IsZero() {
		meta = append(meta, p.Published.UTC().Format("2006-01-02"))
	}
	if p.HasHF {
		meta = append(meta, fmt.Sprintf("▲ %d", p.Upvotes))
	}
	if len(meta) > 0 {
		line += " — " + strings.Join(meta, " · ")
	}
	if len(c.Matched) > 0 {
		line += "  _(" + fitEscaped(clean(strings.Join(c.Matched, ", ")), 120) + ")_"
	}
	return line
}

// renderDigest renders a digest as one message: a header, then the papers as a compact list. The best papers get
// a section of their own with an overflow menu of the feedback actions (digestMenu); when the digest is too long
// for a menu on every paper within Slack's 50 blocks and our size budget, the rest are grouped into shared
// sections, as many lines to a section as fit, without menus. The number of papers with menus is the largest that
// shows as many papers as the plain list would: menus never cost a paper its place in the digest.
func renderDigest(msg bot.Message) rendered {
	best, shown := digestWithMenus(msg, 0)
	if shown == 0 {
		return best
	}
	lo, hi := 0, len(msg.Cards) // menus on lo papers keep every paper shown; find the most
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if r, n := digestWithMenus(msg, mid); n == shown {
			lo, best = mid, r
		} else {
			hi = mid - 1
		}
	}
	return best
}

// digestWithMenus renders msg with menus on its first menus papers, and returns how many papers it shows.
func digestWithMenus(msg bot.Message, menus int) (rendered, int) {
	title := clean(msg.Title)
	if title == "" {
		title = fmt.Sprintf("%d new papers", len(msg.Cards)+msg.Overflow)
	}
	var b builder
	b.add(1, slack.NewHeaderBlock(plain(fitPlain(title, maxHeaderText))))
	shown := 0
	var sect strings.Builder
	flush := func() bool {
		if sect.Len() == 0 {
			return true
		}
		ok := b.add(1, slack.NewSectionBlock(mrkdwn(sect.String()), nil, nil))
		sect.Reset()
		return ok
	}
	pending := 0 // lines in sect not yet added
	full := false
	for i, c := range msg.Cards {
		line := digestLine(c)
		if i < menus {
			if acc := digestMenu(c, i); acc != nil {
				if !b.add(1, slack.NewSectionBlock(mrkdwn(line), nil, acc)) {
					full = true
					break
				}
				shown++
				continue
			}
		}
		if sect.Len() > 0 && units(sect.String())+1+units(line) > sectionBudget {
			if !flush() {
				pending = 0
				full = true
				break
			}
			shown += pending
			pending = 0
		}
		if sect.Len() > 0 {
			sect.WriteByte('\n')
		}
		sect.WriteString(line)
		pending++
	}
	if !full && pending > 0 && flush() {
		shown += pending
	}
	if more := len(msg.Cards) - shown + msg.Overflow; more > 0 {
		b.note(fmt.Sprintf("and %d more", more))
	}
	return rendered{blocks: b.blocks, text: fitEscaped(title, fallbackBudget)}, shown
}

// digestMenu is the overflow menu of a digest's paper: its feedback actions, each option's value the paper's
// click token (as the card's buttons carry it); nil when the paper's key makes a token too long. The action id only
// needs to be unique within the message.
func digestMenu(c bot.Card, n int) *slack.Accessory {
	key := command.CardKey(c.Paper)
	var opts []*slack.OptionBlockObject
	for _, a := range command.FeedbackActions {
		tok, ok := command.ClickToken(a, key)
		if !ok {
			return nil
		}
		opts = append(opts, slack.NewOptionBlockObject(tok, plain(command.MenuLabel(a)), nil))
	}
	return slack.NewAccessory(slack.NewOverflowBlockElement("fb-pick-"+strconv.Itoa(n), opts...))
}

// renderReply renders a command's answer: its text as plain_text (it quotes what the user typed, so it is never
// parsed as markup), then its cards.
func renderReply(r bot.Reply) rendered {
	var b builder
	var sect strings.Builder
	flush := func() {
		if sect.Len() > 0 {
			b.add(1, slack.NewSectionBlock(plain(sect.String()), nil, nil))
			sect.Reset()
		}
	}
	for _, para := range r.Text {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		para = fitPlain(para, sectionBudget)
		if sect.Len() > 0 && units(sect.String())+1+units(para) > sectionBudget {
			flush()
		}
		if sect.Len() > 0 {
			sect.WriteByte('\n')
		}
		sect.WriteString(para)
	}
	flush()
	// No thumbnails in replies: Slack refuses a whole message whose image it cannot fetch, and a reply, unlike a
	// delivery, is not retried without them.
	shown := addCards(&b, r.Cards, false)
	if more := len(r.Cards) - shown; more > 0 {
		b.note(fmt.Sprintf("and %d more not shown", more))
	}
	for _, code := range r.Code {
		for _, part := range codeSections(code) {
			b.add(0, slack.NewSectionBlock(mrkdwn("```"+part+"```"), nil, nil))
		}
	}
	text := "paperboy"
	if len(r.Text) > 0 {
		text = r.Text[0]
	}
	if len(b.blocks) == 0 {
		b.blocks = []slack.Block{slack.NewSectionBlock(plain("Done."), nil, nil)}
	}
	return rendered{blocks: b.blocks, text: fitEscaped(text, fallbackBudget), images: b.images}
}

// codeSections splits a code block of a reply (a BibTeX export) at line ends into parts whose escaped text fits
// in a section with its fences; escaping lengthens & < >, so a block that fits on Discord may need two here.
func codeSections(code string) []string {
	code = strings.Trim(code, "\n")
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(code, "\n") {
		line = fitEscaped(line, sectionBudget-6)
		if cur.Len() > 0 && units(cur.String())+1+units(line) > sectionBudget-6 {
			out = append(out, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(line)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
