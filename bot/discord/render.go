package discord

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/paperboy-bot/paperboy/bot"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Discord's message limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits),
// counted in characters (runes). A payload over any of them is rejected with 400, which would wedge a channel's
// outbox, so every string is cut to its limit and the total is enforced last.
const (
	limitTitle       = 256
	limitDescription = 4096
	limitFields      = 25
	limitFieldName   = 256
	limitFieldValue  = 1024
	limitFooter      = 2048
	limitTotal       = 6000
	limitContent     = 2000
	limitEmbeds      = 10
	limitURL         = 2048
	limitButtonURL   = 512
	limitButtons     = 5
	limitNonce       = 25
	limitChoice      = 100
	limitChoices     = 25
	limitRows        = 5   // action rows of a message
	limitOptions     = 25  // options of a select menu
	limitOptionText  = 100 // an option's label and description
)

// Sizes chosen for readability, well inside the limits, so that one card never needs the total budget.
const (
	snippetRunes        = 600 // abstract snippet of a full card
	compactRunes        = 350 // one-line description of a digest entry
	reducedRunes        = 200 // description of a reduced card (bot.Message.Reduced)
	fieldRunes          = 300 // authors, categories, matched terms
	footerRunes         = 200
	maxCategories       = 6
	embedColor          = 0xB31B1B // arXiv red: recognisable, and not Discord's default grey
	minDescriptionRunes = 40       // below this a shrunk description says nothing; drop it instead
)

// noMentions is always sent: feed text and command replies must never ping anyone, whatever they contain.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

func noMentions() allowedMentions { return allowedMentions{Parse: []string{}} }

// messageBody is a message-create, interaction-response or webhook-edit body. discordgo's MessageSend has no
// nonce and enforce_nonce, so the adapter sends its own body through discordgo's request path (and limiter).
type messageBody struct {
	Content         string                       `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed    `json:"embeds,omitempty"`
	Components      []discordgo.MessageComponent `json:"components,omitempty"`
	AllowedMentions allowedMentions              `json:"allowed_mentions"`
	Flags           discordgo.MessageFlags       `json:"flags,omitempty"`
	Nonce           string                       `json:"nonce,omitempty"`
	EnforceNonce    bool                         `json:"enforce_nonce,omitempty"`
	// Attachments describe the files sent with the body in a multipart request (files[0], files[1], ...).
	Attachments []attachment `json:"attachments,omitempty"`
}

// attachment is a partial attachment object: which uploaded file (its index among files[n], as a string like a
// snowflake) and its alt text.
type attachment struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	Description string `json:"description,omitempty"`
}

// nonceFor turns the engine's nonce (derived from the outbox rows) into a Discord nonce: at most 25 characters,
// the same for every retry of the same send. Longer or unusual nonces are hashed.
func nonceFor(s string) string {
	if s == "" {
		return ""
	}
	if len(s) <= limitNonce && strings.IndexFunc(s, func(r rune) bool { return r < '!' || r > '~' }) < 0 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "pb" + hex.EncodeToString(sum[:])[:limitNonce-2]
}

// renderMessage turns an announcement into a channel message body.
func renderMessage(msg bot.Message) (messageBody, error) {
	b := messageBody{AllowedMentions: noMentions()}
	if nonce := nonceFor(msg.Nonce); nonce != "" {
		b.Nonce, b.EnforceNonce = nonce, true
	}
	if len(msg.Cards) == 0 && !msg.Digest {
		return b, fmt.Errorf("empty message for %s", msg.Channel)
	}
	if msg.Reduced {
		// The last try of a paper Discord kept rejecting: only a linked title and a short text, no thumbnail,
		// fields, footer or buttons, whichever of them was the trouble.
		var embeds []*discordgo.MessageEmbed
		for _, c := range msg.Cards {
			embeds = append(embeds, reducedEmbed(c))
		}
		b.Embeds, _ = fitEmbeds(embeds)
		if msg.Digest {
			b.Content = digestContent(msg, msg.Overflow)
		}
		return b, nil
	}
	if msg.Digest {
		var embeds []*discordgo.MessageEmbed
		for _, c := range msg.Cards {
			embeds = append(embeds, compactEmbed(c))
		}
		embeds, dropped := fitEmbeds(embeds)
		b.Embeds = embeds
		b.Content = digestContent(msg, msg.Overflow+dropped)
		b.Components = digestMenus(msg.Cards[:len(embeds)])
		return b, nil
	}
	embeds := make([]*discordgo.MessageEmbed, 0, len(msg.Cards))
	for _, c := range msg.Cards {
		embeds = append(embeds, cardEmbed(c, snippetRunes))
	}
	b.Embeds, _ = fitEmbeds(embeds)
	b.Components = linkButtons(msg.Cards[0].Paper.URL, msg.Cards[0])
	if fb := feedbackRow(msg.Cards[0]); fb != nil {
		b.Components = append(b.Components, fb)
	}
	return b, nil
}

func digestContent(msg bot.Message, more int) string {
	title := strings.TrimSpace(msg.Title)
	if title == "" {
		title = fmt.Sprintf("%d new papers", len(msg.Cards)+msg.Overflow)
	}
	content := "**" + truncate(escape(oneLine(title)), 300) + "**"
	if more > 0 {
		content += fmt.Sprintf("\n…and %d more.", more)
	}
	return truncate(content, limitContent)
}

// cardEmbed is a full card: linked title, abstract snippet, fields, thumbnail and footer.
func cardEmbed(c bot.Card, snippet int) *discordgo.MessageEmbed {
	p := c.Paper
	e := &discordgo.MessageEmbed{
		Type:  discordgo.EmbedTypeRich,
		Title: embedTitle(p.Title),
		URL:   okURL(p.URL, limitURL),
		Color: embedColor,
	}
	if abs := oneLine(bot.CleanLaTeX(p.Abstract)); abs != "" {
		e.Description = truncate(escape(abs), min(snippet, limitDescription))
	}
	add := func(name, value string, inline bool) {
		value = strings.TrimSpace(value)
		if value == "" || len(e.Fields) >= limitFields {
			return
		}
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{
			Name: truncate(name, limitFieldName), Value: truncate(escape(oneLine(value)), min(fieldRunes, limitFieldValue)), Inline: inline,
		})
	}
	add("Authors", bot.ShortAuthors(p.Authors), true)
	add("Categories", strings.Join(p.Categories[:min(len(p.Categories), maxCategories)], " "), true)
	add("Upvotes", bot.UpvoteBadge(p), true)
	add("Version", paper.VersionLabel(&p), true)
	add("Published in", p.JournalRef, false)
	add("Matched", strings.Join(c.Matched, ", "), false)
	add("Why", c.Why, false)
	if u := okURL(p.Thumbnail, limitURL); u != "" {
		e.Thumbnail = &discordgo.MessageEmbedThumbnail{URL: u}
	}
	if f := footerText(p.Sources, p.Published.Format("2006-01-02"), !p.Published.IsZero()); f != "" {
		e.Footer = &discordgo.MessageEmbedFooter{Text: f}
	}
	return e
}

// reducedEmbed is a minimal card: linked title and the start of the abstract.
func reducedEmbed(c bot.Card) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Title: embedTitle(c.Paper.Title), URL: okURL(c.Paper.URL, limitURL)}
	if abs := oneLine(bot.CleanLaTeX(c.Paper.Abstract)); abs != "" {
		e.Description = truncate(escape(abs), reducedRunes)
	}
	return e
}

// compactEmbed is a digest entry: linked title and one line of facts and links.
func compactEmbed(c bot.Card) *discordgo.MessageEmbed {
	p := c.Paper
	var parts []string
	if a := bot.ShortAuthors(p.Authors); a != "" {
		// Capped so that hostile or huge author lists cannot push the links and matched terms out.
		parts = append(parts, truncate(escape(oneLine(a)), 120))
	}
	if !p.Published.IsZero() {
		parts = append(parts, p.Published.Format("2006-01-02"))
	}
	if len(p.Categories) > 0 {
		parts = append(parts, truncate(escape(strings.Join(p.Categories[:min(len(p.Categories), 3)], " ")), 60))
	}
	if p.HasHF {
		parts = append(parts, fmt.Sprintf("▲ %d", p.Upvotes))
	}
	for _, l := range []struct{ label, u string }{{"PDF", p.PDFURL}, {"HF", p.HFURL}, {"code", bot.CodeURL(p.GitHubRepo)}} {
		if u := okURL(l.u, limitURL); u != "" && !strings.ContainsAny(u, "()[]") { // markdown [label](url)
			parts = append(parts, "["+l.label+"]("+u+")")
		}
	}
	if len(c.Matched) > 0 {
		parts = append(parts, "matched: "+escape(oneLine(strings.Join(c.Matched, ", "))))
	}
	return &discordgo.MessageEmbed{
		Type:        discordgo.EmbedTypeRich,
		Title:       embedTitle(p.Title),
		URL:         okURL(p.URL, limitURL),
		Color:       embedColor,
		Description: truncate(strings.Join(parts, " · "), compactRunes),
	}
}

func embedTitle(title string) string {
	t := oneLine(bot.CleanLaTeX(title))
	if t == "" {
		t = "(untitled)"
	}
	return truncate(escape(t), limitTitle)
}

func footerText(sources []string, date string, hasDate bool) string {
	var parts []string
	if len(sources) > 0 {
		parts = append(parts, strings.Join(sources, ", "))
	}
	if hasDate {
		parts = append(parts, date)
	}
	// Footers are not markdown, so they are not escaped; mentions never render there.
	return truncate(oneLine(strings.Join(parts, " · ")), min(footerRunes, limitFooter))
}

// linkButtons are the card's link buttons: abstract, PDF, Hugging Face, code, project page, DOI, in rows of at most
// limitButtons (none when there is no link). Buttons carry URLs only, no text of the feed, so nothing in them can be
// markup.
func linkButtons(abs string, c bot.Card) []discordgo.MessageComponent {
	p := c.Paper
	var rows []discordgo.MessageComponent
	row := discordgo.ActionsRow{}
	for _, l := range []struct{ label, u string }{
		{"Abstract", abs}, {"PDF", p.PDFURL}, {"Hugging Face", p.HFURL}, {"Code", bot.CodeURL(p.GitHubRepo)},
		{"Project page", p.ProjectPage}, {"DOI", bot.DOIURL(p.DOI)},
	} {
		u := okURL(l.u, limitButtonURL)
		if u == "" {
			continue
		}
		if len(row.Components) == limitButtons {
			rows, row = append(rows, row), discordgo.ActionsRow{}
		}
		row.Components = append(row.Components, discordgo.Button{Label: l.label, Style: discordgo.LinkButton, URL: u})
	}
	if len(row.Components) > 0 {
		rows = append(rows, row)
	}
	return rows
}

// okURL is bot.WebURL: one bad URL would make Discord refuse the whole message.
func okURL(s string, max int) string { return bot.WebURL(s, max) }

// fitEmbeds enforces the 10-embed and 6000-character message limits: it shortens the longest descriptions first
// (they are the abstract snippets, the least essential text), and only then drops trailing embeds. It returns how
// many embeds it dropped.
func fitEmbeds(embeds []*discordgo.MessageEmbed) ([]*discordgo.MessageEmbed, int) {
	dropped := 0
	if len(embeds) > limitEmbeds {
		dropped = len(embeds) - limitEmbeds
		embeds = embeds[:limitEmbeds]
	}
	for {
		over := embedsLength(embeds) - limitTotal
		if over <= 0 {
			return embeds, dropped
		}
		longest, n := -1, 0
		for i, e := range embeds {
			if l := utf8.RuneCountInString(e.Description); l > n {
				longest, n = i, l
			}
		}
		switch {
		case longest >= 0 && n-over >= minDescriptionRunes:
			embeds[longest].Description = truncate(embeds[longest].Description, n-over)
		case longest >= 0:
			embeds[longest].Description = ""
		default:
			embeds = embeds[:len(embeds)-1]
			dropped++
		}
	}
}

// embedsLength is what Discord counts against the 6000 total: titles, descriptions, field names and values,
// footers and author names.
func embedsLength(embeds []*discordgo.MessageEmbed) int {
	n := 0
	for _, e := range embeds {
		n += utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
		for _, f := range e.Fields {
			n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
		}
		if e.Footer != nil {
			n += utf8.RuneCountInString(e.Footer.Text)
		}
		if e.Author != nil {
			n += utf8.RuneCountInString(e.Author.Name)
		}
	}
	return n
}

// renderReply turns a command reply into a message body: text paragraphs as content (what does not fit in 2000
// characters continues in text embeds), cards as embeds.
func renderReply(r bot.Reply) messageBody {
	b := messageBody{AllowedMentions: noMentions()}
	if r.Private {
		b.Flags = discordgo.MessageFlagsEphemeral
	}
	var content []string
	var rest []string
	size := 0
	for _, p := range r.Text {
		for line := range strings.SplitSeq(p, "\n") {
			line = escape(line)
			if l := utf8.RuneCountInString(line) + 1; len(rest) == 0 && size+l <= limitContent {
				content = append(content, line)
				size += l
			} else {
				rest = append(rest, line)
			}
		}
	}
	// Code blocks (a BibTeX export) go whole into the content while it has room, else into embeds of their own.
	var codeEmbeds []*discordgo.MessageEmbed
	for _, code := range r.Code {
		fenced := "```\n" + strings.ReplaceAll(strings.Trim(code, "\n"), "```", "`\u200b``") + "\n```"
		if l := utf8.RuneCountInString(fenced) + 1; len(rest) == 0 && len(codeEmbeds) == 0 && size+l <= limitContent {
			content = append(content, fenced)
			size += l
			continue
		}
		codeEmbeds = append(codeEmbeds, &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Description: truncate(fenced, limitDescription)})
	}
	b.Content = truncate(strings.Join(content, "\n"), limitContent)
	var embeds []*discordgo.MessageEmbed
	for len(rest) > 0 && len(embeds) < limitEmbeds {
		var chunk []string
		size := 0
		for len(rest) > 0 {
			l := utf8.RuneCountInString(rest[0]) + 1
			if size+l > limitDescription && len(chunk) > 0 {
				break
			}
			chunk = append(chunk, rest[0])
			size += l
			rest = rest[1:]
		}
		embeds = append(embeds, &discordgo.MessageEmbed{Type: discordgo.EmbedTypeRich, Description: truncate(strings.Join(chunk, "\n"), limitDescription)})
	}
	snippet := snippetRunes
	if len(r.Cards) > 1 {
		snippet = snippetRunes / 2
	}
	for _, c := range r.Cards {
		embeds = append(embeds, cardEmbed(c, snippet))
	}
	embeds = append(embeds, codeEmbeds...)
	b.Embeds, _ = fitEmbeds(embeds)
	if b.Content == "" && len(b.Embeds) == 0 {
		b.Content = "Done."
	}
	return b
}

// Markdown and mention syntax that feed text must not use: Discord renders it in content, descriptions and
// field values (and allowed_mentions only stops the ping, not the rendering). A backslash before any punctuation
// shows it literally.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, `~`, `\~`, "`", "\\`", `|`, `\|`, `<`, `\<`, `>`, `\>`,
	`[`, `\[`, `]`, `\]`, `@`, `\@`, `#`, `\#`,
)

// In a bare link only what could leave the link or start markup is escaped, so the link keeps working.
var urlEscaper = strings.NewReplacer("`", "\\`", `|`, `\|`, `<`, `\<`, `>`, `\>`)

var urlRe = regexp.MustCompile(`https?://[^\s<>]+`)

// escape makes untrusted text display literally in Discord markdown.
func escape(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range urlRe.FindAllStringIndex(s, -1) {
		b.WriteString(mdEscaper.Replace(s[last:m[0]]))
		b.WriteString(urlEscaper.Replace(s[m[0]:m[1]]))
		last = m[1]
	}
	b.WriteString(mdEscaper.Replace(s[last:]))
	return b.String()
}

// oneLine collapses whitespace, so that a feed's line breaks cannot start headings, lists or quotes.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// truncate is bot.Truncate, which cuts on a rune boundary with an ellipsis; Discord trims whitespace itself, so the
// result is trimmed to count what Discord counts.
func truncate(s string, n int) string {
	return strings.TrimSpace(bot.Truncate(strings.TrimSpace(s), n))
}
