package events_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/guildhall/guildhall/app/apptest"
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/config"
)

// internalToken is apptest's GUILDHALL_INTERNAL_TOKEN: the caller is a Guildhall service.
const internalToken = "gh_internal-test-token"

// loopbackTargets lets webhooks point at the test's own receivers, which
// listen on 127.0.0.1, and makes delivery quick.
func loopbackTargets(c *config.Config, _ *apptest.Clock) {
	c.WebhookAllowedNetworks = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	c.WebhookWorkers = 2
	c.WebhookBackoffBase = 50 * time.Millisecond
	c.WebhookBackoffMax = 400 * time.Millisecond
	for _, j := range []string{"membership.outbox", "roadmap.outbox", "finance.outbox", "events.webhooks.1", "events.webhooks.2"} {
		c.JobIntervals[j] = 50 * time.Millisecond
	}
}

// record is an event record as a service would emit it.
func record(typ, subject string, a *eventsv1.Audience) *eventsv1.EventRecord {
	return &eventsv1.EventRecord{Event: &eventsv1.Event{
		Id: uuid.NewString(), Source: "/guildhall/finance", SpecVersion: "1.0", Type: typ, Subject: subject,
		Time: timestamppb.Now(), DataContentType: "application/json",
		Data: &structpb.Struct{Fields: map[string]*structpb.Value{"name": structpb.NewStringValue(subject)}},
	}, Audience: a}
}

func ingest(t *testing.T, env *apptest.Env, recs ...*eventsv1.EventRecord) int32 {
	t.Helper()
	resp, err := eventsv1.NewEventServiceClient(env.Conn).IngestEvents(apptest.Outgoing(context.Background(), internalToken),
		&eventsv1.IngestEventsRequest{Events: recs})
	if err != nil {
		t.Fatalf("IngestEvents: %v", err)
	}
	return resp.GetStored()
}
