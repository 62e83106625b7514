package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/paperboy-bot/paperboy/bot/config"
	"github.com/paperboy-bot/paperboy/bot/store/dump"
)

// ParseDatabase reads a store location as `paperboy store copy` takes it: a postgres:// (or postgresql://) URL
// selects PostgreSQL, anything else is a SQLite file path.
func ParseDatabase(s string) config.Database {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return config.Database{Postgres: true, URL: s}
	}
	return config.Database{Path: s}
}

// ErrNoStore is returned by CopyStore when the source SQLite file does not exist (a copy never creates its
// source).
var ErrNoStore = errors.New("no such store file")

// CopyStore copies every record of the store from into the store to, which must be empty (dump.ErrNotEmpty
// otherwise, and it is left as it was). The target is created (a SQLite file) or migrated as needed. Both stores
// must implement the dump interfaces; errors never show a password.
func CopyStore(ctx context.Context, from, to config.Database) (dump.Counts, error) {
	if !from.Postgres && !to.Postgres {
		a, errA := filepath.Abs(from.Path)
		b, errB := filepath.Abs(to.Path)
		if errA == nil && errB == nil && a == b {
			return dump.Counts{}, fmt.Errorf("copy %s: source and target are the same file", Describe(from))
		}
	}
	if !from.Postgres {
		if _, err := os.Stat(from.Path); err != nil {
			return dump.Counts{}, fmt.Errorf("copy from %s: %w", Describe(from), ErrNoStore)
		}
	}
	src, err := openStore(ctx, from, slog.New(slog.DiscardHandler))
	if err != nil {
		return dump.Counts{}, err
	}
	defer func() { _ = src.Close() }()
	dst, err := openStore(ctx, to, slog.New(slog.DiscardHandler))
	if err != nil {
		return dump.Counts{}, err
	}
	defer func() { _ = dst.Close() }()
	exp, ok := src.(dump.Exporter)
	if !ok {
		return dump.Counts{}, fmt.Errorf("copy from %s: this store cannot export", Describe(from))
	}
	imp, ok := dst.(dump.Importer)
	if !ok {
		return dump.Counts{}, fmt.Errorf("copy to %s: this store cannot import", Describe(to))
	}
	c, err := dump.Copy(ctx, exp, imp)
	if err != nil {
		return c, fmt.Errorf("copy %s to %s: %w", Describe(from), Describe(to), err)
	}
	return c, nil
}

// Describe names a store for people, without saying where its location came from (unlike config.Database's
// String) and never showing a password.
func Describe(d config.Database) string {
	if d.Postgres {
		return "PostgreSQL " + config.RedactURL(d.URL)
	}
	return "SQLite file " + d.Path
}
