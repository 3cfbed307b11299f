package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/guildhall/guildhall/internal/apierr"
)

// Issuer is an OpenID Connect provider whose tokens Guildhall accepts, and
// the audience (`aud`) its tokens must carry for Guildhall: the client id
// of the frontend for ID tokens, or the API's resource id for JWT access
// tokens (RFC 9068).
type Issuer struct {
	URL      string
	Audience string
}

// SigningAlgs is the algorithm allow-list for OpenID Connect tokens: the
// asymmetric JWS algorithms (RFC 7518, RFC 8037). `none` and the HMAC
// algorithms (whose key would be a secret shared with the provider) are
// refused.
var SigningAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// OIDCOptions configures the verification of OpenID Connect tokens.
type OIDCOptions struct {
	Issuers []Issuer
	// Leeway is the clock skew allowed past a token's expiry (default 30s).
	Leeway time.Duration
	// KeyRefresh is how long fetched signing keys (JWKS) are trusted before
	// they are fetched again (default 10m). A token signed by a key not in
	// the set fetches it at once (OpenID Connect Core §10.1), so a new key
	// works from its first token; a key the provider removed stops working
	// at the next fetch, at the latest after KeyRefresh.
	KeyRefresh time.Duration
	// Now is the clock (time.Now outside tests).
	Now func() time.Time
	// HTTPClient fetches discovery documents and keys (default: 10s timeout).
	HTTPClient *http.Client
}

// OIDC verifies ID tokens and JWT access tokens of the configured issuers
// with github.com/coreos/go-oidc: discovery, the issuer's JWKS, signature
// with an allowed algorithm, `iss`, `aud` and `exp` (with leeway).
type OIDC struct {
	opts    OIDCOptions
	issuers map[string]*issuerVerifier
}

// Identity is who a verified token says the caller is.
type Identity struct {
	Issuer, Subject string
	// Email is the `email` claim; EmailVerified its `email_verified`.
	Email         string
	EmailVerified bool
}

// NewOIDC returns a verifier, or nil when no issuer is configured. It
// contacts no provider: discovery happens on the first token of each
// issuer, and is retried while it fails.
func NewOIDC(o OIDCOptions) *OIDC {
	if len(o.Issuers) == 0 {
		return nil
	}
	if o.Leeway <= 0 {
		o.Leeway = 30 * time.Second
	}
	if o.KeyRefresh <= 0 {
		o.KeyRefresh = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	v := &OIDC{opts: o, issuers: map[string]*issuerVerifier{}}
	for _, iss := range o.Issuers {
		v.issuers[iss.URL] = &issuerVerifier{issuer: iss, o: &v.opts}
	}
	return v
}

// Accepts reports whether tokens of issuer (an `iss` value) are accepted.
func (v *OIDC) Accepts(issuer string) bool {
	if v == nil {
		return false
	}
	_, ok := v.issuers[issuer]
	return ok
}

// LooksLikeJWT tells a compact JWS (three base64url parts) from a Guildhall
// token, which has no dots.
func LooksLikeJWT(token string) bool { return strings.Count(token, ".") == 2 }

// Verify checks raw and returns its identity; UNAUTHENTICATED for a token
// that fails any check, UNAVAILABLE when the issuer's discovery document
// cannot be fetched.
func (v *OIDC) Verify(ctx context.Context, raw string) (Identity, error) {
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return Identity{}, apierr.Unauthenticated("malformed OpenID Connect token")
	}
	iv, ok := v.issuers[iss]
	if !ok {
		return Identity{}, apierr.Unauthenticated("tokens of this issuer are not accepted")
	}
	verifier, err := iv.verifier(ctx)
	if err != nil {
		return Identity{}, apierr.Unavailable("cannot reach the OpenID Connect issuer " + iss)
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, apierr.Unauthenticated("invalid OpenID Connect token: " + err.Error())
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, apierr.Unauthenticated("invalid OpenID Connect token claims")
	}
	if tok.Subject == "" {
		return Identity{}, apierr.Unauthenticated("OpenID Connect token without a subject")
	}
	return Identity{
		Issuer: tok.Issuer, Subject: tok.Subject, Email: claims.Email,
		// Some providers (AWS Cognito, older Azure) send the string "true".
		EmailVerified: claims.EmailVerified == true || claims.EmailVerified == "true",
	}, nil
}

// unverifiedIssuer reads `iss` from the payload, only to pick the verifier;
// the verifier checks it again against the signed token.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	return c.Iss, nil
}

// issuerVerifier is one issuer's discovery result and key set, renewed
// every KeyRefresh.
type issuerVerifier struct {
	issuer Issuer
	o      *OIDCOptions

	mu       sync.Mutex
	jwksURL  string
	current  *oidc.IDTokenVerifier
	fetched  time.Time
	failedAt time.Time
}

// retryDiscovery spaces discovery attempts of an issuer that is down.
const retryDiscovery = 5 * time.Second

func (iv *issuerVerifier) verifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	now := iv.o.Now()
	if iv.current != nil && now.Sub(iv.fetched) < iv.o.KeyRefresh && !now.Before(iv.fetched) {
		return iv.current, nil
	}
	// The key set lives as long as this verifier, not the request.
	bg := oidc.ClientContext(context.WithoutCancel(ctx), iv.o.HTTPClient)
	if iv.jwksURL == "" {
		if !iv.failedAt.IsZero() && now.Sub(iv.failedAt) < retryDiscovery && !now.Before(iv.failedAt) {
			return nil, errors.New("discovery failed recently")
		}
		p, err := oidc.NewProvider(bg, iv.issuer.URL)
		if err != nil {
			iv.failedAt = now
			return nil, err
		}
		var meta struct {
			JWKSURL string `json:"jwks_uri"`
		}
		if err := p.Claims(&meta); err != nil || meta.JWKSURL == "" {
			iv.failedAt = now
			return nil, errors.New("discovery document without jwks_uri")
		}
		iv.jwksURL = meta.JWKSURL
	}
	leeway, clock := iv.o.Leeway, iv.o.Now
	iv.current = oidc.NewVerifier(iv.issuer.URL, oidc.NewRemoteKeySet(bg, iv.jwksURL), &oidc.Config{
		ClientID:             iv.issuer.Audience,
		SupportedSigningAlgs: SigningAlgs,
		// A token is refused once exp + leeway has passed.
		Now: func() time.Time { return clock().Add(-leeway) },
	})
	iv.fetched = now
	return iv.current, nil
}
