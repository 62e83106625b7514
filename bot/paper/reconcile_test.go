package paper

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 9, 28, 20, 0, 0, 0, time.UTC)

// rss returns an arXiv paper as the RSS source delivers it, without its key (Batch computes it).
func rss(id string, at AnnounceType, version int, cats ...string) Paper {
	return Paper{ArxivID: id, Version: version, Title: "Title of " + id, Abstract: "Abstract.", Authors: []string{"Ada Lovelace"},
		Categories: cats, AnnounceType: at, URL: "https://arxiv.org/abs/" + id, Published: t0}
}

func TestBatch(t *testing.T) {
	a := rss("2609.22222", AnnounceNew, 1, "cs.LG")
	aCross := rss("2609.22222", AnnounceCross, 1, "stat.ML")
	aRepl := rss("2609.22222", AnnounceReplace, 2, "cs.AI")
	aReplCross := rss("2609.22222", AnnounceReplaceCross, 2, "q-bio.NC")
	b := rss("2609.33333", AnnounceReplace, 3, "cs.CV")
	blog := Paper{Title: "A blog post", URL: "https://www.example.org/post/?utm_source=x"}
	blog2 := Paper{Title: "A blog post", URL: "https://example.org/post", Abstract: "more text"}
	hf := Paper{ArxivID: "2609.22222", HasHF: true, Upvotes: 7}
	const keyA, keyB = "arxiv:2609.22222", "arxiv:2609.33333"
	tests := []struct {
		name      string
		batch     []Paper
		keys      []string
		announces []bool
		check     func(t *testing.T, got []Incoming)
	}{
		{name: "empty", batch: nil, keys: []string{}, announces: []bool{}},
		{name: "new and cross merge", batch: []Paper{a, aCross}, keys: []string{keyA}, announces: []bool{true},
			check: func(t *testing.T, got []Incoming) {
				if c := got[0].Paper.Categories; !slices.Equal(c, []string{"cs.LG", "stat.ML"}) {
					t.Errorf("categories = %v", c)
				}
			}},
		{name: "replace then new announces", batch: []Paper{aRepl, a}, keys: []string{keyA}, announces: []bool{true},
			check: func(t *testing.T, got []Incoming) {
				if p := got[0].Paper; p.Version != 2 || p.AnnounceType != AnnounceReplace {
					t.Errorf("merged version %d, type %q: the first copy's type and the newest version win", p.Version, p.AnnounceType)
				}
			}},
		{name: "replacements only do not announce", batch: []Paper{aRepl, aReplCross}, keys: []string{keyA}, announces: []bool{false}},
		{name: "an HF item announces", batch: []Paper{aRepl, hf}, keys: []string{keyA}, announces: []bool{true},
			check: func(t *testing.T, got []Incoming) {
				if p := got[0].Paper; !p.HasHF || p.Upvotes != 7 {
					t.Errorf("HF fields not merged: %+v", p)
				}
			}},
		{name: "first-seen order", batch: []Paper{b, a, aCross, b}, keys: []string{keyB, keyA}, announces: []bool{false, true}},
		{name: "keyless papers get KeyOf and merge", batch: []Paper{blog, blog2}, keys: []string{KeyOf(blog)}, announces: []bool{true},
			check: func(t *testing.T, got []Incoming) {
				if p := got[0].Paper; p.Abstract != "more text" || p.URL != blog.URL {
					t.Errorf("merged = %+v", p)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Batch("src", tt.batch)
			keys, announces := []string{}, []bool{}
			for _, in := range got {
				keys = append(keys, in.Paper.Key)
				announces = append(announces, in.Announces)
				if in.Source != "src" || !slices.Contains(in.Paper.Sources, "src") {
					t.Errorf("%s: source %q, sources %v", in.Paper.Key, in.Source, in.Paper.Sources)
				}
			}
			if !slices.Equal(keys, tt.keys) || !slices.Equal(announces, tt.announces) {
				t.Fatalf("Batch = keys %v announces %v, want %v %v", keys, announces, tt.keys, tt.announces)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

func TestBatchSources(t *testing.T) {
	backing := make([]string, 1, 4)
	backing[0] = "arxiv"
	p := rss("2609.00001", AnnounceNew, 1)
	p.Sources = backing
	got := Batch("arxiv-lg", []Paper{p})
	if s := got[0].Paper.Sources; !slices.Equal(s, []string{"arxiv", "arxiv-lg"}) {
		t.Errorf("sources = %v", s)
	}
	if backing[:2][1] != "" {
		t.Error("Batch wrote into the caller's Sources array")
	}
	if s := Batch("arxiv", []Paper{p})[0].Paper.Sources; !slices.Equal(s, []string{"arxiv"}) {
		t.Errorf("a source already listed is added again: %v", s)
	}
}

func TestBatchNormalizesText(t *testing.T) {
	p := rss("2609.00001", AnnounceNew, 1)
	p.Title, p.Abstract = "Schro\u0308dinger bridges", "E\u0301tude"
	p.Authors = []string{"Ada", "E\u0301mile Noether"}
	got := Batch("src", []Paper{p})[0].Paper
	if got.Title != "Schrödinger bridges" || got.Abstract != "Étude" || !slices.Equal(got.Authors, []string{"Ada", "Émile Noether"}) {
		t.Errorf("not NFC: %q %q %q", got.Title, got.Abstract, got.Authors)
	}
	if p.Authors[1] != "E\u0301mile Noether" {
		t.Error("Batch changed the caller's Authors")
	}
}

func TestReconcile(t *testing.T) {
	const src = "arxiv-lg"
	in := func(p Paper) Incoming { return Batch(src, []Paper{p})[0] }
	stored := in(rss("2609.00001", AnnounceNew, 1, "cs.LG")).Paper
	hfStored := stored
	hfStored.HasHF, hfStored.Upvotes = true, 3
	fromOther := stored
	fromOther.Sources = []string{"hf"}
	upvotes := Paper{ArxivID: "2609.00001", HasHF: true, Upvotes: 9}
	tests := []struct {
		name      string
		stored    *Paper
		in        Incoming
		kind      Kind
		route     bool
		gained    bool
		wantMerge func(p Paper) bool
	}{
		{name: "unknown new is New and routed", in: in(rss("2609.00001", AnnounceNew, 1)), kind: New, route: true, gained: true},
		{name: "unknown cross is New and routed", in: in(rss("2609.00001", AnnounceCross, 1)), kind: New, route: true, gained: true},
		{name: "unknown HF item is New and routed", in: in(upvotes), kind: New, route: true, gained: true},
		{name: "unknown replace is Updated, not routed", in: in(rss("2609.00001", AnnounceReplace, 2)), kind: Updated, gained: true},
		{name: "unknown replace-cross is Updated, not routed", in: in(rss("2609.00001", AnnounceReplaceCross, 2)), kind: Updated, gained: true},
		{name: "same again is Unchanged", stored: &stored, in: in(rss("2609.00001", AnnounceNew, 1, "cs.LG")), kind: Unchanged},
		{name: "cross adding a category is Updated and routed", stored: &stored, in: in(rss("2609.00001", AnnounceCross, 1, "stat.ML")),
			kind: Updated, route: true, wantMerge: func(p Paper) bool { return slices.Equal(p.Categories, []string{"cs.LG", "stat.ML"}) }},
		{name: "cross teaching nothing is Unchanged", stored: &stored, in: in(rss("2609.00001", AnnounceCross, 1, "cs.LG")), kind: Unchanged},
		{name: "replace is Updated, never routed", stored: &stored, in: in(rss("2609.00001", AnnounceReplace, 2, "cs.AI")),
			kind: Updated, wantMerge: func(p Paper) bool { return p.Version == 2 && p.AnnounceType == AnnounceNew }},
		{name: "upvotes grow: Updated and routed", stored: &hfStored, in: in(upvotes), kind: Updated, route: true,
			wantMerge: func(p Paper) bool { return p.Upvotes == 9 && p.Title == stored.Title }},
		{name: "fewer upvotes teach nothing", stored: &hfStored, in: in(Paper{ArxivID: "2609.00001", HasHF: true, Upvotes: 1}), kind: Unchanged},
		{name: "a new source gains the paper", stored: &fromOther, in: in(rss("2609.00001", AnnounceNew, 1, "cs.LG")), kind: Updated,
			route: true, gained: true, wantMerge: func(p Paper) bool { return slices.Equal(p.Sources, []string{"hf", src}) }},
		{name: "an earlier date is an update", stored: &stored, in: in(func() Paper {
			p := rss("2609.00001", AnnounceNew, 1, "cs.LG")
			p.Published = t0.Add(-time.Hour)
			return p
		}()), kind: Updated, route: true, wantMerge: func(p Paper) bool { return p.Published.Equal(t0.Add(-time.Hour)) }},
		{name: "the same instant in another zone is no change", stored: &stored, in: in(func() Paper {
			p := rss("2609.00001", AnnounceNew, 1, "cs.LG")
			p.Published = t0.In(time.FixedZone("EDT", -4*3600))
			return p
		}()), kind: Unchanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before Paper
			if tt.stored != nil {
				before = *tt.stored
			}
			o := Reconcile(tt.stored, tt.in)
			if o.Kind != tt.kind || o.Route != tt.route || o.SourceGained != tt.gained {
				t.Errorf("Reconcile = %v route %v gained %v; want %v route %v gained %v", o.Kind, o.Route, o.SourceGained,
					tt.kind, tt.route, tt.gained)
			}
			if o.Merged.Key != tt.in.Paper.Key {
				t.Errorf("merged key %q, want %q", o.Merged.Key, tt.in.Paper.Key)
			}
			if tt.stored == nil && !reflect.DeepEqual(o.Merged, tt.in.Paper) {
				t.Errorf("unknown paper stored as %+v, want the incoming one", o.Merged)
			}
			if tt.kind == Unchanged && !same(&o.Merged, tt.stored) {
				t.Errorf("Unchanged, but merged %+v differs from stored %+v", o.Merged, *tt.stored)
			}
			if tt.wantMerge != nil && !tt.wantMerge(o.Merged) {
				t.Errorf("merged paper %+v", o.Merged)
			}
			if tt.stored != nil && !reflect.DeepEqual(*tt.stored, before) {
				t.Error("Reconcile changed the stored paper")
			}
		})
	}
}

func TestIngestResultAdd(t *testing.T) {
	var r IngestResult
	for _, o := range []Outcome{
		{Merged: Paper{Key: "a"}, Kind: New}, {Merged: Paper{Key: "b"}, Kind: Updated}, {Merged: Paper{Key: "c"}, Kind: Unchanged},
		{Merged: Paper{Key: "d"}, Kind: New}, {Merged: Paper{Key: "e"}, Kind: Unchanged},
	} {
		r.Add(o)
	}
	if !slices.Equal(r.New, []string{"a", "d"}) || !slices.Equal(r.Updated, []string{"b"}) || r.Unchanged != 2 || r.Routed != 0 {
		t.Errorf("IngestResult = %+v", r)
	}
}

// TestSameSeesEveryField changes each field of Paper in turn and checks that same notices: a field added to Paper
// without a comparison in same would make a poll that changes only that field look Unchanged, and never stored.
func TestSameSeesEveryField(t *testing.T) {
	base := rss("2609.00001", AnnounceNew, 1, "cs.LG")
	base.Key, base.Sources, base.Keywords = KeyOf(base), []string{"a"}, []string{"k"}
	if !same(&base, &base) {
		t.Fatal("a paper differs from itself")
	}
	typ := reflect.TypeFor[Paper]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			changed := base
			v := reflect.ValueOf(&changed).Elem().Field(i)
			switch {
			case f.Type == reflect.TypeFor[time.Time]():
				v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second)))
			case f.Type.Kind() == reflect.String:
				v.SetString(v.String() + "x")
			case f.Type.Kind() == reflect.Int:
				v.SetInt(v.Int() + 1)
			case f.Type.Kind() == reflect.Bool:
				v.SetBool(!v.Bool())
			case f.Type == reflect.TypeFor[[]string]():
				v.Set(reflect.Append(v, reflect.ValueOf("x")))
			default:
				t.Fatalf("field %s of type %s: teach this test (and same) about it", f.Name, f.Type)
			}
			if same(&base, &changed) || same(&changed, &base) {
				t.Errorf("same does not compare %s", f.Name)
			}
		})
	}
}
