// Package activity reports what people do in a service to the membership
// service, for its drift detection, through the service's outbox.
package activity

import (
	"context"
	"path"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/outbox"
)

// Topic is the outbox topic of activity reports.
const Topic = "membership.activity"

// Record queues, inside tx, that person (`people/{person}`) did kind (e.g.
// "roadmap.vote") at t. Anonymous actions (empty person) are not recorded.
func Record(ctx context.Context, tx pgx.Tx, person, kind string, t time.Time) error {
	if person == "" {
		return nil
	}
	return outbox.Enqueue(ctx, tx, Topic, New(person, kind, t))
}

// Caller queues, inside tx, that the calling person made this write: every
// write a person makes in any service is activity (approving, paying,
// recording, editing), not only the kinds that name a person in their
// body. Its kind is Kind(ctx, service). Services and anonymous callers are
// not recorded.
func Caller(ctx context.Context, tx pgx.Tx, service string, t time.Time) error {
	return Record(ctx, tx, auth.From(ctx).GetPerson(), Kind(ctx, service), t)
}

// Kind names the write being served: "<service>.<Method>", e.g.
// "finance.ApproveExpense", from the gRPC method in ctx; "<service>.write"
// outside a gRPC call.
func Kind(ctx context.Context, service string) string {
	if m, ok := grpc.Method(ctx); ok && m != "" {
		return service + "." + path.Base(m)
	}
	return service + ".write"
}

// Message is the outbox row reporting that person did kind at t, for
// writers that insert outbox rows in statements of their own.
func Message(person, kind string, t time.Time) (outbox.Message, error) {
	return outbox.NewMessage(Topic, New(person, kind, t))
}

// New is the report that person did kind at t, with a fresh event id.
func New(person, kind string, t time.Time) *membershipv1.Activity {
	return &membershipv1.Activity{EventId: uuid.NewString(), Person: person, Kind: kind, Time: timestamppb.New(t)}
}

// Sender delivers queued activity to membership; membership ignores event
// ids it has seen, so redelivery is harmless.
func Sender(client membershipv1.MembershipServiceClient) outbox.Sender {
	return outbox.Decoded(func(ctx context.Context, acts []*membershipv1.Activity) error {
		_, err := client.ReportActivity(ctx, &membershipv1.ReportActivityRequest{Activities: acts})
		return err
	})
}
