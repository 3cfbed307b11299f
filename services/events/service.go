package events

import (
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/mail"
	"github.com/guildhall/guildhall/internal/mail/templates"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/events/migrations"
	"github.com/guildhall/guildhall/services/events/notify"
)

// Service describes the events service to the app.
func Service() service.Descriptor {
	return service.Descriptor{
		Name: config.Events, GRPCName: eventsv1.EventService_ServiceDesc.ServiceName,
		Migrations: migrations.FS,
		Build: func(d service.Deps) (service.Part, error) {
			c := d.Config
			mailer, err := notify.New(notify.Options{
				DB: d.DB, Members: d.Membership, Roadmap: d.Roadmap, Mail: d.Mail, OptOut: mail.NewOptOut(c.InternalToken),
				Site: templates.Site{Name: "Guildhall", URL: c.PublicURL}, TemplatesDir: c.MailTemplates,
				Log: d.Log.Named("notify"), Now: d.Now,
			})
			if err != nil {
				return nil, err
			}
			srv, err := NewServer(Options{DB: d.DB, Log: d.Log, Now: d.Now, Metrics: d.Metrics, Delivery: Delivery{
				Workers: int(c.WebhookWorkers), Timeout: c.WebhookTimeout,
				BackoffBase: c.WebhookBackoffBase, BackoffMax: c.WebhookBackoffMax,
				FailureLimit: int(c.WebhookFailureLimit), AllowedNetworks: c.WebhookAllowedNetworks,
			}})
			if err != nil {
				return nil, err
			}
			return withJobs{srv, []job.Job{mailer.Job()}}, nil
		},
	}
}

// withJobs adds jobs to a part: the mail notifier runs beside the webhooks.
type withJobs struct {
	service.Part
	extra []job.Job
}

func (w withJobs) Jobs() []job.Job { return append(w.Part.Jobs(), w.extra...) }
