package roadmap

import (
	"context"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/lifecycle"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
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

// staleBatch is how many stale items one pass of the stale job announces.
const staleBatch = 200

// announceStale is a pass of the roadmap.stale job: it announces, once per
// stretch without a status update, every IN_PROGRESS item that went stale
// (StaleAfter), claiming them with SKIP LOCKED so replicas share the work.
func (s *Server) announceStale(ctx context.Context) (bool, error) {
	more := false
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		rows, err := s.q.AnnounceStaleItems(ctx, tx, store.AnnounceStaleItemsParams{Cutoff: now.Add(-s.staleAfter()), MaxCount: staleBatch})
		if err != nil {
			return err
		}
		more = len(rows) == staleBatch
		for _, r := range rows {
			name := resource.Name(items, r.ID)
			if err := s.emit(ctx, tx, events.ItemStale, name, &roadmapv1.Item{Name: name, State: roadmapv1.Item_STATE_IN_PROGRESS,
				OwnerTeam: r.OwnerTeam, OwnerPeople: r.OwnerPeople, LastUpdateTime: timestamppb.New(r.LastUpdateTime), Stale: true}); err != nil {
				return err
			}
		}
		return nil
	})
	return more, err
}
