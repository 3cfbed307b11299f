// Package crossref is what every check of a name that another service owns
// shares (people and teams in package memberref, roadmap items in package
// roadmapref): how long to wait for the owner, and what its answer means to
// the caller. An unknown name is the caller's mistake (INVALID_ARGUMENT on
// the field that names it); an owner that cannot answer is UNAVAILABLE,
// never INTERNAL.
package crossref

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/internal/apierr"
)

// Timeout bounds each check, so a hung owner turns into UNAVAILABLE rather
// than a stuck request.
const Timeout = 5 * time.Second

// FiguresTimeout bounds a read of another service's figures that an answer
// can go without (an item's funding and staffing): a slow owner costs the
// figures, not the answer. It is well under the transparency report's
// per-part deadline, so a slow finance or membership does not cost the
// roadmap part.
const FiguresTimeout = time.Second

// Err turns the owner's failed lookup into the caller's error: NOT_FOUND or
// INVALID_ARGUMENT is a violation on field saying unknown; a cancelled call
// stays cancelled; anything else is unavailable.
func Err(err error, field, unknown string, unavailable error) error {
	switch status.Code(err) {
	case codes.NotFound, codes.InvalidArgument:
		return apierr.InvalidField(field, unknown)
	case codes.Canceled:
		return err
	}
	return unavailable
}
