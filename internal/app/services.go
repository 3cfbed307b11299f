// Package app wires Guildhall's parts into runnable processes: every service
// and the gateway in one process (dev), or one part per process (serve). It
// is the only package that knows all services.
package app

import (
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/services/finance"
	financemigrations "github.com/guildhall/guildhall/services/finance/migrations"
	"github.com/guildhall/guildhall/services/membership"
	membershipmigrations "github.com/guildhall/guildhall/services/membership/migrations"
	"github.com/guildhall/guildhall/services/roadmap"
	roadmapmigrations "github.com/guildhall/guildhall/services/roadmap/migrations"
)

// Service describes one service: its name (also its schema), its
// migrations, its gRPC name and how to register it.
type Service struct {
	Name       string
	GRPCName   string
	Migrations fs.FS
	Register   func(s *grpc.Server, db *pgxpool.Pool, log *zap.Logger)
}

// Services returns every service, membership first.
func Services() []Service {
	return []Service{
		{
			Name: config.Membership, GRPCName: membershipv1.MembershipService_ServiceDesc.ServiceName,
			Migrations: membershipmigrations.FS,
			Register: func(s *grpc.Server, db *pgxpool.Pool, log *zap.Logger) {
				membershipv1.RegisterMembershipServiceServer(s, membership.NewServer(db, log))
			},
		},
		{
			Name: config.Roadmap, GRPCName: roadmapv1.RoadmapService_ServiceDesc.ServiceName,
			Migrations: roadmapmigrations.FS,
			Register: func(s *grpc.Server, db *pgxpool.Pool, log *zap.Logger) {
				roadmapv1.RegisterRoadmapServiceServer(s, roadmap.NewServer(db, log))
			},
		},
		{
			Name: config.Finance, GRPCName: financev1.FinanceService_ServiceDesc.ServiceName,
			Migrations: financemigrations.FS,
			Register: func(s *grpc.Server, db *pgxpool.Pool, log *zap.Logger) {
				financev1.RegisterFinanceServiceServer(s, finance.NewServer(db, log))
			},
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
