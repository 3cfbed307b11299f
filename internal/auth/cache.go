package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
)

// DefaultTTL bounds how long a revoked token keeps working: well inside the
// promised 30 seconds, while sparing the membership service a call per request.
const DefaultTTL = 10 * time.Second

// Cache remembers answers of an Authenticator for a while, including
// refusals, so a hit costs no round-trip. Concurrent misses for one token
// share one call. Failures to reach the authenticator are not remembered.
type Cache struct {
	next  Authenticator
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu      sync.Mutex
	entries map[[32]byte]entry
}

type entry struct {
	p       *Principal
	err     error
	expires time.Time
}

const maxEntries = 10000

// NewCache wraps next; now is the clock (time.Now outside tests).
func NewCache(next Authenticator, ttl time.Duration, now func() time.Time) *Cache {
	return &Cache{next: next, ttl: ttl, now: now, entries: map[[32]byte]entry{}}
}

// Authenticate implements Authenticator.
func (c *Cache) Authenticate(ctx context.Context, token string) (*Principal, error) {
	key := sha256.Sum256([]byte(token))
	if e, ok := c.cached(key); ok {
		return e.p, e.err
	}
	v, err, _ := c.group.Do(string(key[:]), func() (any, error) {
		// A call that finished between our miss and this one has filled
		// the entry: use it rather than asking again.
		if e, ok := c.cached(key); ok {
			return e.p, e.err
		}
		p, err := c.next.Authenticate(context.WithoutCancel(ctx), token)
		var ae *apierr.Error
		if err == nil || (errors.As(err, &ae) && ae.Code == codes.Unauthenticated) {
			c.mu.Lock()
			if len(c.entries) >= maxEntries {
				clear(c.entries)
			}
			c.entries[key] = entry{p: p, err: err, expires: c.now().Add(c.ttl)}
			c.mu.Unlock()
		}
		return p, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*Principal), nil
}

// cached returns the unexpired entry for key.
func (c *Cache) cached(key [32]byte) (entry, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	return e, ok && c.now().Before(e.expires)
}

// Remote authenticates through the membership service.
type Remote struct {
	client membershipv1.MembershipServiceClient
}

// NewRemote returns an Authenticator that asks membership.
func NewRemote(client membershipv1.MembershipServiceClient) *Remote {
	return &Remote{client: client}
}

// Authenticate implements Authenticator.
func (r *Remote) Authenticate(ctx context.Context, token string) (*Principal, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, err := r.client.Authenticate(ctx, &membershipv1.AuthenticateRequest{Token: token})
	if err == nil {
		return p, nil
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.InvalidArgument:
		return nil, apierr.Unauthenticated("unknown, expired or revoked token")
	default:
		return nil, apierr.Unavailable("cannot check the token now: the membership service is unavailable")
	}
}

// TokenCredentials attaches a fixed bearer token to outgoing calls; services
// use it with the internal token to call each other.
type TokenCredentials string

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t TokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	kv := t.Metadata()
	return map[string]string{kv[0]: kv[1]}, nil
}

// Metadata is the outgoing metadata GetRequestMetadata adds, as key-value
// pairs (metadata.AppendToOutgoingContext), for channels that take no
// PerRPCCredentials, such as an in-process one.
func (t TokenCredentials) Metadata() []string {
	return []string{"authorization", "Bearer " + string(t)}
}

// RequireTransportSecurity implements credentials.PerRPCCredentials; the
// services talk over a private network.
func (TokenCredentials) RequireTransportSecurity() bool { return false }

// servicePrincipal is who Guildhall's own services are when they call each other.
var servicePrincipal = &Principal{Service: "guildhall"}

// Internal recognises the services' shared internal token locally, without
// asking anyone (which also keeps the membership service from asking itself),
// and passes every other token to next.
type Internal struct {
	secret string
	next   Authenticator
}

// NewInternal wraps next; an empty secret recognises nothing.
func NewInternal(secret string, next Authenticator) *Internal {
	return &Internal{secret: secret, next: next}
}

// Authenticate implements Authenticator.
func (i *Internal) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if i.secret != "" && subtle.ConstantTimeCompare([]byte(token), []byte(i.secret)) == 1 {
		return servicePrincipal, nil
	}
	return i.next.Authenticate(ctx, token)
}
