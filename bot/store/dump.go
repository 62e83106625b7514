package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store/dump"
)

// The store takes part in `paperboy store copy` on either side.
var (
	_ dump.Exporter = (*Store)(nil)
	_ dump.Importer = (*Store)(nil)
)

// Export streams every record of the store to w, in the order and batches dump.Writer describes, from one read
// transaction: with WAL, a consistent snapshot even if something writes meanwhile.
func (s *Store) Export(ctx context.Context, w dump.Writer) error {
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("export: begin: %w", err)
	}
	// Read-only: there is nothing to commit.
	defer func() { _ = tx.Rollback() }()
	steps := []struct {
		what string
		fn   func(context.Context, *sql.Tx, dump.Writer) error
	}{
		{"papers", exportPapers},
		{"validators", exportValidators},
		{"source states", exportSourceStates},
		{"channels", exportChannels},
		{"subscriptions", exportSubscriptions},
		{"digest batches", exportBatches},
		{"outbox", exportOutbox},
		{"import checkpoints", exportImports},
		{"votes", exportVotes},
		{"reading lists", exportSaved},
	}
	for _, st := range steps {
		if err := st.fn(ctx, tx, w); err != nil {
			return fmt.Errorf("export %s: %w", st.what, err)
		}
	}
	return nil
}

// exportRows runs query on tx and passes each row, read by scan, to add; then flushes.
func exportRows[T any](ctx context.Context, tx *sql.Tx, query string, flush func(context.Context, []T) error, scan func(*sql.Rows) (T, error)) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	b := dump.NewBatcher(flush)
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return err
		}
		if err := b.Add(ctx, r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return b.Flush(ctx)
}

// exportPapers passes papers oldest first: ids are the published order, so an importer allocating ids in the
// order it receives papers keeps papers of the same second in the same order.
func exportPapers(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT key, title, abstract, data, first_seen, last_seen FROM papers ORDER BY id`, w.Papers,
		func(rows *sql.Rows) (dump.Paper, error) {
			var key, title, abstract string
			var data []byte
			var first, last int64
			if err := rows.Scan(&key, &title, &abstract, &data, &first, &last); err != nil {
				return dump.Paper{}, err
			}
			p, err := decodePaper(key, title, abstract, data)
			return dump.Paper{Paper: p, FirstSeen: time.UnixMilli(first).UTC(), LastSeen: time.UnixMilli(last).UTC()}, err
		})
}

func exportValidators(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT source, url, etag, last_modified FROM fetch_state ORDER BY source, url`, w.Validators,
		func(rows *sql.Rows) (dump.Validators, error) {
			var v dump.Validators
			err := rows.Scan(&v.Source, &v.URL, &v.ETag, &v.LastModified)
			return v, err
		})
}

func exportSourceStates(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, sourceStatesSQL, w.SourceStates, scanSourceState)
}

func exportChannels(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT platform, id, mode, digest_at, digest_tz, blocked, created_at, blocked_at, last_digest_at
		FROM channels ORDER BY platform, id`, w.Channels,
		func(rows *sql.Rows) (dump.Channel, error) {
			var c dump.Channel
			var created int64
			var blockedAt, lastDigest sql.NullInt64
			if err := rows.Scan(&c.Ref.Platform, &c.Ref.ID, &c.Mode, &c.DigestAt, &c.DigestTZ, &c.Blocked, &created, &blockedAt, &lastDigest); err != nil {
				return c, err
			}
			c.CreatedAt, c.BlockedAt, c.LastDigestAt = time.Unix(0, created).UTC(), nanos(blockedAt), nanos(lastDigest)
			return c, nil
		})
}

func exportSubscriptions(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT `+subColumns+` FROM subscriptions ORDER BY id`, w.Subscriptions,
		func(rows *sql.Rows) (dump.Subscription, error) {
			var sub dump.Subscription
			var at int64
			if err := rows.Scan(&sub.ID, &sub.Channel.Platform, &sub.Channel.ID, &sub.Query, &sub.Canonical, &sub.AddedBy, &at, &sub.FromConfig); err != nil {
				return sub, err
			}
			sub.AddedAt = time.Unix(0, at).UTC()
			return sub, nil
		})
}

// exportBatches passes every digest batch, sent or not: the largest id is the high-water mark the copy's new
// batches must stay above, so that a nonce never names two digests.
func exportBatches(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT id, platform, channel_id, kind, title, created_at FROM outbox_batches ORDER BY id`, w.Batches,
		func(rows *sql.Rows) (dump.Batch, error) {
			var b dump.Batch
			var created int64
			if err := rows.Scan(&b.ID, &b.Channel.Platform, &b.Channel.ID, &b.Kind, &b.Title, &created); err != nil {
				return b, err
			}
			b.CreatedAt = time.Unix(0, created).UTC()
			return b, nil
		})
}

func exportOutbox(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	// A pruned pair (outbox_posted) travels as a sent row without payload, created and sent at the Unix epoch,
	// ahead of the rows: the copy keeps the paper posted once ever, and its next prune compacts the row again.
	return exportRows(ctx, tx, `SELECT 0, d.chan, d.paper, n.platform, n.channel_id, p.key, '[]', 'match', 'sent', 0, 0, '',
		'', 0, 0, NULL, NULL, NULL, NULL
		FROM outbox_posted d JOIN outbox_channels n ON n.num = d.chan JOIN papers p ON p.id = d.paper
		UNION ALL
		SELECT 1, o.id, 0, n.platform, n.channel_id, p.key, o.matched, o.kind, o.state, o.created_at, o.attempts, o.last_error,
		o.message_id, o.sent_at, o.rejections, o.retry_at, o.failed_at, o.batch_id, o.sending_at
		FROM outbox o JOIN outbox_channels n ON n.num = o.chan JOIN papers p ON p.id = o.paper ORDER BY 1, 2, 3`, w.Outbox,
		func(rows *sql.Rows) (dump.Outbox, error) {
			var o dump.Outbox
			var matched string
			var created, part, ord1, ord2 int64
			var sent, retry, failed, batch, sending sql.NullInt64
			if err := rows.Scan(&part, &ord1, &ord2, &o.Channel.Platform, &o.Channel.ID, &o.PaperKey, &matched, &o.Kind, &o.State, &created,
				&o.Attempts, &o.LastError, &o.MessageID, &sent, &o.Rejections, &retry, &failed, &batch, &sending); err != nil {
				return o, err
			}
			if err := json.Unmarshal([]byte(matched), &o.Matched); err != nil {
				return o, fmt.Errorf("outbox row of %s for %s: matched: %w", o.Channel, o.PaperKey, err)
			}
			o.CreatedAt, o.SentAt, o.RetryAt, o.FailedAt = time.Unix(0, created).UTC(), nanos(sent), nanos(retry), nanos(failed)
			o.BatchID, o.SendingAt = batch.Int64, nanos(sending)
			return o, nil
		})
}

func exportImports(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT name, state, updated_at FROM imports ORDER BY name`, w.Imports,
		func(rows *sql.Rows) (dump.Import, error) {
			var im dump.Import
			var updated int64
			if err := rows.Scan(&im.Name, &im.State, &updated); err != nil {
				return im, err
			}
			im.UpdatedAt = time.Unix(0, updated).UTC()
			return im, nil
		})
}

func exportVotes(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT platform, channel_id, paper_key, user_id, workspace, vote, at FROM votes
		ORDER BY platform, channel_id, paper_key, user_id`, w.Votes,
		func(rows *sql.Rows) (dump.Vote, error) {
			var v dump.Vote
			var at int64
			err := rows.Scan(&v.Channel.Platform, &v.Channel.ID, &v.PaperKey, &v.User, &v.Workspace, &v.Vote, &at)
			v.At = time.Unix(0, at).UTC()
			return v, err
		})
}

func exportSaved(ctx context.Context, tx *sql.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT platform, workspace, user_id, paper_key, at FROM saved
		ORDER BY platform, workspace, user_id, paper_key`, w.Saved,
		func(rows *sql.Rows) (dump.Saved, error) {
			var sv dump.Saved
			var at int64
			err := rows.Scan(&sv.Platform, &sv.Workspace, &sv.User, &sv.PaperKey, &at)
			sv.At = time.Unix(0, at).UTC()
			return sv, err
		})
}

// Import starts filling the store from another's records, in one write transaction: the copy becomes visible
// whole or not at all, and nothing else writes to the file meanwhile.
func (s *Store) Import(ctx context.Context) (dump.Load, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("import: begin: %w", err)
	}
	return &load{tx: tx}, nil
}

// load is an import into a SQLite store.
type load struct {
	tx *sql.Tx
	// lastSec and nextID remember the id allocation of the last paper: papers arrive oldest first, so within a
	// second the next id is the previous one plus one, and only a new second needs a look-up.
	lastSec, nextID int64
	haveSec         bool
}

// Empty reports whether the store held no data when the import began.
func (l *load) Empty(ctx context.Context) (bool, error) {
	var empty bool
	err := l.tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM papers) AND NOT EXISTS (SELECT 1 FROM fetch_state)
		AND NOT EXISTS (SELECT 1 FROM source_state) AND NOT EXISTS (SELECT 1 FROM channels)
		AND NOT EXISTS (SELECT 1 FROM subscriptions) AND NOT EXISTS (SELECT 1 FROM outbox)
		AND NOT EXISTS (SELECT 1 FROM outbox_batches) AND NOT EXISTS (SELECT 1 FROM imports)
		AND NOT EXISTS (SELECT 1 FROM votes) AND NOT EXISTS (SELECT 1 FROM saved)`).Scan(&empty)
	if err != nil {
		return false, fmt.Errorf("import: %w", err)
	}
	return empty, nil
}

// Commit ends the import.
func (l *load) Commit(context.Context) error {
	if err := l.tx.Commit(); err != nil {
		return fmt.Errorf("import: commit: %w", err)
	}
	return nil
}

// Rollback abandons the import.
func (l *load) Rollback(context.Context) error {
	if err := l.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("import: rollback: %w", err)
	}
	return nil
}

// importedPaper is a papers row for json_each: the row ingest writes, plus when it was first and last seen.
type importedPaper struct {
	rowJSON
	FirstSeen int64 `json:"first_seen"`
	LastSeen  int64 `json:"last_seen"`
}

// Papers inserts a batch with one statement (one FTS segment per batch, not per paper; see writePapers). Ids
// follow ingest's scheme, so the copy's newest-first order is the source's.
func (l *load) Papers(ctx context.Context, batch []dump.Paper) error {
	rows := make([]importedPaper, 0, len(batch))
	for _, p := range batch {
		id, err := l.allocate(ctx, paper.SortSecond(p.Paper, p.FirstSeen.UnixMilli()))
		if err != nil {
			return fmt.Errorf("import papers: %w", err)
		}
		r, err := rowOf(writeOp{id: id, p: p.Paper})
		if err != nil {
			return fmt.Errorf("import papers: %w", err)
		}
		rows = append(rows, importedPaper{rowJSON: r, FirstSeen: p.FirstSeen.UnixMilli(), LastSeen: p.LastSeen.UnixMilli()})
	}
	slices.SortFunc(rows, func(a, b importedPaper) int { return cmp.Compare(a.ID, b.ID) })
	data, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("import papers: encode: %w", err)
	}
	if _, err := l.tx.ExecContext(ctx, `
INSERT INTO papers (id, key, arxiv_id, doi, title, abstract, authors, published, updated, first_seen, last_seen, data)
SELECT value->>'id', value->>'key', value->>'arxiv_id', value->>'doi', value->>'title', value->>'abstract',
	value->>'authors', value->>'published', value->>'updated', value->>'first_seen', value->>'last_seen', value->>'data'
FROM json_each(?1) ORDER BY value->>'id'`, string(data)); err != nil {
		return fmt.Errorf("import papers: %w", err)
	}
	return nil
}

// allocate returns the id of the next paper sorting at second sec: above every id already used in that second.
func (l *load) allocate(ctx context.Context, sec int64) (int64, error) {
	if !l.haveSec || sec != l.lastSec {
		lo := sec << idShift
		var top sql.NullInt64
		if err := l.tx.QueryRowContext(ctx, `SELECT max(id) FROM papers WHERE id >= ? AND id < ?`, lo, lo+1<<idShift).Scan(&top); err != nil {
			return 0, fmt.Errorf("allocate id: %w", err)
		}
		l.lastSec, l.haveSec, l.nextID = sec, true, lo
		if top.Valid {
			l.nextID = top.Int64 + 1
		}
	}
	if l.nextID >= (sec+1)<<idShift {
		return 0, fmt.Errorf("allocate id: more than %d papers published at %s", 1<<idShift, time.Unix(sec, 0).UTC())
	}
	id := l.nextID
	l.nextID++
	return id, nil
}

// each runs query once per record of batch with the arguments args returns, through one prepared statement.
func each[T any](ctx context.Context, tx *sql.Tx, query string, batch []T, args func(T) []any) error {
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range batch {
		if _, err := st.ExecContext(ctx, args(r)...); err != nil {
			return err
		}
	}
	return nil
}

// Validators inserts a batch of validators.
func (l *load) Validators(ctx context.Context, batch []dump.Validators) error {
	err := each(ctx, l.tx, `INSERT INTO fetch_state (source, url, etag, last_modified) VALUES (?, ?, ?, ?)`, batch,
		func(v dump.Validators) []any { return []any{v.Source, v.URL, v.ETag, v.LastModified} })
	if err != nil {
		return fmt.Errorf("import validators: %w", err)
	}
	return nil
}

// SourceStates inserts a batch of source states, and who polled each last as an expired lease.
func (l *load) SourceStates(ctx context.Context, batch []dump.SourceState) error {
	err := each(ctx, l.tx, `INSERT INTO source_state (source, last_poll, last_success, last_error, last_error_at, last_new_at,
		polls, failures, consecutive_failures, papers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, batch,
		func(st dump.SourceState) []any {
			return []any{st.Source, nullNanos(st.LastPoll), nullNanos(st.LastSuccess), st.LastError, nullNanos(st.LastErrorAt),
				nullNanos(st.LastNewPaper), st.Polls, st.Failures, st.ConsecutiveFailures, st.Papers}
		})
	if err != nil {
		return fmt.Errorf("import source states: %w", err)
	}
	var polled []dump.SourceState
	for _, st := range batch {
		if st.PolledBy != "" {
			polled = append(polled, st)
		}
	}
	err = each(ctx, l.tx, `INSERT INTO source_leases (source, owner, lease_until) VALUES (?, ?, 0)`, polled,
		func(st dump.SourceState) []any { return []any{st.Source, st.PolledBy} })
	if err != nil {
		return fmt.Errorf("import source leases: %w", err)
	}
	return nil
}

// Channels inserts a batch of channels, unleased.
func (l *load) Channels(ctx context.Context, batch []dump.Channel) error {
	err := each(ctx, l.tx, `INSERT INTO channels (platform, id, mode, digest_at, digest_tz, created_at, blocked, blocked_at, last_digest_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, batch,
		func(c dump.Channel) []any {
			return []any{c.Ref.Platform, c.Ref.ID, c.Mode, c.DigestAt, c.DigestTZ, c.CreatedAt.UnixNano(), c.Blocked,
				nullNanos(c.BlockedAt), nullNanos(c.LastDigestAt)}
		})
	if err != nil {
		return fmt.Errorf("import channels: %w", err)
	}
	return nil
}

// Subscriptions inserts a batch of subscriptions with new ids, in the order given (their list order). The
// triggers count them as changes, so a router watching SubscriptionsVersion sees them.
func (l *load) Subscriptions(ctx context.Context, batch []dump.Subscription) error {
	err := each(ctx, l.tx, `INSERT INTO subscriptions (platform, channel_id, query, canonical, added_by, added_at, from_config)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, batch,
		func(sub dump.Subscription) []any {
			return []any{sub.Channel.Platform, sub.Channel.ID, sub.Query, sub.Canonical, sub.AddedBy, sub.AddedAt.UnixNano(), sub.FromConfig}
		})
	if err != nil {
		return fmt.Errorf("import subscriptions: %w", err)
	}
	return nil
}

// Batches inserts digest batches with their ids; AUTOINCREMENT's sequence follows the largest, so the store's
// next batch gets a larger one.
func (l *load) Batches(ctx context.Context, batch []dump.Batch) error {
	err := each(ctx, l.tx, `INSERT INTO outbox_batches (id, platform, channel_id, kind, title, created_at) VALUES (?, ?, ?, ?, ?, ?)`, batch,
		func(b dump.Batch) []any {
			return []any{b.ID, b.Channel.Platform, b.Channel.ID, b.Kind, b.Title, b.CreatedAt.UnixNano()}
		})
	if err != nil {
		return fmt.Errorf("import digest batches: %w", err)
	}
	return nil
}

// Imports inserts import checkpoints.
func (l *load) Imports(ctx context.Context, batch []dump.Import) error {
	err := each(ctx, l.tx, `INSERT INTO imports (name, state, updated_at) VALUES (?, ?, ?)`, batch,
		func(im dump.Import) []any {
			state := im.State
			if state == nil {
				state = []byte{}
			}
			return []any{im.Name, state, im.UpdatedAt.UnixNano()}
		})
	if err != nil {
		return fmt.Errorf("import checkpoints: %w", err)
	}
	return nil
}

// Votes inserts votes on cards.
func (l *load) Votes(ctx context.Context, batch []dump.Vote) error {
	err := each(ctx, l.tx, `INSERT INTO votes (platform, channel_id, paper_key, user_id, workspace, vote, at) VALUES (?, ?, ?, ?, ?, ?, ?)`, batch,
		func(v dump.Vote) []any {
			return []any{v.Channel.Platform, v.Channel.ID, v.PaperKey, v.User, v.Workspace, v.Vote, v.At.UnixNano()}
		})
	if err != nil {
		return fmt.Errorf("import votes: %w", err)
	}
	return nil
}

// Saved inserts papers of reading lists.
func (l *load) Saved(ctx context.Context, batch []dump.Saved) error {
	err := each(ctx, l.tx, `INSERT INTO saved (platform, workspace, user_id, paper_key, at) VALUES (?, ?, ?, ?, ?)`, batch,
		func(sv dump.Saved) []any {
			return []any{sv.Platform, sv.Workspace, sv.User, sv.PaperKey, sv.At.UnixNano()}
		})
	if err != nil {
		return fmt.Errorf("import reading lists: %w", err)
	}
	return nil
}

// Outbox inserts a batch of outbox rows with new ids, in the order given, each keyed to its paper by key and to
// its digest batch by the batch's (kept) id.
func (l *load) Outbox(ctx context.Context, batch []dump.Outbox) (err error) {
	var rows []dump.Outbox
	for _, o := range batch {
		if !o.Pruned() {
			rows = append(rows, o)
			continue
		}
		if _, err := channelNum(ctx, l.tx, o.Channel); err != nil {
			return fmt.Errorf("import outbox: %w", err)
		}
		if _, err := l.tx.ExecContext(ctx, `INSERT INTO outbox_posted (chan, paper)
			VALUES ((SELECT num FROM outbox_channels WHERE platform = ? AND channel_id = ?), (SELECT id FROM papers WHERE key = ?))
			ON CONFLICT DO NOTHING`, o.Channel.Platform, o.Channel.ID, o.PaperKey); err != nil {
			return fmt.Errorf("import posted pair of %s for %s: %w", o.Channel, o.PaperKey, err)
		}
	}
	batch = rows
	var nums []int64
	for _, o := range batch {
		n, err := channelNum(ctx, l.tx, o.Channel)
		if err != nil {
			return fmt.Errorf("import outbox: %w", err)
		}
		if len(nums) == 0 || nums[len(nums)-1] != n {
			nums = append(nums, n)
		}
	}
	defer func() {
		if err == nil {
			err = rebuildWork(ctx, l.tx, nums)
		}
	}()
	// A paper key the copy does not hold fails the NOT NULL on paper: the copy must not keep a row without its paper.
	err = each(ctx, l.tx, `INSERT INTO outbox (chan, paper, matched, kind, state, created_at, attempts,
		last_error, message_id, sent_at, rejections, retry_at, failed_at, batch_id, sending_at)
		VALUES ((SELECT num FROM outbox_channels WHERE platform = ? AND channel_id = ?), (SELECT id FROM papers WHERE key = ?),
		?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, batch,
		func(o dump.Outbox) []any {
			m := o.Matched
			if m == nil {
				m = []string{}
			}
			matched, _ := json.Marshal(m) // a []string always encodes
			return []any{o.Channel.Platform, o.Channel.ID, o.PaperKey, string(matched), o.Kind, o.State, o.CreatedAt.UnixNano(),
				o.Attempts, o.LastError, o.MessageID, nullNanos(o.SentAt), o.Rejections, nullNanos(o.RetryAt), nullNanos(o.FailedAt),
				nullID(o.BatchID), nullNanos(o.SendingAt)}
		})
	if err != nil {
		return fmt.Errorf("import outbox: %w", err)
	}
	return nil
}

// nullID stores a reference id, and 0 (none) as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullNanos stores a time as Unix nanoseconds, and the zero time as NULL.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}
