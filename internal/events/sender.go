package events

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	"github.com/guildhall/guildhall/internal/outbox"
)

// Sender delivers queued events to the events service, oldest first, in one
// IngestEvents call per batch. The events service skips ids it has stored,
// so redelivery after a crash is harmless.
func Sender(client eventsv1.EventServiceClient) outbox.Sender {
	return func(ctx context.Context, _ string, payloads [][]byte) error {
		req := &eventsv1.IngestEventsRequest{}
		for _, p := range payloads {
			rec := &eventsv1.EventRecord{}
			if err := proto.Unmarshal(p, rec); err != nil {
				continue // unreadable rows would block the queue forever
			}
			req.Events = append(req.Events, rec)
		}
		if len(req.Events) == 0 {
			return nil
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := client.IngestEvents(ctx, req)
		return err
	}
}
