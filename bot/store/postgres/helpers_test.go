package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/paperboy-bot/paperboy/bot/paper"
	"github.com/paperboy-bot/paperboy/filters"
)

// testURLEnv names the database the tests run against. Each test works in a schema of its own, dropped at the
// end, so tests run in parallel and leave nothing behind.
const testURLEnv = "PAPERBOY_TEST_DATABASE_URL"

// testURL returns the test database's URL, or skips the test when none is set.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(testURLEnv)
	if u == "" {
		t.Skip("set " + testURLEnv + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run the PostgreSQL tests")
	}
	return u
}

// t0 is the injected clock of the tests.
var t0 = time.Date(2026, 9, 28, 20, 0, 0, 0, time.UTC)

// newSchema creates an empty schema with a random name, drops it when the test ends, and returns the test
// database's URL with that schema as its search_path.
func newSchema(t testing.TB) string {
	t.Helper()
	base := testURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "paperboy_test_" + hex.EncodeToString(b[:])
	admin(t, base, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() { admin(t, base, "DROP SCHEMA "+pgx.Identifier{name}.Sanitize()+" CASCADE") })
	return withParam(t, base, "search_path", name)
}

// admin runs one statement on a connection of its own; it outlives the test's context, for cleanups.
func admin(t testing.TB, rawURL, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withParam returns rawURL with the query parameter k set to v.
func withParam(t testing.TB, rawURL, k, v string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", testURLEnv, err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// openURL opens a store at rawURL and closes it when the test ends.
func openURL(t testing.TB, rawURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), rawURL)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openTest opens a store in a fresh schema and returns it with its URL, for a second store on the same data.
func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	u := newSchema(t)
	return openURL(t, u), u
}

// arxiv returns an arXiv paper as the RSS source would deliver it.
func arxiv(id string, published time.Time, at paper.AnnounceType, title, abstract string, cats ...string) paper.Paper {
	p := paper.Paper{
		ArxivID:      id,
		Version:      1,
		Title:        title,
		Abstract:     abstract,
		Authors:      []string{"Ada Lovelace", "Alan Turing"},
		Categories:   cats,
		AnnounceType: at,
		URL:          "https://arxiv.org/abs/" + id,
		PDFURL:       "https://arxiv.org/pdf/" + id,
		Published:    published,
	}
	p.Key = paper.KeyOf(p)
	return p
}

func mustIngest(t *testing.T, s *Store, source string, ps []paper.Paper, v map[string]paper.Validators, at time.Time) paper.IngestResult {
	t.Helper()
	res, err := s.Ingest(t.Context(), source, ps, v, at)
	if err != nil {
		t.Fatalf("Ingest(%s): %v", source, err)
	}
	return res
}

func mustPaper(t *testing.T, s *Store, key string) paper.Paper {
	t.Helper()
	p, ok, err := s.paperOf(t.Context(), key)
	if err != nil || !ok {
		t.Fatalf("Paper(%s) = %v, %v", key, ok, err)
	}
	return p
}

func keysOf(ps []paper.Paper) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Key)
	}
	return out
}

// schemaVersion reads the version the migrations recorded.
func schemaVersion(t *testing.T, s *Store) int {
	t.Helper()
	var v int
	if err := s.pool.QueryRow(t.Context(), `SELECT version FROM paperboy_schema`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// paperOf returns the stored paper with the given key.
func (s *Store) paperOf(ctx context.Context, key string) (paper.Paper, bool, error) {
	ps, err := s.papers(ctx, `SELECT key, title, abstract, data FROM papers WHERE key = $1`, key)
	if err != nil || len(ps) == 0 {
		return paper.Paper{}, false, err
	}
	return ps[0], true, nil
}

// count returns the number of stored papers.
func (s *Store) count(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM papers`).Scan(&n)
	return n, err
}

// searchWords returns up to limit papers (all if limit <= 0) containing every word as a whole word (a word of
// several words, such as "EEG-based", as a phrase) in the title, abstract or authors, newest first: the tests' and
// BenchmarkSearch's plain look-up, as bot/store's, which checks the index without the query language. Words
// without letters or digits constrain nothing; with no word left, it returns nothing.
func searchWords(ctx context.Context, s *Store, words []string, limit int) ([]paper.Paper, error) {
	var parts []string
	for _, w := range words {
		folded := strings.Fields(filters.FoldText(w))
		if len(folded) == 0 {
			continue
		}
		lexemes := make([]string, len(folded))
		for i, f := range folded {
			lexemes[i] = quoteLexeme(cutLexeme(f))
		}
		parts = append(parts, "("+strings.Join(lexemes, " <-> ")+")")
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return s.candidates(ctx, strings.Join(parts, " & "), time.Time{}, limit)
}
