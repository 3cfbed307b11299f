package idempotency_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/wrapperspb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/idempotency"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// A request id is scoped to its caller: the same id from another person, a
// service or an anonymous caller with another body runs afresh and never
// receives the first caller's reply; the first caller's retry replays it.
func TestRequestIDsAreScopedPerCaller(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, pgtest.New(t, []pgtest.Schema{{Name: "keys", Lines: []database.Line{idempotency.Line()}}}), "keys")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	id := uuid.NewString()
	runs := 0
	call := func(p *auth.Principal, contact string) (string, error) {
		req := &membershipv1.OfferHelpRequest{RequestId: id, Volunteer: &membershipv1.Volunteer{DisplayName: "V", Contact: contact}}
		var out *wrapperspb.StringValue
		err := pgx.BeginFunc(auth.With(ctx, p), db, func(tx pgx.Tx) error {
			var err error
			out, err = idempotency.Do(auth.With(ctx, p), tx, id, "OfferHelp", req, func() (*wrapperspb.StringValue, error) {
				runs++
				return wrapperspb.String(p.GetPerson() + p.GetService() + "/" + contact + "/" + uuid.NewString()), nil
			})
			return err
		})
		return out.GetValue(), err
	}
	jane, john, ann := &auth.Principal{Person: "people/jane"}, &auth.Principal{Person: "people/john"}, &auth.Principal{Person: "people/ann"}
	svc, anon := &auth.Principal{Service: "roadmap"}, &auth.Principal{}

	first, err := call(jane, "jane@example.org")
	if err != nil {
		t.Fatal(err)
	}
	replies := map[string]string{}
	for _, c := range []struct {
		name    string
		p       *auth.Principal
		contact string
	}{
		{"another person, same body", john, "jane@example.org"},
		{"a third person, other body", ann, "ann@example.org"},
		{"a service, same body", svc, "jane@example.org"},
		{"an anonymous caller", anon, "anon@example.org"},
		{"an anonymous caller, new body", anon, "other@example.org"},
	} {
		name := c.name
		got, err := call(c.p, c.contact)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got == first {
			t.Errorf("%s received the first caller's reply %q", name, got)
		}
		replies[name] = got
	}
	if runs != 6 {
		t.Errorf("%d runs, want 6 (one per caller and body)", runs)
	}
	// Each caller's own retry replays its own reply.
	if again, err := call(jane, "jane@example.org"); err != nil || again != first {
		t.Errorf("jane's retry: %q, %v; want %q", again, err, first)
	}
	if again, err := call(anon, "anon@example.org"); err != nil || again != replies["an anonymous caller"] {
		t.Errorf("the anonymous retry: %q, %v; want %q", again, err, replies["an anonymous caller"])
	}
	// A caller reusing its own id for another request is refused.
	_, err = call(jane, "changed@example.org")
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Reason != apierr.ReasonRequestIDReused {
		t.Errorf("jane reusing her id: %v, want %s", err, apierr.ReasonRequestIDReused)
	}
	if runs != 6 {
		t.Errorf("%d runs after the retries, want 6", runs)
	}
}
