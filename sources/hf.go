package sources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

// hfPaper is the paper object of the Hugging Face API, both inside a daily_papers item and as the whole
// /api/papers/{id} response.
type hfPaper struct {
	ID      string `json:"id"`
	Authors []struct {
		Name string `json:"name"`
	} `json:"authors"`
	PublishedAt string   `json:"publishedAt"`
	Title       string   `json:"title"`
	Summary     string   `json:"summary"`
	Upvotes     int      `json:"upvotes"`
	NumComments int      `json:"numComments"`
	GitHubRepo  string   `json:"githubRepo"`
	ProjectPage string   `json:"projectPage"`
	AIKeywords  []string `json:"ai_keywords"`
}

// hfDailyItem is one element of /api/daily_papers. Title, summary and thumbnail also appear at the top level.
type hfDailyItem struct {
	Paper       *hfPaper `json:"paper"`
	Title       string   `json:"title"`
	Summary     string   `json:"summary"`
	Thumbnail   string   `json:"thumbnail"`
	NumComments int      `json:"numComments"`
}

// hfErrorBody is what the Hugging Face API answers for a bad request, with a 200 or 4xx status.
type hfErrorBody struct {
	Error string `json:"error"`
}

// ParseHFDaily parses a huggingface.co/api/daily_papers JSON array, or the single paper object of
// /api/papers/{id}. Every paper is an arXiv paper (paper.id is its arXiv id); items without one are skipped, and a
// list whose items all lack one is an error (ErrNoItems).
func ParseHFDaily(data []byte) ([]paper.Paper, error) {
	papers, _, err := parseHFDaily(data)
	return papers, err
}

// parseHFDaily is ParseHFDaily, also counting what it left out: list items that do not decode, items beyond
// MaxFeedItems and cut fields (see capPaper).
func parseHFDaily(data []byte) ([]paper.Paper, parseStats, error) {
	var st parseStats
	data = stripJSONControls(data, &st)
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '{':
		papers, err := parseHFSingle(data, &st)
		return papers, st, err
	case len(trimmed) == 0 || trimmed[0] != '[':
		return nil, st, fmt.Errorf("parse hf daily papers: not a JSON array or object (%s)", sniff(data))
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, st, fmt.Errorf("parse hf daily papers: %w", describeParseError(err))
	}
	papers := make([]paper.Paper, 0, min(len(raws), MaxFeedItems))
	for i, raw := range raws {
		if i >= MaxFeedItems {
			st.Skipped += len(raws) - i
			break
		}
		var it hfDailyItem
		if err := json.Unmarshal(raw, &it); err != nil {
			st.Skipped++
			continue
		}
		if it.Paper == nil {
			continue
		}
		if p, ok := hfToPaper(*it.Paper, it); ok && capPaper(&p, &st) {
			papers = append(papers, p)
		}
	}
	if len(papers) == 0 && len(raws) > 0 {
		return nil, st, fmt.Errorf("parse hf daily papers: %d items without an arXiv paper id: %w", len(raws), ErrNoItems)
	}
	return papers, st, nil
}

// parseHFSingle parses the /api/papers/{id} shape, or reports the API's {"error": ...} answer.
func parseHFSingle(data []byte, st *parseStats) ([]paper.Paper, error) {
	var hp hfPaper
	if err := json.Unmarshal(data, &hp); err != nil {
		return nil, fmt.Errorf("parse hf paper: %w", describeParseError(err))
	}
	if hp.ID == "" {
		var e hfErrorBody
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("parse hf paper: api error %q", truncateUTF8(e.Error, 200))
		}
		return nil, errors.New("parse hf paper: object has no paper id")
	}
	p, ok := hfToPaper(hp, hfDailyItem{})
	if !ok || !capPaper(&p, st) {
		return nil, fmt.Errorf("parse hf paper: id %q is not an arXiv id or title is empty: %w", truncateUTF8(hp.ID, 64), ErrNoItems)
	}
	return []paper.Paper{p}, nil
}

// hfToPaper converts one paper; item carries the daily-list fields when there is a list.
func hfToPaper(hp hfPaper, item hfDailyItem) (paper.Paper, bool) {
	id, _, ok := paper.ParseArxivID(hp.ID)
	if !ok {
		return paper.Paper{}, false
	}
	p := paper.Paper{
		ArxivID:     id,
		Title:       collapseSpace(hp.Title),
		Abstract:    cleanHTML(hp.Summary),
		HasHF:       true,
		Upvotes:     max(0, hp.Upvotes),
		NumComments: max(0, item.NumComments, hp.NumComments),
		GitHubRepo:  strings.TrimSpace(hp.GitHubRepo),
		ProjectPage: strings.TrimSpace(hp.ProjectPage),
		Thumbnail:   strings.TrimSpace(item.Thumbnail),
		HFURL:       "https://huggingface.co/papers/" + id,
		URL:         "https://arxiv.org/abs/" + id,
		PDFURL:      arxivPDFURL(id, 0),
	}
	if p.Title == "" {
		p.Title = collapseSpace(item.Title)
	}
	if p.Abstract == "" {
		p.Abstract = cleanHTML(item.Summary)
	}
	if p.Title == "" {
		return paper.Paper{}, false
	}
	// Hidden authors are only hidden from the HF author-claim UI; their names are public on arXiv.
	for _, a := range hp.Authors {
		if n := collapseSpace(a.Name); n != "" {
			p.Authors = append(p.Authors, n)
		}
	}
	for _, k := range hp.AIKeywords {
		p.Keywords = appendUnique(p.Keywords, collapseSpace(k))
	}
	p.Published = parseHFTime(hp.PublishedAt)
	p.Key = paper.KeyOf(p)
	return p, true
}

// parseHFTime parses the API's timestamps ("2026-05-14T00:00:00.000Z"). A missing or odd date must not reject the
// paper, so failures give the zero time.
func parseHFTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
