package paper

import (
	"slices"

	"golang.org/x/text/unicode/norm"
)

// This file holds the rules that decide, for one poll, what a store writes and what it announces (DESIGN section
// 2): every store runs them, so that the SQLite and PostgreSQL stores can only differ in SQL.

// Incoming is one distinct paper of a poll, merged with the other copies of its key in the batch.
type Incoming struct {
	Paper Paper
	// Source is the source that was polled; Paper.Sources holds it.
	Source string
	// Announces is true when some copy in the batch was not a replacement: the batch announces the paper, rather
	// than only bringing a new version of it.
	Announces bool
}

// Batch prepares one poll of source for storing: every paper gets its key (KeyOf when Key is empty), NFC-normal
// text and source in its Sources, and copies of one key are merged in batch order. The distinct papers come back
// in the order their keys first appear, which is the order of IngestResult's lists.
func Batch(source string, papers []Paper) []Incoming {
	out := make([]Incoming, 0, len(papers))
	index := make(map[string]int, len(papers))
	for _, p := range papers {
		if p.Key == "" {
			p.Key = KeyOf(p)
		}
		normalizeText(&p)
		if !slices.Contains(p.Sources, source) {
			p.Sources = append(slices.Clip(p.Sources), source)
		}
		announces := !p.AnnounceType.IsReplacement()
		if i, ok := index[p.Key]; ok {
			out[i].Paper = Merge(out[i].Paper, p)
			out[i].Announces = out[i].Announces || announces
			continue
		}
		index[p.Key] = len(out)
		out = append(out, Incoming{Paper: p, Source: source, Announces: announces})
	}
	return out
}

// normalizeText NFC-normalizes the text a full-text index sees. Indexes split words at what they take for
// separators, and SQLite's unicode61 takes a combining accent for one: a decomposed "Schro\u0308dinger" would
// index as "schro" + "dinger" and never match "schrodinger". NFC is canonically equivalent text, so nothing a
// reader sees changes; doing it before merging makes stored and incoming text compare equal.
func normalizeText(p *Paper) {
	p.Title = norm.NFC.String(p.Title)
	p.Abstract = norm.NFC.String(p.Abstract)
	if slices.ContainsFunc(p.Authors, func(a string) bool { return !norm.NFC.IsNormalString(a) }) {
		authors := make([]string, len(p.Authors))
		for i, a := range p.Authors {
			authors[i] = norm.NFC.String(a)
		}
		p.Authors = authors
	}
}

// Kind is what a poll did to one paper.
type Kind int

// The kinds of Outcome, as IngestResult counts them.
const (
	// Unchanged: the paper was known and the poll taught nothing new.
	Unchanged Kind = iota
	// Updated: the stored description changed, or a replacement brought a paper that was not known.
	Updated
	// New: the paper is announced for the first time.
	New
)

// String names the kind, for logs and test failures.
func (k Kind) String() string {
	switch k {
	case Unchanged:
		return "unchanged"
	case Updated:
		return "updated"
	case New:
		return "new"
	}
	return "Kind(?)"
}

// Outcome is what a store does with one incoming paper.
type Outcome struct {
	// Merged is the paper to store (for Unchanged, equal to the stored one: only its last-seen time moves).
	Merged Paper
	Kind   Kind
	// Route says whether to offer Merged to the router, with the time the paper was first stored (the time of
	// this poll for a New paper), so that subscriptions added later do not pick it up.
	Route bool
	// SourceGained says that the paper is new to the poll's source: it counts toward SourceState.Papers.
	SourceGained bool
}

// Reconcile decides what one poll does to one paper, given the stored paper of its key (nil when there is none)
// and the incoming one from Batch:
//
//   - An unknown key is stored. It is New and routed when the batch announces it; a replacement of a paper never
//     seen is Updated and not routed (channels may have seen its first version before this bot ran).
//   - A known key is merged into the stored paper (Merge): Unchanged when that changes nothing, else Updated and
//     routed only when the batch announces it (a cross-list adding a category, upvotes growing). A replacement
//     never routes. Routing a known paper again is safe: a store writes one outbox row per (channel, paper), ever.
func Reconcile(stored *Paper, in Incoming) Outcome {
	if stored == nil {
		o := Outcome{Merged: in.Paper, Kind: Updated, SourceGained: true}
		if in.Announces {
			o.Kind, o.Route = New, true
		}
		return o
	}
	merged := Merge(*stored, in.Paper)
	o := Outcome{Merged: merged, SourceGained: !slices.Contains(stored.Sources, in.Source)}
	if same(stored, &merged) {
		return o
	}
	o.Kind, o.Route = Updated, in.Announces
	return o
}

// Add counts o, the outcome for the paper with key o.Merged.Key, in r.
func (r *IngestResult) Add(o Outcome) {
	switch o.Kind {
	case New:
		r.New = append(r.New, o.Merged.Key)
	case Updated:
		r.Updated = append(r.Updated, o.Merged.Key)
	default:
		r.Unchanged++
	}
}

// same reports whether a and b describe a paper identically. Times compare as instants: Merge only ever takes
// a time from the other side when the instant differs. TestSameSeesEveryField keeps this in step with Paper.
func same(a, b *Paper) bool {
	return a.Key == b.Key && a.ArxivID == b.ArxivID && a.Version == b.Version && a.DOI == b.DOI &&
		a.Title == b.Title && a.Abstract == b.Abstract && slices.Equal(a.Authors, b.Authors) &&
		slices.Equal(a.Categories, b.Categories) && a.AnnounceType == b.AnnounceType && a.Comment == b.Comment &&
		a.JournalRef == b.JournalRef && a.URL == b.URL && a.PDFURL == b.PDFURL &&
		a.Published.Equal(b.Published) && a.Updated.Equal(b.Updated) && slices.Equal(a.Sources, b.Sources) &&
		a.HasHF == b.HasHF && a.Upvotes == b.Upvotes && a.NumComments == b.NumComments &&
		a.GitHubRepo == b.GitHubRepo && a.ProjectPage == b.ProjectPage && a.Thumbnail == b.Thumbnail && a.HFURL == b.HFURL &&
		slices.Equal(a.Keywords, b.Keywords)
}
