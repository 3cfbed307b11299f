package roadmap

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/convert"
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

// proposalBatch is how many proposals one pass of the proposals job closes,
// and announces, at most.
const proposalBatch = 100

// closingWindow is how long before its close time a proposal's voters are
// told it closes (ProposalClosingSoon).
const closingWindow = 24 * time.Hour

// proposalsPass is a pass of the roadmap.proposals job. It closes the OPEN
// proposals whose close time passed and that no reader froze yet
// (closeOnTime: frozen and ProposalClosed, once), then announces once each
// OPEN proposal that closes within closingWindow (ProposalClosingSoon),
// the mark and the event in one transaction. Rows are claimed with SKIP
// LOCKED, so replicas share the work.
func (s *Server) proposalsPass(ctx context.Context) (bool, error) {
	more := false
	err := database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		due, err := s.q.ClaimDueProposals(ctx, tx, store.ClaimDueProposalsParams{Now: s.now(), MaxCount: proposalBatch})
		if err != nil {
			return err
		}
		more = len(due) == proposalBatch
		for _, p := range due {
			if _, err := s.closeOnTime(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	err = database.InTx(ctx, s.db, func(tx pgx.Tx) error {
		now := s.now()
		rows, err := s.q.AnnounceClosingProposals(ctx, tx, store.AnnounceClosingProposalsParams{Now: now, Until: now.Add(closingWindow), MaxCount: proposalBatch})
		if err != nil {
			return err
		}
		more = more || len(rows) == proposalBatch
		for _, r := range rows {
			name := resource.Name(proposals, r.ID)
			if err := s.emit(ctx, tx, events.ProposalClosingSoon, name, &roadmapv1.Proposal{Name: name, Question: r.Question,
				EligibleTeam: r.EligibleTeam, CloseTime: convert.Timestamp(r.CloseTime), State: roadmapv1.Proposal_STATE_OPEN}); err != nil {
				return err
			}
		}
		return nil
	})
	return more, err
}
