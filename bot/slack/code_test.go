package slack

import (
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/paperboy-bot/paperboy/bot"
)

// A BibTeX export reaches Slack as code blocks whose escaped text fits a section, whole lines in order.
func TestReplyCodeBlocks(t *testing.T) {
	entry := "@misc{a2026x,\n  title = {{A \\& B <c> 100\\%}},\n  year = {2026}\n}\n"
	long := strings.Repeat(entry, 60) // over one section once & < > are escaped
	r := renderReply(bot.Reply{Private: true, Text: []string{"BibTeX of your reading list: 60 entries."}, Code: []string{entry, long}})
	var code []string
	for _, b := range r.blocks {
		s, ok := b.(*slack.SectionBlock)
		if !ok || s.Text == nil || !strings.HasPrefix(s.Text.Text, "```") {
			continue
		}
		if s.Text.Type != slack.MarkdownType || !strings.HasSuffix(s.Text.Text, "```") || units(s.Text.Text) > sectionBudget {
			t.Errorf("code section %q: type %s, %d units", s.Text.Text[:40], s.Text.Type, units(s.Text.Text))
		}
		code = append(code, strings.Trim(s.Text.Text, "`"))
	}
	if len(code) < 3 {
		t.Fatalf("%d code sections, want the short block and the long one split", len(code))
	}
	if !strings.Contains(code[0], `{{A \&amp; B &lt;c&gt; 100\%}}`) {
		t.Errorf("first block %q: want the entry escaped for mrkdwn", code[0])
	}
	if got := strings.Count(strings.Join(code[1:], "\n"), "@misc{"); got != 60 {
		t.Errorf("the long block's parts hold %d entries, want 60", got)
	}
}
