package roadmap

import (
	"context"

	"github.com/jackc/pgx/v5"

	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/convert"
	"github.com/guildhall/guildhall/internal/resource"
	"github.com/guildhall/guildhall/services/roadmap/store"
)

// horizon places an item on the now/next/later view: work under way (or
// still open in a release being developed) is now, planned work is next,
// proposed and deferred work is later, and finished or declined work is off it.
func horizon(it *roadmapv1.Item, releaseState roadmapv1.Release_State) roadmapv1.Horizon {
	switch it.GetState() {
	case roadmapv1.Item_STATE_IN_PROGRESS:
		return roadmapv1.Horizon_HORIZON_NOW
	case roadmapv1.Item_STATE_PLANNED, roadmapv1.Item_STATE_PROPOSED:
		if releaseState == roadmapv1.Release_STATE_IN_DEVELOPMENT {
			return roadmapv1.Horizon_HORIZON_NOW
		}
		if it.GetState() == roadmapv1.Item_STATE_PLANNED {
			return roadmapv1.Horizon_HORIZON_NEXT
		}
		return roadmapv1.Horizon_HORIZON_LATER
	case roadmapv1.Item_STATE_DEFERRED:
		return roadmapv1.Horizon_HORIZON_LATER
	}
	return roadmapv1.Horizon_HORIZON_UNSPECIFIED
}

// GetRoadmap answers the roadmap page in three queries, whatever its size:
// releases, items, and the proposals (open and closed) that link items or
// releases; progress, grouping and links are joined in memory. The reads
// share one REPEATABLE READ snapshot so progress and items agree.
func (s *Server) GetRoadmap(ctx context.Context, req *roadmapv1.GetRoadmapRequest) (*roadmapv1.Roadmap, error) {
	now := s.now()
	var rels []store.Release
	var rows []store.AllItemsRow
	var props []store.LinkedProposalsRow
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if rels, err = s.q.AllReleases(ctx, tx); err != nil {
			return err
		}
		if rows, err = s.q.AllItems(ctx, tx); err != nil {
			return err
		}
		props, err = s.q.LinkedProposals(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Proposals by the item or release they link, open and closed apart.
	open, closed := map[string][]*roadmapv1.ProposalSummary{}, map[string][]*roadmapv1.ProposalSummary{}
	for _, p := range props {
		st := stateOf(store.Proposal{State: p.State, CloseTime: p.CloseTime}, now).Effective
		sum := &roadmapv1.ProposalSummary{
			Name: resource.Name(proposals, p.ID), Question: p.Question, CloseTime: convert.Timestamp(p.CloseTime),
			State: st, Outcome: p.Outcome, ReviewDate: convert.FormatDate(p.ReviewDate),
		}
		to := open
		if st == roadmapv1.Proposal_STATE_CLOSED {
			to = closed
		}
		for _, n := range p.LinkedItems {
			to[n] = append(to[n], sum)
		}
		for _, n := range p.LinkedReleases {
			to[n] = append(to[n], sum)
		}
	}
	out := &roadmapv1.Roadmap{Horizons: &roadmapv1.Horizons{}}
	byRelease := map[string]*roadmapv1.RoadmapRelease{}
	for _, r := range rels {
		rel := releaseFromRow(r)
		if req.GetHideEndOfLife() && rel.GetState() == roadmapv1.Release_STATE_END_OF_LIFE {
			continue
		}
		rr := &roadmapv1.RoadmapRelease{Release: rel, OpenProposals: open[rel.GetName()], ClosedProposals: closed[rel.GetName()]}
		byRelease[r.ID] = rr
		out.Releases = append(out.Releases, rr)
	}
	for _, row := range rows {
		it := s.itemFromRow(store.Item(row), now)
		var rr *roadmapv1.RoadmapRelease
		state := roadmapv1.Release_STATE_UNSPECIFIED
		if row.ReleaseID.Valid {
			if rr = byRelease[row.ReleaseID.String]; rr == nil {
				continue // in a hidden release
			}
			state = rr.GetRelease().GetState()
		}
		ri := &roadmapv1.RoadmapItem{Item: it, Horizon: horizon(it, state),
			OpenProposals: open[it.GetName()], ClosedProposals: closed[it.GetName()]}
		if rr != nil {
			rr.Items = append(rr.Items, ri)
			rel := rr.GetRelease()
			switch it.GetState() {
			case roadmapv1.Item_STATE_DEFERRED, roadmapv1.Item_STATE_DECLINED:
			case roadmapv1.Item_STATE_DONE:
				rel.ItemCount++
				rel.DoneCount++
			default:
				rel.ItemCount++
			}
		} else {
			out.Backlog = append(out.Backlog, ri)
		}
		h := out.Horizons
		switch ri.Horizon {
		case roadmapv1.Horizon_HORIZON_NOW:
			h.Now = append(h.Now, it.GetName())
		case roadmapv1.Horizon_HORIZON_NEXT:
			h.Next = append(h.Next, it.GetName())
		case roadmapv1.Horizon_HORIZON_LATER:
			h.Later = append(h.Later, it.GetName())
		}
	}
	var all []*roadmapv1.Item
	for _, rr := range out.Releases {
		r := rr.GetRelease()
		setProgress(r, r.ItemCount, r.DoneCount)
		for _, ri := range rr.GetItems() {
			all = append(all, ri.GetItem())
		}
	}
	for _, ri := range out.Backlog {
		all = append(all, ri.GetItem())
	}
	// One read of goals and one of positions for the whole roadmap.
	s.withFigures(ctx, all...)
	return out, nil
}
