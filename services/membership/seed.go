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
// seven areas, the people named in each, the mailstats package and the open
// forum moderator position. Only what the text says is loaded: leads are
// named for Development (Ian Wells, "leading the charge"); John Crisp, "top
// of the pile, but a position open to discussion", holds a lead position
// marked open to discussion in Media / Marketing, and leads Finance & Legal,
// the areas he is listed first in. Bugs & maintenance is "developers as
// above". The only IRC nick the text gives is "jester".

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
	{id: "forums", name: "Forums", charter: "Support users on the forums and get them to support the project."},
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

// seedID is the fixed request id of one seed step, so re-running the seed
// replays instead of duplicating.
func seedID(key string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("guildhall:seed:sme:"+key)).String()
}

// ignoreExists treats AlreadyExists (and a position already filled) as done.
func ignoreExists(err error) error {
	switch status.Code(err) {
	case codes.AlreadyExists, codes.FailedPrecondition:
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
	_, err := c.CreatePackage(ctx, &membershipv1.CreatePackageRequest{
		PackageId: "mailstats", RequestId: seedID("package/mailstats"),
		Package: &membershipv1.Package{
			DisplayName: "mailstats", Description: "Mail statistics for SME Server.",
			Maintainers: []string{"people/bread"}, State: membershipv1.Package_STATE_MAINTAINED,
		},
	})
	if err := ignoreExists(err); err != nil {
		return fmt.Errorf("package mailstats: %w", err)
	}
	return nil
}

// seedPositionOnce opens a position unless its team has one of that title,
// and fills it if the text names who holds it.
func seedPositionOnce(ctx context.Context, c membershipv1.MembershipServiceClient, p seedPosition) error {
	parent := "teams/" + p.team
	name := ""
	for token := ""; ; {
		resp, err := c.ListPositions(ctx, &membershipv1.ListPositionsRequest{Parent: parent, PageToken: token, PageSize: 1000})
		if err != nil {
			return err
		}
		for _, pos := range resp.GetPositions() {
			if pos.GetTitle() == p.title {
				name = pos.GetName()
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
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
	_, err := c.FillPosition(ctx, &membershipv1.FillPositionRequest{Name: name, Person: "people/" + p.filledBy})
	return ignoreExists(err)
}
