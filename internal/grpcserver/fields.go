package grpcserver

import (
	"context"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The rule for every service: a field violation names a field of the request
// as the caller sent it (`donation.amount.currency_code`,
// `transaction.postings[2].amount`, `handles["irc"]`), never an internal name
// or a field of something the server looked up. unknownViolationFields
// reports the violations of st that do not, so the error boundary can log
// them as the server's fault. A header the caller sent (Idempotency-Key,
// forwarded by the gateway as metadata) is part of the request too.
func unknownViolationFields(ctx context.Context, req protoreflect.Message, st *status.Status) []string {
	md, _ := metadata.FromIncomingContext(ctx)
	var bad []string
	for _, d := range st.Details() {
		br, ok := d.(*errdetails.BadRequest)
		if !ok {
			continue
		}
		for _, v := range br.GetFieldViolations() {
			if !HasFieldPath(req.Descriptor(), v.GetField()) && len(md.Get(strings.ToLower(v.GetField()))) == 0 {
				bad = append(bad, v.GetField())
			}
		}
	}
	return bad
}

// HasFieldPath reports whether path names a field reachable from md:
// dot-separated field names (proto or JSON spelling), each optionally
// followed by subscripts for list indexes or map keys.
func HasFieldPath(md protoreflect.MessageDescriptor, path string) bool {
	if path == "" {
		return false
	}
	for _, seg := range splitPath(path) {
		if md == nil {
			return false
		}
		name, subs := seg, 0
		if i := strings.IndexByte(seg, '['); i >= 0 {
			name, subs = seg[:i], strings.Count(seg[i:], "[")
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			fd = md.Fields().ByJSONName(name)
		}
		if fd == nil || subs > 1 || (subs == 1 && !fd.IsList() && !fd.IsMap()) {
			return false
		}
		switch {
		case fd.IsMap() && subs == 1:
			md = fd.MapValue().Message()
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			md = fd.Message()
		default:
			md = nil
		}
	}
	return true
}

// splitPath splits a field path at the dots outside subscripts (map keys may
// hold dots).
func splitPath(path string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				out = append(out, path[start:i])
				start = i + 1
			}
		}
	}
	return append(out, path[start:])
}
