package public

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// copyConn lets the SME seed, which uses fixed names, write one copy of
// itself among many: every id the client chooses gets the copy's suffix on
// the way in (people/iwells → people/iwells-c007, and so on for the
// collections in chosen), request ids are derived anew for the copy, and
// contacts, emails, external references and proposals' questions (by which
// the seed finds what it wrote before) are made the copy's own; the suffix is
// taken off again in answers, so the seed's own checks (does this person
// exist, was this gift recorded, which offer is whose) see only its copy.
// Server-assigned names (items, positions, offers) pass unchanged.
type copyConn struct {
	raw    grpc.ClientConnInterface
	suffix string
}

// chosen are the collections whose ids the client chooses.
// Accounts are left out: the copies share one chart of accounts, as the
// server books gifts to its default accounts (accounts/bank) whatever the
// copy.
var chosen = map[string]bool{"people": true, "teams": true, "members": true, "packages": true,
	"releases": true, "goals": true, "tiers": true}

// requestIDs is the namespace of the copies' request ids.
var requestIDs = uuid.MustParse("6f1d7c1e-3a53-4b36-9d1e-5a9e0c3b2f11")

func (c copyConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	req := proto.Clone(args.(proto.Message))
	c.walk(req.ProtoReflect(), true)
	if err := c.raw.Invoke(ctx, method, req, reply, opts...); err != nil {
		return err
	}
	c.walk(reply.(proto.Message).ProtoReflect(), false)
	return nil
}

func (c copyConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.raw.NewStream(ctx, desc, method, opts...)
}

// walk rewrites every string in m, in (toward the server) or out.
func (c copyConn) walk(m protoreflect.Message, in bool) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := string(fd.Name())
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.StringKind:
			l := v.List()
			for i := range l.Len() {
				l.Set(i, protoreflect.ValueOfString(c.value(name, l.Get(i).String(), in)))
			}
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			l := v.List()
			for i := range l.Len() {
				c.walk(l.Get(i).Message(), in)
			}
		case fd.IsMap():
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { c.walk(mv.Message(), in); return true })
			}
		case fd.Kind() == protoreflect.MessageKind:
			c.walk(v.Message(), in)
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(c.value(name, v.String(), in)))
		}
		return true
	})
}

// value is s, a value of the field named field, rewritten in or out.
func (c copyConn) value(field, s string, in bool) string {
	switch {
	case s == "":
		return s
	case field == "request_id":
		if in {
			return uuid.NewSHA1(requestIDs, []byte(s+c.suffix)).String()
		}
		return s
	case field == "contact", field == "email", field == "external_reference", field == "question":
		local, domain, at := strings.Cut(s, "@")
		if in {
			local += c.suffix
		} else {
			local = strings.TrimSuffix(local, c.suffix)
		}
		if at {
			return local + "@" + domain
		}
		return local
	case strings.HasSuffix(field, "_id") && field != "account_id":
		return c.id(s, in)
	}
	// A resource name: the ids after chosen collections.
	parts := strings.Split(s, "/")
	if len(parts) < 2 || !chosen[parts[0]] {
		return s
	}
	for i := 1; i < len(parts); i += 2 {
		if chosen[parts[i-1]] {
			parts[i] = c.id(parts[i], in)
		}
	}
	return strings.Join(parts, "/")
}

func (c copyConn) id(s string, in bool) string {
	if in {
		return s + c.suffix
	}
	return strings.TrimSuffix(s, c.suffix)
}
