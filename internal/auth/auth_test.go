package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
)

// counting is an Authenticator that counts its calls.
type counting struct {
	calls atomic.Int32
	fn    func(token string) (*auth.Principal, error)
}

func (c *counting) Authenticate(_ context.Context, token string) (*auth.Principal, error) {
	c.calls.Add(1)
	return c.fn(token)
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestCacheSparesRoundTrips(t *testing.T) {
	upstream := &counting{fn: func(token string) (*auth.Principal, error) {
		switch token {
		case "good":
			return &auth.Principal{Person: "people/jcrisp"}, nil
		case "down":
			return nil, apierr.Unavailable("membership is down")
		}
		return nil, apierr.Unauthenticated("unknown token")
	}}
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c := auth.NewCache(upstream, 10*time.Second, clk.Now)
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			if p, err := c.Authenticate(ctx, "good"); err != nil || p.GetPerson() != "people/jcrisp" {
				t.Errorf("good token: %v %v", p, err)
			}
		})
	}
	wg.Wait()
	if n := upstream.calls.Load(); n != 1 {
		t.Fatalf("100 lookups of one token made %d upstream calls, want 1", n)
	}

	clk.Advance(11 * time.Second)
	if _, err := c.Authenticate(ctx, "good"); err != nil {
		t.Fatal(err)
	}
	if n := upstream.calls.Load(); n != 2 {
		t.Fatalf("after the TTL: %d upstream calls, want 2", n)
	}

	// Refusals are remembered too, so guessing costs the upstream nothing extra.
	for range 5 {
		if _, err := c.Authenticate(ctx, "bad"); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("bad token: %v", err)
		}
	}
	if n := upstream.calls.Load(); n != 3 {
		t.Fatalf("5 lookups of a bad token: %d upstream calls in all, want 3", n)
	}

	// An outage is not remembered: the next call asks again.
	for range 3 {
		if _, err := c.Authenticate(ctx, "down"); status.Code(err) != codes.Unavailable {
			t.Fatalf("down: %v", err)
		}
	}
	if n := upstream.calls.Load(); n != 6 {
		t.Fatalf("3 lookups during an outage: %d upstream calls in all, want 6", n)
	}
}

func TestInternalTokenIsLocal(t *testing.T) {
	upstream := &counting{fn: func(string) (*auth.Principal, error) { return nil, errors.New("must not be called") }}
	i := auth.NewInternal("s3cret", upstream)
	p, err := i.Authenticate(context.Background(), "s3cret")
	if err != nil || p.GetService() == "" {
		t.Fatalf("internal token: %v %v", p, err)
	}
	if _, err := i.Authenticate(context.Background(), "s3cre"); err == nil || upstream.calls.Load() != 1 {
		t.Fatalf("other tokens must go upstream: %v, %d calls", err, upstream.calls.Load())
	}
	if _, err := auth.NewInternal("", upstream).Authenticate(context.Background(), ""); err == nil {
		t.Fatal("an empty internal token must recognise nothing")
	}
}

func TestInterceptorEnforcesPolicy(t *testing.T) {
	people := map[string]*auth.Principal{
		"member":  {Person: "people/m", Teams: []string{"teams/docs"}, Roles: map[string]membershipv1.Role{"teams/docs": membershipv1.Role_ROLE_MEMBER}},
		"lead":    {Person: "people/l", Roles: map[string]membershipv1.Role{"teams/docs": membershipv1.Role_ROLE_LEAD}},
		"finance": {Person: "people/f", Permissions: []string{"finance.record"}},
		"admin":   {Person: "people/a", Admin: true},
	}
	authn := &counting{fn: func(token string) (*auth.Principal, error) {
		if p, ok := people[token]; ok {
			return p, nil
		}
		return nil, apierr.Unauthenticated("unknown token")
	}}
	policy := auth.Policy{
		"/svc/Public":     auth.Public(),
		"/svc/Person":     auth.Person(),
		"/svc/Record":     auth.Permission("finance.record"),
		"/svc/Admin":      auth.Admin(),
		"/svc/LeadOfDocs": auth.Admin().Or("docs lead", auth.LeadOf(func(context.Context, string) (string, error) { return "teams/docs", nil })),
	}
	icpt := auth.UnaryServerInterceptor(policy, authn)
	call := func(method, token string) codes.Code {
		ctx := context.Background()
		if token != "" {
			ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", "Bearer "+token))
		}
		_, err := icpt(ctx, "request", &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, _ any) (any, error) {
			return auth.From(ctx).GetPerson(), nil
		})
		return status.Code(err)
	}
	const ok, unauth, denied = codes.OK, codes.Unauthenticated, codes.PermissionDenied
	cases := []struct {
		method string
		want   map[string]codes.Code // by caller; "" is anonymous
	}{
		{"/svc/Public", map[string]codes.Code{"": ok, "member": ok, "admin": ok, "forged": unauth}},
		{"/svc/Person", map[string]codes.Code{"": unauth, "member": ok, "finance": ok}},
		{"/svc/Record", map[string]codes.Code{"": unauth, "member": denied, "lead": denied, "finance": ok, "admin": ok}},
		{"/svc/Admin", map[string]codes.Code{"": unauth, "member": denied, "finance": denied, "admin": ok}},
		{"/svc/LeadOfDocs", map[string]codes.Code{"": unauth, "member": denied, "lead": ok, "admin": ok}},
		{"/svc/Undeclared", map[string]codes.Code{"": denied, "admin": denied}},
		{"/grpc.health.v1.Health/Check", map[string]codes.Code{"": ok}},
	}
	for _, c := range cases {
		for who, want := range c.want {
			if got := call(c.method, who); got != want {
				t.Errorf("%s as %q: %v, want %v", c.method, who, got, want)
			}
		}
	}

	// A malformed header is refused, not treated as anonymous.
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Basic abc"))
	_, err := icpt(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/svc/Public"}, func(context.Context, any) (any, error) { return nil, nil })
	if status.Code(err) != unauth {
		t.Errorf("Basic auth header: %v", err)
	}
}
