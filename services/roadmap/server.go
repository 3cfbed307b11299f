// Package roadmap is the roadmap service: releases, roadmap items with their
// status timeline, and community decisions. It owns the "roadmap" schema and
// must not import the other services.
package roadmap

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/memberref"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

// Options is what the roadmap service is built from.
type Options struct {
	DB  *pgxpool.Pool
	Log *zap.Logger
	Now service.Clock
	// Membership checks people and teams and receives activity reports.
	Membership membershipv1.MembershipServiceClient
	// StaleAfter is how long an IN_PROGRESS item may go without a status update.
	StaleAfter time.Duration
	// Finance reads the goals that fund items, for their funded_percent
	// (nil: items are read without it).
	Finance financev1.FinanceServiceClient
}

// Server implements roadmapv1.RoadmapServiceServer.
type Server struct {
	roadmapv1.UnimplementedRoadmapServiceServer
	db   *pgxpool.Pool
	q    *store.Queries
	log  *zap.Logger
	opts Options
	// members checks the people and teams requests name.
	members *memberref.Checker
}

// NewServer returns the roadmap service.
func NewServer(o Options) (*Server, error) {
	return &Server{db: o.DB, q: store.New(), log: o.Log, opts: o, members: memberref.New(o.Membership)}, nil
}

// Register implements app.Part.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	roadmapv1.RegisterRoadmapServiceServer(r, s)
}

// transitioned runs inside the transaction of every release and proposal
// state change, after the move is applied and recorded (lifecycle.Hook):
// what each transition owes others belongs here, once, such as reporting
// the caller's activity and emitting the transition's domain event.
func (s *Server) transitioned(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	if err := s.acted(ctx, tx); err != nil {
		return err
	}
	return s.emitTransition(ctx, tx, c)
}

// Jobs implements service.Part: announcing items that went stale, and
// proposals that close soon or closed on time (the app
// drains the service's outbox: activity to membership, events to the
// events service).
func (s *Server) Jobs() []job.Job {
	return []job.Job{
		{Name: config.Roadmap + ".stale", Interval: time.Minute, Pass: s.announceStale},
		{Name: config.Roadmap + ".proposals", Interval: time.Minute, Pass: s.proposalsPass},
	}
}
