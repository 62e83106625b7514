package app

import (
	"context"
	"log/slog"
	"time"
)

// sentPruner is the store's pruning of sent outbox rows.
type sentPruner interface {
	PruneSent(ctx context.Context, before time.Time) (int, error)
}

// pruneEvery is how often paperboy run prunes: the outbox grows by at most a poll's rows between two prunes.
const pruneEvery = time.Hour

// pruneLoop prunes sent outbox rows older than keep at start and then every pruneEvery until ctx ends: the once-ever
// record stays, the rows' payload goes, so a poll's outbox write does not grow with the number of earlier polls.
// A failed prune is logged and tried again next time: nothing is lost by pruning late.
func pruneLoop(st sentPruner, keep time.Duration, now func() time.Time, logger *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		tick := time.NewTicker(pruneEvery)
		defer tick.Stop()
		for {
			n, err := st.PruneSent(ctx, now().Add(-keep))
			switch {
			case err != nil && ctx.Err() == nil:
				logger.Warn("prune sent outbox rows", "err", err)
			case n > 0:
				logger.Info("pruned sent outbox rows", "rows", n, "keep_sent", keep.String())
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}
}
