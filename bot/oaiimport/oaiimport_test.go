package oaiimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"github.com/paperboy-bot/paperboy/sources"
)

func TestPlan(t *testing.T) {
	tests := []struct {
		cats        []string
		from, until string
		sets        []string
		bad         string
	}{
		{cats: []string{"cs.LG", "stat.ML", "cs.LG", " "}, sets: []string{"cs:cs:LG", "stat:stat:ML"}},
		{cats: []string{"hep-th", "math"}, from: "2026-01-01", until: "2026-02-01", sets: []string{"physics:hep-th", "math"}},
		{cats: nil, sets: nil},
		{cats: []string{"cs.LG"}, from: "yesterday", bad: "YYYY-MM-DD"},
		{cats: []string{"cs.LG"}, from: "2026-02-01", until: "2026-01-01", bad: "before"},
		{cats: []string{"cs.LG&verb=x"}, bad: "category"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.cats, ",")+tt.from, func(t *testing.T) {
			cp, err := Plan(tt.cats, tt.from, tt.until)
			if tt.bad != "" {
				if err == nil || !strings.Contains(err.Error(), tt.bad) {
					t.Errorf("err %v, want one saying %q", err, tt.bad)
				}
				return
			}
			if err != nil || strings.Join(cp.Sets, " ") != strings.Join(tt.sets, " ") || cp.From != tt.from || cp.Until != tt.until || cp.Done {
				t.Errorf("Plan = %+v, %v; want sets %v", cp, err, tt.sets)
			}
		})
	}
}

// pagesGetter serves two ListRecords pages of one record each, by resumption token.
type pagesGetter struct{ asked []string }

func (g *pagesGetter) Get(_ context.Context, u string, _ paper.Validators) (*sources.Response, error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	tok := pu.Query().Get("resumptionToken")
	g.asked = append(g.asked, tok)
	id, next, cursor := "2611.00001", "t1", 0
	if tok == "t1" {
		id, next, cursor = "2611.00002", "", 1
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-11-30T09:12:44Z</responseDate>
<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request><ListRecords>
<record><header><identifier>oai:arXiv.org:%[1]s</identifier><datestamp>2026-11-02</datestamp></header>
<metadata><arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/"><id>%[1]s</id>
<version version="v1"><date>Mon, 2 Nov 2026 10:00:00 GMT</date><size>10kb</size></version>
<title>Paper %[1]s</title><authors>A. Author</authors><categories>cs.LG</categories>
<comments>This paper has been withdrawn by the author</comments><abstract>x</abstract></arXivRaw></metadata></record>
<resumptionToken cursor="%[2]d" completeListSize="2">%[3]s</resumptionToken></ListRecords></OAI-PMH>`, id, cursor, next)
	return &sources.Response{URL: u, StatusCode: 200, Body: []byte(body)}, nil
}

type memStore struct {
	mu     sync.Mutex
	keys   map[string]bool
	states map[string][]byte
}

func (m *memStore) ImportState(_ context.Context, name string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[name]
	return s, ok, nil
}

func (m *memStore) ImportBatch(_ context.Context, name string, papers []paper.Paper, state []byte, _ time.Time) (paper.IngestResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var res paper.IngestResult
	for _, p := range papers {
		if m.keys[p.Key] {
			res.Unchanged++
			continue
		}
		m.keys[p.Key] = true
		res.New = append(res.New, p.Key)
	}
	m.states[name] = state
	return res, nil
}

func TestRunProgressAndResume(t *testing.T) {
	st := &memStore{keys: map[string]bool{}, states: map[string][]byte{}}
	g := &pagesGetter{}
	clock := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Second); return clock }
	var prog, msgs bytes.Buffer
	o := Options{Harvester: &sources.OAIHarvester{Get: g, BaseURL: "https://oaipmh.arxiv.org/oai"}, Categories: []string{"cs.LG"},
		Now: now, Progress: &prog, Terminal: true, Messages: &msgs}

	if _, err := Run(t.Context(), st, Options{Harvester: o.Harvester, Resume: true}); !errors.Is(err, ErrNoCheckpoint) {
		t.Errorf("resume with nothing saved: %v", err)
	}
	rep, err := Run(t.Context(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Checkpoint.Done || rep.Papers != 2 || rep.New != 2 || rep.Withdrawn != 2 || !rep.Clean() || rep.Pages != 2 {
		t.Errorf("report %+v", rep)
	}
	out := prog.String()
	// On a terminal: one line redrawn in place, with the time left estimated from completeListSize, ended by a
	// newline once done.
	if !strings.HasPrefix(out, "\rarxiv: set cs:cs:LG (1/1) page 1: 1 pages (1 of 2 records in the set), 1 papers, 0.5 papers/s, about 2s left\x1b[K") ||
		!strings.HasSuffix(out, "\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("progress output %q", out)
	}
	rep, err = Run(t.Context(), st, Options{Harvester: o.Harvester, Resume: true, Now: now})
	if err != nil || !rep.AlreadyDone || len(g.asked) != 2 {
		t.Errorf("resume of a finished import: %+v, %v, requests %v", rep, err, g.asked)
	}
	if _, err := Run(t.Context(), st, Options{Harvester: o.Harvester, Resume: true, Categories: []string{"math"}}); !errors.Is(err, ErrMismatch) {
		t.Errorf("resume with other categories: %v", err)
	}
}
