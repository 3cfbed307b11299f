// Package membership is the membership service: people, teams and roles, and
// the authority on identity. It owns the "membership" schema and must not
// import the other services.
package membership

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/mail"
	"github.com/guildhall/guildhall/internal/roadmapref"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/membership/store"
)

// DriftPolicy sets how long people holding a role may be inactive before
// each drift stage (see drift.go).
type DriftPolicy struct {
	Window, NudgeGrace, EmeritusAfter time.Duration
}

// Options is what the membership service is built from.
type Options struct {
	DB  *pgxpool.Pool
	Log *zap.Logger
	Now service.Clock
	// BootstrapAdminToken, if set, is made a valid token of people/admin on start.
	BootstrapAdminToken    string
	Drift                  DriftPolicy
	VolunteerRatePerMinute int64
	// OIDC verifies OpenID Connect tokens; nil accepts none.
	OIDC *auth.OIDC
	// OptOut checks the tokens of one-click opt-out links in mail.
	OptOut *mail.OptOut
	// Roadmap checks the roadmap items positions name.
	Roadmap roadmapv1.RoadmapServiceClient
	// SignIn configures email sign-in links.
	SignIn SignIn
}

// Server implements membershipv1.MembershipServiceServer.
type Server struct {
	membershipv1.UnimplementedMembershipServiceServer
	db    *pgxpool.Pool
	q     *store.Queries
	log   *zap.Logger
	clock service.Clock
	drift DriftPolicy
	// offers rate-limits OfferHelp per client address.
	offers *rateLimiter
	oidc   *auth.OIDC
	optOut *mail.OptOut
	// items checks the roadmap items positions name.
	items  *roadmapref.Checker
	signin *signIn
}

// NewServer returns the membership service, having made the bootstrap admin
// token valid if one is configured.
func NewServer(o Options) (*Server, error) {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	s := &Server{db: o.DB, q: store.New(), log: o.Log, clock: o.Now, drift: o.Drift, offers: newRateLimiter(o.VolunteerRatePerMinute), oidc: o.OIDC, optOut: o.OptOut,
		items: roadmapref.New(o.Roadmap), signin: newSignIn(o.SignIn)}
	if o.BootstrapAdminToken != "" {
		if err := s.ensureBootstrapAdmin(context.Background(), o.BootstrapAdminToken); err != nil {
			return nil, fmt.Errorf("bootstrap admin token: %w", err)
		}
	}
	return s, nil
}

// Register implements app.Part.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	membershipv1.RegisterMembershipServiceServer(r, s)
}

// transitioned runs inside the transaction of every volunteer offer's state
// change, after the move is applied and recorded (lifecycle.Hook): what each
// transition owes others belongs here, once, such as counting the caller's
// own write as activity and emitting the transition's domain event.
func (s *Server) transitioned(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	if err := s.touch(ctx, tx); err != nil {
		return err
	}
	return s.emitTransition(ctx, tx, c)
}

// now is the service clock, in UTC; everything time-dependent reads it.
func (s *Server) now() time.Time { return s.clock.Now() }
