// Package requestid carries the X-Request-Id of a call from the gateway
// through every service, so one request can be followed across the logs.
package requestid

import (
	"context"
	"regexp"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Header is the HTTP header; MetadataKey is the gRPC metadata key.
const (
	Header      = "X-Request-Id"
	MetadataKey = "x-request-id"
)

type ctxKey struct{}

// valid keeps caller-chosen ids short and printable so they are safe in logs.
var valid = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// Sanitize returns id if it is acceptable, or a fresh one.
func Sanitize(id string) string {
	if valid.MatchString(id) {
		return id
	}
	return uuid.NewString()
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the request id in ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// UnaryServerInterceptor takes the id from incoming metadata (or makes one),
// stores it in the context and echoes it in the response header.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx = fromIncoming(ctx)
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is the streaming form of UnaryServerInterceptor.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &stream{ServerStream: ss, ctx: fromIncoming(ss.Context())})
	}
}

func fromIncoming(ctx context.Context) context.Context {
	var id string
	if v := metadata.ValueFromIncomingContext(ctx, MetadataKey); len(v) > 0 {
		id = v[0]
	}
	id = Sanitize(id)
	_ = grpc.SetHeader(ctx, metadata.Pairs(MetadataKey, id))
	return With(ctx, id)
}

// UnaryClientInterceptor forwards the id in ctx to the next service.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if id := From(ctx); id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, MetadataKey, id)
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
