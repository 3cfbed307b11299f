// Package oidctest runs a real OpenID Connect provider on loopback for
// tests: github.com/zitadel/oidc's op package, serving discovery and JWKS on
// 127.0.0.1:0, with the library's example storage for its users and
// clients. Tokens are minted and signed by the provider library; keys can
// be rotated. For tests only.
package oidctest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// ClientID is the client (a frontend) tokens are issued to by default; it is
// the audience of its ID tokens.
const ClientID = "guildhall-board"

// Provider is a running OpenID Connect provider.
type Provider struct {
	// Issuer is its issuer URL, e.g. "http://127.0.0.1:41234".
	Issuer string

	st     *keyedStorage
	users  *users
	client *storage.Client
}

// Start runs a provider until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + lis.Addr().String()
	u := &users{m: map[string]*storage.User{}}
	client := storage.WebClient(ClientID, "secret", "http://127.0.0.1/callback")
	st := &keyedStorage{Storage: storage.NewStorageWithClients(u, map[string]*storage.Client{ClientID: client})}
	st.rotate()
	var key [32]byte
	_, _ = rand.Read(key[:])
	provider, err := op.NewOpenIDProvider(issuer, &op.Config{CryptoKey: key, CodeMethodS256: true, SupportedScopes: []string{"openid", "email", "profile"}},
		st, op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: provider, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	return &Provider{Issuer: issuer, st: st, users: u, client: client}
}

// AddUser adds an account with subject sub and an email (verified or not).
func (p *Provider) AddUser(sub, email string, verified bool) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.m[sub] = &storage.User{ID: sub, Username: sub, Email: email, EmailVerified: verified}
}

// IDToken has the provider mint an ID token for sub (scopes openid and
// email) with the given audience, valid for validity from now.
func (p *Provider) IDToken(t testing.TB, sub, audience string, validity time.Duration) string {
	t.Helper()
	req := &request{sub: sub, aud: []string{audience}, client: ClientID, scopes: []string{oidc.ScopeOpenID, oidc.ScopeEmail}}
	tok, err := op.CreateIDToken(context.Background(), p.Issuer, req, validity, "", "", p.st, p.client)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// AccessToken has the provider mint a JWT access token (RFC 9068) for sub
// with the given audience, valid for validity from now.
func (p *Provider) AccessToken(t testing.TB, sub, audience string, validity time.Duration) string {
	t.Helper()
	req := &request{sub: sub, aud: []string{audience}, client: ClientID, scopes: []string{oidc.ScopeOpenID}}
	tok, err := op.CreateJWT(context.Background(), p.Issuer, req, time.Now().Add(validity), uuid.NewString(), p.client, p.st)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// RotateKey makes a new signing key and withdraws the old one from the
// provider's JWKS: tokens it signed no longer verify.
func (p *Provider) RotateKey() { p.st.rotate() }

// Unsigned returns token with its header replaced by {"alg":"none"} and
// its signature removed: the classic forgery a verifier must refuse.
func Unsigned(t testing.TB, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	return base64.RawURLEncoding.EncodeToString(h) + "." + parts[1] + "."
}

// keyedStorage is the example storage with a signing key that rotates.
type keyedStorage struct {
	*storage.Storage
	mu  sync.Mutex
	key *signingKey
}

func (s *keyedStorage) rotate() {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = &signingKey{id: uuid.NewString(), key: k}
}

// SigningKey implements op.Storage.
func (s *keyedStorage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key, nil
}

// SignatureAlgorithms implements op.Storage.
func (s *keyedStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet implements op.Storage: only the current key is published.
func (s *keyedStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []op.Key{publicKey{s.key}}, nil
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (k publicKey) ID() string                         { return k.k.id }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.k.key.PublicKey }

// users is the example storage's UserStore, filled by the test.
type users struct {
	mu sync.Mutex
	m  map[string]*storage.User
}

func (u *users) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.m[id]
}

func (u *users) GetUserByUsername(name string) *storage.User { return u.GetUserByID(name) }
func (u *users) ExampleClientID() string                     { return ClientID }

// request is what the provider mints a token for.
type request struct {
	sub    string
	aud    []string
	client string
	scopes []string
}

func (r *request) GetAMR() []string       { return []string{"pwd"} }
func (r *request) GetAudience() []string  { return r.aud }
func (r *request) GetAuthTime() time.Time { return time.Now() }
func (r *request) GetClientID() string    { return r.client }
func (r *request) GetScopes() []string    { return r.scopes }
func (r *request) GetSubject() string     { return r.sub }
