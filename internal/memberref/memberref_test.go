package memberref_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/memberref"
)

// directory answers GetPerson and GetTeam from a fixed set of names; the
// services' own tests run the real membership service.
type directory struct {
	membershipv1.MembershipServiceClient
	known map[string]bool
	down  bool
}

func (d directory) answer(name string) error {
	switch {
	case d.down:
		return status.Error(codes.Unavailable, "connection refused")
	case !d.known[name]:
		return status.Error(codes.NotFound, name)
	}
	return nil
}

func (d directory) GetPerson(_ context.Context, r *membershipv1.GetPersonRequest, _ ...grpc.CallOption) (*membershipv1.Person, error) {
	return &membershipv1.Person{Name: r.GetName()}, d.answer(r.GetName())
}

func (d directory) GetTeam(_ context.Context, r *membershipv1.GetTeamRequest, _ ...grpc.CallOption) (*membershipv1.Team, error) {
	return &membershipv1.Team{Name: r.GetName(), MemberCount: 3}, d.answer(r.GetName())
}

func fields(t *testing.T, err error) []string {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != codes.InvalidArgument {
		t.Fatalf("err = %v, want INVALID_ARGUMENT", err)
	}
	var out []string
	for _, v := range ae.Violations {
		out = append(out, v.Field)
	}
	slices.Sort(out)
	return out
}

func TestChecker(t *testing.T) {
	ctx := context.Background()
	c := memberref.New(directory{known: map[string]bool{"people/a": true, "people/b": true, "teams/dev": true}})
	if err := c.People(ctx, "owners", []string{"people/a", "people/x", "people/b", "people/y"}); !slices.Equal(fields(t, err), []string{"owners[1]", "owners[3]"}) {
		t.Errorf("unknown people: %v", err)
	}
	if err := c.People(ctx, "owners", []string{"people/a", "people/b"}); err != nil {
		t.Errorf("known people: %v", err)
	}
	if err := c.Person(ctx, "donor", "people/x"); !slices.Equal(fields(t, err), []string{"donor"}) {
		t.Errorf("unknown person: %v", err)
	}
	if err := c.Person(ctx, "donor", ""); err != nil {
		t.Errorf("no person: %v", err)
	}
	if team, err := c.Team(ctx, "team", "teams/dev"); err != nil || team.GetMemberCount() != 3 {
		t.Errorf("known team: %v %v", team, err)
	}
	if _, err := c.Team(ctx, "team", "teams/gone"); !slices.Equal(fields(t, err), []string{"team"}) || !strings.Contains(err.Error(), "no such team") {
		t.Errorf("unknown team: %v", err)
	}
	for name, c := range map[string]*memberref.Checker{"down": memberref.New(directory{down: true}), "no client": memberref.New(nil)} {
		if err := c.People(ctx, "owners", []string{"people/a"}); status.Code(err) != codes.Unavailable {
			t.Errorf("%s: %v, want UNAVAILABLE", name, err)
		}
		if _, err := c.Team(ctx, "team", "teams/dev"); status.Code(err) != codes.Unavailable {
			t.Errorf("%s: %v, want UNAVAILABLE", name, err)
		}
	}
}
