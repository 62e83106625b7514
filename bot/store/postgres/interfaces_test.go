package postgres

import (
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/ingest"
)

// The store implements every storage interface the bot's parts own.
var (
	_ ingest.Store             = (*Store)(nil)
	_ ingest.StateStore        = (*Store)(nil)
	_ ingest.SubscriptionStore = (*Store)(nil)
	_ delivery.Store           = (*Store)(nil)
)
