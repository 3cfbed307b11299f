package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app/apptest"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/clientip"
)

const offer = `{"displayName":"Sam","contact":"sam@example.org"}`

// offerREST sends one help offer over REST with the given headers and
// returns the status.
func offerREST(t *testing.T, env *apptest.Env, headers ...string) int {
	t.Helper()
	res := env.Do(t, http.MethodPost, "/v1/volunteers", offer, headers...)
	if res.Status == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	return res.Status
}

// offerGRPC sends one help offer over gRPC with the given metadata.
func offerGRPC(t *testing.T, env *apptest.Env, md ...string) codes.Code {
	t.Helper()
	ctx, cancel := context.WithTimeout(metadata.AppendToOutgoingContext(context.Background(), md...), 10*time.Second)
	defer cancel()
	_, err := membershipv1.NewMembershipServiceClient(env.Conn).OfferHelp(ctx, &membershipv1.OfferHelpRequest{
		Volunteer: &membershipv1.Volunteer{DisplayName: "Sam", Contact: "sam@example.org"}})
	return status.Code(err)
}

// TestSpoofedAddresses: the volunteer rate limit (5 a minute here) keys on
// the client address, and forwarding headers only move that key when they
// come from a configured proxy, the same way over REST and gRPC.
func TestSpoofedAddresses(t *testing.T) {
	const rate = 5
	limit := func(c *apptest.Config, _ *apptest.Clock) { c.VolunteerRatePerMinute = rate }
	spoof := func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }

	t.Run("no trusted proxies", func(t *testing.T) {
		for _, proto := range []string{"REST", "gRPC"} {
			env := apptest.Start(t, limit)
			accepted := 0
			for i := range 30 {
				var ok bool
				switch {
				case proto == "REST" && i%2 == 0:
					ok = offerREST(t, env, "X-Forwarded-For", spoof(i)) == http.StatusOK
				case proto == "REST":
					ok = offerREST(t, env, "Forwarded", "for="+spoof(i)) == http.StatusOK
				case i%3 == 0:
					ok = offerGRPC(t, env, "x-forwarded-for", spoof(i)) == codes.OK
				case i%3 == 1:
					ok = offerGRPC(t, env, "forwarded", "for="+spoof(i)) == codes.OK
				default:
					// Even a forged gateway claim moves nothing.
					ok = offerGRPC(t, env, "x-forwarded-for", spoof(i), clientip.GatewayKey, "guess") == codes.OK
				}
				if ok {
					accepted++
				}
			}
			t.Logf("%s: %d of 30 offers with spoofed addresses accepted", proto, accepted)
			if accepted != rate {
				t.Errorf("%s: %d of 30 spoofed offers accepted, want %d", proto, accepted, rate)
			}
		}
	})

	t.Run("trusted proxy", func(t *testing.T) {
		env := apptest.Start(t, limit, func(c *apptest.Config, _ *apptest.Clock) {
			c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8")
		})
		// Behind a trusted proxy, each forwarded client has its own allowance…
		for i := range 10 {
			if got := offerREST(t, env, "X-Forwarded-For", spoof(i)); got != http.StatusOK {
				t.Fatalf("REST client %d: %d", i, got)
			}
			if got := offerGRPC(t, env, "x-forwarded-for", spoof(100+i)); got != codes.OK {
				t.Fatalf("gRPC client %d: %v", i, got)
			}
		}
		// …and it is one allowance across both protocols; the client's own
		// entries left of the proxy's do not change who it is.
		const client = "203.0.113.50"
		var ok int
		for i := range 2 * rate {
			if i%2 == 0 && offerREST(t, env, "X-Forwarded-For", spoof(i)+", "+client) == http.StatusOK {
				ok++
			}
			if i%2 == 1 && offerGRPC(t, env, "x-forwarded-for", spoof(i)+", "+client) == codes.OK {
				ok++
			}
		}
		if ok != rate {
			t.Errorf("one client over both protocols: %d accepted, want %d", ok, rate)
		}
		// RFC 7239 Forwarded counts like X-Forwarded-For, on both protocols.
		const fwdClient = "203.0.113.60"
		ok = 0
		for i := range 2 * rate {
			if i%2 == 0 && offerREST(t, env, "Forwarded", `for="`+fwdClient+`:4711";proto=https`) == http.StatusOK {
				ok++
			}
			if i%2 == 1 && offerGRPC(t, env, "forwarded", "for="+fwdClient) == codes.OK {
				ok++
			}
		}
		if ok != rate {
			t.Errorf("one client named by Forwarded: %d accepted, want %d", ok, rate)
		}
	})
}

// TestAuthenticateThrottle: failed token checks, by Authenticate or by a
// bearer token on any call, are limited per client; the refusal says when
// to retry; other clients and services are not affected; the allowance
// refills with time.
func TestAuthenticateThrottle(t *testing.T) {
	const perMinute = 5
	var clock *apptest.Clock
	env := apptest.Start(t, func(c *apptest.Config, cl *apptest.Clock) {
		c.AuthFailuresPerMinute = perMinute
		c.TrustedProxies = mustPrefixes(t, "127.0.0.0/8")
		clock = cl
	})
	members := membershipv1.NewMembershipServiceClient(env.Conn)
	authenticate := func(client, token string) error {
		ctx := metadata.AppendToOutgoingContext(context.Background(), "x-forwarded-for", client)
		_, err := members.Authenticate(ctx, &membershipv1.AuthenticateRequest{Token: token})
		return err
	}
	const guesser, other = "203.0.113.66", "203.0.113.77"
	codesSeen := map[codes.Code]int{}
	for i := range 3 * perMinute {
		err := authenticate(guesser, fmt.Sprintf("gh_guess-%d", i))
		codesSeen[status.Code(err)]++
		if i >= perMinute {
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("guess %d: %v, want RESOURCE_EXHAUSTED", i, err)
			}
			var retry *errdetails.RetryInfo
			for _, d := range status.Convert(err).Details() {
				if r, ok := d.(*errdetails.RetryInfo); ok {
					retry = r
				}
			}
			if d := retry.GetRetryDelay().AsDuration(); d < time.Second || d > time.Minute {
				t.Fatalf("RetryInfo %v, want a delay of 1s to 1m", d)
			}
		}
	}
	t.Logf("Authenticate with guessed tokens from one client: %v", codesSeen)
	if codesSeen[codes.Unauthenticated] != perMinute {
		t.Errorf("%d guesses answered before the throttle, want %d", codesSeen[codes.Unauthenticated], perMinute)
	}
	// Throttled, the guesser learns nothing, even from the right token,
	// over gRPC or REST.
	if err := authenticate(guesser, apptest.AdminToken); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("a right token while throttled: %v", err)
	}
	res := env.WithToken("gh_guess-rest").Do(t, http.MethodGet, "/v1/caller", "", "X-Forwarded-For", guesser)
	if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
		t.Errorf("REST bearer guess while throttled: %d %q %s", res.Status, res.Header.Get("Retry-After"), res.Body)
	}
	// Another client, and calls without a token, go on; so do the services'
	// own calls (roadmap checks tokens with membership).
	if err := authenticate(other, apptest.AdminToken); err != nil {
		t.Errorf("another client: %v", err)
	}
	if res := env.Do(t, http.MethodGet, "/v1/teams", "", "X-Forwarded-For", guesser); res.Status != http.StatusOK {
		t.Errorf("anonymous read from the throttled client: %d", res.Status)
	}
	if res := env.WithToken(apptest.AdminToken).Do(t, http.MethodGet, "/v1/releases", "", "X-Forwarded-For", other); res.Status != http.StatusOK {
		t.Errorf("roadmap with a good token from another client: %d %s", res.Status, res.Body)
	}
	// Bearer guesses on REST count too, for a fresh client.
	const restGuesser = "203.0.113.88"
	var statuses []int
	for i := range perMinute + 2 {
		res := env.WithToken(fmt.Sprintf("gh_rest-guess-%d", i)).Do(t, http.MethodGet, "/v1/releases", "", "X-Forwarded-For", restGuesser)
		statuses = append(statuses, res.Status)
	}
	if statuses[perMinute-2] != http.StatusUnauthorized || statuses[perMinute+1] != http.StatusTooManyRequests {
		t.Errorf("REST guesses: %v, want 401s then 429s", statuses)
	}
	// A minute later the allowance is back.
	clock.Advance(time.Minute)
	if err := authenticate(guesser, apptest.AdminToken); err != nil {
		t.Errorf("after a minute: %v", err)
	}
}

func mustPrefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	p, err := clientip.ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSlowClients: a client that trickles its request is cut off after the
// read timeout, one address holds at most its share of connections (the rest
// are refused at once with a 429), other addresses are served meanwhile,
// and gRPC connections that never finish the handshake are closed too.
func TestSlowClients(t *testing.T) {
	const perClient, slow = 20, 50
	env := apptest.Start(t, func(c *apptest.Config, _ *apptest.Clock) {
		c.ReadTimeout = time.Second
		c.MaxConnsPerClient = perClient
	})
	httpAddr := strings.TrimPrefix(env.BaseURL, "http://")

	start := time.Now()
	var refused, cut, open atomic.Int64
	var wg sync.WaitGroup
	for range slow {
		wg.Go(func() {
			switch slowBody(t, httpAddr, 10*time.Second) {
			case "refused":
				refused.Add(1)
			case "cut":
				cut.Add(1)
			default:
				open.Add(1)
			}
		})
	}
	// Meanwhile a client at another address is served at once.
	time.Sleep(300 * time.Millisecond)
	other := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	t0 := time.Now()
	resp, err := other.Get(env.BaseURL + "/v1/teams")
	if err != nil {
		t.Fatalf("another client during the slow ones: %v", err)
	}
	resp.Body.Close()
	otherLatency := time.Since(t0)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("another client during the slow ones: %d", resp.StatusCode)
	}
	wg.Wait()
	t.Logf("REST: %d slow-body connections from one address: %d refused at once, %d cut off by the 1s read timeout, %d still open after 10s; all done in %v; another address served in %v",
		slow, refused.Load(), cut.Load(), open.Load(), time.Since(start).Round(10*time.Millisecond), otherLatency.Round(time.Millisecond))
	if refused.Load() != slow-perClient || cut.Load() != perClient || open.Load() != 0 {
		t.Errorf("want %d refused and %d cut off", slow-perClient, perClient)
	}
	if time.Since(start) > 8*time.Second {
		t.Errorf("slow connections took %v to be closed", time.Since(start))
	}
	// The slots are free again.
	if res := env.Do(t, http.MethodGet, "/v1/teams", ""); res.Status != http.StatusOK {
		t.Errorf("after the slow clients: %d", res.Status)
	}

	// gRPC: connections that never send the HTTP/2 preface.
	grpcAddr := env.Conn.Target()
	start = time.Now()
	var closedFast, closedLater, stillOpen atomic.Int64
	for range slow {
		wg.Go(func() {
			c, err := net.Dial("tcp", grpcAddr)
			if err != nil {
				closedFast.Add(1)
				return
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			t0 := time.Now()
			_, err = io.Copy(io.Discard, c)
			switch {
			case isTimeout(err):
				stillOpen.Add(1)
			case time.Since(t0) < 500*time.Millisecond:
				closedFast.Add(1)
			default:
				closedLater.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("gRPC: %d silent connections from one address: %d refused at once, %d closed by the handshake timeout, %d still open after 10s (%v)",
		slow, closedFast.Load(), closedLater.Load(), stillOpen.Load(), time.Since(start).Round(10*time.Millisecond))
	if stillOpen.Load() != 0 || closedFast.Load() < slow-perClient {
		t.Errorf("gRPC: want %d refused and none left open", slow-perClient)
	}
}

// slowBody sends a request whose body comes one byte every 200ms and says
// how it ended: "refused" (a 429 before the body), "cut" (the server
// closed it or answered before the body was in) or "open" after limit.
func slowBody(t *testing.T, addr string, limit time.Duration) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "refused"
	}
	defer c.Close()
	deadline := time.Now().Add(limit)
	_ = c.SetDeadline(deadline)
	fmt.Fprintf(c, "POST /v1/volunteers HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(offer))
	done := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		switch {
		case err == nil && resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
			done <- "refused"
		case isTimeout(err):
			done <- "open"
		default:
			done <- "cut"
		}
	}()
	for i := 0; i < len(offer); i++ {
		select {
		case r := <-done:
			return r
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := c.Write([]byte{offer[i]}); err != nil {
			break
		}
	}
	return <-done
}

func isTimeout(err error) bool {
	var ne net.Error
	return err != nil && errors.As(err, &ne) && ne.Timeout()
}
