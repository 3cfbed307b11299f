package roadmap

import (
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/roadmap/migrations"
)

// Service describes the roadmap service to the app.
func Service() service.Descriptor {
	return service.Descriptor{
		Name: config.Roadmap, GRPCName: roadmapv1.RoadmapService_ServiceDesc.ServiceName,
		Migrations: migrations.FS,
		Build: func(d service.Deps) (service.Part, error) {
			return NewServer(Options{
				DB: d.DB, Log: d.Log, Now: d.Now, Membership: d.Membership, Finance: d.Finance, StaleAfter: d.Config.StaleAfter,
			})
		},
		SeedSME: SeedSME,
	}
}
