package notify

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/money"
)

// approvePermission is finance's permission to approve expenses
// (finance.PermApprove; the notifier reads finance only through its API,
// so it names the permission rather than importing the service); admins
// hold every permission.
const approvePermission = "finance.approve"

// expenseRecipients: a submitted expense goes to everyone who may approve
// it (admins and the members of teams granted finance.approve), except its
// submitter and its payee, who may not approve it (separation of duties:
// the payee as a person's name, or as a display name, as finance checks).
func (n *planner) expenseRecipients(ctx context.Context, e logEvent) ([]send, error) {
	approvers, err := n.approvers(ctx)
	if err != nil {
		return nil, err
	}
	submitter, payee := e.str("submitter"), e.str("payee")
	byName := !strings.HasPrefix(strings.ToLower(strings.TrimSpace(payee)), "people/")
	fields := map[string]string{"expense": e.Subject, "description": e.str("description"), "amount": formatMoney(e.Data["amount"])}
	var out []send
	for _, p := range sortedKeys(approvers) {
		if p == submitter || p == payee || (byName && sameName(payee, approvers[p])) {
			continue
		}
		out = append(out, send{EventID: e.ID, Recipient: p, Kind: KindExpenseApproval, Fields: fields})
	}
	return out, nil
}

// approvers maps who may approve expenses to their display names.
func (n *planner) approvers(ctx context.Context) (map[string]string, error) {
	if n.approverNames != nil {
		return n.approverNames, nil
	}
	people, err := n.people(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range people {
		if p.GetAdmin() {
			out[p.GetName()] = p.GetDisplayName()
		}
	}
	for token := ""; ; {
		res, err := n.o.Members.ListTeams(ctx, &membershipv1.ListTeamsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, t := range res.GetTeams() {
			if !slices.Contains(t.GetPermissions(), approvePermission) {
				continue
			}
			members, err := n.members(ctx, t.GetName(), membershipv1.Role_ROLE_UNSPECIFIED)
			if err != nil {
				return nil, err
			}
			for _, m := range members {
				out[m.GetPerson()] = m.GetDisplayName()
			}
		}
		if token = res.GetNextPageToken(); token == "" {
			n.approverNames = out
			return out, nil
		}
	}
}

// sameName compares a payee given as a name with a display name, as
// finance does (ignoring case and spacing).
func sameName(a, b string) bool {
	return a != "" && strings.EqualFold(strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " "))
}

// formatMoney writes an amount of the event's JSON ({"currencyCode":"EUR",
// "minorUnits":"2500"}) as "EUR 25.00".
func formatMoney(v any) string {
	m, _ := v.(map[string]any)
	code, _ := m["currencyCode"].(string)
	var units int64
	switch u := m["minorUnits"].(type) {
	case string:
		units, _ = strconv.ParseInt(u, 10, 64)
	case float64:
		units = int64(u)
	}
	if code == "" {
		return "an amount"
	}
	exp, _ := money.Exponent(code)
	sign := ""
	if units < 0 {
		sign, units = "-", -units
	}
	s := strconv.FormatInt(units, 10)
	if exp > 0 {
		s = strings.Repeat("0", max(0, exp+1-len(s))) + s
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	return code + " " + sign + s
}

// itemRecipients: a stale item goes to its owner people and the leads of
// its owner team, once each.
func (n *planner) itemRecipients(ctx context.Context, e logEvent) ([]send, error) {
	if n.o.Roadmap == nil {
		return nil, nil
	}
	item, err := n.o.Roadmap.GetItem(ctx, &roadmapv1.GetItemRequest{Name: e.Subject})
	if isNotFound(err) {
		return nil, nil // deleted since
	}
	if err != nil {
		return nil, err
	}
	if !item.GetStale() {
		return nil, nil // updated (or moved on) since it was announced
	}
	owners := slices.Clone(item.GetOwnerPeople())
	if team := item.GetOwnerTeam(); team != "" {
		leads, err := n.leads(ctx, team)
		if err != nil {
			return nil, err
		}
		owners = append(owners, leads...)
	}
	slices.Sort(owners)
	var out []send
	for _, o := range slices.Compact(owners) {
		out = append(out, send{EventID: e.ID, Recipient: o, Kind: KindItemStale,
			Fields: map[string]string{"item": e.Subject, "title": item.GetTitle()}})
	}
	return out, nil
}

// proposalRecipients: "closes within a day" goes to those who may vote and
// have not (when the votes are hidden until close, the notifier cannot
// tell who voted, and all of them hear); the outcome goes to those who could
// vote and to those who did.
func (n *planner) proposalRecipients(ctx context.Context, e logEvent, kind string) ([]send, error) {
	if n.o.Roadmap == nil {
		return nil, nil
	}
	p, err := n.o.Roadmap.GetProposal(ctx, &roadmapv1.GetProposalRequest{Name: e.Subject})
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if kind == KindProposalClosing && p.GetState() != roadmapv1.Proposal_STATE_OPEN {
		return nil, nil // closed early: nothing left to remind of
	}
	electorate, err := n.electorate(ctx, p.GetEligibleTeam())
	if err != nil {
		return nil, err
	}
	voters, err := n.voters(ctx, p.GetName())
	if err != nil {
		return nil, err
	}
	fields := map[string]string{"proposal": p.GetName(), "title": p.GetQuestion()}
	var to []string
	switch kind {
	case KindProposalClosing:
		fields["closes"] = p.GetCloseTime().AsTime().UTC().Format("2006-01-02 15:04 UTC")
		for _, person := range electorate {
			if !slices.Contains(voters, person) {
				to = append(to, person)
			}
		}
	default:
		fields["outcome"] = outcome(p)
		to = append(electorate, voters...)
	}
	slices.Sort(to)
	var out []send
	for _, person := range slices.Compact(to) {
		out = append(out, send{EventID: e.ID, Recipient: person, Kind: kind, Fields: fields})
	}
	return out, nil
}

// outcome says a closed proposal's result in words.
func outcome(p *roadmapv1.Proposal) string {
	t := p.GetTally()
	s := t.GetResult()
	if s == "" {
		s = "no result"
	}
	s = fmt.Sprintf("%s (%d of %d eligible voted)", s, t.GetTotalVotes(), p.GetEligibleCount())
	if p.GetOutcome() != "" {
		s += "\n" + p.GetOutcome()
	}
	return s
}

// electorate lists who may vote on a proposal of team: its members, or
// everyone when the vote is the whole community's (roadmap's rule).
func (n *planner) electorate(ctx context.Context, team string) ([]string, error) {
	var out []string
	if team != "" {
		members, err := n.members(ctx, team, membershipv1.Role_ROLE_UNSPECIFIED)
		for _, m := range members {
			out = append(out, m.GetPerson())
		}
		return out, err
	}
	people, err := n.people(ctx)
	for _, p := range people {
		out = append(out, p.GetName())
	}
	return out, err
}

// voters lists who voted on a proposal, as roadmap shows it to a service:
// nobody while its votes are hidden until close.
func (n *planner) voters(ctx context.Context, proposal string) ([]string, error) {
	var out []string
	for token := ""; ; {
		res, err := n.o.Roadmap.ListVotes(ctx, &roadmapv1.ListVotesRequest{Parent: proposal, PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, v := range res.GetVotes() {
			if i := strings.LastIndex(v.GetName(), "/votes/"); i >= 0 {
				out = append(out, "people/"+v.GetName()[i+len("/votes/"):])
			}
		}
		if token = res.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
