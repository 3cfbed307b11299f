package membership

import (
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/mail"
	"github.com/guildhall/guildhall/internal/mail/templates"
	"github.com/guildhall/guildhall/internal/service"
	"github.com/guildhall/guildhall/services/membership/migrations"
)

// Service describes the membership service to the app.
func Service() service.Descriptor {
	return service.Descriptor{
		Name: config.Membership, GRPCName: membershipv1.MembershipService_ServiceDesc.ServiceName,
		Migrations: migrations.FS,
		Build: func(d service.Deps) (service.Part, error) {
			var issuers []auth.Issuer
			for _, iss := range d.Config.OIDCIssuers {
				issuers = append(issuers, auth.Issuer{URL: iss.URL, Audience: iss.Audience})
			}
			tmpl, err := templates.Load(d.Config.MailTemplates)
			if err != nil {
				return nil, err
			}
			return NewServer(Options{
				SignIn: SignIn{
					Mail: d.Mail, Templates: tmpl, PublicURL: d.Config.PublicURL,
					CodeTTL: d.Config.SignInCodeTTL, SessionTTL: d.Config.SessionTTL,
				},
				OIDC: auth.NewOIDC(auth.OIDCOptions{Issuers: issuers, Now: d.Now}),
				DB:   d.DB, Log: d.Log, Now: d.Now,
				BootstrapAdminToken: d.Config.BootstrapAdminToken,
				Drift: DriftPolicy{
					Window: d.Config.DriftWindow, NudgeGrace: d.Config.DriftNudgeGrace, EmeritusAfter: d.Config.DriftEmeritusAfter,
				},
				VolunteerRatePerMinute: d.Config.VolunteerRatePerMinute,
				OptOut:                 mail.NewOptOut(d.Config.InternalToken),
				Roadmap:                d.Roadmap,
			})
		},
		SeedSME: SeedSME,
	}
}
