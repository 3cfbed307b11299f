package clientip_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/guildhall/guildhall/internal/clientip"
)

// TestResolve: forwarding headers count only when the hop that wrote them
// is a configured proxy or the gateway; loopback and private peers get no
// trust of their own.
func TestResolve(t *testing.T) {
	proxies, err := clientip.ParsePrefixes([]string{"10.0.0.0/8", "2001:db8:ffff::/48"})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "gh_internal"
	call := func(peerAddr string, md ...string) context.Context {
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(peerAddr), Port: 40000}})
		return metadata.NewIncomingContext(ctx, metadata.Pairs(md...))
	}
	for _, c := range []struct {
		name    string
		trusted []netip.Prefix
		ctx     context.Context
		want    string
	}{
		{"no proxies: loopback peer with a forged header", nil, call("127.0.0.1", "x-forwarded-for", "203.0.113.9"), "127.0.0.1"},
		{"no proxies: private peer with a forged header", nil, call("172.18.0.5", "x-forwarded-for", "203.0.113.9"), "172.18.0.5"},
		{"no proxies: forged Forwarded", nil, call("192.0.2.1", "forwarded", "for=203.0.113.9"), "192.0.2.1"},
		{"trusted proxy", proxies, call("10.1.2.3", "x-forwarded-for", "203.0.113.9"), "203.0.113.9"},
		{"trusted proxy, client's own forgery to the left", proxies, call("10.1.2.3", "x-forwarded-for", "6.6.6.6, 203.0.113.9"), "203.0.113.9"},
		{"two trusted proxies", proxies, call("10.1.2.3", "x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.9.9.9"), "203.0.113.9"},
		{"untrusted peer even with proxies configured", proxies, call("192.0.2.77", "x-forwarded-for", "203.0.113.9"), "192.0.2.77"},
		{"Forwarded from a trusted proxy", proxies, call("10.1.2.3", "forwarded", `for="[2001:db8::7]:4711";proto=https, for=10.4.4.4`), "2001:db8::7"},
		{"IPv6 proxy", proxies, call("2001:db8:ffff::1", "x-forwarded-for", "198.51.100.4"), "198.51.100.4"},
		{"garbage from a trusted proxy", proxies, call("10.1.2.3", "x-forwarded-for", "not-an-ip"), "10.1.2.3"},
		{"gateway with the secret", nil, call("127.0.0.1", "x-forwarded-for", "6.6.6.6, 198.51.100.4", clientip.GatewayKey, secret), "198.51.100.4"},
		{"gateway behind a trusted proxy", proxies, call("127.0.0.1", "x-forwarded-for", "198.51.100.4, 10.0.0.1", clientip.GatewayKey, secret), "198.51.100.4"},
		{"wrong secret", nil, call("127.0.0.1", "x-forwarded-for", "198.51.100.4", clientip.GatewayKey, "guess"), "127.0.0.1"},
		{"IPv4-mapped peer", nil, call("::ffff:192.0.2.5"), "192.0.2.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := clientip.New(c.trusted, secret).Resolve(c.ctx)
			if got.String() != c.want {
				t.Errorf("%s, want %s", got, c.want)
			}
		})
	}
	if _, err := clientip.ParsePrefixes([]string{"10.0.0.0/33"}); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}
