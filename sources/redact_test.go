package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://feeds.example.org/rss", "https://feeds.example.org/rss"},
		{"https://user:hunter2@feeds.example.org/rss?api_key=SECRET#x", "https://feeds.example.org/rss"},
		{"http://token@127.0.0.1:8080/a/b?x=1", "http://127.0.0.1:8080/a/b"},
		{"http://[::1]:80/feed", "http://[::1]:80/feed"},
		{"://user:hunter2@bad", "(unparsable URL)"},
		{"not a url", "(unparsable URL)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := RedactURL(tt.in); got != tt.want {
				t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestPollErrorsHideSecrets: whatever goes wrong, a poll's error (stored in source state, shown to anyone by
// /papers sources, logged) names the feed without its credentials or query and never quotes the body.
func TestPollErrorsHideSecrets(t *testing.T) {
	const body = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/internal":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, body)
		case "/xml":
			w.Header().Set("Content-Type", "application/xml")
			_, _ = io.WriteString(w, "<rss><channel><item><title>x</title></item><"+body+"></channel></rss>")
		case "/json":
			_, _ = io.WriteString(w, `{"version":"https://jsonfeed.org/version/1.1","items":`+body+`}`)
		case "/status":
			http.Error(w, body, http.StatusInternalServerError)
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/latest?token=SECRET2", http.StatusFound)
		}
	}))
	defer srv.Close()
	secrets := []string{"hunter2", "api_key", "SECRET", "AWS_SECRET", "wJalr"}
	for _, path := range []string{"/internal", "/xml", "/json", "/status", "/redirect"} {
		t.Run(path, func(t *testing.T) {
			opts := FetcherOptions{HostIntervals: map[string]time.Duration{}, AllowPrivateNetworks: path != "/redirect"}
			if path == "/redirect" {
				opts.allowAddr = allowServer(t, srv)
			}
			u := strings.Replace(srv.URL, "http://", "http://user:hunter2@", 1) + path + "?api_key=SECRET1"
			src, err := New(Config{Name: "feed", Kind: KindRSS, URL: u}, NewFetcher(opts), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Poll(context.Background(), nil)
			if err == nil {
				t.Fatal("Poll succeeded")
			}
			msg := err.Error()
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("error shows %q: %s", s, msg)
				}
			}
			if !strings.Contains(msg, strings.TrimPrefix(srv.URL, "http://")+path) {
				t.Errorf("error does not name the feed: %s", msg)
			}
			if path == "/internal" && (!strings.Contains(msg, "(content-type text/plain)") ||
				!strings.Contains(msg, fmt.Sprintf("not a feed (%d bytes)", len(body)))) {
				t.Errorf("error does not describe the body: %s", msg)
			}
			if path == "/redirect" && !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("err = %v, want ErrForbiddenAddress", err)
			}
		})
	}
	t.Run("config", func(t *testing.T) {
		err := Config{Name: "feed", Kind: KindRSS, URL: "ftp://user:hunter2@example.org/feed?api_key=SECRET"}.Validate()
		if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("Validate = %v, want an error without the credentials", err)
		}
	})
}
