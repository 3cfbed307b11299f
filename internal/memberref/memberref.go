// Package memberref checks, for the services other than membership, that the
// people and teams a request names exist. It is the one place that decides
// how long to wait for membership and what its answers mean to the caller:
// an unknown name is the caller's mistake (INVALID_ARGUMENT on the field),
// and a membership that cannot answer is UNAVAILABLE, never INTERNAL.
package memberref

import (
	"context"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/crossref"
)

// Timeout bounds each check (crossref.Timeout).
const Timeout = crossref.Timeout

// parallel is how many lookups of one list run at once.
const parallel = 8

// Checker asks membership about names.
type Checker struct {
	client membershipv1.MembershipServiceClient
}

// New returns a Checker over client; with a nil client every check that has
// a name to look up is UNAVAILABLE.
func New(client membershipv1.MembershipServiceClient) *Checker {
	return &Checker{client: client}
}

// Unavailable is the error for a membership service that cannot answer.
func Unavailable() error {
	return apierr.Unavailable("cannot check people and teams now: the membership service is unavailable")
}

// Team returns team (`teams/{team}`), or the error for field if membership
// does not know it or cannot answer.
func (c *Checker) Team(ctx context.Context, field, team string) (*membershipv1.Team, error) {
	if c.client == nil {
		return nil, Unavailable()
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	t, err := c.client.GetTeam(ctx, &membershipv1.GetTeamRequest{Name: team})
	if err != nil {
		return nil, lookupErr(err, field, team)
	}
	return t, nil
}

// Lookup returns person (`people/{person}`), or the error for field if
// membership does not know them or cannot answer.
func (c *Checker) Lookup(ctx context.Context, field, person string) (*membershipv1.Person, error) {
	if c.client == nil {
		return nil, Unavailable()
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	p, err := c.client.GetPerson(ctx, &membershipv1.GetPersonRequest{Name: person})
	if err != nil {
		return nil, lookupErr(err, field, person)
	}
	return p, nil
}

// Person fails unless person (`people/{person}`) exists; "" passes.
func (c *Checker) Person(ctx context.Context, field, person string) error {
	if person == "" {
		return nil
	}
	return c.people(ctx, []string{person}, func(int) string { return field })
}

// People fails unless every person exists, with a violation on field[i] for
// each unknown one. The lookups run in parallel.
func (c *Checker) People(ctx context.Context, field string, people []string) error {
	if len(people) == 0 {
		return nil
	}
	return c.people(ctx, people, func(i int) string { return field + "[" + strconv.Itoa(i) + "]" })
}

func (c *Checker) people(ctx context.Context, people []string, fieldOf func(int) string) error {
	if c.client == nil {
		return Unavailable()
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	errs := make([]error, len(people))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i, p := range people {
		g.Go(func() error {
			if _, err := c.client.GetPerson(gctx, &membershipv1.GetPersonRequest{Name: p}); err != nil {
				errs[i] = lookupErr(err, fieldOf(i), p)
			}
			return nil
		})
	}
	_ = g.Wait()
	var bad []apierr.FieldViolation
	for _, err := range errs {
		if err == nil {
			continue
		}
		ae, ok := err.(*apierr.Error)
		if !ok || ae.Code != codes.InvalidArgument {
			return err
		}
		bad = append(bad, ae.Violations...)
	}
	if len(bad) > 0 {
		return apierr.Invalid(bad...)
	}
	return nil
}

// lookupErr turns a failed lookup of name into the caller's error.
func lookupErr(err error, field, name string) error {
	kind := "person"
	if strings.HasPrefix(name, "teams/") {
		kind = "team"
	}
	return crossref.Err(err, field, "no such "+kind+" in membership: "+name, Unavailable())
}
