package sources

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	neturl "net/url"
	"strings"
	"sync"
	"syscall"
)

// nonPublicPrefixes are the ranges, beyond what netip.Addr's predicates cover, that a feed on the public internet
// never lives in. They are refused so that a feed (or a redirect it answers with) cannot make the bot read a
// service inside its own network: a cloud metadata endpoint, an admin page on the router, a carrier-grade NAT peer.
var nonPublicPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and the broadcast address
	netip.MustParsePrefix("::/96"),           // deprecated IPv4-compatible addresses
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001::/32"),       // Teredo: the client address inside is obfuscated, so it cannot be checked
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
}

// Prefixes whose addresses carry an IPv4 address that a translator or relay will reach; that address is checked.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // well-known NAT64 (RFC 6052): the last 32 bits
	sixToFour   = netip.MustParsePrefix("2002::/16")    // 6to4 (RFC 3056): bits 16 to 47
)

// forbiddenAddr reports whether ip is not a public unicast address: loopback, private (including IPv6 unique-local
// fc00::/7), link-local, multicast, unspecified, carrier-grade NAT, reserved or documentation ranges, and IPv4-mapped,
// NAT64 or 6to4 addresses wrapping any of those.
func forbiddenAddr(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if !ip.IsValid() {
		return true
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64Prefix.Contains(ip):
			return forbiddenAddr(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		case sixToFour.Contains(ip):
			return forbiddenAddr(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast() {
		return true
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// addressGuard enforces the private-network rule. It is nil-safe: a nil guard allows everything.
type addressGuard struct {
	// allow, when set, lets particular addresses through (package tests: one loopback test server).
	allow func(netip.AddrPort) bool
	// proxies holds the host:port of the HTTP proxies the transport has used. The operator chose them, so they
	// may be on the local network; the feed's own host is then resolved by the proxy, and only a literal address in
	// the URL can be checked here.
	proxies sync.Map
	// proxyOf picks the proxy of a request; http.ProxyFromEnvironment when nil (tests replace it: the environment
	// is read once per process).
	proxyOf func(*http.Request) (*neturl.URL, error)
}

// checkURL refuses a URL whose host is a literal forbidden address (or "localhost"), before any connection is
// made; a host name is checked after resolution, by control.
func (g *addressGuard) checkURL(u *neturl.URL) error {
	if g == nil {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("host %s: %w", host, ErrForbiddenAddress)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if ap, err := netip.ParseAddrPort(net.JoinHostPort(ip.String(), port)); err == nil && g.allowed(ap) {
		return nil
	}
	if forbiddenAddr(ip) {
		return fmt.Errorf("host %s: %w", ip, ErrForbiddenAddress)
	}
	return nil
}

func (g *addressGuard) allowed(ap netip.AddrPort) bool {
	return g.allow != nil && g.allow(ap)
}

// control runs after DNS resolution, on the address actually dialled, so that a name resolving to an internal
// address (DNS rebinding included) is refused as surely as a literal one.
func (g *addressGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrForbiddenAddress)
	}
	if g.allowed(ap) || !forbiddenAddr(ap.Addr()) {
		return nil
	}
	return fmt.Errorf("dial %s %s: %w", network, address, ErrForbiddenAddress)
}

// proxy is the transport's Proxy function: the environment's proxy, remembered so that dialling it is allowed.
func (g *addressGuard) proxy(req *http.Request) (*neturl.URL, error) {
	proxyOf := g.proxyOf
	if proxyOf == nil {
		proxyOf = http.ProxyFromEnvironment
	}
	u, err := proxyOf(req)
	if u != nil && err == nil {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443", "socks5": "1080", "socks5h": "1080"}[u.Scheme]
		}
		g.proxies.Store(net.JoinHostPort(u.Hostname(), port), true)
	}
	return u, err
}

// dialContext dials proxies as configured and everything else through the guarded dialer.
func (g *addressGuard) dialContext(guarded, plain *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if _, ok := g.proxies.Load(addr); ok {
			return plain.DialContext(ctx, network, addr)
		}
		return guarded.DialContext(ctx, network, addr)
	}
}
