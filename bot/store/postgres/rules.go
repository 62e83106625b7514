package postgres

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/paperboy-bot/paperboy/bot/paper"

	"golang.org/x/text/unicode/norm"
)

// TEMPORARY: the rules of bot/store/ingest.go (dedupe, differ, New/Updated/Unchanged) until paper.Batch and
// paper.Reconcile land on main; the shapes below are theirs, so that switching is a rename.

type incoming struct {
	Paper     paper.Paper
	Source    string
	Announces bool
}

type kind int

const (
	kindUnchanged kind = iota
	kindUpdated
	kindNew
)

type outcome struct {
	Merged       paper.Paper
	Kind         kind
	Route        bool
	SourceGained bool
}

func batchOf(source string, papers []paper.Paper) []incoming {
	out := make([]incoming, 0, len(papers))
	index := make(map[string]int, len(papers))
	for _, p := range papers {
		if p.Key == "" {
			p.Key = paper.KeyOf(p)
		}
		p.Title = norm.NFC.String(p.Title)
		p.Abstract = norm.NFC.String(p.Abstract)
		if slices.ContainsFunc(p.Authors, func(a string) bool { return !norm.NFC.IsNormalString(a) }) {
			authors := make([]string, len(p.Authors))
			for i, a := range p.Authors {
				authors[i] = norm.NFC.String(a)
			}
			p.Authors = authors
		}
		if !slices.Contains(p.Sources, source) {
			p.Sources = append(slices.Clip(p.Sources), source)
		}
		announces := !p.AnnounceType.IsReplacement()
		if i, ok := index[p.Key]; ok {
			out[i].Paper = paper.Merge(out[i].Paper, p)
			out[i].Announces = out[i].Announces || announces
			continue
		}
		index[p.Key] = len(out)
		out = append(out, incoming{Paper: p, Source: source, Announces: announces})
	}
	return out
}

func reconcile(stored *paper.Paper, in incoming) outcome {
	if stored == nil {
		o := outcome{Merged: in.Paper, Kind: kindUpdated, SourceGained: true}
		if in.Announces {
			o.Kind, o.Route = kindNew, true
		}
		return o
	}
	merged := paper.Merge(*stored, in.Paper)
	o := outcome{Merged: merged, SourceGained: !slices.Contains(stored.Sources, in.Source)}
	a, _ := json.Marshal(stored)
	b, _ := json.Marshal(merged)
	if bytes.Equal(a, b) {
		return o
	}
	o.Kind, o.Route = kindUpdated, in.Announces
	return o
}

func addOutcome(r *paper.IngestResult, o outcome) {
	switch o.Kind {
	case kindNew:
		r.New = append(r.New, o.Merged.Key)
	case kindUpdated:
		r.Updated = append(r.Updated, o.Merged.Key)
	default:
		r.Unchanged++
	}
}
