// Package roadmapref checks, for the services other than roadmap, that the
// roadmap items a request names exist, by the rules of package crossref. It
// must not import the roadmap service, only its API.
package roadmapref

import (
	"context"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/crossref"
)

// Checker asks roadmap about items.
type Checker struct {
	client roadmapv1.RoadmapServiceClient
}

// New returns a Checker over client; with a nil client every check that has
// a name to look up is UNAVAILABLE.
func New(client roadmapv1.RoadmapServiceClient) *Checker {
	return &Checker{client: client}
}

// Unavailable is the error for a roadmap service that cannot answer.
func Unavailable() error {
	return apierr.Unavailable("cannot check roadmap items now: the roadmap service is unavailable")
}

// Item fails unless item (`items/{item}`) exists, with a violation on field
// if roadmap does not know it; "" passes. The name's shape is the proto's
// rule (checked before the handler runs).
func (c *Checker) Item(ctx context.Context, field, item string) error {
	if item == "" {
		return nil
	}
	if c.client == nil {
		return Unavailable()
	}
	ctx, cancel := context.WithTimeout(ctx, crossref.Timeout)
	defer cancel()
	if _, err := c.client.GetItem(ctx, &roadmapv1.GetItemRequest{Name: item}); err != nil {
		return crossref.Err(err, field, "no such item on the roadmap: "+item, Unavailable())
	}
	return nil
}
