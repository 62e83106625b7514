package bot

import (
	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
)

// Request is one /papers command as a platform adapter hands it over, whatever the platform.
type Request struct {
	// Channel is where the command was typed.
	Channel channel.Ref
	// User is the platform's user id of who typed it, recorded with subscriptions.
	User string
	// CanManage says whether the user may manage this channel's subscriptions, as the platform decided it
	// (Slack: channel member or configured manager; Discord: Manage Channels).
	CanManage bool
	// Text is everything after "/papers".
	Text string
}

// Reply is the platform-neutral answer: text paragraphs and paper cards.
type Reply struct {
	// Private replies are shown only to the caller (Slack ephemeral, Discord ephemeral); look-ups are private.
	Private bool
	// Text holds paragraphs of plain text; adapters escape it for their markup.
	Text []string
	// Cards are papers to show, in order.
	Cards []Card
}

// Card is one paper to show, with why it matched.
type Card struct {
	Paper paper.Paper
	// Matched lists the query terms that hit, for "matched: eeg, foundation model".
	Matched []string
}
