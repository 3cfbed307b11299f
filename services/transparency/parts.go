package transparency

import (
	"cmp"
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
)

// roadmapPart groups the roadmap's items by horizon, most urgent first.
func (s *Server) roadmapPart(ctx context.Context) (*transparencyv1.RoadmapPart, error) {
	rm, err := s.roadmap.GetRoadmap(ctx, &roadmapv1.GetRoadmapRequest{HideEndOfLife: true})
	if err != nil {
		return nil, err
	}
	out := &transparencyv1.RoadmapPart{}
	by := map[roadmapv1.Horizon][]*roadmapv1.Item{}
	add := func(items []*roadmapv1.RoadmapItem) {
		for _, it := range items {
			by[it.GetHorizon()] = append(by[it.GetHorizon()], it.GetItem())
		}
	}
	for _, r := range rm.GetReleases() {
		rel := proto.CloneOf(r.GetRelease())
		rel.History = nil
		out.Releases = append(out.Releases, rel)
		add(r.GetItems())
	}
	add(rm.GetBacklog())
	group := func(h roadmapv1.Horizon) ([]*roadmapv1.Item, int32) {
		items := by[h]
		slices.SortStableFunc(items, func(a, b *roadmapv1.Item) int {
			return cmp.Or(cmp.Compare(b.GetPriority(), a.GetPriority()), cmp.Compare(a.GetName(), b.GetName()))
		})
		return items[:min(len(items), listCap)], int32(len(items))
	}
	out.Now, out.NowCount = group(roadmapv1.Horizon_HORIZON_NOW)
	out.Next, out.NextCount = group(roadmapv1.Horizon_HORIZON_NEXT)
	out.Later, out.LaterCount = group(roadmapv1.Horizon_HORIZON_LATER)
	return out, nil
}

// decisionsPart lists open proposals and those closed in the last 90 days.
func (s *Server) decisionsPart(ctx context.Context, now time.Time) (*transparencyv1.DecisionsPart, error) {
	var all []*roadmapv1.Proposal
	token := ""
	for {
		resp, err := s.roadmap.ListProposals(ctx, &roadmapv1.ListProposalsRequest{PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		all = append(all, resp.GetProposals()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	out := &transparencyv1.DecisionsPart{}
	since := now.Add(-decidedWindow)
	for _, p := range all {
		sum := &roadmapv1.ProposalSummary{
			Name: p.GetName(), Question: p.GetQuestion(), CloseTime: p.GetCloseTime(),
			State: p.GetState(), Outcome: p.GetOutcome(), ReviewDate: p.GetReviewDate(),
		}
		// The state is the one readers see: roadmap answers CLOSED for an
		// open proposal past its close time.
		switch {
		case p.GetState() == roadmapv1.Proposal_STATE_OPEN:
			out.Open = append(out.Open, sum)
		case p.GetState() == roadmapv1.Proposal_STATE_CLOSED && p.GetCloseTime() != nil && !p.GetCloseTime().AsTime().Before(since):
			out.Decided = append(out.Decided, sum)
		}
	}
	closes := func(p *roadmapv1.ProposalSummary) time.Time {
		if p.GetCloseTime() == nil {
			return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) // open-ended: last
		}
		return p.GetCloseTime().AsTime()
	}
	slices.SortStableFunc(out.Open, func(a, b *roadmapv1.ProposalSummary) int {
		return cmp.Or(closes(a).Compare(closes(b)), cmp.Compare(a.GetName(), b.GetName()))
	})
	slices.SortStableFunc(out.Decided, func(a, b *roadmapv1.ProposalSummary) int {
		return cmp.Or(closes(b).Compare(closes(a)), cmp.Compare(a.GetName(), b.GetName()))
	})
	out.Open = out.Open[:min(len(out.Open), listCap)]
	out.Decided = out.Decided[:min(len(out.Decided), listCap)]
	return out, nil
}

// moneyPart reads twelve months of reports, ending with the current one,
// and the goals.
func (s *Server) moneyPart(ctx context.Context, now time.Time) (*transparencyv1.MoneyPart, error) {
	first := time.Date(now.Year(), now.Month()-11, 1, 0, 0, 0, 0, time.UTC)
	months := make([]string, 12)
	for i := range months {
		months[i] = first.AddDate(0, i, 0).Format("2006-01")
	}
	rng, err := s.finance.GetReportRange(ctx, &financev1.GetReportRangeRequest{From: months[0], To: months[11]})
	if err != nil {
		return nil, err
	}
	out := &transparencyv1.MoneyPart{Month: months[11]}
	byCurrency := map[string]*transparencyv1.CurrencyMoney{}
	section := func(code string) *transparencyv1.CurrencyMoney {
		c, ok := byCurrency[code]
		if !ok {
			c = &transparencyv1.CurrencyMoney{CurrencyCode: code}
			for _, m := range months {
				c.Months = append(c.Months, &transparencyv1.MonthFigures{Month: m})
			}
			byCurrency[code] = c
		}
		return c
	}
	for _, rep := range rng.GetReports() {
		i := slices.Index(months, rep.GetMonth())
		if i < 0 {
			continue
		}
		for _, cur := range rep.GetCurrencies() {
			c := section(cur.GetCurrencyCode())
			c.Months[i] = &transparencyv1.MonthFigures{
				Month: rep.GetMonth(), Income: cur.GetIncomeTotal(), Costs: cur.GetExpenseTotal(), Net: cur.GetNet(),
				IncomeBySource: cur.GetIncomeBySource(),
			}
			if i == len(months)-1 {
				c.Cash, c.AverageCosts, c.RunwayMonths, c.Balances = cur.GetCash(), cur.GetAverageCosts(), cur.RunwayMonths, cur.GetClosingBalances()
			}
		}
	}
	for _, c := range byCurrency {
		out.Currencies = append(out.Currencies, c)
	}
	slices.SortFunc(out.Currencies, func(a, b *transparencyv1.CurrencyMoney) int {
		return cmp.Compare(a.GetCurrencyCode(), b.GetCurrencyCode())
	})
	token := ""
	for len(out.Goals) < listCap {
		resp, err := s.finance.ListGoals(ctx, &financev1.ListGoalsRequest{PageSize: listCap, PageToken: token})
		if err != nil {
			return nil, err
		}
		out.Goals = append(out.Goals, resp.GetGoals()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	out.Goals = out.Goals[:min(len(out.Goals), listCap)]
	return out, nil
}

// rosterPart lists the teams with their leads.
func (s *Server) rosterPart(ctx context.Context) (*transparencyv1.RosterPart, error) {
	var teams []*membershipv1.Team
	token := ""
	for {
		resp, err := s.membership.ListTeams(ctx, &membershipv1.ListTeamsRequest{PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		teams = append(teams, resp.GetTeams()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	leads := map[string][]*transparencyv1.TeamLead{}
	for {
		resp, err := s.membership.ListTeamMembers(ctx, &membershipv1.ListTeamMembersRequest{
			Parent: "teams/-", Role: membershipv1.Role_ROLE_LEAD, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, m := range resp.GetTeamMembers() {
			team := teamOf(m.GetName())
			leads[team] = append(leads[team], &transparencyv1.TeamLead{Person: m.GetPerson(), DisplayName: m.GetDisplayName()})
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	slices.SortFunc(teams, func(a, b *membershipv1.Team) int { return cmp.Compare(a.GetName(), b.GetName()) })
	out := &transparencyv1.RosterPart{TeamCount: int32(len(teams))}
	for _, t := range teams[:min(len(teams), listCap)] {
		l := leads[t.GetName()]
		slices.SortFunc(l, func(a, b *transparencyv1.TeamLead) int { return cmp.Compare(a.GetPerson(), b.GetPerson()) })
		out.Teams = append(out.Teams, &transparencyv1.RosterTeam{
			Team: t.GetName(), DisplayName: t.GetDisplayName(), Parent: t.GetParent(), MemberCount: t.GetMemberCount(), Leads: l,
		})
	}
	return out, nil
}

// teamOf is `teams/{team}` of `teams/{team}/members/{person}`.
func teamOf(member string) string {
	n := 0
	for i := range len(member) {
		if member[i] == '/' {
			if n++; n == 2 {
				return member[:i]
			}
		}
	}
	return member
}

// vacanciesPart lists open positions, oldest first.
func (s *Server) vacanciesPart(ctx context.Context) (*transparencyv1.VacanciesPart, error) {
	out := &transparencyv1.VacanciesPart{}
	token := ""
	for {
		resp, err := s.membership.ListPositions(ctx, &membershipv1.ListPositionsRequest{
			Parent: "teams/-", State: membershipv1.Position_STATE_OPEN, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		out.Positions = append(out.Positions, resp.GetPositions()...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	// Sorted before the cap, so the page shows the oldest vacancies, not
	// the oldest of whichever came first; positions opened at the same time
	// keep membership's order.
	slices.SortStableFunc(out.Positions, func(a, b *membershipv1.Position) int {
		return a.GetCreateTime().AsTime().Compare(b.GetCreateTime().AsTime())
	})
	out.OpenCount = int32(len(out.Positions))
	out.Positions = out.Positions[:min(len(out.Positions), listCap)]
	return out, nil
}

// volunteersPart reads the funnel's figures.
func (s *Server) volunteersPart(ctx context.Context) (*transparencyv1.VolunteersPart, error) {
	st, err := s.membership.GetVolunteerStats(ctx, &membershipv1.GetVolunteerStatsRequest{})
	if err != nil {
		return nil, err
	}
	return &transparencyv1.VolunteersPart{Stats: st}, nil
}

// packagesPart lists packages seeking a maintainer.
func (s *Server) packagesPart(ctx context.Context) (*transparencyv1.PackagesPart, error) {
	out := &transparencyv1.PackagesPart{}
	token := ""
	for {
		resp, err := s.membership.ListPackages(ctx, &membershipv1.ListPackagesRequest{
			State: membershipv1.Package_STATE_SEEKING_MAINTAINER, PageSize: pageSize, PageToken: token})
		if err != nil {
			return nil, err
		}
		out.SeekingMaintainerCount += int32(len(resp.GetPackages()))
		for _, p := range resp.GetPackages() {
			if len(out.SeekingMaintainer) < listCap {
				out.SeekingMaintainer = append(out.SeekingMaintainer, p)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	return out, nil
}
