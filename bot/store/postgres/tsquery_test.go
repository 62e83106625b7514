package postgres

import (
	"testing"

	"github.com/paperboy-bot/paperboy/filters"
)

func TestTSQuery(t *testing.T) {
	t.Parallel()
	tests := []struct{ query, want string }{
		{"eeg", `(('eeg':AB | 'eegs':AB | 'eeges':AB))`},
		{"title:neuro*", `(('neuro':*A))`},
		{`au:"ada lovelace"`, `(('ada':C | 'adas':C | 'adaes':C) <-> ('lovelace':C | 'lovelaces':C | 'lovelacees':C))`},
		{"eeg OR meg", `((('eeg':AB | 'eegs':AB | 'eeges':AB)) | (('meg':AB | 'megs':AB | 'meges':AB)))`},
		{"eeg -survey", `(('eeg':AB | 'eegs':AB | 'eeges':AB))`},
		{"cat:cs.LG", ``},
		{"eeg OR cat:cs.LG", ``},
		{"cat:cs.LG abs:models", `(('models':B | 'modelses':B | 'model':B))`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			q, err := filters.Parse(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := tsqueryOf(q.Prefilter()); got != tt.want {
				t.Errorf("tsqueryOf(%q) =\n %s\nwant\n %s", tt.query, got, tt.want)
			}
		})
	}
}
