// Package edges_test is the slow-client run: many connections that trickle
// their request body a byte a second, against Guildhall with its default
// limits, while a client at another address keeps making requests. It only
// runs when asked:
//
//	GUILDHALL_BENCH=1 go test -count=1 -run Load -v -timeout 10m ./bench/edges
//
// BENCH_SLOW sets the number of slow connections (default 1000); the slow
// client uses 127.0.0.1 and the well-behaved one 127.0.0.2.
package edges_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/bench/benchenv"
)

const body = `{"displayName":"Slow","contact":"slow@example.org"}`

func TestLoadSlowClients(t *testing.T) {
	benchenv.Require(t, "the slow-client run")
	slow := benchenv.Int("BENCH_SLOW", 1000)
	env := apptest.Start(t) // the defaults: 20s read timeout, 256 connections per address
	// From one address, then spread over as many loopback addresses
	// (127.1.x.y), as a distributed client would.
	for _, spread := range []int{1, slow} {
		t.Run(fmt.Sprintf("%d addresses", spread), func(t *testing.T) { slowClients(t, env, slow, spread) })
	}
}

func slowClients(t *testing.T, env *apptest.Env, slow, spread int) {
	addr := strings.TrimPrefix(env.BaseURL, "http://")

	var refused, cut, open atomic.Int64
	var mu sync.Mutex
	var lifetimes []time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for i := range slow {
		from := net.ParseIP("127.0.0.1")
		if spread > 1 {
			n := i % spread
			from = net.IPv4(127, 1, byte(n/250), byte(1+n%250))
		}
		wg.Go(func() {
			r, d := trickle(addr, from, 90*time.Second)
			switch r {
			case "refused":
				refused.Add(1)
			case "cut":
				cut.Add(1)
				mu.Lock()
				lifetimes = append(lifetimes, d)
				mu.Unlock()
			default:
				open.Add(1)
			}
		})
	}
	// A well-behaved client at another address, throughout.
	other := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	stop := make(chan struct{})
	var lat []time.Duration
	var failed int
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			t0 := time.Now()
			resp, err := other.Get(env.BaseURL + "/v1/teams")
			if err != nil || resp.StatusCode != http.StatusOK {
				failed++
			} else {
				lat = append(lat, time.Since(t0))
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
	}()
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-done

	sort.Slice(lifetimes, func(i, j int) bool { return lifetimes[i] < lifetimes[j] })
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(d []time.Duration, p float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[int(float64(len(d)-1)*p)].Round(time.Millisecond)
	}
	fmt.Printf("slow-body connections: %d from %d address(es), a body byte a second\n", slow, spread)
	fmt.Printf("  refused at once (429, over 256 per address): %d\n", refused.Load())
	fmt.Printf("  cut off by the read timeout:                 %d (held %v median, %v max)\n", cut.Load(), pct(lifetimes, 0.5), pct(lifetimes, 1))
	fmt.Printf("  still open after 90s:                        %d\n", open.Load())
	fmt.Printf("  all settled in %v\n", elapsed.Round(time.Millisecond))
	fmt.Printf("another address meanwhile: %d requests OK (p50 %v, p99 %v), %d failed\n", len(lat), pct(lat, 0.5), pct(lat, 0.99), failed)
	if open.Load() != 0 || failed != 0 {
		t.Errorf("%d slow connections stayed open, %d requests of another client failed", open.Load(), failed)
	}
}

// trickle sends a request whose body comes one byte a second, and says how
// it ended and after how long.
func trickle(addr string, from net.IP, limit time.Duration) (string, time.Duration) {
	start := time.Now()
	c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: from}}).Dial("tcp", addr)
	if err != nil {
		return "refused", 0
	}
	defer c.Close()
	_ = c.SetDeadline(start.Add(limit))
	fmt.Fprintf(c, "POST /v1/volunteers HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	res := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		var ne net.Error
		switch {
		case err == nil && resp.StatusCode == http.StatusTooManyRequests:
			res <- "refused"
		case errors.As(err, &ne) && ne.Timeout():
			res <- "open"
		default:
			res <- "cut"
		}
	}()
	for i := 0; i < len(body); i++ {
		select {
		case r := <-res:
			return r, time.Since(start)
		case <-time.After(time.Second):
		}
		if _, err := c.Write([]byte{body[i]}); err != nil {
			break
		}
	}
	return <-res, time.Since(start)
}
