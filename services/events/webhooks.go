package events

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/pagination"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/events/store"
)

// newSecret is a Standard Webhooks signing secret: "whsec_" and the
// base64 of 32 random bytes (the key the HMAC uses).
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// checkWebhook lists what is wrong with w's uri and event types, as field
// violations under prefix ("webhook").
func (s *Server) checkWebhook(ctx context.Context, w *eventsv1.Webhook) error {
	var bad []apierr.FieldViolation
	if w.GetUri() == "" {
		bad = append(bad, apierr.FieldViolation{Field: "webhook.uri", Description: "value is required"})
	} else if why := s.guard.checkURI(ctx, w.GetUri()); why != "" {
		bad = append(bad, apierr.FieldViolation{Field: "webhook.uri", Description: why})
	}
	if len(w.GetEventTypes()) == 0 {
		bad = append(bad, apierr.FieldViolation{Field: "webhook.event_types", Description: "name at least one event type"})
	}
	for i, t := range w.GetEventTypes() {
		if !events.Known(t) {
			bad = append(bad, apierr.FieldViolation{Field: fmt.Sprintf("webhook.event_types[%d]", i),
				Description: fmt.Sprintf("%q is not an event type; see the list in docs/events.md", t)})
		}
	}
	if len(bad) > 0 {
		return apierr.Invalid(bad...)
	}
	return nil
}

// CreateWebhook implements AIP-133 with a server id and request_id. The new
// webhook is active; the answer carries its secret, which is never shown again.
func (s *Server) CreateWebhook(ctx context.Context, req *eventsv1.CreateWebhookRequest) (*eventsv1.Webhook, error) {
	w := req.GetWebhook()
	if err := s.checkWebhook(ctx, w); err != nil {
		return nil, err
	}
	id := resource.NewID()
	name := resource.Name(webhooks, id)
	return resource.Create(ctx, s.db, name, req.GetRequestId(), "CreateWebhook", req, func(tx pgx.Tx) (*eventsv1.Webhook, error) {
		row, err := s.q.CreateWebhook(ctx, tx, store.CreateWebhookParams{
			ID: id, Uri: w.GetUri(), EventTypes: w.GetEventTypes(), Active: true, Secret: newSecret(),
			Creator: auth.From(ctx).GetPerson(), Now: s.now(),
		})
		if err != nil {
			return nil, err
		}
		out := s.webhookFromRow(row)
		out.Secret = row.Secret
		return out, nil
	})
}

// GetWebhook implements AIP-131.
func (s *Server) GetWebhook(ctx context.Context, req *eventsv1.GetWebhookRequest) (*eventsv1.Webhook, error) {
	row, err := s.q.GetWebhook(ctx, s.db, resource.ID(webhooks, req.GetName()))
	if err != nil {
		return nil, resource.NotFoundIfNoRows(err, req.GetName())
	}
	return s.webhookFromRow(row), nil
}

// ListWebhooks implements AIP-132, oldest first (ids are UUIDv7).
func (s *Server) ListWebhooks(ctx context.Context, req *eventsv1.ListWebhooksRequest) (*eventsv1.ListWebhooksResponse, error) {
	out, next, err := pagination.ListUUID(req.GetPageToken(), req.GetPageSize(), pagination.Fingerprint(webhooks),
		func(after string, limit int32) ([]store.Webhook, error) {
			return s.q.ListWebhooks(ctx, s.db, store.ListWebhooksParams{After: after, PageSize: limit})
		}, func(r store.Webhook) string { return r.ID }, s.webhookFromRow)
	if err != nil {
		return nil, err
	}
	return &eventsv1.ListWebhooksResponse{Webhooks: out, NextPageToken: next}, nil
}

// UpdateWebhook implements AIP-134 on uri, event_types and active.
// Activating a webhook clears its failures, and its deliveries resume at once.
func (s *Server) UpdateWebhook(ctx context.Context, req *eventsv1.UpdateWebhookRequest) (*eventsv1.Webhook, error) {
	id := resource.ID(webhooks, req.GetWebhook().GetName())
	var wasActive bool
	return resource.Update(ctx, s.db, req.GetWebhook(), req.GetUpdateMask(), []string{"uri", "event_types", "active"},
		func(tx pgx.Tx) (*eventsv1.Webhook, error) {
			row, err := s.q.GetWebhookForUpdate(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			wasActive = row.Active
			return s.webhookFromRow(row), nil
		},
		func(w *eventsv1.Webhook) error { return s.checkWebhook(ctx, w) },
		func(tx pgx.Tx, w *eventsv1.Webhook) (*eventsv1.Webhook, error) {
			cur, err := s.q.GetWebhookForUpdate(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			p := store.UpdateWebhookParams{ID: id, Uri: w.GetUri(), EventTypes: w.GetEventTypes(), Active: w.GetActive(),
				DisableReason: cur.DisableReason, ConsecutiveFailures: cur.ConsecutiveFailures, Now: s.now()}
			if w.GetActive() && !wasActive {
				p.DisableReason, p.ConsecutiveFailures, p.RetryNow = "", 0, true
			}
			row, err := s.q.UpdateWebhook(ctx, tx, p)
			if err != nil {
				return nil, err
			}
			return s.webhookFromRow(row), nil
		})
}

// DeleteWebhook implements AIP-135; its deliveries go with it.
func (s *Server) DeleteWebhook(ctx context.Context, req *eventsv1.DeleteWebhookRequest) (*emptypb.Empty, error) {
	id := resource.ID(webhooks, req.GetName())
	err := resource.Delete(ctx, s.db, req.GetName(), req.GetEtag(),
		func(tx pgx.Tx) (*eventsv1.Webhook, error) {
			row, err := s.q.GetWebhookForUpdate(ctx, tx, id)
			if err != nil {
				return nil, err
			}
			return s.webhookFromRow(row), nil
		},
		func(tx pgx.Tx) error { _, err := s.q.DeleteWebhook(ctx, tx, id); return err })
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func (s *Server) webhookFromRow(r store.Webhook) *eventsv1.Webhook {
	return &eventsv1.Webhook{
		Name: resource.Name(webhooks, r.ID), Uri: r.Uri, EventTypes: r.EventTypes, Active: r.Active,
		DisableReason: r.DisableReason, ConsecutiveFailures: r.ConsecutiveFailures,
		FailureLimit: int32(s.opts.FailureLimit), Creator: r.Creator,
		CreateTime: timestamppb.New(r.CreateTime), UpdateTime: timestamppb.New(r.UpdateTime),
		Etag: resource.Etag(r.Version),
	}
}

// deliveryName is `webhooks/{webhook}/deliveries/{delivery}`.
func deliveryName(webhook string, id int64) string {
	return fmt.Sprintf("%s/%s/%s/%d", webhooks, webhook, deliveries, id)
}

// splitDelivery reads a delivery name (already checked by its pattern).
func splitDelivery(name string) (webhook string, id int64, ok bool) {
	var w string
	var n int64
	if _, err := fmt.Sscanf(name, "webhooks/%36s", &w); err != nil {
		return "", 0, false
	}
	if _, err := uuid.Parse(w); err != nil {
		return "", 0, false
	}
	if _, err := fmt.Sscanf(name[len("webhooks/")+36:], "/deliveries/%d", &n); err != nil {
		return "", 0, false
	}
	return w, n, true
}
