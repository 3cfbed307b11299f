package app_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app"
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
)

// flaky fails each call UNAVAILABLE, as a replica killed mid-call does,
// until it has failed failReads reads; writes fail every time.
type flaky struct {
	eventsv1.UnimplementedEventServiceServer
	failReads     int32
	reads, writes atomic.Int32
}

func (f *flaky) ListEvents(context.Context, *eventsv1.ListEventsRequest) (*eventsv1.ListEventsResponse, error) {
	if f.reads.Add(1) <= f.failReads {
		return nil, status.Error(codes.Unavailable, "replica going away")
	}
	return &eventsv1.ListEventsResponse{NextPageToken: "next"}, nil
}

func (f *flaky) CreateWebhook(context.Context, *eventsv1.CreateWebhookRequest) (*eventsv1.Webhook, error) {
	f.writes.Add(1)
	return nil, status.Error(codes.Unavailable, "replica going away")
}

// TestDialRetriesReadsOnly: a read (bound to HTTP GET) that fails
// UNAVAILABLE is tried again, up to three attempts; a write is not.
func TestDialRetriesReadsOnly(t *testing.T) {
	for _, c := range []struct {
		failReads int32
		wantCode  codes.Code
		wantReads int32
	}{
		{failReads: 2, wantCode: codes.OK, wantReads: 3},
		{failReads: 5, wantCode: codes.Unavailable, wantReads: 3},
	} {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		f := &flaky{failReads: c.failReads}
		eventsv1.RegisterEventServiceServer(srv, f)
		go func() { _ = srv.Serve(lis) }()
		conn, err := app.Dial(lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		client := eventsv1.NewEventServiceClient(conn)
		_, err = client.ListEvents(t.Context(), &eventsv1.ListEventsRequest{})
		if status.Code(err) != c.wantCode || f.reads.Load() != c.wantReads {
			t.Errorf("a read failing %d times: %v after %d attempts, want %v after %d", c.failReads, err, f.reads.Load(), c.wantCode, c.wantReads)
		}
		_, err = client.CreateWebhook(t.Context(), &eventsv1.CreateWebhookRequest{})
		if status.Code(err) != codes.Unavailable || f.writes.Load() != 1 {
			t.Errorf("a failing write: %v after %d attempts, want UNAVAILABLE after 1", err, f.writes.Load())
		}
		_ = conn.Close()
		srv.Stop()
	}
}
