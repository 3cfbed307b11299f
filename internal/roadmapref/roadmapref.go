// Package roadmapref checks, for the services other than roadmap, that the
// roadmap items a request names exist, as package memberref does for people
// and teams: an unknown item is the caller's mistake (INVALID_ARGUMENT on the
// field) and a roadmap service that cannot answer is UNAVAILABLE, never
// INTERNAL. It must not import the roadmap service, only its API.
package roadmapref

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/apierr"
)

// Timeout bounds each check, so a hung roadmap service turns into
// UNAVAILABLE rather than a stuck request.
const Timeout = 5 * time.Second

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
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	_, err := c.client.GetItem(ctx, &roadmapv1.GetItemRequest{Name: item})
	switch status.Code(err) {
	case codes.OK:
		return nil
	case codes.NotFound, codes.InvalidArgument:
		return apierr.InvalidField(field, "no such item on the roadmap: "+item)
	case codes.Canceled:
		return err
	}
	return Unavailable()
}
