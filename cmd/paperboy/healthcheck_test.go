package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheck runs paperboy healthcheck against local servers answering as a healthy bot, an unhealthy one, a
// stopped one and a hung one would.
func TestHealthcheck(t *testing.T) {
	serve := func(t *testing.T, h http.HandlerFunc) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL + "/healthz"
	}
	ok := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ok")
	}
	// A port nothing listens on: take one, then give it back.
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String() + "/healthz"
	ln.Close()

	tests := []struct {
		name     string
		url      func(t *testing.T) string
		extra    []string
		wantCode int
		wantOut  []string // in stdout (code 0) or stderr (code 1), all on one line
	}{
		{"200 is healthy", func(t *testing.T) string { return serve(t, ok) }, nil, 0, []string{"/healthz: ok"}},
		{"503 is unhealthy, with /healthz's reasons on one line", func(t *testing.T) string {
			return serve(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusServiceUnavailable)
				fmt.Fprint(w, "no source has polled successfully for 6h0m0s\nplatform discord not ready: token refused\n")
			})
		}, nil, 1, []string{"503 Service Unavailable", "no source has polled successfully for 6h0m0s; platform discord not ready: token refused"}},
		{"500 with no body is unhealthy", func(t *testing.T) string {
			return serve(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
		}, nil, 1, []string{"500 Internal Server Error"}},
		{"nothing listening", func(*testing.T) string { return closedURL }, nil, 1, []string{closedURL + ": dial tcp", "connection refused"}},
		{"no answer within the timeout", func(t *testing.T) string {
			release := make(chan struct{})
			u := serve(t, func(_ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			t.Cleanup(func() { close(release) }) // runs before srv.Close, which waits for the handler
			return u
		}, []string{"--timeout", "200ms"}, 1, []string{"no answer within 200ms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"healthcheck", "--url", tt.url(t)}, tt.extra...)
			code, out, errOut := run(t, context.Background(), args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.wantCode, out, errOut)
			}
			got := out
			if code != 0 {
				got = errOut
			}
			if strings.Count(strings.TrimSpace(got), "\n") != 0 {
				t.Errorf("want one line, got %q", got)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(got, w) {
					t.Errorf("output %q lacks %q", got, w)
				}
			}
		})
	}
}

// TestHealthcheckURLFromConfig checks that without --url the check finds the bot where [http] listen serves it.
func TestHealthcheckURLFromConfig(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	source := "[[sources]]\nname = \"hf\"\nkind = \"hf-daily\"\n"
	tests := []struct {
		name     string
		listen   string
		wantCode int
		want     string
	}{
		{"loopback address", "127.0.0.1:" + port, 0, "http://127.0.0.1:" + port + "/healthz: ok"},
		{"wildcard host is reached on loopback", ":" + port, 0, "http://127.0.0.1:" + port + "/healthz: ok"},
		{"0.0.0.0 is reached on loopback", "0.0.0.0:" + port, 0, "http://127.0.0.1:" + port + "/healthz: ok"},
		{"no [http] listen", "", 1, "[http] listen is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := writeConfig(t, fmt.Sprintf("[http]\nlisten = %q\n%s", tt.listen, source))
			t.Setenv("PAPERBOY_CONFIG", cfg) // as the image sets it: the HEALTHCHECK passes no flag
			code, out, errOut := run(t, context.Background(), "healthcheck")
			if code != tt.wantCode || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, tt.wantCode, tt.want)
			}
		})
	}
	t.Run("no configuration and no --url", func(t *testing.T) {
		code, _, errOut := run(t, context.Background(), "healthcheck", "--config", t.TempDir()+"/missing.toml")
		if code != 1 || !strings.Contains(errOut, "no --url") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("-h exits 0", func(t *testing.T) {
		if code, _, errOut := run(t, context.Background(), "healthcheck", "-h"); code != 0 || !strings.Contains(errOut, "--url") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}
