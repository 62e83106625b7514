package sources

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paperboy-bot/paperboy/bot/paper"
)

func TestForbiddenAddr(t *testing.T) {
	tests := []struct {
		addr      string
		forbidden bool
	}{
		{"93.184.216.34", false},
		{"8.8.8.8", false},
		{"2606:4700::6810:84e5", false},
		{"64:ff9b::5db8:d822", false}, // NAT64 of 93.184.216.34
		{"2002:5db8:d822::1", false},  // 6to4 of 93.184.216.34
		{"127.0.0.1", true},
		{"127.8.9.10", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"169.254.169.254", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"192.0.2.1", true},
		{"198.18.0.1", true},
		{"::", true},
		{"::1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"fd00::1", true},
		{"fc00::1", true},
		{"ff02::1", true},
		{"fec0::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::127.0.0.1", true},
		{"64:ff9b::7f00:1", true},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::5db8:d822", true},
		{"2002:7f00:1::1", true}, // 6to4 of 127.0.0.1
		{"2001:db8::1", true},
		{"2001::1", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := forbiddenAddr(netip.MustParseAddr(tt.addr)); got != tt.forbidden {
				t.Errorf("forbiddenAddr(%s) = %v, want %v", tt.addr, got, tt.forbidden)
			}
		})
	}
	if !forbiddenAddr(netip.Addr{}) {
		t.Error("the zero Addr is allowed")
	}
}

// countingServer is a loopback server that counts the connections made to it, so that a test can prove that the
// fetcher never even connected.
func countingServer(t *testing.T, h http.Handler) (srv *httptest.Server, conns *atomic.Int32) {
	t.Helper()
	conns = new(atomic.Int32)
	srv = httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, conns
}

// TestGetRefusesPrivateNetworksByDefault is issue 12's SSRF: a feed on the public internet answering with a redirect
// to the loopback interface or the cloud metadata endpoint. The "public" feed is a server on 127.0.0.1 that the
// guard is told to let through (nothing else is), so every other hop goes through the real checks.
func TestGetRefusesPrivateNetworksByDefault(t *testing.T) {
	internal, internalConns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI")
	}))
	internalPort := internal.Listener.Addr().(*net.TCPAddr).Port
	var target atomic.Value
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.Load().(string), http.StatusFound)
	}))
	t.Cleanup(public.Close)
	onlyPublic := allowServer(t, public)

	tests := []struct {
		name, redirect string
	}{
		{"loopback", internal.URL + "/"},
		{"loopback by name", strings.Replace(internal.URL, "127.0.0.1", "localhost", 1) + "/"},
		{"IPv6 loopback", "http://[::1]:" + strconv.Itoa(internalPort) + "/"},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + strconv.Itoa(internalPort) + "/"},
		{"metadata endpoint", "http://169.254.169.254/latest/meta-data/iam/security-credentials/"},
		{"private", "http://10.0.0.1/"},
		{"unspecified", "http://0.0.0.0:" + strconv.Itoa(internalPort) + "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target.Store(tt.redirect)
			before := internalConns.Load()
			f := NewFetcher(FetcherOptions{HostIntervals: map[string]time.Duration{}, allowAddr: onlyPublic})
			resp, err := f.Get(context.Background(), public.URL+"/feed", paper.Validators{})
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("Get = %+v, %v; want ErrForbiddenAddress", resp, err)
			}
			if n := internalConns.Load() - before; n != 0 {
				t.Errorf("the internal server saw %d connections, want none", n)
			}
		})
	}

	t.Run("allowed when configured", func(t *testing.T) {
		// The same redirect is followed when private networks are allowed: the refusals above are the guard's.
		target.Store(internal.URL + "/")
		f := NewFetcher(FetcherOptions{HostIntervals: map[string]time.Duration{}, AllowPrivateNetworks: true})
		resp, err := f.Get(context.Background(), public.URL+"/feed", paper.Validators{})
		if err != nil || !strings.HasPrefix(string(resp.Body), "AWS_SECRET") {
			t.Fatalf("Get = %+v, %v; want the internal answer", resp, err)
		}
	})

	t.Run("first hop", func(t *testing.T) {
		before := internalConns.Load()
		f := NewFetcher(FetcherOptions{HostIntervals: map[string]time.Duration{}})
		if _, err := f.Get(context.Background(), internal.URL+"/feed", paper.Validators{}); !errors.Is(err, ErrForbiddenAddress) {
			t.Fatalf("Get = %v, want ErrForbiddenAddress", err)
		}
		if n := internalConns.Load() - before; n != 0 {
			t.Errorf("the internal server saw %d connections, want none", n)
		}
	})
}

// TestGuardDialRefusesResolvedLoopback dials a name through the default transport: the refusal must come from the
// address the name resolved to, checked before connecting (DNS rebinding gets no further than a literal).
func TestGuardDialRefusesResolvedLoopback(t *testing.T) {
	internal, conns := countingServer(t, http.NotFoundHandler())
	port := strconv.Itoa(internal.Listener.Addr().(*net.TCPAddr).Port)
	f := NewFetcher(FetcherOptions{})
	tr, ok := f.client.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport is %T", f.client.Transport)
	}
	conn, err := tr.DialContext(context.Background(), "tcp", net.JoinHostPort("localhost", port))
	if err == nil {
		conn.Close()
	}
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("dial localhost = %v, want ErrForbiddenAddress", err)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the server saw %d connections, want none", n)
	}
}

// TestGuardWithCustomTransport: a redirect to the metadata endpoint is refused before the transport is asked,
// whatever transport is configured.
func TestGuardWithCustomTransport(t *testing.T) {
	var calls []string
	rt := fetchRoundTripper(func(r *http.Request) (*http.Response, error) {
		calls = append(calls, r.URL.String())
		return &http.Response{
			StatusCode: http.StatusFound,
			Header:     http.Header{"Location": {"http://169.254.169.254/latest/meta-data/"}},
			Body:       io.NopCloser(strings.NewReader("")),
			Request:    r,
		}, nil
	})
	f := NewFetcher(FetcherOptions{Transport: rt, HostIntervals: map[string]time.Duration{}})
	_, err := f.Get(context.Background(), "https://feeds.example.org/rss", paper.Validators{})
	if !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("Get = %v, want ErrForbiddenAddress", err)
	}
	if len(calls) != 1 {
		t.Errorf("transport asked for %q, want only the feed", calls)
	}
}

// TestGuardDialsConfiguredProxy: an HTTP proxy from the environment may sit on a private address; the guard must
// let the bot reach it (the operator chose it) while still refusing literal private targets.
func TestGuardDialsConfiguredProxy(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Host != "feeds.example.org" {
			http.Error(w, "not proxied", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "via proxy")
	}))
	t.Cleanup(proxy.Close)
	proxyURL, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	g := &addressGuard{proxyOf: http.ProxyURL(proxyURL)}
	f := NewFetcher(FetcherOptions{Transport: newTransport(FetcherOptions{}, g), HostIntervals: map[string]time.Duration{}})
	f.guard = g
	resp, err := f.Get(context.Background(), "http://feeds.example.org/rss", paper.Validators{})
	if err != nil || string(resp.Body) != "via proxy" {
		t.Fatalf("Get = %+v, %v; want the proxy's answer", resp, err)
	}
	if _, err := f.Get(context.Background(), "http://169.254.169.254/", paper.Validators{}); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("literal metadata address through the proxy = %v, want ErrForbiddenAddress", err)
	}
}

// allowServer lets srv, and only srv, through the guard.
func allowServer(t *testing.T, srv *httptest.Server) func(netip.AddrPort) bool {
	t.Helper()
	addr := netip.MustParseAddrPort(srv.Listener.Addr().String())
	return func(ap netip.AddrPort) bool { return ap == addr }
}
