package events

import (
	"context"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/outbox"
)

// Sender delivers queued events to the events service, oldest first, in one
// IngestEvents call per batch. The events service skips ids it has stored,
// so redelivery after a crash is harmless.
func Sender(client eventsv1.EventServiceClient) outbox.Sender {
	return outbox.Decoded(func(ctx context.Context, recs []*eventsv1.EventRecord) error {
		_, err := client.IngestEvents(ctx, &eventsv1.IngestEventsRequest{Events: recs})
		return err
	})
}
