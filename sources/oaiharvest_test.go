package sources

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// fakeClock is a clock that only moves when something sleeps, shared by the fetcher, the harvester and the
// synthetic server (which records when each request arrived).
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

// oaiRecordXML renders one arXivRaw record in the shape arXiv serves (see testdata/oai).
func oaiRecordXML(id, datestamp string) string {
	return fmt.Sprintf(`<record>
<header>
 <identifier>oai:arXiv.org:%[1]s</identifier>
 <datestamp>%[2]s</datestamp>
 <setSpec>cs:cs:LG</setSpec>
</header>
<metadata>
 <arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://arxiv.org/OAI/arXivRaw/ http://arxiv.org/OAI/arXivRaw.xsd">
 <id>%[1]s</id><submitter>A. Author</submitter>
 <version version="v1"><date>Mon, 3 Nov 2025 18:00:00 GMT</date><size>100kb</size><source_type>D</source_type></version>
 <title>Paper %[1]s on EEG decoding</title>
 <authors>A. Author and B. Author</authors>
 <categories>cs.LG</categories>
 <abstract>  An abstract of %[1]s.
</abstract>
 </arXivRaw>
</metadata>
</record>
`, id, datestamp)
}

func oaiPageXML(records []string, token string, cursor, total int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>2026-11-30T09:12:44Z</responseDate>
<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>
<ListRecords>
`)
	for _, r := range records {
		b.WriteString(r)
	}
	fmt.Fprintf(&b, "<resumptionToken cursor=\"%d\" completeListSize=\"%d\">%s</resumptionToken>\n</ListRecords>\n</OAI-PMH>\n",
		cursor, total, token)
	return b.String()
}

func oaiErrorXML(code, msg string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-11-30T09:13:02Z</responseDate>
<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>
<error code="` + code + `">` + msg + `</error>
</OAI-PMH>
`
}

// oaiServer is a synthetic arXiv OAI-PMH repository. Each set is a list of pages of two records; page i>0 is reached
// with token "<set>|<i>". Behaviours are switched on per request key ("<set>" for a first page, the token else).
type oaiServer struct {
	t     *testing.T
	clock *fakeClock
	pages map[string][][]string // set -> pages -> record XML

	mu       sync.Mutex
	requests map[string]int // request key -> count
	starts   []time.Time    // when each request arrived, on the fake clock
	queries  []url.Values
	// retryAfter answers the first request of a key with 503 and this Retry-After.
	retryAfter map[string]string
	// malformed answers a key with a truncated page this many times.
	malformed map[string]int
	// expired answers a token with badResumptionToken once; alwaysExpired every time.
	expired, alwaysExpired map[string]bool
	// oaiError answers a set's first page with this error code.
	oaiError map[string]string
}

func newOAIServer(t *testing.T, clock *fakeClock) *oaiServer {
	return &oaiServer{t: t, clock: clock, pages: map[string][][]string{}, requests: map[string]int{},
		retryAfter: map[string]string{}, malformed: map[string]int{}, expired: map[string]bool{}, alwaysExpired: map[string]bool{},
		oaiError: map[string]string{}}
}

// addSet gives set n pages of two records, ids prefix.0001..., datestamps one day per page from 2026-11-01.
func (s *oaiServer) addSet(set, prefix string, n int) {
	for i := range n {
		day := time.Date(2026, 11, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		s.pages[set] = append(s.pages[set], []string{
			oaiRecordXML(fmt.Sprintf("%s.%05d", prefix, 2*i+1), day),
			oaiRecordXML(fmt.Sprintf("%s.%05d", prefix, 2*i+2), day),
		})
	}
}

func (s *oaiServer) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[key]
}

func (s *oaiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.starts = append(s.starts, s.clock.Now())
	s.queries = append(s.queries, q)
	set, idx := q.Get("set"), 0
	key := set
	if tok := q.Get("resumptionToken"); tok != "" {
		key = tok
		if len(q) != 2 {
			s.mu.Unlock()
			_, _ = w.Write([]byte(oaiErrorXML(OAIBadArgument, "resumptionToken is an exclusive argument")))
			return
		}
		before, after, _ := strings.Cut(tok, "|")
		set = before
		if _, err := fmt.Sscan(after, &idx); err != nil {
			idx = -1
		}
	} else if q.Get("metadataPrefix") != OAIPrefix || q.Get("verb") != "ListRecords" {
		s.mu.Unlock()
		_, _ = w.Write([]byte(oaiErrorXML(OAIBadArgument, "bad metadataPrefix or verb")))
		return
	}
	s.requests[key]++
	n := s.requests[key]
	ra, hasRA := s.retryAfter[key]
	malformed := s.malformed[key]
	if malformed > 0 {
		s.malformed[key]--
	}
	// A token expires once: the restarted list hands out the same spelling again, which is valid then.
	expired, oerr := s.expired[key], s.oaiError[key]
	delete(s.expired, key)
	expired = expired || s.alwaysExpired[key]
	pages := s.pages[set]
	s.mu.Unlock()

	switch {
	case hasRA && n == 1:
		w.Header().Set("Retry-After", ra)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case expired:
		_, _ = w.Write([]byte(oaiErrorXML(OAIBadResumptionToken, "The value of the resumptionToken argument is invalid or expired.")))
		return
	case oerr != "":
		_, _ = w.Write([]byte(oaiErrorXML(oerr, "synthetic "+oerr)))
		return
	case idx < 0 || idx >= len(pages):
		if len(pages) == 0 {
			_, _ = w.Write([]byte(oaiErrorXML(OAINoRecordsMatch, "The combination of the values of the from, until, set and metadataPrefix arguments results in an empty list.")))
			return
		}
		_, _ = w.Write([]byte(oaiErrorXML(OAIBadResumptionToken, "unknown token")))
		return
	}
	// A restarted harvest asks from a day: serve the pages from that day on, as a new list.
	if from := q.Get("from"); from != "" && q.Get("resumptionToken") == "" {
		for idx < len(pages)-1 && !strings.Contains(pages[idx][0], "<datestamp>"+from) {
			idx++
		}
	}
	token := ""
	if idx+1 < len(pages) {
		token = fmt.Sprintf("%s|%d", set, idx+1)
	}
	body := oaiPageXML(pages[idx], token, 2*idx, 2*len(pages))
	if malformed > 0 {
		body = body[:len(body)/2]
	}
	_, _ = w.Write([]byte(body))
}

// harvestRig wires a real Fetcher (politeness gap on the test server's host, the fake clock) to a harvester.
type harvestRig struct {
	clock   *fakeClock
	srv     *oaiServer
	url     string
	h       *OAIHarvester
	notices []OAINotice
	// stored is the fake store: papers by key, merged like ImportBatch; saves counts how often each key arrived.
	stored map[string]paper.Paper
	saves  map[string]int
	state  []byte
}

const testGap = 3 * time.Second

func newHarvestRig(t *testing.T) *harvestRig {
	t.Helper()
	rig := &harvestRig{clock: newFakeClock(), stored: map[string]paper.Paper{}, saves: map[string]int{}}
	rig.srv = newOAIServer(t, rig.clock)
	ts := httptest.NewServer(rig.srv)
	t.Cleanup(ts.Close)
	rig.url = ts.URL + "/oai"
	f := NewFetcher(FetcherOptions{AllowPrivateNetworks: true, HostIntervals: ArxivHostIntervals(testGap, rig.url), Now: rig.clock.Now, Sleep: rig.clock.Sleep})
	t.Cleanup(f.CloseIdleConnections)
	rig.h = &OAIHarvester{Get: f, BaseURL: rig.url, Sleep: rig.clock.Sleep,
		Backoff: Backoff{Base: time.Second, Max: 4 * time.Second, Rand: func() float64 { return 0 }},
		Notify:  func(n OAINotice) { rig.notices = append(rig.notices, n) }}
	return rig
}

// save is the page callback: it stores papers and the checkpoint together, as ImportBatch does.
func (r *harvestRig) save(_ context.Context, page OAIPageResult, next OAICheckpoint) error {
	for _, p := range page.Papers {
		r.saves[p.Key]++
		if old, ok := r.stored[p.Key]; ok {
			p = paper.Merge(old, p)
		}
		r.stored[p.Key] = p
	}
	state, err := json.Marshal(next)
	if err != nil {
		return err
	}
	r.state = state
	return nil
}

func (r *harvestRig) saved(t *testing.T) OAICheckpoint {
	t.Helper()
	var cp OAICheckpoint
	if err := json.Unmarshal(r.state, &cp); err != nil {
		t.Fatal(err)
	}
	return cp
}

func (r *harvestRig) noticesOf(k NoticeKind) []OAINotice {
	var out []OAINotice
	for _, n := range r.notices {
		if n.Kind == k {
			out = append(out, n)
		}
	}
	return out
}

// TestOAIHarvestInterruptedResumes stops a harvest after its second page (as Ctrl-C would) and resumes it from the
// saved checkpoint: no finished page is fetched again and no paper arrives twice.
func TestOAIHarvestInterruptedResumes(t *testing.T) {
	rig := newHarvestRig(t)
	rig.srv.addSet("cs:cs:LG", "2511", 4)
	rig.srv.addSet("stat:stat:ML", "2512", 2)

	ctx, cancel := context.WithCancel(t.Context())
	pages := 0
	_, err := rig.h.Harvest(ctx, NewOAICheckpoint([]string{"cs:cs:LG", "stat:stat:ML"}, "2026-11-01", ""),
		func(ctx context.Context, page OAIPageResult, next OAICheckpoint) error {
			if err := rig.save(ctx, page, next); err != nil {
				return err
			}
			if pages++; pages == 2 {
				cancel()
			}
			return nil
		})
	if err == nil {
		t.Fatal("interrupted harvest returned no error")
	}
	cp := rig.saved(t)
	if cp.Done || cp.Token != "cs:cs:LG|2" || cp.Pages != 2 || cp.Papers != 4 || cp.Total != 8 || cp.Cursor != 4 {
		t.Fatalf("checkpoint after the interruption: %+v", cp)
	}

	final, err := rig.h.Harvest(t.Context(), cp, rig.save)
	if err != nil {
		t.Fatal(err)
	}
	if !final.Done || final.Pages != 6 || final.Papers != 12 || final.Skipped != 0 || len(final.Failed) != 0 {
		t.Errorf("final checkpoint %+v", final)
	}
	for _, key := range []string{"cs:cs:LG", "cs:cs:LG|1", "cs:cs:LG|2", "cs:cs:LG|3", "stat:stat:ML", "stat:stat:ML|1"} {
		if n := rig.srv.count(key); n != 1 {
			t.Errorf("request %q made %d times, want 1", key, n)
		}
	}
	if len(rig.stored) != 12 {
		t.Errorf("%d papers stored, want 12", len(rig.stored))
	}
	for k, n := range rig.saves {
		if n != 1 {
			t.Errorf("paper %s delivered %d times", k, n)
		}
	}
	// The first request names the window and the format; a continuation names only its token.
	first, second := rig.srv.queries[0], rig.srv.queries[1]
	if first.Get("set") != "cs:cs:LG" || first.Get("from") != "2026-11-01" || first.Get("metadataPrefix") != "arXivRaw" {
		t.Errorf("first request %v", first)
	}
	if len(second) != 2 || second.Get("resumptionToken") != "cs:cs:LG|1" {
		t.Errorf("continuation %v", second)
	}
	// One request at a time, at least the politeness gap apart.
	for i := 1; i < len(rig.srv.starts); i++ {
		if gap := rig.srv.starts[i].Sub(rig.srv.starts[i-1]); gap < testGap {
			t.Errorf("requests %d and %d only %s apart", i-1, i, gap)
		}
	}
}

func TestOAIHarvestObeysRetryAfter(t *testing.T) {
	rig := newHarvestRig(t)
	rig.srv.addSet("cs:cs:LG", "2511", 3)
	rig.srv.retryAfter["cs:cs:LG|1"] = "20"
	cp, err := rig.h.Harvest(t.Context(), NewOAICheckpoint([]string{"cs:cs:LG"}, "", ""), rig.save)
	if err != nil {
		t.Fatal(err)
	}
	if !cp.Done || cp.Papers != 6 {
		t.Errorf("checkpoint %+v", cp)
	}
	if n := rig.srv.count("cs:cs:LG|1"); n != 2 {
		t.Errorf("page 2 requested %d times, want 2 (503, then the page)", n)
	}
	retries := rig.noticesOf(NoticeRetry)
	if len(retries) != 1 || retries[0].Wait != 20*time.Second || retries[0].Page != 2 {
		t.Fatalf("retry notices %+v", retries)
	}
	// The retry came no sooner than the server asked.
	for i := 1; i < len(rig.srv.starts); i++ {
		if rig.srv.queries[i].Get("resumptionToken") == "cs:cs:LG|1" && rig.srv.queries[i-1].Get("resumptionToken") == "cs:cs:LG|1" {
			if gap := rig.srv.starts[i].Sub(rig.srv.starts[i-1]); gap < 20*time.Second {
				t.Errorf("retried after %s, server asked for 20s", gap)
			}
		}
	}
}

func TestOAIHarvestMalformedPage(t *testing.T) {
	t.Run("once: asked again and harvested", func(t *testing.T) {
		rig := newHarvestRig(t)
		rig.srv.addSet("cs:cs:LG", "2511", 3)
		rig.srv.malformed["cs:cs:LG|1"] = 1
		cp, err := rig.h.Harvest(t.Context(), NewOAICheckpoint([]string{"cs:cs:LG"}, "", ""), rig.save)
		if err != nil {
			t.Fatal(err)
		}
		if !cp.Done || cp.Papers != 6 || len(cp.Failed) != 0 || rig.srv.count("cs:cs:LG|1") != 2 {
			t.Errorf("checkpoint %+v, page 2 requested %d times", cp, rig.srv.count("cs:cs:LG|1"))
		}
	})
	t.Run("stays malformed: the set is given up, the next one harvested", func(t *testing.T) {
		rig := newHarvestRig(t)
		rig.srv.addSet("cs:cs:LG", "2511", 3)
		rig.srv.addSet("stat:stat:ML", "2512", 1)
		rig.srv.malformed["cs:cs:LG|1"] = 99
		cp, err := rig.h.Harvest(t.Context(), NewOAICheckpoint([]string{"cs:cs:LG", "stat:stat:ML"}, "", ""), rig.save)
		if err != nil {
			t.Fatal(err)
		}
		if !cp.Done || cp.Papers != 4 || len(cp.Failed) != 1 || !strings.Contains(cp.Failed[0], "cs:cs:LG from page 2") {
			t.Errorf("checkpoint %+v", cp)
		}
		bad := rig.noticesOf(NoticeMalformedPage)
		if len(bad) != 1 || bad[0].Page != 2 || !strings.Contains(bad[0].Message, "page 2") {
			t.Errorf("malformed notices %+v", bad)
		}
		if n := rig.srv.count("cs:cs:LG|1"); n != 2 {
			t.Errorf("malformed page requested %d times, want 2", n)
		}
	})
}

// TestOAIHarvestExpiredToken resumes with a token the repository no longer knows: the set restarts from the last
// datestamp seen, and the papers fetched again merge instead of being stored twice.
func TestOAIHarvestExpiredToken(t *testing.T) {
	rig := newHarvestRig(t)
	rig.srv.addSet("cs:cs:LG", "2511", 4)
	ctx, cancel := context.WithCancel(t.Context())
	_, _ = rig.h.Harvest(ctx, NewOAICheckpoint([]string{"cs:cs:LG"}, "", ""),
		func(ctx context.Context, page OAIPageResult, next OAICheckpoint) error {
			defer cancel()
			return rig.save(ctx, page, next)
		})
	cp := rig.saved(t)
	if cp.Token != "cs:cs:LG|1" || cp.LastDatestamp != "2026-11-01" {
		t.Fatalf("checkpoint %+v", cp)
	}
	rig.srv.expired["cs:cs:LG|1"] = true

	final, err := rig.h.Harvest(t.Context(), cp, rig.save)
	if err != nil {
		t.Fatal(err)
	}
	exp := rig.noticesOf(NoticeTokenExpired)
	if len(exp) != 1 || !strings.Contains(exp[0].Message, "restarting the set from 2026-11-01") {
		t.Fatalf("expired notices %+v", exp)
	}
	restart := rig.srv.queries[2]
	if restart.Get("from") != "2026-11-01" || restart.Get("set") != "cs:cs:LG" || restart.Get("resumptionToken") != "" {
		t.Errorf("restart request %v", restart)
	}
	if !final.Done || len(rig.stored) != 8 || len(final.Failed) != 0 {
		t.Errorf("final %+v, %d stored", final, len(rig.stored))
	}
}

func TestOAIHarvestRepositoryErrors(t *testing.T) {
	rig := newHarvestRig(t)
	rig.srv.addSet("cs:cs:LG", "2511", 1)
	// physics:hep-th has no pages: noRecordsMatch. math:math:AG answers badArgument.
	rig.srv.oaiError["math:math:AG"] = OAIBadArgument
	cp, err := rig.h.Harvest(t.Context(), NewOAICheckpoint([]string{"physics:hep-th", "math:math:AG", "cs:cs:LG"}, "2026-11-01", "2026-11-30"), rig.save)
	if err != nil {
		t.Fatal(err)
	}
	if !cp.Done || cp.Papers != 2 || len(cp.Failed) != 1 || !strings.Contains(cp.Failed[0], "math:math:AG") {
		t.Errorf("checkpoint %+v", cp)
	}
	none := rig.noticesOf(NoticeNoRecords)
	if len(none) != 1 || none[0].Set != "physics:hep-th" || !strings.Contains(none[0].Message, "from 2026-11-01 until 2026-11-30") {
		t.Errorf("noRecordsMatch notices %+v", none)
	}
	if failed := rig.noticesOf(NoticeSetFailed); len(failed) != 1 || !strings.Contains(failed[0].Message, OAIBadArgument) {
		t.Errorf("set-failed notices %+v", failed)
	}
}

// TestOAIHarvestGivesUpAfterRetries: a repository that keeps answering 503 stops the harvest with the error, the
// checkpoint unchanged, so that --resume asks for the same page later.
func TestOAIHarvestGivesUpAfterRetries(t *testing.T) {
	clock := newFakeClock()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer ts.Close()
	f := NewFetcher(FetcherOptions{AllowPrivateNetworks: true, HostIntervals: map[string]time.Duration{}, Now: clock.Now, Sleep: clock.Sleep})
	h := &OAIHarvester{Get: f, BaseURL: ts.URL, Sleep: clock.Sleep, MaxRetries: 3,
		Backoff: Backoff{Base: time.Second, Max: time.Second, Rand: func() float64 { return 0 }}}
	start := NewOAICheckpoint([]string{"cs:cs:LG"}, "", "")
	cp, err := h.Harvest(t.Context(), start, func(context.Context, OAIPageResult, OAICheckpoint) error {
		t.Error("no page should be stored")
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "page 1") || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("err %v", err)
	}
	if cp.Done || cp.Token != "" || cp.Pages != 0 {
		t.Errorf("checkpoint %+v", cp)
	}
}

// TestOAIHarvestTokenKeepsExpiring: a repository whose tokens expire at once even after a restart gets the set given
// up with a message, not an endless loop over the same day.
func TestOAIHarvestTokenKeepsExpiring(t *testing.T) {
	rig := newHarvestRig(t)
	rig.srv.addSet("cs:cs:LG", "2511", 3)
	rig.srv.alwaysExpired["cs:cs:LG|1"] = true
	cp, err := rig.h.Harvest(t.Context(), NewOAICheckpoint([]string{"cs:cs:LG"}, "", ""), rig.save)
	if err != nil {
		t.Fatal(err)
	}
	if !cp.Done || len(cp.Failed) != 1 || len(rig.noticesOf(NoticeTokenExpired)) != 1 {
		t.Errorf("checkpoint %+v, notices %+v", cp, rig.notices)
	}
	if n := rig.srv.count("cs:cs:LG|1"); n != 2 {
		t.Errorf("expiring token sent %d times, want 2 (before and after the one restart)", n)
	}
}
