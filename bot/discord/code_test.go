package discord

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paperboy-bot/paperboy/bot"
)

// A BibTeX export reaches Discord as fenced code blocks, verbatim (no markdown escaping inside), the first in the
// content and the others in embeds, each within its limit.
func TestReplyCodeBlocks(t *testing.T) {
	block := strings.Repeat("@misc{a2026x,\n  title = {{A_b *c* ```x```}},\n}\n\n", 40)[:1800]
	b := renderReply(bot.Reply{Private: true, Text: []string{"BibTeX: 3 blocks."}, Code: []string{block, block, block}})
	if !strings.HasPrefix(b.Content, "BibTeX: 3 blocks.\n```\n@misc{a2026x,\n  title = {{A_b *c* `\u200b``x`\u200b``}}") {
		t.Errorf("content = %q", b.Content[:min(120, len(b.Content))])
	}
	if utf8.RuneCountInString(b.Content) > limitContent || len(b.Embeds) != 2 {
		t.Fatalf("content %d chars, %d embeds; want the first block in the content and two embeds", len(b.Content), len(b.Embeds))
	}
	for _, e := range b.Embeds {
		if !strings.HasPrefix(e.Description, "```\n@misc{") || !strings.HasSuffix(e.Description, "\n```") {
			t.Errorf("embed %q… is not a fenced block", e.Description[:20])
		}
	}
}
