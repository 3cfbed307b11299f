package events

import (
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/events/migrations"
)

// Service describes the events service to the app.
func Service() service.Descriptor {
	return service.Descriptor{
		Name: config.Events, GRPCName: eventsv1.EventService_ServiceDesc.ServiceName,
		Migrations: migrations.FS,
		Build: func(d service.Deps) (service.Part, error) {
			c := d.Config
			return NewServer(Options{DB: d.DB, Log: d.Log, Now: d.Now, Metrics: d.Metrics, Delivery: Delivery{
				Workers: int(c.WebhookWorkers), Timeout: c.WebhookTimeout,
				BackoffBase: c.WebhookBackoffBase, BackoffMax: c.WebhookBackoffMax,
				FailureLimit: int(c.WebhookFailureLimit), AllowedNetworks: c.WebhookAllowedNetworks,
			}})
		},
	}
}
