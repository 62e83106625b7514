package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/channel"
	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/bot/store/dump"
)

// The store takes part in `paperboy store copy` on either side.
var (
	_ dump.Exporter = (*Store)(nil)
	_ dump.Importer = (*Store)(nil)
)

// Export streams every record of the store to w, in the order and batches dump.Writer describes, from one
// REPEATABLE READ transaction: a consistent snapshot of all tables even if an instance writes meanwhile.
func (s *Store) Export(ctx context.Context, w dump.Writer) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("export: begin: %w", err)
	}
	// Read-only: there is nothing to commit.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	steps := []struct {
		what string
		fn   func(context.Context, pgx.Tx, dump.Writer) error
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

// exportRows runs query on tx and passes each row, read by scan, on to flush in batches. Rows stream from the
// server as they are scanned, so a large table is never held whole.
func exportRows[T any](ctx context.Context, tx pgx.Tx, query string, flush func(context.Context, []T) error, scan func(pgx.Rows) (T, error)) error {
	rows, err := tx.Query(ctx, query)
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

// exportPapers passes papers oldest first, in the store's order (sort second, then sequence number), which an
// importer keeps.
func exportPapers(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT key, title, abstract, data, first_seen, last_seen FROM papers ORDER BY sort_sec, sort_seq`, w.Papers,
		func(rows pgx.Rows) (dump.Paper, error) {
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

func exportValidators(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT source, url, etag, last_modified FROM fetch_state ORDER BY source, url`, w.Validators,
		func(rows pgx.Rows) (dump.Validators, error) {
			var v dump.Validators
			err := rows.Scan(&v.Source, &v.URL, &v.ETag, &v.LastModified)
			return v, err
		})
}

func exportSourceStates(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, sourceStatesSQL, w.SourceStates, scanSourceState)
}

func exportChannels(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT platform, id, mode, digest_at, digest_tz, blocked, created_at, blocked_at, last_digest_at
		FROM channels ORDER BY platform, id`, w.Channels,
		func(rows pgx.Rows) (dump.Channel, error) {
			var c dump.Channel
			var created int64
			var blockedAt, lastDigest *int64
			if err := rows.Scan(&c.Ref.Platform, &c.Ref.ID, &c.Mode, &c.DigestAt, &c.DigestTZ, &c.Blocked, &created, &blockedAt, &lastDigest); err != nil {
				return c, err
			}
			c.CreatedAt, c.BlockedAt, c.LastDigestAt = time.Unix(0, created).UTC(), nanos(blockedAt), nanos(lastDigest)
			return c, nil
		})
}

func exportSubscriptions(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT `+subColumns+` FROM subscriptions ORDER BY id`, w.Subscriptions,
		func(rows pgx.Rows) (dump.Subscription, error) {
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
func exportBatches(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT id, platform, channel_id, kind, title, created_at FROM outbox_batches ORDER BY id`, w.Batches,
		func(rows pgx.Rows) (dump.Batch, error) {
			var b dump.Batch
			var created int64
			if err := rows.Scan(&b.ID, &b.Channel.Platform, &b.Channel.ID, &b.Kind, &b.Title, &created); err != nil {
				return b, err
			}
			b.CreatedAt = time.Unix(0, created).UTC()
			return b, nil
		})
}

func exportOutbox(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	// A pruned pair (outbox_posted) travels as a sent row without payload, created and sent at the Unix epoch,
	// ahead of the rows: the copy keeps the paper posted once ever, and its next prune compacts the row again.
	return exportRows(ctx, tx, `SELECT 0 AS part, 0::bigint AS ord, platform, channel_id, paper_key, '[]'::jsonb AS matched,
		'match' AS kind, 'sent' AS state, 0::bigint AS created_at, 0 AS attempts, '' AS last_error, '' AS message_id,
		0::bigint AS sent_at, 0 AS rejections, NULL::bigint AS retry_at, NULL::bigint AS failed_at, NULL::bigint AS batch_id,
		NULL::bigint AS sending_at
		FROM outbox_posted
		UNION ALL
		SELECT 1, id, platform, channel_id, paper_key, matched, kind, state, created_at, attempts, last_error,
		message_id, sent_at, rejections, retry_at, failed_at, batch_id, sending_at FROM outbox
		ORDER BY part, ord, platform, channel_id, paper_key`, w.Outbox,
		func(rows pgx.Rows) (dump.Outbox, error) {
			var o dump.Outbox
			var created, part, ord int64
			var sent, retry, failed, batch, sending *int64
			if err := rows.Scan(&part, &ord, &o.Channel.Platform, &o.Channel.ID, &o.PaperKey, &o.Matched, &o.Kind, &o.State, &created,
				&o.Attempts, &o.LastError, &o.MessageID, &sent, &o.Rejections, &retry, &failed, &batch, &sending); err != nil {
				return o, err
			}
			o.CreatedAt, o.SentAt, o.RetryAt, o.FailedAt = time.Unix(0, created).UTC(), nanos(sent), nanos(retry), nanos(failed)
			o.SendingAt = nanos(sending)
			if batch != nil {
				o.BatchID = *batch
			}
			return o, nil
		})
}

func exportVotes(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT platform, channel_id, paper_key, user_id, workspace, vote, at FROM votes
		ORDER BY platform, channel_id, paper_key, user_id`, w.Votes,
		func(rows pgx.Rows) (dump.Vote, error) {
			var v dump.Vote
			var vote int16
			var at int64
			err := rows.Scan(&v.Channel.Platform, &v.Channel.ID, &v.PaperKey, &v.User, &v.Workspace, &vote, &at)
			v.Vote, v.At = int(vote), time.Unix(0, at).UTC()
			return v, err
		})
}

func exportSaved(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT platform, workspace, user_id, paper_key, at FROM saved
		ORDER BY platform, workspace, user_id, paper_key`, w.Saved,
		func(rows pgx.Rows) (dump.Saved, error) {
			var sv dump.Saved
			var at int64
			err := rows.Scan(&sv.Platform, &sv.Workspace, &sv.User, &sv.PaperKey, &at)
			sv.At = time.Unix(0, at).UTC()
			return sv, err
		})
}

func exportImports(ctx context.Context, tx pgx.Tx, w dump.Writer) error {
	return exportRows(ctx, tx, `SELECT name, state, updated_at FROM imports ORDER BY name`, w.Imports,
		func(rows pgx.Rows) (dump.Import, error) {
			var im dump.Import
			var updated int64
			if err := rows.Scan(&im.Name, &im.State, &updated); err != nil {
				return im, err
			}
			im.UpdatedAt = time.Unix(0, updated).UTC()
			return im, nil
		})
}

// importTables are the tables an import writes, locked against other writers for its whole transaction so that
// what Empty saw stays true until Commit.
const importTables = `papers, fetch_state, source_state, source_leases, channels, subscriptions, outbox_batches, outbox, imports`

// Import starts filling the store from another's records, in one transaction: the copy becomes visible whole or
// not at all. The tables it writes are locked against other writers (readers go on) until it ends.
func (s *Store) Import(ctx context.Context) (dump.Load, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("import: begin: %w", err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+importTables+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("import: lock tables: %w", err)
	}
	return &load{tx: tx}, nil
}

// load is an import into a PostgreSQL store.
type load struct {
	tx pgx.Tx
	// unsent says the import wrote outbox rows waiting for delivery, to wake the instances at commit.
	unsent bool
}

// Empty reports whether the store held no data when the import began.
func (l *load) Empty(ctx context.Context) (bool, error) {
	var empty bool
	err := l.tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM papers) AND NOT EXISTS (SELECT 1 FROM fetch_state)
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
func (l *load) Commit(ctx context.Context) error {
	if l.unsent {
		if err := notifyOutbox(ctx, l.tx); err != nil {
			return fmt.Errorf("import: %w", err)
		}
	}
	if err := l.tx.Commit(ctx); err != nil {
		return fmt.Errorf("import: commit: %w", err)
	}
	return nil
}

// Rollback abandons the import.
func (l *load) Rollback(ctx context.Context) error {
	if err := l.tx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("import: rollback: %w", err)
	}
	return nil
}

// importPapersSQL inserts papers as ingest does (unnestPapers), with when each was first and last seen ($15,
// $16, by key).
const importPapersSQL = `
INSERT INTO papers (key, sort_sec, sort_seq, arxiv_id, doi, title, abstract, authors, published, updated, first_seen,
	last_seen, data, fts, unindexed)
SELECT r.key, r.sort_sec, r.sort_seq, r.arxiv_id, r.doi, r.title, r.abstract, r.authors, r.published, r.updated,
	t.first_seen, t.last_seen, r.data::jsonb, r.fts, r.unindexed
FROM ` + unnestPapers + `
JOIN unnest($1::text[], $15::bigint[], $16::bigint[]) AS t(key, first_seen, last_seen) ON t.key = r.key`

// Papers inserts a batch, with full-text documents built as ingest builds them. Sequence numbers are taken in
// the order given (oldest first), so papers of one second keep their order, newest first, as in the source.
func (l *load) Papers(ctx context.Context, batch []dump.Paper) error {
	if len(batch) == 0 {
		return nil
	}
	ps := make([]paper.Paper, len(batch))
	for i := range batch {
		ps[i] = batch[i].Paper
	}
	// The SQLite store keeps NUL and invalid UTF-8, which PostgreSQL text cannot hold.
	ps = sanitize(ps)
	seqs, err := nextSeqs(ctx, l.tx, len(ps))
	if err != nil {
		return fmt.Errorf("import papers: %w", err)
	}
	for start := 0; start < len(ps); start += insertChunk {
		end := min(start+insertChunk, len(ps))
		var cols paperColumns
		first, last := make([]int64, 0, end-start), make([]int64, 0, end-start)
		for i := start; i < end; i++ {
			seen := batch[i].FirstSeen.UnixMilli()
			if err := cols.add(&ps[i], paper.SortSecond(ps[i], seen), seqs[i], true); err != nil {
				return fmt.Errorf("import papers: %w", err)
			}
			first, last = append(first, seen), append(last, batch[i].LastSeen.UnixMilli())
		}
		ct, err := l.tx.Exec(ctx, importPapersSQL, append(cols.columns(), first, last)...)
		if err != nil {
			return fmt.Errorf("import papers: %w", err)
		}
		if err := wrote("import papers", ct, end-start); err != nil {
			return err
		}
	}
	return nil
}

// Validators inserts a batch of validators.
func (l *load) Validators(ctx context.Context, batch []dump.Validators) error {
	var source, url, etag, lm []string
	for _, v := range batch {
		source, url = append(source, v.Source), append(url, v.URL)
		etag, lm = append(etag, cleanText(v.ETag)), append(lm, cleanText(v.LastModified))
	}
	if _, err := l.tx.Exec(ctx, `INSERT INTO fetch_state (source, url, etag, last_modified)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`, source, url, etag, lm); err != nil {
		return fmt.Errorf("import validators: %w", err)
	}
	return nil
}

// SourceStates inserts a batch of source states, and who polled each last as a lease that has expired: /papers
// sources still names the poller, and any instance may claim the source.
func (l *load) SourceStates(ctx context.Context, batch []dump.SourceState) error {
	n := len(batch)
	source, lastErr := make([]string, n), make([]string, n)
	poll, success, errAt, newAt := make([]*int64, n), make([]*int64, n), make([]*int64, n), make([]*int64, n)
	polls, failures, consecutive, papers := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	var leased, owners []string
	for i, st := range batch {
		source[i], lastErr[i] = st.Source, cleanText(st.LastError)
		poll[i], success[i], errAt[i], newAt[i] = nullNanos(st.LastPoll), nullNanos(st.LastSuccess), nullNanos(st.LastErrorAt), nullNanos(st.LastNewPaper)
		polls[i], failures[i], consecutive[i], papers[i] = int64(st.Polls), int64(st.Failures), int64(st.ConsecutiveFailures), int64(st.Papers)
		if st.PolledBy != "" {
			leased, owners = append(leased, st.Source), append(owners, st.PolledBy)
		}
	}
	if _, err := l.tx.Exec(ctx, `
INSERT INTO source_state (source, last_poll, last_success, last_error, last_error_at, last_new_at, polls, failures,
	consecutive_failures, papers)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
	$8::bigint[], $9::bigint[], $10::bigint[])`,
		source, poll, success, lastErr, errAt, newAt, polls, failures, consecutive, papers); err != nil {
		return fmt.Errorf("import source states: %w", err)
	}
	if len(leased) == 0 {
		return nil
	}
	if _, err := l.tx.Exec(ctx, `INSERT INTO source_leases (source, lease_owner, lease_until)
		SELECT s, o, 0 FROM unnest($1::text[], $2::text[]) AS r(s, o)`, leased, owners); err != nil {
		return fmt.Errorf("import source leases: %w", err)
	}
	return nil
}

// Channels inserts a batch of channels, unleased.
func (l *load) Channels(ctx context.Context, batch []dump.Channel) error {
	n := len(batch)
	platform, id, mode, digestAt, digestTZ, blocked := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	created, blockedAt, lastDigest := make([]int64, n), make([]*int64, n), make([]*int64, n)
	for i, c := range batch {
		platform[i], id[i], mode[i], digestAt[i], digestTZ[i] = c.Ref.Platform, c.Ref.ID, c.Mode, c.DigestAt, c.DigestTZ
		blocked[i] = cleanText(c.Blocked)
		created[i], blockedAt[i], lastDigest[i] = c.CreatedAt.UnixNano(), nullNanos(c.BlockedAt), nullNanos(c.LastDigestAt)
	}
	if _, err := l.tx.Exec(ctx, `
INSERT INTO channels (platform, id, mode, digest_at, digest_tz, blocked, created_at, blocked_at, last_digest_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
	$9::bigint[])`, platform, id, mode, digestAt, digestTZ, blocked, created, blockedAt, lastDigest); err != nil {
		return fmt.Errorf("import channels: %w", err)
	}
	return nil
}

// Subscriptions inserts a batch of subscriptions with new ids, in the order given (their list order). The
// statement trigger counts the insert as a change, so a router watching SubscriptionsVersion sees them.
func (l *load) Subscriptions(ctx context.Context, batch []dump.Subscription) error {
	n := len(batch)
	platform, id, query, canonical, addedBy := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n)
	addedAt, fromConfig := make([]int64, n), make([]bool, n)
	for i, sub := range batch {
		platform[i], id[i], query[i], canonical[i], addedBy[i] = sub.Channel.Platform, sub.Channel.ID, sub.Query, sub.Canonical, sub.AddedBy
		addedAt[i], fromConfig[i] = sub.AddedAt.UnixNano(), sub.FromConfig
	}
	// WITH ORDINALITY ... ORDER BY n gives the ids in the order given, as SyncConfigChannels does.
	if _, err := l.tx.Exec(ctx, `
INSERT INTO subscriptions (platform, channel_id, query, canonical, added_by, added_at, from_config)
SELECT p, c, q, k, b, a, f
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::boolean[]) WITH ORDINALITY
	AS r(p, c, q, k, b, a, f, n)
ORDER BY n`, platform, id, query, canonical, addedBy, addedAt, fromConfig); err != nil {
		return fmt.Errorf("import subscriptions: %w", err)
	}
	return nil
}

// Batches inserts digest batches with their ids, and moves the identity's sequence past the largest, so the
// store's next batch gets a larger one.
func (l *load) Batches(ctx context.Context, batch []dump.Batch) error {
	n := len(batch)
	ids, created := make([]int64, n), make([]int64, n)
	platform, channelID, kind, title := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, b := range batch {
		ids[i], created[i] = b.ID, b.CreatedAt.UnixNano()
		platform[i], channelID[i], kind[i], title[i] = b.Channel.Platform, b.Channel.ID, b.Kind, cleanText(b.Title)
	}
	if _, err := l.tx.Exec(ctx, `
INSERT INTO outbox_batches (id, platform, channel_id, kind, title, created_at) OVERRIDING SYSTEM VALUE
SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])`,
		ids, platform, channelID, kind, title, created); err != nil {
		return fmt.Errorf("import digest batches: %w", err)
	}
	if _, err := l.tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('outbox_batches', 'id'), max(id)) FROM outbox_batches`); err != nil {
		return fmt.Errorf("import digest batches: advance the id sequence: %w", err)
	}
	return nil
}

// Imports inserts import checkpoints.
// Votes inserts votes on cards.
func (l *load) Votes(ctx context.Context, batch []dump.Vote) error {
	n := len(batch)
	plats, chans, keys, users, spaces := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	votes, ats := make([]int16, n), make([]int64, n)
	for i, v := range batch {
		plats[i], chans[i], keys[i], users[i], spaces[i] = v.Channel.Platform, v.Channel.ID, v.PaperKey, v.User, v.Workspace
		votes[i], ats[i] = int16(v.Vote), v.At.UnixNano()
	}
	if _, err := l.tx.Exec(ctx, `INSERT INTO votes (platform, channel_id, paper_key, user_id, workspace, vote, at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::bigint[])`,
		plats, chans, keys, users, spaces, votes, ats); err != nil {
		return fmt.Errorf("import votes: %w", err)
	}
	return nil
}

// Saved inserts papers of reading lists.
func (l *load) Saved(ctx context.Context, batch []dump.Saved) error {
	n := len(batch)
	plats, spaces, users, keys, ats := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
	for i, sv := range batch {
		plats[i], spaces[i], users[i], keys[i], ats[i] = sv.Platform, sv.Workspace, sv.User, sv.PaperKey, sv.At.UnixNano()
	}
	if _, err := l.tx.Exec(ctx, `INSERT INTO saved (platform, workspace, user_id, paper_key, at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])`, plats, spaces, users, keys, ats); err != nil {
		return fmt.Errorf("import reading lists: %w", err)
	}
	return nil
}

func (l *load) Imports(ctx context.Context, batch []dump.Import) error {
	n := len(batch)
	names, states, updated := make([]string, n), make([][]byte, n), make([]int64, n)
	for i, im := range batch {
		names[i], states[i], updated[i] = im.Name, im.State, im.UpdatedAt.UnixNano()
		if states[i] == nil {
			states[i] = []byte{}
		}
	}
	if _, err := l.tx.Exec(ctx, `INSERT INTO imports (name, state, updated_at)
SELECT * FROM unnest($1::text[], $2::bytea[], $3::bigint[])`, names, states, updated); err != nil {
		return fmt.Errorf("import checkpoints: %w", err)
	}
	return nil
}

// Outbox inserts a batch of outbox rows with new ids, in the order given (creation order), each keyed to its
// paper by key and to its digest batch by the batch's (kept) id.
func (l *load) Outbox(ctx context.Context, batch []dump.Outbox) error {
	var rows []dump.Outbox
	for _, o := range batch {
		if !o.Pruned() {
			rows = append(rows, o)
			continue
		}
		if _, err := l.tx.Exec(ctx, `INSERT INTO outbox_posted (platform, channel_id, paper_key) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, o.Channel.Platform, o.Channel.ID, cleanText(o.PaperKey)); err != nil {
			return fmt.Errorf("import posted pair of %s for %s: %w", o.Channel, o.PaperKey, err)
		}
	}
	batch = rows
	if len(batch) == 0 {
		return nil
	}
	n := len(batch)
	platform, id, key, matched, kind, state, lastErr, messageID := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	created, attempts, sent := make([]int64, n), make([]int64, n), make([]*int64, n)
	rejections, retry, failed := make([]int64, n), make([]*int64, n), make([]*int64, n)
	batchID, sending := make([]*int64, n), make([]*int64, n)
	for i, o := range batch {
		m := make([]string, len(o.Matched))
		for j, term := range o.Matched {
			m[j] = cleanText(term)
		}
		js, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("import outbox: encode matched terms: %w", err)
		}
		// The key as Papers cleaned it.
		platform[i], id[i], key[i], matched[i] = o.Channel.Platform, o.Channel.ID, cleanText(o.PaperKey), string(js)
		kind[i], state[i], lastErr[i], messageID[i] = o.Kind, o.State, cleanText(o.LastError), o.MessageID
		created[i], attempts[i], sent[i] = o.CreatedAt.UnixNano(), int64(o.Attempts), nullNanos(o.SentAt)
		rejections[i], retry[i], failed[i] = int64(o.Rejections), nullNanos(o.RetryAt), nullNanos(o.FailedAt)
		sending[i] = nullNanos(o.SendingAt)
		if o.BatchID != 0 {
			batchID[i] = &o.BatchID
		}
		if o.State == channel.StatePending || o.State == channel.StateOverflow {
			l.unsent = true
		}
	}
	if _, err := l.tx.Exec(ctx, `
INSERT INTO outbox (platform, channel_id, paper_key, matched, kind, state, created_at, attempts, last_error, message_id,
	sent_at, rejections, retry_at, failed_at, batch_id, sending_at)
SELECT p, c, k, m::jsonb, kd, st, ca, at, le, mi, sa, rj, ra, fa, b, sg
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[],
	$9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[])
	WITH ORDINALITY AS r(p, c, k, m, kd, st, ca, at, le, mi, sa, rj, ra, fa, b, sg, n)
ORDER BY n`, platform, id, key, matched, kind, state, created, attempts, lastErr, messageID, sent, rejections, retry, failed,
		batchID, sending); err != nil {
		return fmt.Errorf("import outbox: %w", err)
	}
	return nil
}

// nullNanos stores a time as Unix nanoseconds, and the zero time as NULL.
func nullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}
