package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourcesHideSecrets is issue 12's leak: /papers sources (anyone in a channel may run it) showed the first bytes
// of whatever a feed URL answered, and feed URLs with their credentials. Neither may appear in its reply, in the
// poll's output or in the log, and with the default configuration a feed on the loopback interface is refused.
func TestSourcesHideSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/internal":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG\n")
		default:
			http.Error(w, "internal error: db password is pgSECRET", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	creds := strings.Replace(srv.URL, "http://", "http://reader:hunter2@", 1)
	sourcesTOML := fmt.Sprintf(`
[[sources]]
name = "leaky"
kind = "rss"
url = "%s/internal?api_key=SECRETKEY"

[[sources]]
name = "down"
kind = "rss"
url = "%s/err?token=SECRETTOKEN"
`, creds, srv.URL)
	secrets := []string{"hunter2", "SECRETKEY", "SECRETTOKEN", "api_key", "AWS_SECRET", "wJalr", "pgSECRET"}

	t.Run("private networks allowed", func(t *testing.T) {
		cfg := writeConfig(t, sourcesTOML)
		code, out, errOut := run(t, context.Background(), "poll", "--once", "--config", cfg)
		if code == 0 {
			t.Fatalf("poll --once succeeded with two failing sources:\n%s", out)
		}
		_, reply, replyErr := run(t, context.Background(), "cmd", "--config", cfg, "--channel", "console:lab", "--", "sources")
		for _, w := range []string{"leaky:", "not a feed (", "content-type text/plain", "down:", "HTTP 500"} {
			if !strings.Contains(reply, w) {
				t.Errorf("/papers sources lacks %q:\n%s", w, reply)
			}
		}
		for _, s := range secrets {
			for name, text := range map[string]string{"poll output": out + errOut, "/papers sources": reply + replyErr} {
				if strings.Contains(text, s) {
					t.Errorf("%s shows %q:\n%s", name, s, text)
				}
			}
		}
	})

	t.Run("default refuses loopback", func(t *testing.T) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "paperboy.toml")
		body := fmt.Sprintf("[store]\npath = %q\n%s", filepath.Join(dir, "paperboy.db"), sourcesTOML)
		if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, out, errOut := run(t, context.Background(), "poll", "--once", "--config", cfg)
		_, reply, _ := run(t, context.Background(), "cmd", "--config", cfg, "--channel", "console:lab", "--", "sources")
		if strings.Count(reply, "address not allowed") != 2 {
			t.Errorf("/papers sources does not show both refusals:\n%s", reply)
		}
		for _, s := range secrets {
			if strings.Contains(out+errOut+reply, s) {
				t.Errorf("output shows %q:\n%s%s%s", s, out, errOut, reply)
			}
		}
	})
}
