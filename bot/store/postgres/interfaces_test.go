package postgres

import (
	"github.com/paperboy-bot/paperboy/bot/command"
	"github.com/paperboy-bot/paperboy/bot/delivery"
	"github.com/paperboy-bot/paperboy/bot/ingest"
	"github.com/paperboy-bot/paperboy/bot/store/storetest"
)

// The store implements every storage interface the bot's parts own.
var (
	_ ingest.Store             = (*Store)(nil)
	_ ingest.StateStore        = (*Store)(nil)
	_ ingest.SubscriptionStore = (*Store)(nil)
	_ ingest.Leases            = (*Store)(nil)
	_ delivery.Store           = (*Store)(nil)
	_ delivery.CardEdits       = (*Store)(nil)
	_ command.Store            = (*Store)(nil)
	_ storetest.Store          = (*Store)(nil)
)
