package membership

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
)

// The SME Server community as "The future of SME Server" describes it: its
// seven areas, the people named in each, the contributed packages (mailstats
// and the old ones Jean-Philippe Pialasse keeps, one of them left without a
// maintainer) and the open forum moderator position. Only what the text says
// is loaded: leads are named for Development (Ian Wells, "leading the
// charge"); John Crisp, "top of the pile, but a position open to
// discussion", holds a lead position marked open to discussion in Media /
// Marketing, and leads Finance & Legal, the areas he is listed first in.
// Bugs & maintenance is "developers as above". The Forums heading was lost
// from the text: the two people it lists a second time, after Wiki & Docs,
// are the Forums team. The areas the text names no lead for (Contributed
// packages, Wiki & Docs, Forums) carry drift's "no lead" flag. The only IRC
// nick the text gives is "jester".
//
// "Convert users into helpers": offers of help are seeded at every stage of
// the funnel, from a student who has just written in to a v9 tester now
// active, so the volunteer statistics tell that story too.

type seedPerson struct {
	id, name string
	skills   []string
	handles  map[string]string
}

var smePeople = []seedPerson{
	{id: "jcrisp", name: "John Crisp", skills: []string{"coordination", "marketing", "it administration"}},
	{id: "iwells", name: "Ian Wells", skills: []string{"development", "packaging"}},
	{id: "cbrady", name: "Charlie Brady", skills: []string{"development", "packaging"}},
	{id: "slords", name: "Shad Lords", skills: []string{"development", "hosting"}},
	{id: "gzartman", name: "Greg Zartman", skills: []string{"development", "marketing", "legal"}},
	{id: "dberteaud", name: "Daniel Berteaud", skills: []string{"development", "packaging"}},
	{id: "jester", name: "jester", skills: []string{"testing"}, handles: map[string]string{"irc": "jester"}},
	{id: "hdevisser", name: "Huib de Visser", skills: []string{"testing"}},
	{id: "tfage", name: "Terry Fage", skills: []string{"testing", "documentation"}},
	{id: "jmclaren", name: "Jim McLaren", skills: []string{"testing"}},
	{id: "bread", name: "Brian Read", skills: []string{"packaging", "documentation"}},
	{id: "jppialasse", name: "Jean-Philippe Pialasse", skills: []string{"packaging"}},
	{id: "sdelabrusse", name: "Stéphane de Labrusse", skills: []string{"documentation"}},
	{id: "tkeane", name: "Tony Keane", skills: []string{"finance", "legal", "marketing"}},
	// A newcomer from the v9 chats on IRC, who offered help and is now active.
	{id: "anewcomer", name: "Alex Newcomer", skills: []string{"testing"}, handles: map[string]string{"irc": "alexn"}},
}

type seedTeam struct {
	id, name, charter string
	permissions       []string
	members           [][2]string // person id, role
}

var (
	developers = [][2]string{{"iwells", "lead"}, {"cbrady", "member"}, {"slords", "member"},
		{"gzartman", "member"}, {"dberteaud", "member"}, {"jcrisp", "member"}}
	testers = [][2]string{{"jester", "member"}, {"hdevisser", "member"}, {"tfage", "member"}, {"jmclaren", "member"}}
)

var smeTeams = []seedTeam{
	{id: "development", name: "Development", permissions: []string{"roadmap.edit"},
		charter: "Build SME Server v9 on CentOS 6 and get it out of the door; v9.1 (LDAP, Samba, VPS) after. More developers and testers welcome.",
		members: append(append([][2]string{}, developers...), testers...)},
	{id: "bugs", name: "Bugs & maintenance", charter: "Maintain the current SME v8 mainline packages.",
		members: developers},
	{id: "contribs", name: "Contributed packages", charter: "Contributed packages, current and old/unmaintained, and their maintainers.",
		members: [][2]string{{"bread", "maintainer"}, {"jppialasse", "maintainer"}}},
	{id: "docs", name: "Wiki & Docs", charter: "Bring the wiki and documentation up to date.",
		members: [][2]string{{"tfage", "member"}, {"sdelabrusse", "member"}, {"bread", "member"}}},
	{id: "forums", name: "Forums", charter: "Support users on the forums and get them to support the project.",
		members: [][2]string{{"tfage", "member"}, {"sdelabrusse", "member"}}},
	{id: "media", name: "Media / Marketing", charter: "Visibility, the website, social media, sponsors and advertisers.",
		members: [][2]string{{"gzartman", "member"}, {"tkeane", "member"}}},
	{id: "finance", name: "Finance & Legal", permissions: []string{"finance.approve", "finance.pay", "finance.read_private", "finance.record"},
		charter: "Donations, subscriptions, hosting costs and development money, accounted for; legal matters.",
		members: [][2]string{{"jcrisp", "lead"}, {"gzartman", "member"}, {"tkeane", "member"}}},
}

type seedPosition struct {
	team, title, description string
	skills                   []string
	hours                    int32
	role                     membershipv1.Role
	openToDiscussion         bool
	filledBy                 string
}

var smePositions = []seedPosition{
	{team: "forums", title: "Forum moderator", role: membershipv1.Role_ROLE_MODERATOR, hours: 8,
		skills:      []string{"forum moderation", "support"},
		description: "\"I do not yet know who the moderators are.\" Help users who are stuck and encourage them to help the project."},
	{team: "development", title: "Tester", role: membershipv1.Role_ROLE_MEMBER, hours: 10, skills: []string{"testing"},
		description: "Verify v9 builds and fixes."},
	{team: "development", title: "Developer", role: membershipv1.Role_ROLE_MEMBER, hours: 20, skills: []string{"development", "packaging"},
		description: "Port SME Server to CentOS 6 (v9)."},
	{team: "media", title: "Coordinator", role: membershipv1.Role_ROLE_LEAD, openToDiscussion: true, filledBy: "jcrisp",
		description: "Conduit and driver of the community's ideas: \"current top of the pile, but a position open to discussion\"."},
}

type seedPackage struct {
	id, description, since string
	maintainers            []string
	state                  membershipv1.Package_State
}

// The text: "Contributed packages (current and old/ unmaintained)", with
// Brian Read's mailstats and Jean-Philippe Pialasse for the old packages.
var smePackages = []seedPackage{
	{id: "mailstats", description: "Mail statistics for SME Server.", maintainers: []string{"people/bread"},
		state: membershipv1.Package_STATE_MAINTAINED},
	{id: "smeserver-awstats", description: "Web statistics; an old contrib still built for v8 by the keeper of old packages.",
		maintainers: []string{"people/jppialasse"}, state: membershipv1.Package_STATE_MAINTAINED, since: "2009-06-15"},
	{id: "smeserver-phpki", description: "A certificate authority panel from the v7 days. Nobody looks after it: adopt it, or mark it obsolete.",
		state: membershipv1.Package_STATE_UNMAINTAINED, since: "2008-02-01"},
}

type seedVolunteer struct {
	name, contact, interests string
	skills                   []string
	hours                    int32
	// path is the funnel stages the offer went through after NEW.
	path     []membershipv1.Volunteer_State
	position string // team/title of the position it was matched with
	person   string // who the volunteer became, when ACTIVE
}

var (
	contacted  = membershipv1.Volunteer_STATE_CONTACTED
	matched    = membershipv1.Volunteer_STATE_MATCHED
	onboarding = membershipv1.Volunteer_STATE_ONBOARDING
)

var smeVolunteers = []seedVolunteer{
	{name: "University computing society student", contact: "student@example.org", skills: []string{"linux"}, hours: 4,
		interests: "Schools and universities: would like to learn packaging."},
	{name: "Small business user", contact: "smallbiz@example.org", skills: []string{"writing"}, hours: 2,
		interests: "Thought they couldn't help; could write how-tos for the wiki once shown how.", path: []membershipv1.Volunteer_State{contacted}},
	{name: "Regular forum helper", contact: "forumhelper@example.org", skills: []string{"support", "forum moderation"}, hours: 8,
		interests: "Already answers questions on the forums.", path: []membershipv1.Volunteer_State{contacted, matched},
		position: "forums/Forum moderator"},
	{name: "New face from IRC", contact: "ircdev@example.org", skills: []string{"development", "packaging", "perl"}, hours: 15,
		interests: "Wants to help port SME to CentOS 6.", path: []membershipv1.Volunteer_State{contacted, matched, onboarding},
		position: "development/Developer"},
	{name: "Alex Newcomer", contact: "alex@example.org", skills: []string{"testing"}, hours: 10,
		interests: "Testing v9 builds, from the chats on IRC.",
		path:      []membershipv1.Volunteer_State{contacted, matched, onboarding, membershipv1.Volunteer_STATE_ACTIVE},
		position:  "development/Tester", person: "people/anewcomer"},
	{name: "Reseller", contact: "reseller@example.org", skills: []string{"sales"}, hours: 0,
		interests: "Too busy selling SME servers to help.", path: []membershipv1.Volunteer_State{membershipv1.Volunteer_STATE_WITHDRAWN}},
	{name: "Hosting company", contact: "hosting@example.org", skills: []string{"advertising"}, hours: 1,
		interests: "Offered paid advertising in exchange for a listing as a partner.",
		path:      []membershipv1.Volunteer_State{contacted, membershipv1.Volunteer_STATE_DECLINED}},
}

// seedID is the fixed request id of one seed step, so re-running the seed
// replays instead of duplicating.
func seedID(key string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("guildhall:seed:sme:"+key)).String()
}

// ignoreExists treats AlreadyExists as done: a second run finds the first's work.
func ignoreExists(err error) error {
	if status.Code(err) == codes.AlreadyExists {
		return nil
	}
	return err
}

// SeedSME loads the SME Server community through the gRPC API. conn carries
// an admin token. It is idempotent.
func SeedSME(ctx context.Context, conn grpc.ClientConnInterface) error {
	c := membershipv1.NewMembershipServiceClient(conn)
	for _, p := range smePeople {
		_, err := c.CreatePerson(ctx, &membershipv1.CreatePersonRequest{
			PersonId: p.id, RequestId: seedID("person/" + p.id),
			Person: &membershipv1.Person{DisplayName: p.name, Skills: p.skills, Handles: p.handles},
		})
		if err := ignoreExists(err); err != nil {
			return fmt.Errorf("person %s: %w", p.id, err)
		}
	}
	for _, t := range smeTeams {
		_, err := c.CreateTeam(ctx, &membershipv1.CreateTeamRequest{
			TeamId: t.id, RequestId: seedID("team/" + t.id),
			Team: &membershipv1.Team{DisplayName: t.name, Charter: t.charter, Permissions: t.permissions},
		})
		if err := ignoreExists(err); err != nil {
			return fmt.Errorf("team %s: %w", t.id, err)
		}
		for _, m := range t.members {
			role := membershipv1.Role(membershipv1.Role_value["ROLE_"+strings.ToUpper(m[1])])
			_, err := c.CreateTeamMember(ctx, &membershipv1.CreateTeamMemberRequest{
				Parent: "teams/" + t.id, TeamMemberId: m[0], RequestId: seedID("member/" + t.id + "/" + m[0]),
				TeamMember: &membershipv1.TeamMember{Role: role},
			})
			if err := ignoreExists(err); err != nil {
				return fmt.Errorf("member %s of %s: %w", m[0], t.id, err)
			}
		}
	}
	for _, p := range smePositions {
		if err := seedPositionOnce(ctx, c, p); err != nil {
			return fmt.Errorf("position %q: %w", p.title, err)
		}
	}
	for _, p := range smePackages {
		_, err := c.CreatePackage(ctx, &membershipv1.CreatePackageRequest{
			PackageId: p.id, RequestId: seedID("package/" + p.id),
			Package: &membershipv1.Package{
				DisplayName: p.id, Description: p.description, Maintainers: p.maintainers, State: p.state,
				LastReleaseDate: p.since,
				Team:            "teams/contribs", // its leads manage them with their maintainers
			},
		})
		if err := ignoreExists(err); err != nil {
			return fmt.Errorf("package %s: %w", p.id, err)
		}
	}
	if err := seedVolunteers(ctx, c); err != nil {
		return err
	}
	// Bring drift's team flags up to date now, so the areas without a lead
	// show it as soon as the seed is loaded.
	if _, err := c.ListDriftEvents(ctx, &membershipv1.ListDriftEventsRequest{PageSize: 1}); err != nil {
		return fmt.Errorf("drift flags: %w", err)
	}
	return nil
}

// seedVolunteers offers help once per volunteer (found again by contact)
// and moves each offer along its path from wherever it stands.
func seedVolunteers(ctx context.Context, c membershipv1.MembershipServiceClient) error {
	list := func() (map[string]*membershipv1.Volunteer, error) {
		out := map[string]*membershipv1.Volunteer{}
		for token := ""; ; {
			resp, err := c.ListVolunteers(ctx, &membershipv1.ListVolunteersRequest{PageSize: 1000, PageToken: token})
			if err != nil {
				return nil, fmt.Errorf("list volunteers: %w", err)
			}
			for _, v := range resp.GetVolunteers() {
				out[v.GetContact()] = v
			}
			if token = resp.GetNextPageToken(); token == "" {
				return out, nil
			}
		}
	}
	have, err := list()
	if err != nil {
		return err
	}
	offered := false
	for _, v := range smeVolunteers {
		if have[v.contact] != nil {
			continue
		}
		if _, err := c.OfferHelp(ctx, &membershipv1.OfferHelpRequest{RequestId: seedID("volunteer/" + v.contact), Volunteer: &membershipv1.Volunteer{
			DisplayName: v.name, Contact: v.contact, Skills: v.skills, HoursPerMonth: v.hours, Interests: v.interests,
		}}); err != nil {
			return fmt.Errorf("offer of %s: %w", v.contact, err)
		}
		offered = true
	}
	if offered {
		if have, err = list(); err != nil {
			return err
		}
	}
	for _, v := range smeVolunteers {
		cur := have[v.contact]
		if cur == nil {
			return fmt.Errorf("offer of %s: not found after offering", v.contact)
		}
		// Resume after the stage the offer is at.
		start := 0
		for i, st := range v.path {
			if st == cur.GetState() {
				start = i + 1
			}
		}
		for _, st := range v.path[start:] {
			req := &membershipv1.TransitionVolunteerRequest{Name: cur.GetName(), State: st}
			switch st {
			case matched:
				team, title, _ := strings.Cut(v.position, "/")
				pos, err := findPosition(ctx, c, "teams/"+team, title)
				if err == nil && pos == "" {
					err = fmt.Errorf("teams/%s has no position %q", team, title)
				}
				if err != nil {
					return fmt.Errorf("offer of %s: %w", v.contact, err)
				}
				req.Position = pos
			case membershipv1.Volunteer_STATE_ACTIVE:
				req.Person = v.person
			}
			if _, err := c.TransitionVolunteer(ctx, req); err != nil {
				return fmt.Errorf("offer of %s to %s: %w", v.contact, st, err)
			}
		}
	}
	return nil
}

// findPosition returns the name of the team's position titled title, or ""
// if it has none.
func findPosition(ctx context.Context, c membershipv1.MembershipServiceClient, team, title string) (string, error) {
	for token := ""; ; {
		resp, err := c.ListPositions(ctx, &membershipv1.ListPositionsRequest{Parent: team, PageToken: token, PageSize: 1000})
		if err != nil {
			return "", err
		}
		for _, pos := range resp.GetPositions() {
			if pos.GetTitle() == title {
				return pos.GetName(), nil
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return "", nil
		}
	}
}

// seedPositionOnce opens a position unless its team has one of that title,
// and fills it if the text names who holds it.
func seedPositionOnce(ctx context.Context, c membershipv1.MembershipServiceClient, p seedPosition) error {
	parent := "teams/" + p.team
	name, err := findPosition(ctx, c, parent, p.title)
	if err != nil {
		return err
	}
	if name == "" {
		pos, err := c.CreatePosition(ctx, &membershipv1.CreatePositionRequest{
			Parent: parent, RequestId: seedID("position/" + p.team + "/" + p.title),
			Position: &membershipv1.Position{
				Title: p.title, Description: p.description, Skills: p.skills, HoursPerMonth: p.hours,
				Role: p.role, OpenToDiscussion: p.openToDiscussion,
			},
		})
		if err != nil {
			return err
		}
		name = pos.GetName()
	}
	if p.filledBy == "" {
		return nil
	}
	_, err = c.FillPosition(ctx, &membershipv1.FillPositionRequest{Name: name, Person: "people/" + p.filledBy})
	if status.Code(err) != codes.FailedPrecondition {
		return err
	}
	// Filled already: by the person the text names, or the seed cannot
	// tell its story.
	pos, gerr := c.GetPosition(ctx, &membershipv1.GetPositionRequest{Name: name})
	if gerr != nil {
		return gerr
	}
	if pos.GetFilledBy() != "people/"+p.filledBy {
		return fmt.Errorf("%s is %s, filled by %q, not people/%s: %w", name, pos.GetState(), pos.GetFilledBy(), p.filledBy, err)
	}
	return nil
}
