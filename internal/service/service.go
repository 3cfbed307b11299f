// Package service is the shape every Guildhall service exports to the app:
// how to build it, its migrations, its seed and its background work. The app
// (package app, above the services) lists the descriptors and runs them; no
// platform package needs to know which services exist.
package service

import (
	"context"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/mail"
)

// Deps is what a service is built from. Everything is passed in; nothing is global.
type Deps struct {
	DB     *pgxpool.Pool
	Log    *zap.Logger
	Config *config.Config
	// Membership reaches the membership service, as a Guildhall service.
	Membership membershipv1.MembershipServiceClient
	// Roadmap reaches the roadmap service, as a Guildhall service.
	Roadmap roadmapv1.RoadmapServiceClient
	// Mail sends mail (SMTP, or the log without a relay), counted in the
	// app's metrics.
	Mail mail.Sender
	// Finance reaches the finance service, as a Guildhall service.
	Finance financev1.FinanceServiceClient
	// Now is the clock; tests move it.
	Now Clock
	// Metrics registers the service's own metrics on the process's /metrics.
	Metrics prometheus.Registerer
}

// Clock is a service's clock: every time-dependent read of a service goes
// through Now, and tests move it. The zero Clock is the system clock.
type Clock func() time.Time

// Now is the clock's time, in UTC.
func (c Clock) Now() time.Time {
	if c == nil {
		return time.Now().UTC()
	}
	return c().UTC()
}

// Part is a built service: it registers its gRPC API, declares who may call
// each of its methods (every registered method must have a rule, or the
// process refuses to start) and the background jobs it needs run (see
// package job; the app adds the platform's own, such as purging request ids
// and draining the outbox to membership and events).
type Part interface {
	Register(s grpc.ServiceRegistrar)
	Policy() auth.Policy
	Jobs() []job.Job
}

// Descriptor describes one service: its name (also its schema and its
// database's name in compose), its gRPC service name, its migrations, how to
// build it and how to seed it.
type Descriptor struct {
	Name       string
	GRPCName   string
	Migrations fs.FS
	Build      func(Deps) (Part, error)
	// SeedSME loads the SME Server demo data through the service's API; conn
	// carries an admin token.
	SeedSME func(ctx context.Context, conn grpc.ClientConnInterface) error
}
