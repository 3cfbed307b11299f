package membership

import (
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/membership/migrations"
)

// Service describes the membership service to the app.
func Service() service.Descriptor {
	return service.Descriptor{
		Name: config.Membership, GRPCName: membershipv1.MembershipService_ServiceDesc.ServiceName,
		Migrations: migrations.FS,
		Build: func(d service.Deps) (service.Part, error) {
			return NewServer(Options{
				DB: d.DB, Log: d.Log, Now: d.Now,
				BootstrapAdminToken: d.Config.BootstrapAdminToken,
				Drift: DriftPolicy{
					Window: d.Config.DriftWindow, NudgeGrace: d.Config.DriftNudgeGrace, EmeritusAfter: d.Config.DriftEmeritusAfter,
				},
				VolunteerRatePerMinute: d.Config.VolunteerRatePerMinute,
			})
		},
		SeedSME: SeedSME,
	}
}
