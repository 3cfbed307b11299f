package finance

import (
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/finance/migrations"
)

// Service describes the finance service to the app.
func Service() service.Descriptor {
	return service.Descriptor{
		Name: config.Finance, GRPCName: financev1.FinanceService_ServiceDesc.ServiceName,
		Migrations: migrations.FS,
		Build: func(d service.Deps) (service.Part, error) {
			return NewServer(Options{
				DB: d.DB, Log: d.Log, Now: d.Now, Membership: d.Membership, Roadmap: d.Roadmap,
				DualApprovalAbove: d.Config.DualApprovalAbove,
			})
		},
		SeedSME: SeedSME,
	}
}
