package roadmap

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
)

// emit writes a roadmap event in tx, the write's transaction. Everything
// the roadmap holds is public, and so are its events.
func (s *Server) emit(ctx context.Context, tx pgx.Tx, typ, subject string, data proto.Message) error {
	return events.Emit(ctx, tx, events.Event{Type: typ, Subject: subject, Data: data, Audience: events.Public(), Time: s.now()})
}

// emitTransition announces a release's or proposal's move (the lifecycle
// hook): a release's new state; a proposal opened, or closed with its
// outcome decided.
func (s *Server) emitTransition(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	var typ string
	switch {
	case c.Kind == "release":
		typ = events.ReleaseStateChanged
	case c.Kind == "proposal" && c.To == roadmapv1.Proposal_STATE_OPEN.String():
		typ = events.ProposalOpened
	case c.Kind == "proposal" && c.To == roadmapv1.Proposal_STATE_CLOSED.String():
		typ = events.ProposalClosed
	case c.Kind == "item":
		typ = events.ItemStateChanged
	default:
		return nil
	}
	return s.emit(ctx, tx, typ, c.Name, events.TransitionData(c.Name, c.From, c.To))
}
