package grpcserver

import (
	"context"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/guildhall/guildhall/internal/apierr"
)

// IdempotencyKeyMetadata is the metadata key carrying the IETF Idempotency-Key
// header (draft-ietf-httpapi-idempotency-key-header), which the gateway
// forwards from REST.
const IdempotencyKeyMetadata = "idempotency-key"

// applyIdempotencyKey makes an Idempotency-Key work exactly like the request's
// request_id (AIP-155): it fills an unset request_id, agrees with a set one,
// and is refused by a method that takes no request_id rather than ignored.
func applyIdempotencyKey(ctx context.Context, req any) error {
	keys := metadata.ValueFromIncomingContext(ctx, IdempotencyKeyMetadata)
	if len(keys) == 0 {
		return nil
	}
	if len(keys) > 1 {
		return apierr.InvalidField("Idempotency-Key", "send the header once")
	}
	msg, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	m := msg.ProtoReflect()
	f := m.Descriptor().Fields().ByName("request_id")
	if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
		return apierr.InvalidField("Idempotency-Key", "this method takes no idempotency key")
	}
	switch cur := m.Get(f).String(); {
	case cur == "":
		m.Set(f, protoreflect.ValueOfString(keys[0]))
	case cur != keys[0]:
		return apierr.InvalidField("request_id", "differs from the Idempotency-Key header")
	}
	return nil
}
