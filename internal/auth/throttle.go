package auth

import (
	"context"
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/clientip"
)

// Throttle slows down token guessing: each client address (internal/clientip)
// has an allowance of failed token checks (perMinute at once, refilled at
// perMinute a minute). A failure spends one; while none is left, every call
// that presents a token, and every Authenticate or CompleteSignIn call
// (which check a token or a sign-in code in their body), is refused with
// RESOURCE_EXHAUSTED (REST 429) and RetryInfo saying when one is back.
// Calls without a token, and services calling with the internal token,
// are never throttled.
type Throttle struct {
	perMinute int
	now       func() time.Time

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

// NewThrottle returns a throttle; perMinute <= 0 turns it off (nil).
func NewThrottle(perMinute int64, now func() time.Time) *Throttle {
	if perMinute <= 0 {
		return nil
	}
	return &Throttle{perMinute: int(min(perMinute, math.MaxInt32)), now: now, clients: map[string]*rate.Limiter{}}
}

// maxClients bounds the memory of the throttle; clients with a full
// allowance are forgotten first.
const maxClients = 50000

func (t *Throttle) limiter(client string) *rate.Limiter {
	l, ok := t.clients[client]
	if !ok {
		if len(t.clients) >= maxClients {
			now := t.now()
			for k, v := range t.clients {
				if v.TokensAt(now) >= float64(t.perMinute) {
					delete(t.clients, k)
				}
			}
			if len(t.clients) >= maxClients {
				clear(t.clients)
			}
		}
		l = rate.NewLimiter(rate.Limit(float64(t.perMinute)/60), t.perMinute)
		t.clients[client] = l
	}
	return l
}

// check refuses the client while its allowance is spent.
func (t *Throttle) check(ctx context.Context) error {
	if t == nil {
		return nil
	}
	client := clientip.From(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.limiter(client)
	tokens := l.TokensAt(t.now())
	if tokens >= 1 {
		return nil
	}
	wait := time.Duration((1 - tokens) / float64(l.Limit()) * float64(time.Second))
	return apierr.RateLimited("too many failed sign-in attempts from this address; try again later",
		max(wait.Round(time.Second), time.Second))
}

// fail spends one of the client's allowance.
func (t *Throttle) fail(ctx context.Context) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limiter(clientip.From(ctx)).AllowN(t.now(), 1)
}

// Option adjusts the interceptors.
type Option func(*options)

type options struct{ throttle *Throttle }

// WithThrottle throttles failed token checks per client.
func WithThrottle(t *Throttle) Option { return func(o *options) { o.throttle = t } }

// guessMethods check a secret given in the request body (a token, a
// sign-in code): their refusals count as failed checks.
var guessMethods = map[string]bool{
	membershipv1.MembershipService_Authenticate_FullMethodName:   true,
	membershipv1.MembershipService_CompleteSignIn_FullMethodName: true,
}

// unauthenticated reports whether err is a refused token.
func unauthenticated(err error) bool {
	var ae *apierr.Error
	return errors.As(err, &ae) && ae.Code == codes.Unauthenticated
}
