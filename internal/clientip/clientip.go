// Package clientip decides which address a request comes from, the same way
// over REST and gRPC, for per-client limits (connections, help offers,
// failed sign-ins).
//
// A forwarding header (X-Forwarded-For, or RFC 7239 Forwarded) is only
// believed when the hop that added it is a trusted proxy: an address in
// GUILDHALL_TRUSTED_PROXIES, or Guildhall's own gateway, which proves itself
// with the internal secret. The client is the rightmost hop that is not a
// trusted proxy; everything to its left is the client's own word and is
// ignored. With no proxies configured, the TCP peer is the client, whatever
// it writes in its headers. It must not import any service package.
package clientip

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// GatewayKey is the metadata key under which the gateway sends the internal
// secret, so the services believe the X-Forwarded-For it builds.
const GatewayKey = "guildhall-gateway-secret"

// ParsePrefixes reads comma-separated CIDRs or single addresses
// ("10.0.0.0/8, 192.0.2.7").
func ParsePrefixes(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range items {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR like 10.0.0.0/8", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Resolver finds the client of a request.
type Resolver struct {
	trusted []netip.Prefix
	secret  string
}

// New returns a Resolver trusting the given proxies and, if gatewaySecret is
// not empty, any peer that sends it under GatewayKey.
func New(trusted []netip.Prefix, gatewaySecret string) *Resolver {
	return &Resolver{trusted: trusted, secret: gatewaySecret}
}

// Trusted reports whether a is a configured proxy.
func (r *Resolver) Trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Client returns the client given the TCP peer, the forwarding hops the
// peer sent (leftmost first, as in X-Forwarded-For) and whether the peer
// proved to be the gateway.
func (r *Resolver) Client(peerAddr netip.Addr, hops []string, peerIsGateway bool) netip.Addr {
	client := peerAddr.Unmap()
	if !peerIsGateway && !r.Trusted(client) {
		return client
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := parseHop(hops[i])
		if err != nil {
			// A trusted proxy passed on something that is no address:
			// the proxy itself is the best we know.
			return client
		}
		client = a
		if !r.Trusted(client) {
			return client
		}
	}
	return client
}

// Hops returns the forwarding hops of a header set, leftmost first: the
// for= values of Forwarded if present, else X-Forwarded-For. get returns
// every value of a header, in order.
func Hops(get func(key string) []string) []string {
	var out []string
	if fwd := get("forwarded"); len(fwd) > 0 {
		for _, v := range fwd {
			for _, elem := range strings.Split(v, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, val, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						out = append(out, strings.Trim(val, `"`))
					}
				}
			}
		}
		return out
	}
	for _, v := range get("x-forwarded-for") {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				out = append(out, h)
			}
		}
	}
	return out
}

// parseHop reads "192.0.2.1", "192.0.2.1:443", "[2001:db8::1]:443" or
// "2001:db8::1".
func parseHop(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return a.Unmap(), err
}

// FromAddr reads the address of a net.Addr (TCP peer), or the zero Addr.
func FromAddr(a net.Addr) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	if tcp, ok := a.(*net.TCPAddr); ok {
		ap := tcp.AddrPort()
		return ap.Addr().Unmap()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		host = a.String()
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

type ctxKey struct{}

// From returns the client address found by the interceptors, or "" when
// unknown (a call that did not pass them).
func From(ctx context.Context) string {
	if a, ok := ctx.Value(ctxKey{}).(netip.Addr); ok && a.IsValid() {
		return a.String()
	}
	return ""
}

// With returns ctx carrying client a.
func With(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// Resolve finds the client of an incoming gRPC call.
func (r *Resolver) Resolve(ctx context.Context) netip.Addr {
	var peerAddr netip.Addr
	if p, ok := peer.FromContext(ctx); ok {
		peerAddr = FromAddr(p.Addr)
	}
	// ValueFromIncomingContext reads one key without copying the whole
	// metadata, as FromIncomingContext does.
	get := func(key string) []string { return metadata.ValueFromIncomingContext(ctx, key) }
	gateway := false
	if r.secret != "" {
		for _, v := range get(GatewayKey) {
			if subtle.ConstantTimeCompare([]byte(v), []byte(r.secret)) == 1 {
				gateway = true
			}
		}
	}
	return r.Client(peerAddr, Hops(get), gateway)
}

// UnaryServerInterceptor puts the client address in the context (From).
func (r *Resolver) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(With(ctx, r.Resolve(ctx)), req)
	}
}

// StreamServerInterceptor is the streaming form of UnaryServerInterceptor.
func (r *Resolver) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &stream{ServerStream: ss, ctx: With(ss.Context(), r.Resolve(ss.Context()))})
	}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
