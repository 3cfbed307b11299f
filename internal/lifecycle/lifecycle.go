// Package lifecycle moves a resource through its states. A Machine is the
// table of allowed moves over typed states (the generated proto enums);
// Transition makes one move inside the caller's transaction: it locks the
// row (SELECT … FOR UPDATE), checks the caller's etag and the move, applies
// the move, records who made it and when, and runs the After hook.
//
// A refused move is FAILED_PRECONDITION with reason ILLEGAL_TRANSITION
// (typev1.ErrorReason), raised here and nowhere else for state machines,
// with the from and to states in the ErrorInfo metadata; a stale etag is
// ABORTED (apierr.EtagMismatch).
//
// Modelled on river's rivertype, whose job states have one table of allowed
// moves. This package must not import the services.
package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	typev1 "github.com/guildhall/guildhall/gen/go/guildhall/type/v1"
	"github.com/guildhall/guildhall/internal/apierr"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/resource"
)

// ReasonIllegalTransition is the reason of a move the table does not allow.
const ReasonIllegalTransition = typev1.ErrorReason_ILLEGAL_TRANSITION

// State is a typed state, such as a generated proto enum.
type State interface {
	comparable
	String() string
}

// Machine is the table of allowed moves of one kind of resource. A state
// with no moves out is final. The zero Machine allows nothing.
type Machine[S State] struct {
	kind  string
	moves map[S][]S
}

// New returns the machine of kind ("release", "expense"), named in refusals,
// allowing from → to for each to listed under from.
func New[S State](kind string, moves map[S][]S) Machine[S] {
	return Machine[S]{kind: kind, moves: moves}
}

// Kind is the kind of resource the machine moves.
func (m Machine[S]) Kind() string { return m.kind }

// Next lists the states from may move to.
func (m Machine[S]) Next(from S) []S { return slices.Clone(m.moves[from]) }

// Final reports a state with no moves out.
func (m Machine[S]) Final(s S) bool { return len(m.moves[s]) == 0 }

// Allows reports whether the table lists from → to. Staying put is not a
// move; Spec.Stay decides what it means.
func (m Machine[S]) Allows(from, to S) bool { return slices.Contains(m.moves[from], to) }

// Check refuses from → to unless the table allows it, saying what would
// have been allowed: FAILED_PRECONDITION, ILLEGAL_TRANSITION, metadata
// "from" and "to".
func (m Machine[S]) Check(from, to S) error {
	if m.Allows(from, to) {
		return nil
	}
	next := m.moves[from]
	allowed := "none: it is final"
	if len(next) > 0 {
		names := make([]string, len(next))
		for i, n := range next {
			names[i] = n.String()
		}
		allowed = strings.Join(names, ", ")
	}
	return m.Refuse(from, to, fmt.Sprintf("a %s cannot move from %s to %s; from %s it may move to %s", m.kind, from, to, from, allowed))
}

// Refuse is the refusal of a move the table lists but the resource's
// condition forbids (a package with maintainers cannot be UNMAINTAINED):
// FAILED_PRECONDITION, ILLEGAL_TRANSITION, metadata "from" and "to", and
// why as its message.
func (m Machine[S]) Refuse(from, to S, why string) error {
	e := apierr.FailedPrecondition(ReasonIllegalTransition, why)
	e.Metadata = map[string]string{"from": from.String(), "to": to.String()}
	return e
}

// Move is one transition as it is made and recorded.
type Move[S State] struct {
	Name     string // the resource's name, e.g. "releases/r1"
	From, To S
	// Actor is who moved it: "people/{person}", "services/{service}", or ""
	// for an anonymous caller (auth.Actor).
	Actor string
	Time  time.Time // when, from the service clock (UTC)
	Note  string
}

// Change is a Move with its states spelled out, for hooks that serve every
// kind of resource alike.
type Change struct {
	Kind, Name, From, To, Actor, Note string
	Time                              time.Time
}

// Hook runs inside a transition's transaction, after the move is applied
// and recorded; its error rolls the whole move back. It is the seam for
// what every state change owes others: activity, and a domain event per
// transition emitted in the same transaction (the outbox).
type Hook func(ctx context.Context, tx pgx.Tx, c Change) error

// Spec is one transition of a row of type R.
type Spec[S State, R any] struct {
	Machine Machine[S]
	Name    string // the resource's name: NOT_FOUND and ABORTED name it
	To      S
	Etag    string // the caller's etag; "" skips the check
	Note    string
	Now     time.Time // the service clock
	// Stay makes a move to the current state no move: the row is returned
	// as it is, and nothing is applied, recorded or hooked. Without Stay it
	// is refused like any move the table does not list.
	Stay bool
	// Lock reads the row with SELECT … FOR UPDATE; pgx.ErrNoRows is NOT_FOUND.
	Lock func(tx pgx.Tx) (R, error)
	// Of gives the row's state and etag.
	Of func(R) (S, string)
	// Target, if set, decides the state to move to under the lock, after the
	// etag check, and replaces To: for a method whose move follows from the
	// row, or from what it changes first under the same lock (an orphaned
	// package is UNMAINTAINED only once its last maintainer has left).
	// Its error rolls the transaction back like any other.
	Target func(tx pgx.Tx, row R) (S, error)
	// Refuse, if set, words the refusal of a move the table does not allow
	// (a resource that has its own documented reasons); by default Check's.
	Refuse func(from, to S) error
	// Apply makes the move and returns the row after it. Its state is the
	// move's To as recorded: an Apply may stop short (an expense's first of
	// two approvals leaves it SUBMITTED).
	Apply func(tx pgx.Tx, row R, m Move[S]) (R, error)
	// Record keeps the move in the resource's history; optional.
	Record func(tx pgx.Tx, m Move[S]) error
	// After runs last, in the same transaction; optional (see Hook).
	After Hook
}

// Transition makes sp's move in tx and returns the row after it, and the
// move (zero when Stay left the row as it was). On an error the caller
// rolls tx back.
func Transition[S State, R any](ctx context.Context, tx pgx.Tx, sp Spec[S, R]) (R, Move[S], error) {
	var (
		none Move[S]
		zero R
	)
	row, err := sp.Lock(tx)
	if err != nil {
		return zero, none, resource.NotFoundIfNoRows(err, sp.Name)
	}
	from, etag := sp.Of(row)
	if sp.Etag != "" && sp.Etag != etag {
		return zero, none, apierr.EtagMismatch(sp.Name)
	}
	if sp.Target != nil {
		if sp.To, err = sp.Target(tx, row); err != nil {
			return zero, none, err
		}
	}
	if from == sp.To && sp.Stay {
		return row, none, nil
	}
	if !sp.Machine.Allows(from, sp.To) {
		if sp.Refuse != nil {
			return zero, none, sp.Refuse(from, sp.To)
		}
		return zero, none, sp.Machine.Check(from, sp.To)
	}
	m := Move[S]{Name: sp.Name, From: from, To: sp.To, Actor: auth.Actor(ctx), Time: sp.Now.UTC(), Note: sp.Note}
	if row, err = sp.Apply(tx, row, m); err != nil {
		return zero, none, err
	}
	m.To, _ = sp.Of(row)
	if sp.Record != nil {
		if err := sp.Record(tx, m); err != nil {
			return zero, none, err
		}
	}
	if sp.After != nil {
		c := Change{Kind: sp.Machine.Kind(), Name: m.Name, From: m.From.String(), To: m.To.String(), Actor: m.Actor, Note: m.Note, Time: m.Time}
		if err := sp.After(ctx, tx, c); err != nil {
			return zero, none, err
		}
	}
	return row, m, nil
}
