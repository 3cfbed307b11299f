package app

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/guildhall/guildhall/internal/actas"
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
// membership first since the others refer to its people and teams. The
// seeds record what people do (status updates, proposals, expenses) as
// those people, through tokens that are revoked when seeding ends (package
// actas). Seeding is idempotent, so it is safe to run against a database
// that has it already; a step that fails stops it with an error naming the
// step.
func Seed(ctx context.Context, set string, targets map[string]string, token string) (err error) {
	if set != "sme" {
		return fmt.Errorf("unknown data set %q: want sme", set)
	}
	services := map[string]grpc.ClientConnInterface{}
	for _, svc := range config.Services {
		conn, err := Dial(targets[svc])
		if err != nil {
			return err
		}
		defer conn.Close()
		services[svc] = conn
	}
	admin := actas.Admin(token, services)
	defer func() {
		if cerr := actas.Close(context.WithoutCancel(ctx), admin); err == nil && cerr != nil {
			err = fmt.Errorf("seed: %w", cerr)
		}
	}()
	for _, svc := range Services() {
		if svc.SeedSME == nil {
			continue
		}
		if err := svc.SeedSME(ctx, actas.On(admin, svc.Name)); err != nil {
			return fmt.Errorf("seed %s: %w", svc.Name, err)
		}
	}
	return nil
}
