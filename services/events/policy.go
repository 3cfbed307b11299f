package events

import (
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/auth"
)

// PermManageWebhooks lets a person create, change, delete and read webhooks
// and their deliveries; grant it through a team (Team.permissions).
const PermManageWebhooks = "webhooks.manage"

// Policy declares who may call each RPC; see package auth. Admins pass every
// rule. The feed is open to everyone, and each caller reads only the events
// whose audience includes them (ListEvents). Events come in from Guildhall's
// services only. Webhooks and their deliveries belong to the integrators
// who run them: admins and holders of webhooks.manage.
func (s *Server) Policy() auth.Policy {
	manage := auth.Permission(PermManageWebhooks)
	feed := auth.Public()
	feed.Doc = "anyone; each caller reads only the events whose audience includes them"
	return auth.Policy{
		eventsv1.EventService_ListEvents_FullMethodName:        feed,
		eventsv1.EventService_IngestEvents_FullMethodName:      auth.Service(),
		eventsv1.EventService_GetWebhook_FullMethodName:        manage,
		eventsv1.EventService_ListWebhooks_FullMethodName:      manage,
		eventsv1.EventService_CreateWebhook_FullMethodName:     manage,
		eventsv1.EventService_UpdateWebhook_FullMethodName:     manage,
		eventsv1.EventService_DeleteWebhook_FullMethodName:     manage,
		eventsv1.EventService_GetDelivery_FullMethodName:       manage,
		eventsv1.EventService_ListDeliveries_FullMethodName:    manage,
		eventsv1.EventService_RedeliverDelivery_FullMethodName: manage,
	}
}
