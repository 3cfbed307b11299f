package membership

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/pgenum"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// tokenPrefix marks Guildhall secrets, so leaked ones are easy to scan for.
const tokenPrefix = "gh_"

// BootstrapAdmin is the person the bootstrap admin token belongs to.
const BootstrapAdmin = "admin"

// NewSecret returns a fresh bearer secret and the hash that is stored.
func NewSecret() (secret string, hash []byte) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	secret = tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return secret, hashSecret(secret)
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken makes a token for a person; the secret is returned once.
func (s *Server) CreateToken(ctx context.Context, req *membershipv1.CreateTokenRequest) (*membershipv1.CreateTokenResponse, error) {
	personID := resource.ID(people, req.GetParent())
	var expire *time.Time
	if t := req.GetToken().GetExpireTime(); t != nil {
		if err := t.CheckValid(); err != nil || !t.AsTime().After(s.now()) {
			return nil, apierr.InvalidField("token.expire_time", "must be a time in the future")
		}
		e := t.AsTime()
		expire = &e
	}
	secret, hash := NewSecret()
	var row store.Token
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		row, err = s.q.CreateToken(ctx, tx, store.CreateTokenParams{
			ID: resource.NewID(), PersonID: personID, DisplayName: req.GetToken().GetDisplayName(),
			SecretHash: hash, ExpireTime: expire,
		})
		if err != nil {
			return err
		}
		return s.touch(ctx, tx)
	})
	if resource.IsForeignKeyViolation(err) {
		return nil, apierr.NotFound(req.GetParent())
	}
	if err != nil {
		return nil, err
	}
	return &membershipv1.CreateTokenResponse{Token: tokenFromRow(row), Secret: secret}, nil
}

// ListTokens lists a person's tokens, newest first, without secrets.
func (s *Server) ListTokens(ctx context.Context, req *membershipv1.ListTokensRequest) (*membershipv1.ListTokensResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("tokens", req.GetParent()))
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListTokens(ctx, s.db, store.ListTokensParams{
		PersonID: resource.ID(people, req.GetParent()), Before: page.After(), PageSize: page.Limit(),
	})
	if err != nil {
		return nil, err
	}
	resp := &membershipv1.ListTokensResponse{}
	resp.Tokens, resp.NextPageToken = pagination.FinishAs(page, rows, func(r store.Token) string { return r.ID }, tokenFromRow)
	return resp, nil
}

// RevokeToken revokes a token; services stop accepting it once their
// authentication cache entry expires (auth.DefaultTTL).
func (s *Server) RevokeToken(ctx context.Context, req *membershipv1.RevokeTokenRequest) (*membershipv1.Token, error) {
	person, token := resource.SplitChild(req.GetName())
	var row store.Token
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if row, err = s.q.RevokeToken(ctx, tx, store.RevokeTokenParams{PersonID: person, ID: token, RevokeTime: ptr(s.now())}); err != nil {
			return err
		}
		return s.touch(ctx, tx)
	})
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return tokenFromRow(row), nil
}

// Authenticate turns a bearer secret into the person's principal.
func (s *Server) Authenticate(ctx context.Context, req *membershipv1.AuthenticateRequest) (*membershipv1.Principal, error) {
	if s.oidc != nil && auth.LooksLikeJWT(req.GetToken()) {
		return s.authenticateOIDC(ctx, req.GetToken())
	}
	row, err := s.q.TokenBySecret(ctx, s.db, store.TokenBySecretParams{SecretHash: hashSecret(req.GetToken()), At: s.now()})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apierr.Unauthenticated("unknown, expired or revoked token")
	}
	if err != nil {
		return nil, err
	}
	return s.principal(ctx, row.PersonID, row.Admin)
}

// GetCaller returns the caller's own principal.
func (s *Server) GetCaller(ctx context.Context, _ *membershipv1.GetCallerRequest) (*membershipv1.Principal, error) {
	return auth.From(ctx), nil
}

// principal gathers a person's teams, roles and permissions.
func (s *Server) principal(ctx context.Context, personID string, admin bool) (*membershipv1.Principal, error) {
	teams, err := s.q.PersonTeams(ctx, s.db, personID)
	if err != nil {
		return nil, err
	}
	p := &membershipv1.Principal{Person: resource.Name(people, personID), Admin: admin, Roles: map[string]membershipv1.Role{}}
	for _, t := range teams {
		team := resource.Name("teams", t.TeamID)
		p.Teams = append(p.Teams, team)
		p.Roles[team] = membershipv1.Role(pgenum.Number(membershipv1.Role_ROLE_UNSPECIFIED.Descriptor(), t.Role))
		p.Permissions = append(p.Permissions, t.Permissions...)
	}
	slices.Sort(p.Permissions)
	p.Permissions = slices.Compact(p.Permissions)
	return p, nil
}

// ensureBootstrapAdmin makes secret a valid token of the admin person.
func (s *Server) ensureBootstrapAdmin(ctx context.Context, secret string) error {
	return database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.q.UpsertBootstrapAdmin(ctx, tx, store.UpsertBootstrapAdminParams{ID: BootstrapAdmin, DisplayName: "Administrator"}); err != nil {
			return err
		}
		return s.q.UpsertBootstrapToken(ctx, tx, store.UpsertBootstrapTokenParams{
			ID: "bootstrap", PersonID: BootstrapAdmin, DisplayName: "bootstrap admin token", SecretHash: hashSecret(secret),
		})
	})
}

// CreateAdminToken makes an admin person (if needed) and a new token for
// them, for `guildhall token create --admin`.
func CreateAdminToken(ctx context.Context, s *Server, personID, label string) (string, error) {
	secret, hash := NewSecret()
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.q.UpsertBootstrapAdmin(ctx, tx, store.UpsertBootstrapAdminParams{ID: personID, DisplayName: "Administrator"}); err != nil {
			return err
		}
		_, err := s.q.CreateToken(ctx, tx, store.CreateTokenParams{ID: resource.NewID(), PersonID: personID, DisplayName: label, SecretHash: hash})
		return err
	})
	return secret, err
}

func tokenFromRow(r store.Token) *membershipv1.Token {
	return &membershipv1.Token{
		Name:        resource.Name(people, r.PersonID) + "/tokens/" + r.ID,
		DisplayName: r.DisplayName,
		ExpireTime:  convert.Timestamp(r.ExpireTime),
		RevokeTime:  convert.Timestamp(r.RevokeTime),
		CreateTime:  timestamppb.New(r.CreateTime),
		Session:     r.Session,
	}
}

func ptr[T any](v T) *T { return &v }
