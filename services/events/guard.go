package events

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// guard keeps webhook deliveries away from Guildhall's own network (SSRF):
// loopback, link-local, private, shared (CGNAT), multicast and unspecified
// addresses are refused unless an operator allowed their network. It is
// checked when a webhook is created or changed, and again on every
// connection (the dialer's Control sees the address actually dialed), so a
// name that resolves elsewhere later (DNS rebinding) is refused too.
type guard struct {
	allowed []netip.Prefix
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// errForbidden is a target refused by the guard.
var errForbidden = errors.New("target address is internal (loopback, link-local or private)")

// permits reports whether a may be dialed.
func (g *guard) permits(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range g.allowed {
		if p.Contains(a) {
			return true
		}
	}
	return a.IsValid() && !(a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsPrivate() || a.IsUnspecified() || cgnat.Contains(a))
}

// control is a net.Dialer Control refusing forbidden addresses.
func (g *guard) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !g.permits(a) {
		return fmt.Errorf("%w: %s", errForbidden, host)
	}
	return nil
}

// checkURI explains what is wrong with raw as a webhook target, or returns
// "" if it is fine: an absolute http(s) URL without user information whose
// host, and every address it resolves to, the guard permits.
func (g *guard) checkURI(ctx context.Context, raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return "must be an absolute URL, like https://hooks.example.org/guildhall"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must use http or https"
	case u.User != nil:
		return "must not carry user information; authenticate the request by its signature"
	case u.Fragment != "":
		return "must not have a fragment"
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !g.permits(a) {
			return "points at an internal address (loopback, link-local or private network), which is refused"
		}
		return ""
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		if !g.permits(netip.MustParseAddr("127.0.0.1")) {
			return "points at an internal address (loopback), which is refused"
		}
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return "host does not resolve"
	}
	for _, a := range addrs {
		if !g.permits(a) {
			return "resolves to an internal address (loopback, link-local or private network), which is refused"
		}
	}
	return ""
}
