package notify

import (
	"context"
	"slices"
	"strings"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	"github.com/guildhall/guildhall/internal/events"
)

// Kinds of mail, named as their templates (internal/mail/templates/files).
const (
	KindDriftNudge        = "drift-nudge"
	KindDriftTeam         = "drift-team"
	KindVolunteerReceived = "volunteer-received"
	KindVolunteerMatched  = "volunteer-matched"
	KindVolunteerWelcome  = "volunteer-welcome"
	KindExpenseApproval   = "expense-approval"
	KindItemStale         = "item-stale"
	KindProposalClosing   = "proposal-closing"
	KindProposalOutcome   = "proposal-outcome"
)

// settingOf is the NotificationKind a person turns off to stop kind.
func settingOf(kind string) membershipv1.NotificationKind {
	switch kind {
	case KindDriftNudge:
		return membershipv1.NotificationKind_NOTIFICATION_KIND_DRIFT_NUDGE
	case KindDriftTeam:
		return membershipv1.NotificationKind_NOTIFICATION_KIND_DRIFT_TEAM
	case KindVolunteerReceived, KindVolunteerMatched, KindVolunteerWelcome:
		return membershipv1.NotificationKind_NOTIFICATION_KIND_VOLUNTEER
	case KindExpenseApproval:
		return membershipv1.NotificationKind_NOTIFICATION_KIND_EXPENSE_APPROVAL
	case KindItemStale:
		return membershipv1.NotificationKind_NOTIFICATION_KIND_ITEM_STALE
	case KindProposalClosing:
		return membershipv1.NotificationKind_NOTIFICATION_KIND_PROPOSAL_CLOSING
	case KindProposalOutcome:
		return membershipv1.NotificationKind_NOTIFICATION_KIND_PROPOSAL_OUTCOME
	}
	return membershipv1.NotificationKind_NOTIFICATION_KIND_UNSPECIFIED
}

// handledTypes are the event types that lead to mail.
func handledTypes() []string {
	return []string{events.DriftStageReached, events.VolunteerOffered, events.VolunteerMatched, events.VolunteerOnboarded,
		events.ExpenseSubmitted, events.ItemStale, events.ProposalClosingSoon, events.ProposalClosed}
}

// sinceMark names the notify_cursor row (events migration 00051) holding
// the last event logged before sinceTypes were mailed: those are not.
const sinceMark = "mail-since:expenses-items-proposals"

// sinceTypes are the types first mailed with migration 00051.
func sinceTypes() []string {
	return []string{events.ExpenseSubmitted, events.ItemStale, events.ProposalClosingSoon, events.ProposalClosed}
}

// recipients works out who hears about e, and what.
func (n *planner) recipients(ctx context.Context, e logEvent) ([]send, error) {
	one := func(recipient, kind string, fields map[string]string) send {
		return send{EventID: e.ID, Recipient: recipient, Kind: kind, Fields: fields}
	}
	switch e.Type {
	case events.DriftStageReached:
		return n.driftRecipients(ctx, e)
	case events.ExpenseSubmitted:
		return n.expenseRecipients(ctx, e)
	case events.ItemStale:
		return n.itemRecipients(ctx, e)
	case events.ProposalClosingSoon:
		return n.proposalRecipients(ctx, e, KindProposalClosing)
	case events.ProposalClosed:
		return n.proposalRecipients(ctx, e, KindProposalOutcome)
	case events.VolunteerOffered:
		return []send{one(e.Subject, KindVolunteerReceived, map[string]string{})}, nil
	case events.VolunteerMatched, events.VolunteerOnboarded:
		position, team, err := n.position(ctx, e.str("position"))
		if err != nil {
			return nil, err
		}
		if e.Type == events.VolunteerMatched {
			return []send{one(e.Subject, KindVolunteerMatched, map[string]string{"position": position, "team": team})}, nil
		}
		return []send{one(e.Subject, KindVolunteerWelcome, map[string]string{"team": team})}, nil
	}
	return nil, nil
}

// position returns a position's title and its team's name.
func (n *planner) position(ctx context.Context, name string) (title, team string, err error) {
	if name == "" {
		return "a position", "the team", nil
	}
	p, err := n.o.Members.GetPosition(ctx, &membershipv1.GetPositionRequest{Name: name})
	if err != nil {
		if isNotFound(err) {
			return "a position", "the team", nil
		}
		return "", "", err
	}
	team, err = n.teamName(ctx, teamOf(name))
	return p.GetTitle(), team, err
}

func (n *planner) teamName(ctx context.Context, team string) (string, error) {
	t, err := n.o.Members.GetTeam(ctx, &membershipv1.GetTeamRequest{Name: team})
	if isNotFound(err) {
		return team, nil
	}
	if err != nil {
		return "", err
	}
	return t.GetDisplayName(), nil
}

// teamOf is `teams/{team}` of a name under it.
func teamOf(name string) string {
	parts := strings.SplitN(name, "/", 3)
	if len(parts) < 2 || parts[0] != "teams" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// driftRecipients: a person's stage goes to them (drift-nudge) and to the
// leads of their teams (drift-team), who see their members' drift; a team
// flag goes to the team's leads.
func (n *planner) driftRecipients(ctx context.Context, e logEvent) ([]send, error) {
	stage := strings.ToLower(strings.ReplaceAll(e.str("stage"), "_", " "))
	person, team := e.str("person"), e.str("team")
	if stage == "active" {
		return nil, nil // drift ended: nothing to say
	}
	var out []send
	var teams []string
	subject := ""
	if team != "" {
		teams = []string{team}
		name, err := n.teamName(ctx, team)
		if err != nil {
			return nil, err
		}
		subject = name
		stage = strings.TrimPrefix(stage, "team ")
	} else if person != "" {
		p, err := n.o.Members.GetPerson(ctx, &membershipv1.GetPersonRequest{Name: person})
		if isNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		subject = p.GetDisplayName()
		teams = append(teams, p.GetTeams()...)
		// At EMERITUS the roles are already vacated: their teams are those of
		// the positions they left.
		for _, pos := range e.strs("vacatedPositions") {
			if t := teamOf(pos); t != "" && !slices.Contains(teams, t) {
				teams = append(teams, t)
			}
		}
		out = append(out, send{EventID: e.ID, Recipient: person, Kind: KindDriftNudge,
			Fields: map[string]string{"stage": stage, "holds": holds(p.GetTeams(), e.strs("vacatedPositions"))}})
	}
	seen := map[string]bool{person: true}
	for _, t := range teams {
		name, err := n.teamName(ctx, t)
		if err != nil {
			return nil, err
		}
		leads, err := n.leads(ctx, t)
		if err != nil {
			return nil, err
		}
		for _, l := range leads {
			if seen[l] {
				continue // one mail per lead, and none to the person about themself
			}
			seen[l] = true
			out = append(out, send{EventID: e.ID, Recipient: l, Kind: KindDriftTeam,
				Fields: map[string]string{"team": name, "subject": subject, "stage": stage}})
		}
	}
	return out, nil
}

// holds says what a drifting person holds, for their nudge.
func holds(teams, vacated []string) string {
	all := append(slices.Clone(teams), vacated...)
	if len(all) == 0 {
		return "a role"
	}
	return strings.Join(all, ", ")
}

// leads lists the leads of team.
func (n *planner) leads(ctx context.Context, team string) ([]string, error) {
	members, err := n.members(ctx, team, membershipv1.Role_ROLE_LEAD)
	var out []string
	for _, m := range members {
		out = append(out, m.GetPerson())
	}
	return out, err
}

// planner works out the recipients of one batch of events. It reads the
// directory (people, team members) from membership at most once per batch:
// a batch of expense events, or drift stages of one team, would otherwise
// page through the same lists once per event.
type planner struct {
	*Notifier
	everyone      []*membershipv1.Person
	rosters       map[string][]*membershipv1.TeamMember // by team and role
	approverNames map[string]string
}

func (n *Notifier) planner() *planner {
	return &planner{Notifier: n, rosters: map[string][]*membershipv1.TeamMember{}}
}

// members lists the members of team with role (any role: UNSPECIFIED); a
// team that is gone has none.
func (n *planner) members(ctx context.Context, team string, role membershipv1.Role) ([]*membershipv1.TeamMember, error) {
	key := team + "\x00" + role.String()
	if out, ok := n.rosters[key]; ok {
		return out, nil
	}
	var out []*membershipv1.TeamMember
	token := ""
	for {
		res, err := n.o.Members.ListTeamMembers(ctx, &membershipv1.ListTeamMembersRequest{
			Parent: team, Role: role, PageSize: 100, PageToken: token,
		})
		if isNotFound(err) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, res.GetTeamMembers()...)
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	n.rosters[key] = out
	return out, nil
}

// people lists every person.
func (n *planner) people(ctx context.Context) ([]*membershipv1.Person, error) {
	if n.everyone != nil {
		return n.everyone, nil
	}
	out := []*membershipv1.Person{}
	for token := ""; ; {
		res, err := n.o.Members.ListPeople(ctx, &membershipv1.ListPeopleRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return nil, err
		}
		out = append(out, res.GetPeople()...)
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	n.everyone = out
	return out, nil
}
