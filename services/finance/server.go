// Package finance is the finance service: the double-entry ledger, donations,
// subscriptions, sponsorships, expenses, goals and reports. It owns the
// "finance" schema and must not import the other services.
package finance

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/groupcommit"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/memberref"
	"github.com/guildhall/guildhall/internal/roadmapref"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/finance/store"
)

// Options is what the finance service is built from.
type Options struct {
	DB  *pgxpool.Pool
	Log *zap.Logger
	Now service.Clock
	// Membership checks people and teams and receives activity reports.
	Membership membershipv1.MembershipServiceClient
	// Roadmap checks the roadmap items goals name.
	Roadmap roadmapv1.RoadmapServiceClient
	// DualApprovalAbove is the expense amount, in minor units, above which two approvers are needed.
	DualApprovalAbove int64
}

// Server implements financev1.FinanceServiceServer.
type Server struct {
	financev1.UnimplementedFinanceServiceServer
	db   *pgxpool.Pool
	q    *store.Queries
	log  *zap.Logger
	opts Options
	// accounts caches account id → currency for posting checks.
	accounts sync.Map
	// defaults caches default account ids by purpose and currency (defaults.go).
	defaults sync.Map
	// revealed holds the default accounts known to be public (defaults.go).
	revealed sync.Map
	// donationWriter shares statements and commits among concurrent donations.
	donationWriter *groupcommit.Batcher[donationWrite, bool]
	// moneyWriter shares transactions among the other money-moving writes (batch.go).
	moneyWriter *groupcommit.Batcher[moneyWrite, moneyResult]
	// members checks the people requests name.
	members *memberref.Checker
	// items checks the roadmap items goals name.
	items *roadmapref.Checker
}

// Donations are written by at most DonationWriters statements at a time, of
// at most maxDonationBatch donations each. Two writers let one statement run
// while the other commits; every donation arriving meanwhile joins the next
// batch. On two cores one and four writers did no better (bench/finance).
const (
	DonationWriters  = 2
	maxDonationBatch = 256
	// donationWriteTimeout bounds a batch, which no single caller can cancel.
	donationWriteTimeout = 30 * time.Second
)

// NewServer returns the finance service.
func NewServer(o Options) (*Server, error) {
	s := &Server{db: o.DB, q: store.New(), log: o.Log, opts: o, members: memberref.New(o.Membership), items: roadmapref.New(o.Roadmap)}
	s.donationWriter = groupcommit.New(DonationWriters, maxDonationBatch, donationWriteTimeout, s.writeDonations)
	s.moneyWriter = groupcommit.New(moneyWriters, maxMoneyBatch, moneyWriteTimeout, s.writeMoney)
	return s, nil
}

// Register implements app.Part.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	financev1.RegisterFinanceServiceServer(r, s)
}

// Jobs implements service.Part: announcing goals reached (the app drains
// the service's outbox: activity to membership, events to the events service).
func (s *Server) Jobs() []job.Job {
	return []job.Job{{Name: config.Finance + ".goals", Interval: time.Minute, Pass: s.announceReached}}
}

// now is the service clock.
func (s *Server) now() time.Time { return s.opts.Now.Now() }

// acted reports the caller's write as activity to membership, inside the
// write's transaction (see activity.Caller).
func (s *Server) acted(ctx context.Context, tx pgx.Tx) error {
	return activity.Caller(ctx, tx, "finance", s.now())
}

// transitioned runs inside the transaction of every expense, subscription
// and sponsorship state change, after the move is applied and recorded
// (lifecycle.Hook): what each transition owes others belongs here, once,
// such as the transition's domain event. The caller's activity is already
// reported by every finance write (acted, doTx).
func (s *Server) transitioned(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	return s.emitTransition(ctx, tx, c)
}
