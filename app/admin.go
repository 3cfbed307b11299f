package app

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/services/membership"
)

// CreateAdminToken makes a new token for an admin person (created if
// missing) straight in the membership database, for bootstrapping.
func CreateAdminToken(ctx context.Context, cfg *config.Config, log *zap.Logger, person, label string) (string, error) {
	if err := Migrate(ctx, cfg, log, []string{config.Membership}); err != nil {
		return "", err
	}
	pool, err := database.Open(ctx, cfg.Service[config.Membership].DatabaseURL, config.Membership)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	s, err := membership.NewServer(membership.Options{DB: pool, Log: log, Now: time.Now})
	if err != nil {
		return "", err
	}
	return membership.CreateAdminToken(ctx, s, person, label)
}

// Seed loads a demo data set through the services' gRPC APIs as an admin,
// membership first since the others refer to its people and teams. Seeding
// is idempotent, so it is safe to run against a database that has it already.
func Seed(ctx context.Context, set string, targets map[string]string, token string) error {
	if set != "sme" {
		return fmt.Errorf("unknown data set %q: want sme", set)
	}
	for _, svc := range Services() {
		if svc.SeedSME == nil {
			continue
		}
		conn, err := Dial(targets[svc.Name], grpc.WithPerRPCCredentials(auth.TokenCredentials(token)))
		if err != nil {
			return err
		}
		err = svc.SeedSME(ctx, conn)
		_ = conn.Close()
		if err != nil {
			return fmt.Errorf("seed %s: %w", svc.Name, err)
		}
	}
	return nil
}
