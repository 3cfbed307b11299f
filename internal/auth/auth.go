// Package auth decides who may call what, the same way in every service.
//
// Each service declares one Policy: a Rule for every RPC, in one table that
// can be read and tested. The interceptor authenticates the bearer token
// (through a cached Authenticator, normally the membership service), finds the
// method's rule and lets the call through only if the rule allows it. A method
// without a rule is refused, so a new RPC is closed until someone opens it.
package auth

import (
	"context"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/logging"
)

// Principal is who is calling. A nil or empty principal is anonymous.
type Principal = membershipv1.Principal

type ctxKey struct{}

// With returns ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the caller of ctx; anonymous callers get an empty principal.
func From(ctx context.Context) *Principal {
	if p, ok := ctx.Value(ctxKey{}).(*Principal); ok && p != nil {
		return p
	}
	return &Principal{}
}

// CallerHeader is the response metadata naming the authenticated caller,
// for the request lines of whoever made the call.
const CallerHeader = "guildhall-caller"

// CallerName names p for logs: its person ("people/jane"), "services/<name>"
// for a Guildhall service, "guest" for an OpenID Connect identity linked to
// nobody, or "anonymous".
func CallerName(p *Principal) string {
	switch {
	case p.GetPerson() != "":
		return p.GetPerson()
	case p.GetService() != "":
		return "services/" + p.GetService()
	case IsGuest(p):
		return "guest"
	}
	return "anonymous"
}

// Actor names the caller on the record (who moved, approved or wrote
// something): their person, "services/<name>" for a Guildhall service, or ""
// for an anonymous caller.
func Actor(ctx context.Context) string {
	if p := From(ctx); !IsAnonymous(p) {
		return CallerName(p)
	}
	return ""
}

// IsAnonymous reports a caller with no token.
func IsAnonymous(p *Principal) bool {
	return p.GetPerson() == "" && p.GetService() == "" && p.GetSubject() == ""
}

// IsGuest reports a caller signed in with an OpenID Connect identity that
// is linked to no person: they may do what anonymous callers may, and offer
// help under that identity.
func IsGuest(p *Principal) bool { return p.GetPerson() == "" && p.GetSubject() != "" }

// Has reports whether p holds perm; admins hold every permission.
func Has(p *Principal, perm string) bool {
	return p.GetAdmin() || slices.Contains(p.GetPermissions(), perm)
}

// IsLeadOf reports whether p leads team (`teams/{team}`).
func IsLeadOf(p *Principal, team string) bool {
	return team != "" && p.GetRoles()[team] == membershipv1.Role_ROLE_LEAD
}

// IsAnyLead reports whether p leads some team.
func IsAnyLead(p *Principal) bool {
	for _, r := range p.GetRoles() {
		if r == membershipv1.Role_ROLE_LEAD {
			return true
		}
	}
	return false
}

// Check is one way a caller may pass a rule. It may look at the request and,
// through closures, at the service's data (e.g. the team owning a resource).
type Check func(ctx context.Context, p *Principal, req any) (bool, error)

// Rule is who may call one RPC: anyone if public, else a caller passing any
// of its checks. Admins pass every rule.
type Rule struct {
	public bool
	// Doc says the rule in words, for the policy table and its tests.
	Doc    string
	checks []Check
}

// Public lets anyone call, with or without a token.
func Public() Rule { return Rule{public: true, Doc: "anyone"} }

// Person lets any authenticated person call.
func Person() Rule {
	return Rule{Doc: "any person", checks: []Check{func(_ context.Context, p *Principal, _ any) (bool, error) {
		return p.GetPerson() != "", nil
	}}}
}

// Permission lets holders of perm call.
func Permission(perm string) Rule {
	return Rule{Doc: "holders of " + perm, checks: []Check{func(_ context.Context, p *Principal, _ any) (bool, error) {
		return Has(p, perm), nil
	}}}
}

// Admin lets only admins call.
func Admin() Rule { return Rule{Doc: "admins"} }

// Service lets Guildhall's own services call (and admins).
func Service() Rule {
	return Rule{Doc: "Guildhall services", checks: []Check{func(_ context.Context, p *Principal, _ any) (bool, error) {
		return p.GetService() != "", nil
	}}}
}

// AnyLead lets the lead of any team call.
func AnyLead() Rule {
	return Rule{Doc: "team leads", checks: []Check{func(_ context.Context, p *Principal, _ any) (bool, error) {
		return IsAnyLead(p), nil
	}}}
}

// Or adds another way to pass the rule.
func (r Rule) Or(doc string, c Check) Rule {
	out := Rule{public: r.public, Doc: r.Doc + " or " + doc, checks: slices.Clone(r.checks)}
	out.checks = append(out.checks, c)
	return out
}

// Self passes when the caller is the person the request is about.
func Self[R any](person func(R) string) Check {
	return func(_ context.Context, p *Principal, req any) (bool, error) {
		r, ok := req.(R)
		return ok && p.GetPerson() != "" && p.GetPerson() == person(r), nil
	}
}

// LeadOf passes when the caller leads the team the request concerns; team
// may read the service's data to find it.
func LeadOf[R any](team func(context.Context, R) (string, error)) Check {
	return func(ctx context.Context, p *Principal, req any) (bool, error) {
		r, ok := req.(R)
		if !ok || len(p.GetRoles()) == 0 {
			return false, nil
		}
		t, err := team(ctx, r)
		if err != nil {
			return false, err
		}
		return IsLeadOf(p, t), nil
	}
}

// AnyLeadCheck passes when the caller leads some team.
func AnyLeadCheck(_ context.Context, p *Principal, _ any) (bool, error) { return IsAnyLead(p), nil }

// SignedInCheck passes for any caller with a token: a person, a service, or
// a guest under an OpenID Connect identity.
func SignedInCheck(_ context.Context, p *Principal, _ any) (bool, error) { return !IsAnonymous(p), nil }

// HasCheck passes for holders of perm.
func HasCheck(perm string) Check {
	return func(_ context.Context, p *Principal, _ any) (bool, error) { return Has(p, perm), nil }
}

// Allow applies r to p for req: nil if allowed, else UNAUTHENTICATED for an
// anonymous caller and PERMISSION_DENIED for anyone else.
func (r Rule) Allow(ctx context.Context, p *Principal, req any) error {
	if r.public || p.GetAdmin() {
		return nil
	}
	for _, c := range r.checks {
		ok, err := c(ctx, p, req)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	if IsAnonymous(p) {
		return apierr.Unauthenticated("this call needs a token: send Authorization: Bearer <token>")
	}
	if IsGuest(p) {
		return apierr.PermissionDenied("allowed for " + r.Doc + "; this identity is linked to no person yet " +
			"(an admin links it, or sign in once with a verified email that is on your profile)")
	}
	return apierr.PermissionDenied("allowed for " + r.Doc)
}

// Policy maps full gRPC method names to their rules.
type Policy map[string]Rule

// Merge combines policies of services served together.
func Merge(ps ...Policy) Policy {
	out := Policy{}
	for _, p := range ps {
		for k, v := range p {
			out[k] = v
		}
	}
	return out
}

// Authenticator turns a bearer secret into a principal, or UNAUTHENTICATED.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*Principal, error)
}

// Open reports whether method is infrastructure every client may call
// (health checks and reflection), which needs no rule.
func Open(method string) bool {
	return strings.HasPrefix(method, "/grpc.health.v1.") || strings.HasPrefix(method, "/grpc.reflection.")
}

// UnaryServerInterceptor authenticates the caller and enforces policy.
func UnaryServerInterceptor(policy Policy, authn Authenticator, opts ...Option) grpc.UnaryServerInterceptor {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := authorize(ctx, policy, authn, info.FullMethod, req, o.throttle)
		if err != nil {
			return nil, err
		}
		if !guessMethods[info.FullMethod] || o.throttle == nil || From(ctx).GetService() != "" {
			return handler(ctx, req)
		}
		// Authenticate checks the token in its request, CompleteSignIn a
		// sign-in code: guesses like any other.
		if err := o.throttle.check(ctx); err != nil {
			return nil, err
		}
		resp, err := handler(ctx, req)
		if unauthenticated(err) {
			o.throttle.fail(ctx)
		}
		return resp, err
	}
}

// StreamServerInterceptor is the streaming form; the rule sees no request.
func StreamServerInterceptor(policy Policy, authn Authenticator, opts ...Option) grpc.StreamServerInterceptor {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := authorize(ss.Context(), policy, authn, info.FullMethod, nil, o.throttle)
		if err != nil {
			return err
		}
		return handler(srv, &stream{ServerStream: ss, ctx: ctx})
	}
}

func authorize(ctx context.Context, policy Policy, authn Authenticator, method string, req any, throttle *Throttle) (context.Context, error) {
	if Open(method) {
		return ctx, nil
	}
	p := &Principal{}
	if token, present, err := bearer(ctx); err != nil {
		return ctx, err
	} else if present {
		// Authenticated first, so services (the internal token) are never
		// throttled; a throttled client learns nothing from its guesses.
		if p, err = authn.Authenticate(ctx, token); err != nil {
			if unauthenticated(err) {
				throttle.fail(ctx)
				if terr := throttle.check(ctx); terr != nil {
					return ctx, terr
				}
			}
			return ctx, err
		}
		if p.GetService() == "" {
			if err := throttle.check(ctx); err != nil {
				return ctx, err
			}
		}
	}
	ctx = With(ctx, p)
	callerName := CallerName(p)
	logging.SetCaller(ctx, callerName)
	// The gateway logs it on its REST line; it never reaches REST clients.
	_ = grpc.SetHeader(ctx, metadata.Pairs(CallerHeader, callerName))
	rule, ok := policy[method]
	if !ok {
		return ctx, apierr.PermissionDenied("no access rule is declared for " + method)
	}
	return ctx, rule.Allow(ctx, p, req)
}

// bearer reads "authorization: Bearer <token>" from incoming metadata.
func bearer(ctx context.Context) (token string, present bool, err error) {
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 0 || vals[0] == "" {
		return "", false, nil
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(tok) == "" {
		return "", true, apierr.Unauthenticated("malformed Authorization header: want Bearer <token>")
	}
	return strings.TrimSpace(tok), true, nil
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
