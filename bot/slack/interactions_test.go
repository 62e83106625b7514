package slack

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestInteractionsEndpoint posts a link button's block_actions payload as Slack does in http mode: acknowledged
// with an empty 200 when signed, refused when not, and no command runs either way.
func TestInteractionsEndpoint(t *testing.T) {
	f := newFakeSlack(t)
	rec := &recorder{}
	s := newTestSlack(t, f, ModeHTTP, rec)
	payload := `{"type":"block_actions","user":{"id":"U1"},"channel":{"id":"C1"},"actions":[{"action_id":"abs-0","type":"button","value":""}]}`
	body := url.Values{"payload": {payload}}.Encode()
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{"signed", sign(testSecret, testNow.Unix(), body), http.StatusOK},
		{"signed with another secret", sign("not-the-secret", testNow.Unix(), body), http.StatusUnauthorized},
		{"unsigned", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, InteractionsPath, strings.NewReader(body))
			req.Header = tt.header
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == http.StatusOK && w.Body.Len() != 0 {
				t.Errorf("body %q, want empty", w.Body)
			}
			if calls := rec.calls(); len(calls) != 0 {
				t.Errorf("an interaction ran a command: %v", calls)
			}
		})
	}
}
