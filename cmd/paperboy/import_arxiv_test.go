package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// oaiRecord is one arXivRaw record in the shape arXiv's OAI-PMH serves.
func oaiRecord(id, title, datestamp string, submitted time.Time) string {
	return fmt.Sprintf(`<record>
<header>
 <identifier>oai:arXiv.org:%[1]s</identifier>
 <datestamp>%[3]s</datestamp>
 <setSpec>cs:cs:LG</setSpec>
</header>
<metadata>
 <arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://arxiv.org/OAI/arXivRaw/ http://arxiv.org/OAI/arXivRaw.xsd">
 <id>%[1]s</id><submitter>Ada Okafor</submitter>
 <version version="v1"><date>%[4]s</date><size>120kb</size><source_type>D</source_type></version>
 <title>%[2]s</title>
 <authors>Ada Okafor and Ben Lind</authors>
 <categories>cs.LG q-bio.NC</categories>
 <abstract>  An abstract about %[2]s.
</abstract>
 </arXivRaw>
</metadata>
</record>
`, id, title, datestamp, submitted.UTC().Format("Mon, 2 Jan 2006 15:04:05 GMT"))
}

func oaiListPage(records []string, token string, cursor, total int) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>2026-11-30T09:12:44Z</responseDate>
<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>
<ListRecords>
` + strings.Join(records, "") + fmt.Sprintf(`<resumptionToken cursor="%d" completeListSize="%d">%s</resumptionToken>
</ListRecords>
</OAI-PMH>
`, cursor, total, token)
}

const oaiNoRecords = `<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-11-30T09:13:02Z</responseDate>
<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>
<error code="noRecordsMatch">The combination of the values of the from, until, set and metadataPrefix arguments results in an empty list.</error>
</OAI-PMH>
`

// TestImportArxivEndToEnd harvests a synthetic OAI-PMH repository: an interrupted harvest resumes without fetching
// a finished page again, a bad record makes the exit status 1 unless --skip-bad, a set without records is said, the
// papers answer look-ups, and a channel subscribed to their words receives none of them when the bot runs.
func TestImportArxivEndToEnd(t *testing.T) {
	now := time.Now().UTC()
	pages := [][]string{
		{oaiRecord("1905.00001", "EEG decoding with spiking networks", "2026-11-01", time.Date(2019, 5, 1, 10, 0, 0, 0, time.UTC)),
			oaiRecord("q-bio/0601001", "Early EEG rhythms", "2026-11-01", time.Date(2006, 1, 2, 10, 0, 0, 0, time.UTC))},
		{oaiRecord("2611.99999", "EEG foundation models this week", "2026-11-02", now.Add(-48*time.Hour)),
			strings.Replace(oaiRecord("2611.99997", "A record with a broken date", "2026-11-02", now), "GMT</date>", "GMT sometime</date>", 1)},
		{oaiRecord("2611.99998", "Protein folding this week", "2026-11-03", now.Add(-24*time.Hour))},
	}
	tokens := []string{"", "7741|1001", "7741|2001"}
	var (
		mu       sync.Mutex
		requests = map[string]int{}
		cancel   context.CancelFunc
	)
	oai := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		key := q.Get("resumptionToken")
		if key == "" {
			key = q.Get("set")
		}
		mu.Lock()
		requests[key]++
		n, stop := requests[key], cancel
		mu.Unlock()
		switch {
		case q.Get("set") == "physics:hep-th":
			_, _ = w.Write([]byte(oaiNoRecords))
			return
		case key == "cs:cs:LG" && (q.Get("metadataPrefix") != "arXivRaw" || q.Get("from") != "2026-11-01"):
			t.Errorf("first request %v", q)
		}
		idx := 0
		for i, tok := range tokens {
			if tok != "" && tok == key {
				idx = i
			}
		}
		// The first time the last page is asked for, the import is interrupted (Ctrl-C) before it is stored.
		if idx == 2 && n == 1 && stop != nil {
			stop()
			<-r.Context().Done()
			return
		}
		next := ""
		if idx+1 < len(pages) {
			next = tokens[idx+1]
		}
		_, _ = w.Write([]byte(oaiListPage(pages[idx], next, 2*idx, 5)))
	}))
	defer oai.Close()

	srv, _ := feedServer(t)
	out := t.TempDir() + "/cards.jsonl"
	cfg := writeConfig(t, fmt.Sprintf(`
# still in the [fetch] table writeConfig opens
arxiv_api_interval = "5ms"
[import]
oai_url = "%s/oai"
[console]
format = "json"
output = %q
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["neuroimaging", "eeg"]
[[sources]]
name = "arxiv-ml"
kind = "arxiv"
url = "%s/rss/cs.LG+cs.AI+cs.CL+stat.ML"
`, oai.URL, out, srv.URL))

	ctx, stop := context.WithCancel(context.Background())
	mu.Lock()
	cancel = stop
	mu.Unlock()
	code, stdout, stderr := run(t, ctx, "import", "arxiv", "--categories", "cs.LG,hep-th", "--from", "2026-11-01", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "interrupted after 2 pages") || !strings.Contains(stderr, "paperboy import arxiv --resume") {
		t.Fatalf("interrupted import: exit %d\n%s%s", code, stdout, stderr)
	}
	checkProgressStreams(t, "arxiv: set cs:cs:LG (1/2) page 2: 2 pages (4 of 5 records in the set), ", stdout, stderr)
	if !strings.Contains(stderr, "set cs:cs:LG page 2: skipped record 2 oai:arXiv.org:2611.99997") {
		t.Errorf("stderr lacks the skipped record with its page:\n%s", stderr)
	}
	// Not a terminal: plain progress lines, one per page.
	if !strings.Contains(stdout, "arxiv: set cs:cs:LG (1/2) page 1: 1 pages (2 of 5 records in the set), 2 papers") || strings.Contains(stdout, "\r") {
		t.Errorf("progress lines:\n%q", stdout)
	}

	mu.Lock()
	cancel = nil
	mu.Unlock()
	code, stdout, stderr = run(t, context.Background(), "import", "arxiv", "--resume", "--config", cfg)
	if code != 1 {
		t.Fatalf("resumed import with a skipped record: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"(resumed): 4 papers from 3 pages", "1 new, 0 updated, 0 unchanged", "skipped bad records: 1",
		"no records in the window: set physics:hep-th"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "set physics:hep-th page 1: no records match (from 2026-11-01 until now)") {
		t.Errorf("stderr lacks the noRecordsMatch message:\n%s", stderr)
	}
	mu.Lock()
	for key, want := range map[string]int{"cs:cs:LG": 1, "7741|1001": 1, "7741|2001": 2, "physics:hep-th": 1} {
		if requests[key] != want {
			t.Errorf("request %q made %d times, want %d", key, requests[key], want)
		}
	}
	mu.Unlock()
	if code, stdout, stderr := run(t, context.Background(), "import", "arxiv", "--resume", "--skip-bad", "--config", cfg); code != 0 ||
		!strings.Contains(stdout, "already finished (4 papers)") {
		t.Errorf("resume of a finished import: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr := run(t, context.Background(), "import", "arxiv", "--resume", "--categories", "math", "--config", cfg); code != 2 ||
		!strings.Contains(stderr, "other categories or dates") {
		t.Errorf("resume with other categories: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, context.Background(), "import", "arxiv", "--from", "November", "--config", cfg); code != 2 ||
		!strings.Contains(stderr, "YYYY-MM-DD") {
		t.Errorf("bad --from: exit %d: %s", code, stderr)
	}

	_, stdout, _ = run(t, context.Background(), "cmd", "--config", cfg, "--channel", "console:other", "--", "eeg")
	for _, want := range []string{"EEG foundation models this week", "EEG decoding with spiking networks", "Early EEG rhythms"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("look-up eeg lacks the imported %q:\n%s", want, stdout)
		}
	}

	// The bot runs: the feed's papers are delivered; none of the imported EEG papers is.
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	var rout, rerr syncBuffer
	done := make(chan int)
	go func() { done <- realMain(runCtx, []string{"run", "--config", cfg}, &rout, &rerr) }()
	deadline := time.After(30 * time.Second)
	for {
		if b, _ := os.ReadFile(out); strings.Count(string(b), `"key":"arxiv:2609.26820"`) == 1 {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("run exited %d before delivering:\n%s", code, rerr.String())
		case <-deadline:
			t.Fatalf("nothing delivered within the deadline:\n%s", rerr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond) // time for any further (wrong) delivery to show
	cancelRun()
	if code := <-done; code != 0 {
		t.Fatalf("run exit %d: %s", code, rerr.String())
	}
	b, _ := os.ReadFile(out)
	for _, id := range []string{"1905.00001", "q-bio/0601001", "2611.99999", "2611.99998"} {
		if strings.Contains(string(b), `"key":"arxiv:`+id+`"`) {
			t.Errorf("the imported paper %s was announced:\n%s", id, b)
		}
	}
}

// TestSourceHistoryEndToEnd: a source with history = "30d" fetches its last month through the arXiv API after its
// first poll; the month answers look-ups but reaches no channel, while the poll's own new paper does; a restart
// within the poll interval does not fetch the month again.
func TestSourceHistoryEndToEnd(t *testing.T) {
	var (
		mu              sync.Mutex
		polls, history  int
		historyWindowOK bool
	)
	entry := func(id, title string, at time.Time) string {
		return fmt.Sprintf(`<entry><id>http://arxiv.org/abs/%[1]sv1</id><published>%[3]s</published><updated>%[3]s</updated>
<title>%[2]s</title><summary>An abstract about %[2]s.</summary><author><name>A. Author</name></author>
<link href="http://arxiv.org/abs/%[1]sv1" rel="alternate" type="text/html"/>
<category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/></entry>`, id, title, at.UTC().Format(time.RFC3339))
	}
	now := time.Now()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("search_query")
		var entries []string
		mu.Lock()
		if strings.Contains(q, "submittedDate:[") {
			history++
			from := now.Add(-30 * 24 * time.Hour).UTC().Format("20060102")
			historyWindowOK = strings.HasPrefix(q, "(abs:EEG) AND submittedDate:["+from)
			entries = []string{
				entry("2611.40001", "EEG history paper one", now.Add(-20*24*time.Hour)),
				entry("2611.40002", "EEG history paper two", now.Add(-3*24*time.Hour)),
			}
		} else {
			polls++
			entries = []string{entry("2611.50000", "EEG decoding today", now.Add(-time.Hour))}
		}
		mu.Unlock()
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>ArXiv Query</title><id>http://arxiv.org/api/x</id><updated>2026-11-30T00:00:00Z</updated>
<opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">%d</opensearch:totalResults>
%s</feed>`, len(entries), strings.Join(entries, "\n"))
	}))
	defer api.Close()
	out := t.TempDir() + "/cards.jsonl"
	cfg := writeConfig(t, fmt.Sprintf(`
# still in the [fetch] table writeConfig opens
arxiv_api_interval = "5ms"
[console]
format = "json"
output = %q
[[channels]]
platform = "console"
id = "lab"
subscriptions = ["eeg"]
[[sources]]
name = "arxiv-eeg"
kind = "arxiv-api"
query = "abs:EEG"
url = %q
history = "30d"
interval = "1h"
`, out, api.URL))
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return polls, history
	}
	runUntil := func(done func() bool) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var rout, rerr syncBuffer
		exit := make(chan int)
		go func() { exit <- realMain(ctx, []string{"run", "--config", cfg}, &rout, &rerr) }()
		deadline := time.After(30 * time.Second)
		for !done() {
			select {
			case code := <-exit:
				t.Fatalf("run exited %d:\n%s", code, rerr.String())
			case <-deadline:
				t.Fatalf("run did not get there within the deadline:\n%s", rerr.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		time.Sleep(300 * time.Millisecond) // time for any further (wrong) delivery or fetch to show
		cancel()
		if code := <-exit; code != 0 {
			t.Fatalf("run exit %d: %s", code, rerr.String())
		}
	}
	runUntil(func() bool {
		b, _ := os.ReadFile(out)
		_, h := counts()
		return h > 0 && strings.Contains(string(b), `"key":"arxiv:2611.50000"`)
	})
	if _, h := counts(); h != 1 || !historyWindowOK {
		t.Errorf("history fetched %d times (want 1), window as asked: %t", h, historyWindowOK)
	}
	_, stdout, _ := run(t, context.Background(), "cmd", "--config", cfg, "--channel", "console:other", "--", "eeg")
	for _, want := range []string{"EEG history paper one", "EEG history paper two", "EEG decoding today"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("look-up eeg lacks %q:\n%s", want, stdout)
		}
	}

	// A restart within the poll interval polls again but does not fetch the month again.
	p0, _ := counts()
	runUntil(func() bool { p, _ := counts(); return p > p0 })
	if _, h := counts(); h != 1 {
		t.Errorf("history fetched again on a restart within the interval (%d fetches)", h)
	}
	b, _ := os.ReadFile(out)
	for _, id := range []string{"2611.40001", "2611.40002"} {
		if strings.Contains(string(b), `"key":"arxiv:`+id+`"`) {
			t.Errorf("the history paper %s was announced:\n%s", id, b)
		}
	}
}
