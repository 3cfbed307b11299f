package membership

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// The volunteer rate limit is keyed by clientAddr: a caller reaching the
// service from outside the deployment must not pick its key by header.
func TestClientAddrTrustsForwardingOnlyFromInsideTheDeployment(t *testing.T) {
	at := func(addr string, fwd ...string) context.Context {
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(addr), Port: 40000}})
		if len(fwd) > 0 {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("x-forwarded-for", fwd[0]))
		}
		return ctx
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"gateway on loopback", at("127.0.0.1", "203.0.113.9"), "203.0.113.9"},
		{"gateway in a private network", at("172.18.0.5", "198.51.100.1, 203.0.113.9"), "203.0.113.9"},
		{"no header", at("10.0.0.2"), "10.0.0.2"},
		{"outside caller forging the header", at("192.0.2.77", "203.0.113.9"), "192.0.2.77"},
		{"outside IPv6 caller", at("2001:db8::1", "203.0.113.9"), "2001:db8::1"},
		{"no peer", metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-forwarded-for", "203.0.113.9")), ""},
	} {
		if got := clientAddr(c.ctx); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
