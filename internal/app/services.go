// Package app wires Guildhall's parts into runnable processes: every service
// and the gateway in one process (dev), or one part per process (serve). It
// is the only package that knows all services.
package app

import (
	"context"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/services/finance"
	financemigrations "github.com/guildhall/guildhall/services/finance/migrations"
	"github.com/guildhall/guildhall/services/membership"
	membershipmigrations "github.com/guildhall/guildhall/services/membership/migrations"
	"github.com/guildhall/guildhall/services/roadmap"
	roadmapmigrations "github.com/guildhall/guildhall/services/roadmap/migrations"
)

// Deps is what a service is built from. Everything is passed in; nothing is global.
type Deps struct {
	DB     *pgxpool.Pool
	Log    *zap.Logger
	Config *config.Config
	// Membership reaches the membership service, as a Guildhall service.
	Membership membershipv1.MembershipServiceClient
	// Now is the clock; tests move it.
	Now func() time.Time
}

// Part is a built service: it registers its gRPC API and declares who may call it.
type Part interface {
	Register(s grpc.ServiceRegistrar)
	Policy() auth.Policy
}

// Background is implemented by parts with work to do between requests, such
// as draining an outbox; Run returns when ctx ends.
type Background interface {
	Run(ctx context.Context)
}

// Service describes one service: its name (also its schema), its gRPC name,
// its migrations and how to build it.
type Service struct {
	Name       string
	GRPCName   string
	Migrations fs.FS
	Build      func(Deps) (Part, error)
	// SeedSME loads the SME Server demo data through the service's API; conn
	// carries an admin token.
	SeedSME func(ctx context.Context, conn grpc.ClientConnInterface) error
}

// Services returns every service, membership first.
func Services() []Service {
	return []Service{
		{
			Name: config.Membership, GRPCName: membershipv1.MembershipService_ServiceDesc.ServiceName,
			Migrations: membershipmigrations.FS,
			Build: func(d Deps) (Part, error) {
				return membership.NewServer(membership.Options{
					DB: d.DB, Log: d.Log, Now: d.Now,
					BootstrapAdminToken: d.Config.BootstrapAdminToken,
					Drift: membership.DriftPolicy{
						Window: d.Config.DriftWindow, NudgeGrace: d.Config.DriftNudgeGrace, EmeritusAfter: d.Config.DriftEmeritusAfter,
					},
					VolunteerRatePerMinute: d.Config.VolunteerRatePerMinute,
				})
			},
			SeedSME: membership.SeedSME,
		},
		{
			Name: config.Roadmap, GRPCName: roadmapv1.RoadmapService_ServiceDesc.ServiceName,
			Migrations: roadmapmigrations.FS,
			Build: func(d Deps) (Part, error) {
				return roadmap.NewServer(roadmap.Options{
					DB: d.DB, Log: d.Log, Now: d.Now, Membership: d.Membership, StaleAfter: d.Config.StaleAfter,
				})
			},
			SeedSME: roadmap.SeedSME,
		},
		{
			Name: config.Finance, GRPCName: financev1.FinanceService_ServiceDesc.ServiceName,
			Migrations: financemigrations.FS,
			Build: func(d Deps) (Part, error) {
				return finance.NewServer(finance.Options{
					DB: d.DB, Log: d.Log, Now: d.Now, Membership: d.Membership, DualApprovalAbove: d.Config.DualApprovalAbove,
				})
			},
			SeedSME: finance.SeedSME,
		},
	}
}

// Lookup returns the named service.
func Lookup(name string) (Service, bool) {
	for _, s := range Services() {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}
