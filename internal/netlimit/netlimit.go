// Package netlimit bounds what clients can hold open on a listener: a cap on
// all connections (golang.org/x/net/netutil) and a cap per client address,
// so one slow or hostile client cannot take every slot. It must not import
// any service package.
package netlimit

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/net/netutil"

	"github.com/guildhall/guildhall/internal/clientip"
)

// Limits configures Listener.
type Limits struct {
	// Max is the most connections open at once; further ones wait in the
	// kernel's backlog until one closes. 0 means no cap.
	Max int
	// PerClient is the most connections one address may hold; further
	// ones are refused at once. 0 means no cap.
	PerClient int
	// Exempt, if set, names addresses not held to PerClient, such as
	// trusted proxies that carry many clients' connections.
	Exempt func(netip.Addr) bool
	// Refusal, if set, is written to a refused connection before it is
	// closed (for HTTP, a 429 response).
	Refusal []byte
}

// HTTPRefusal is a complete HTTP/1.1 answer for a refused connection.
var HTTPRefusal = httpRefusal("too many connections from this address; close some and retry\n")

func httpRefusal(body string) []byte {
	return []byte("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body)
}

// Listener wraps lis with the limits.
func Listener(lis net.Listener, l Limits) net.Listener {
	if l.Max > 0 {
		lis = netutil.LimitListener(lis, l.Max)
	}
	if l.PerClient <= 0 {
		return lis
	}
	return &perClient{Listener: lis, limits: l, open: map[netip.Addr]int{}}
}

type perClient struct {
	net.Listener
	limits Limits
	mu     sync.Mutex
	open   map[netip.Addr]int
}

func (p *perClient) Accept() (net.Conn, error) {
	for {
		c, err := p.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := clientip.FromAddr(c.RemoteAddr())
		if p.limits.Exempt != nil && p.limits.Exempt(addr) {
			return c, nil
		}
		p.mu.Lock()
		n := p.open[addr]
		if n >= p.limits.PerClient {
			p.mu.Unlock()
			go refuse(c, p.limits.Refusal)
			continue
		}
		p.open[addr] = n + 1
		p.mu.Unlock()
		return &conn{Conn: c, release: func() { p.release(addr) }}, nil
	}
}

func (p *perClient) release(addr netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[addr] <= 1 {
		delete(p.open, addr)
	} else {
		p.open[addr]--
	}
}

func refuse(c net.Conn, msg []byte) {
	if len(msg) > 0 {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(msg)
	}
	_ = c.Close()
}

type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
