package roadmap

import (
	"context"
	"math/big"
	"strings"
	"sync"

	"go.uber.org/zap"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/crossref"
)

// links is what the other services say about items: the goals that fund
// them (finance) and the positions that staff them (membership). A side
// that did not answer is nil, and the figures it feeds are left out.
type links struct {
	goals     map[string][]*financev1.Goal // by roadmap item
	byItem    map[string][]*membershipv1.Position
	byTeam    map[string][]*membershipv1.Position // positions that name no item, by team
	haveGoals bool
	havePos   bool
}

// linkPageSize is the page size of the reads behind the figures.
const linkPageSize = 1000

// loadLinks reads the goals and positions behind the figures of items, from
// finance and membership at once, each within crossref.FiguresTimeout. For
// one item (single) it asks only for what names that item or its team.
// Errors are logged and cost only the figures: reads never fail for them.
func (s *Server) loadLinks(ctx context.Context, single *roadmapv1.Item) links {
	l := links{goals: map[string][]*financev1.Goal{}, byItem: map[string][]*membershipv1.Position{}, byTeam: map[string][]*membershipv1.Position{}}
	var wg sync.WaitGroup
	if s.opts.Finance != nil {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, crossref.FiguresTimeout)
			defer cancel()
			goals, err := s.listGoals(ctx)
			if err != nil {
				s.log.Warn("item funding left out: finance did not answer", zap.Error(err))
				return
			}
			for _, g := range goals {
				if g.GetRoadmapItem() != "" {
					l.goals[g.GetRoadmapItem()] = append(l.goals[g.GetRoadmapItem()], g)
				}
			}
			l.haveGoals = true
		})
	}
	if s.opts.Membership != nil {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, crossref.FiguresTimeout)
			defer cancel()
			var reqs []*membershipv1.ListPositionsRequest
			if single != nil {
				reqs = append(reqs, &membershipv1.ListPositionsRequest{Parent: "teams/-", RoadmapItem: single.GetName()})
				if single.GetOwnerTeam() != "" {
					reqs = append(reqs, &membershipv1.ListPositionsRequest{Parent: single.GetOwnerTeam()})
				}
			} else {
				reqs = append(reqs, &membershipv1.ListPositionsRequest{Parent: "teams/-"})
			}
			seen := map[string]bool{}
			for _, req := range reqs {
				positions, err := s.listPositions(ctx, req)
				if err != nil {
					s.log.Warn("item staffing left out: membership did not answer", zap.Error(err))
					return
				}
				for _, p := range positions {
					if seen[p.GetName()] {
						continue
					}
					seen[p.GetName()] = true
					if p.GetRoadmapItem() != "" {
						l.byItem[p.GetRoadmapItem()] = append(l.byItem[p.GetRoadmapItem()], p)
					} else {
						team := positionTeam(p.GetName())
						l.byTeam[team] = append(l.byTeam[team], p)
					}
				}
			}
			l.havePos = true
		})
	}
	wg.Wait()
	return l
}

func (s *Server) listGoals(ctx context.Context) ([]*financev1.Goal, error) {
	var out []*financev1.Goal
	req := &financev1.ListGoalsRequest{PageSize: linkPageSize}
	for {
		resp, err := s.opts.Finance.ListGoals(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetGoals()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out, nil
		}
	}
}

func (s *Server) listPositions(ctx context.Context, req *membershipv1.ListPositionsRequest) ([]*membershipv1.Position, error) {
	var out []*membershipv1.Position
	req.PageSize = linkPageSize
	for {
		resp, err := s.opts.Membership.ListPositions(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, resp.GetPositions()...)
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			return out, nil
		}
	}
}

// positionTeam is `teams/{team}` of `teams/{team}/positions/{position}`.
func positionTeam(name string) string {
	if i := strings.Index(name, "/positions/"); i > 0 {
		return name[:i]
	}
	return name
}

// withFigures fills items' progress figures. Guildhall services that only
// check that an item exists (finance and membership, for the items their
// records name) get the item without them: they never read them, and it
// keeps those checks from calling back into the services that asked.
func (s *Server) withFigures(ctx context.Context, items ...*roadmapv1.Item) {
	if auth.From(ctx).GetService() != "" || len(items) == 0 {
		return
	}
	var single *roadmapv1.Item
	if len(items) == 1 {
		single = items[0]
	}
	l := s.loadLinks(ctx, single)
	for _, it := range items {
		l.apply(it)
	}
}

// apply sets it's funding and staffing from l.
func (l links) apply(it *roadmapv1.Item) {
	if l.haveGoals {
		goals := l.goals[it.GetName()]
		it.Goals = nil
		for _, g := range goals {
			it.Goals = append(it.Goals, g.GetName())
		}
		it.FundedPercent = fundedPercent(goals)
	}
	if l.havePos {
		positions := l.byItem[it.GetName()]
		if it.GetOwnerTeam() != "" {
			positions = append(positions[:len(positions):len(positions)], l.byTeam[it.GetOwnerTeam()]...)
		}
		it.FilledPositions, it.OpenPositions, it.StaffedPercent = staffing(positions)
	}
}

// donePercent is how far an item's work is, from its state alone: there are
// no child items to count.
func donePercent(st roadmapv1.Item_State) int32 {
	switch st {
	case roadmapv1.Item_STATE_DONE:
		return 100
	case roadmapv1.Item_STATE_IN_PROGRESS:
		return 50
	}
	return 0
}

// fundedPercent is the share of the goals' targets raised, in whole percent
// rounded down: per currency, the progress of each goal capped at its
// target, summed, against the sum of targets; with several currencies, the
// mean of their percentages. Exact (big integers: sums of up to 10^15 per
// goal may pass int64). Nil without goals that have a positive target.
func fundedPercent(goals []*financev1.Goal) *int32 {
	type sums struct{ raised, target big.Int }
	by := map[string]*sums{}
	var order []string
	for _, g := range goals {
		target := g.GetTarget().GetMinorUnits()
		if target <= 0 {
			continue
		}
		code := g.GetTarget().GetCurrencyCode()
		s, ok := by[code]
		if !ok {
			s = &sums{}
			by[code] = s
			order = append(order, code)
		}
		raised := g.GetProgress().GetMinorUnits()
		if g.GetProgress().GetCurrencyCode() != code {
			raised = 0
		}
		raised = max(0, min(raised, target))
		s.raised.Add(&s.raised, big.NewInt(raised))
		s.target.Add(&s.target, big.NewInt(target))
	}
	if len(order) == 0 {
		return nil
	}
	var total int64
	for _, code := range order {
		s := by[code]
		var p big.Int
		p.Mul(&s.raised, big.NewInt(100))
		p.Quo(&p, &s.target)
		total += p.Int64()
	}
	pct := int32(total / int64(len(order)))
	return &pct
}

// staffing counts filled and open positions (closed ones do not count) and
// the filled share in whole percent rounded down; nil without any.
func staffing(positions []*membershipv1.Position) (filled, open int32, pct *int32) {
	for _, p := range positions {
		switch p.GetState() {
		case membershipv1.Position_STATE_FILLED:
			filled++
		case membershipv1.Position_STATE_OPEN:
			open++
		}
	}
	if filled+open == 0 {
		return filled, open, nil
	}
	v := filled * 100 / (filled + open)
	return filled, open, &v
}
