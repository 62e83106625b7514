package httpserve

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// start serves h with limits on a free loopback port until the test ends, and returns its address.
func start(t *testing.T, h http.Handler, l Limits) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Listen(ctx, Config{Addr: "127.0.0.1:0", Handler: h, Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// get sends one keep-alive GET on c and reads the response: its status, and whether the server closes after it.
func get(c net.Conn, r *bufio.Reader) (status int, closing bool, err error) {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: paperboy\r\n\r\n"); err != nil {
		return 0, false, err
	}
	return readResponse(r)
}

func readResponse(r *bufio.Reader) (status int, closing bool, err error) {
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && strings.TrimSpace(string(body)) != "ok" {
		err = errors.New("unexpected body " + string(body))
	}
	return resp.StatusCode, resp.Close, err
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })

// TestIdleConnectionsAreClosed: a keep-alive connection that sends nothing after its response is closed by the
// server after IdleTimeout, and one that never sends a full request after ReadHeaderTimeout; neither holds a
// descriptor forever.
func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	const idle = 200 * time.Millisecond
	addr := start(t, ok, Limits{IdleTimeout: idle, ReadHeaderTimeout: idle, ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	tests := []struct {
		name    string
		request bool
	}{
		{"idle keep-alive after a response", true},
		{"connection that never sends a request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, addr)
			r := bufio.NewReader(c)
			if tt.request {
				code, closing, err := get(c, r)
				if err != nil || code != http.StatusOK || closing {
					t.Fatalf("first request: %d %v (close %v); want 200 kept alive", code, err, closing)
				}
			}
			// The server closes the connection: the read ends with EOF long before this safety deadline (a minute,
			// the timeouts the server would otherwise fall back to).
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			began := time.Now()
			_, err := r.ReadByte()
			if !errors.Is(err, io.EOF) {
				t.Fatalf("read on the idle connection: %v, want EOF (closed by the server)", err)
			}
			if waited := time.Since(began); waited < idle/2 {
				t.Errorf("closed after %v, before the idle timeout %v", waited, idle)
			}
		})
	}
}

// TestConnectionLimit: with MaxConns connections open, the next client is not served until one of them closes;
// then it is.
func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	const maxConns = 2
	var mu sync.Mutex
	open, peak := 0, 0
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	l := Limits{MaxConns: maxConns, IdleTimeout: time.Minute, ReadHeaderTimeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Listen(ctx, Config{Addr: "127.0.0.1:0", Handler: h, Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	s.srv.ConnState = func(_ net.Conn, st http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch st {
		case http.StateNew:
			open++
			peak = max(peak, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Second) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	addr := s.Addr().String()

	held := make([]net.Conn, maxConns)
	for i := range held {
		held[i] = dial(t, addr)
		if code, _, err := get(held[i], bufio.NewReader(held[i])); err != nil || code != http.StatusOK {
			t.Fatalf("connection %d: %d %v", i, code, err)
		}
	}
	extra := dial(t, addr) // the kernel completes the handshake; the server does not accept it yet
	r := bufio.NewReader(extra)
	_ = extra.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if code, _, err := get(extra, r); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection over the limit was served: %d %v", code, err)
	}
	_ = held[0].Close()
	_ = extra.SetDeadline(time.Now().Add(30 * time.Second))
	// The request written before is still in the socket: once accepted, its response arrives.
	if code, _, err := readResponse(r); err != nil || code != http.StatusOK {
		t.Fatalf("after a slot freed: %d %v, want 200", code, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak > maxConns {
		t.Errorf("%d connections open at once, limit %d", peak, maxConns)
	}
}

// TestLimitsDefaults: a zero Limits takes every default, and set fields are kept.
func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	if got := (Limits{}).orDefaults(); got != DefaultLimits() {
		t.Errorf("zero limits = %+v, want the defaults %+v", got, DefaultLimits())
	}
	got := Limits{IdleTimeout: time.Second, MaxConns: 3}.orDefaults()
	if got.IdleTimeout != time.Second || got.MaxConns != 3 || got.ReadTimeout != DefaultLimits().ReadTimeout {
		t.Errorf("partial limits = %+v", got)
	}
}

// TestListenError: an address in use is reported by Listen, before anything is served.
func TestListenError(t *testing.T) {
	t.Parallel()
	addr := start(t, ok, Limits{})
	if _, err := Listen(t.Context(), Config{Addr: addr, Handler: ok}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("second Listen on %s: %v, want an error naming the address", addr, err)
	}
}
