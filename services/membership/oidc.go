package membership

import (
	"context"
	"errors"
	"net/url"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/membership/store"
)

// Identity link origins (identities.origin).
const (
	originEmail = "email"
	originAdmin = "admin"
)

// authenticateOIDC verifies an OpenID Connect token and maps its identity to
// a person: by a stored link, else by a verified email that belongs to
// exactly one person (the link is then stored, so a later change of email at
// the provider does not move it). Anyone else is a guest: a principal with
// the identity and no person.
func (s *Server) authenticateOIDC(ctx context.Context, token string) (*membershipv1.Principal, error) {
	id, err := s.oidc.Verify(ctx, token)
	if err != nil {
		s.log.Debug("OpenID Connect token refused", zap.Error(err))
		return nil, err
	}
	row, err := s.q.PersonByIdentity(ctx, s.db, store.PersonByIdentityParams{Issuer: id.Issuer, Subject: id.Subject})
	if errors.Is(err, pgx.ErrNoRows) && id.EmailVerified && id.Email != "" {
		row, err = s.linkByEmail(ctx, id)
	}
	var p *membershipv1.Principal
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		p = &membershipv1.Principal{}
	case err != nil:
		return nil, err
	default:
		if p, err = s.principal(ctx, row.PersonID, row.Admin); err != nil {
			return nil, err
		}
	}
	p.Issuer, p.Subject = id.Issuer, id.Subject
	return p, nil
}

// linkByEmail links id to the one person whose email it verified;
// pgx.ErrNoRows when no person, or more than one, has that email.
func (s *Server) linkByEmail(ctx context.Context, id auth.Identity) (store.PersonByIdentityRow, error) {
	matches, err := s.q.PeopleByVerifiedEmail(ctx, s.db, id.Email)
	if err != nil {
		return store.PersonByIdentityRow{}, err
	}
	if len(matches) != 1 {
		return store.PersonByIdentityRow{}, pgx.ErrNoRows
	}
	err = database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		_, err := s.q.CreateIdentity(ctx, tx, store.CreateIdentityParams{
			ID: resource.NewID(), PersonID: matches[0].ID, Issuer: id.Issuer, Subject: id.Subject,
			Origin: originEmail, CreateTime: s.now(),
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // linked meanwhile by a concurrent first sign-in
		}
		return err
	})
	if err != nil {
		return store.PersonByIdentityRow{}, err
	}
	s.log.Info("identity linked by verified email", zap.String("person", resource.Name(people, matches[0].ID)), zap.String("issuer", id.Issuer))
	return s.q.PersonByIdentity(ctx, s.db, store.PersonByIdentityParams{Issuer: id.Issuer, Subject: id.Subject})
}

// CreateIdentity links an identity to a person (admins).
func (s *Server) CreateIdentity(ctx context.Context, req *membershipv1.CreateIdentityRequest) (*membershipv1.Identity, error) {
	in := req.GetIdentity()
	if err := resource.Required("identity", map[string]bool{"issuer": in.GetIssuer() != "", "subject": in.GetSubject() != ""}); err != nil {
		return nil, err
	}
	if u, err := url.Parse(in.GetIssuer()); err != nil || u.Host == "" {
		return nil, apierr.InvalidField("identity.issuer", "must be an issuer URL, e.g. https://accounts.google.com")
	}
	if !s.oidc.Accepts(in.GetIssuer()) {
		return nil, apierr.InvalidField("identity.issuer", "is not a configured issuer (GUILDHALL_OIDC_ISSUERS)")
	}
	personID := resource.ID(people, req.GetParent())
	var row store.Identity
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		row, err = s.q.CreateIdentity(ctx, tx, store.CreateIdentityParams{
			ID: resource.NewID(), PersonID: personID, Issuer: in.GetIssuer(), Subject: in.GetSubject(),
			Origin: originAdmin, CreateTime: s.now(),
		})
		if err != nil {
			return err
		}
		return s.touch(ctx, tx)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, apierr.AlreadyExists("this identity is already linked to a person")
	case resource.IsForeignKeyViolation(err):
		return nil, apierr.NotFound(req.GetParent())
	case err != nil:
		return nil, err
	}
	return identityFromRow(row), nil
}

// ListIdentities lists a person's linked identities, newest first.
func (s *Server) ListIdentities(ctx context.Context, req *membershipv1.ListIdentitiesRequest) (*membershipv1.ListIdentitiesResponse, error) {
	page, err := pagination.Start(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint("identities", req.GetParent()))
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListIdentities(ctx, s.db, store.ListIdentitiesParams{
		PersonID: resource.ID(people, req.GetParent()), Before: page.After(), PageSize: page.Limit(),
	})
	if err != nil {
		return nil, err
	}
	resp := &membershipv1.ListIdentitiesResponse{}
	resp.Identities, resp.NextPageToken = pagination.FinishAs(page, rows, func(r store.Identity) string { return r.ID }, identityFromRow)
	return resp, nil
}

// DeleteIdentity unlinks an identity; services stop mapping it to the
// person once their authentication cache entry expires (auth.DefaultTTL).
func (s *Server) DeleteIdentity(ctx context.Context, req *membershipv1.DeleteIdentityRequest) (*emptypb.Empty, error) {
	person, id := resource.SplitChild(req.GetName())
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		n, err := s.q.DeleteIdentity(ctx, tx, store.DeleteIdentityParams{PersonID: person, ID: id})
		if err != nil {
			return err
		}
		if n == 0 {
			return pgx.ErrNoRows
		}
		return s.touch(ctx, tx)
	})
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return &emptypb.Empty{}, nil
}

func identityFromRow(r store.Identity) *membershipv1.Identity {
	return &membershipv1.Identity{
		Name:       resource.Name(people, r.PersonID) + "/identities/" + r.ID,
		Issuer:     r.Issuer,
		Subject:    r.Subject,
		Origin:     r.Origin,
		CreateTime: timestamppb.New(r.CreateTime),
	}
}
