package roadmap

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/actas"
)

// The SME Server plan as "The future of SME Server" states it: v8 maintained
// "for the foreseeable future", v9 the move to CentOS 6 "as soon as possible",
// and v9.1 for "LDAP, SAMBA, VPS etc."; each item carries the text's "current
// status" as its first update, written by who would write it: Ian Wells,
// "leading the charge" on v9, for the port; John Crisp, who gathered the
// consensus, for the rest. The marketing group's open questions become two
// open proposals, put by John Crisp and Greg Zartman of that group.

type seedItem struct {
	key, title, description, release string
	state                            roadmapv1.Item_State
	priority                         int32
	owners                           []string
	tags                             []string
	status                           string
	author                           string // who writes the status update
}

var smeReleases = []struct {
	id      string
	release *roadmapv1.Release
}{
	{"v8", &roadmapv1.Release{DisplayName: "SME Server 8", BasePlatform: "CentOS 5", State: roadmapv1.Release_STATE_MAINTAINED,
		Description: "The current release: maintained for the foreseeable future while development focuses on v9."}},
	{"v9", &roadmapv1.Release{DisplayName: "SME Server 9", BasePlatform: "CentOS 6", State: roadmapv1.Release_STATE_IN_DEVELOPMENT,
		Description: "The current base moved to CentOS 6, out of the door as soon as possible."}},
	{"v9-1", &roadmapv1.Release{DisplayName: "SME Server 9.1", BasePlatform: "CentOS 6", State: roadmapv1.Release_STATE_PLANNED,
		Description: "New ideas once v9 is out: LDAP, Samba, VPS."}},
}

var smeItems = []seedItem{
	{key: "base-move", title: "Move the base to CentOS 6", release: "v9", state: roadmapv1.Item_STATE_IN_PROGRESS, priority: 100,
		owners: []string{"people/iwells", "people/cbrady", "people/slords"}, tags: []string{"centos6", "base"},
		description: "Install on newer hardware and other applications with less interference; CentOS 5 is getting on.",
		status:      "People are already working on porting SME to CentOS 6; it is referred to as SME Server v9. The focus of development is to get it out as soon as possible.",
		author:      "people/iwells"},
	{key: "v8-maintenance", title: "Maintain SME Server 8", release: "v8", state: roadmapv1.Item_STATE_IN_PROGRESS, priority: 60,
		tags: []string{"maintenance"}, description: "Keep the v8 mainline packages maintained.",
		status: "v8 is to be maintained for the foreseeable future.", author: "people/jcrisp"},
	{key: "ldap", title: "LDAP", release: "v9-1", state: roadmapv1.Item_STATE_PLANNED, priority: 50, tags: []string{"ldap"},
		status: "Planned for v9.1: the consensus is to get v9 out of the door first.", author: "people/jcrisp"},
	{key: "samba", title: "Samba", release: "v9-1", state: roadmapv1.Item_STATE_PLANNED, priority: 50, tags: []string{"samba"},
		status: "Planned for v9.1: the consensus is to get v9 out of the door first.", author: "people/jcrisp"},
	{key: "vps", title: "VPS", release: "v9-1", state: roadmapv1.Item_STATE_PROPOSED, priority: 30, tags: []string{"vps"},
		status: "Suggested for v9.1; not yet agreed.", author: "people/jcrisp"},
}

var smeProposals = []struct {
	author   string
	proposal *roadmapv1.Proposal
}{
	{"people/jcrisp", &roadmapv1.Proposal{
		Question:   "Should we rebrand or just redefine SME in the market place?",
		Background: "The marketing group is looking at the front page and how SME is sold: \"a great new product in development backed by 11 years experience\".",
		Method:     roadmapv1.Proposal_METHOD_SINGLE_CHOICE, Options: []string{"rebrand", "redefine"},
		LinkedReleases: []string{"releases/v9"}, QuorumVotes: 5,
	}},
	{"people/gzartman", &roadmapv1.Proposal{
		Question:   "Would we use a CMS or do a ground up design for the website?",
		Background: "The website looks old and does not sell the product. If a CMS, which one? There are so many to choose from; a follow-up proposal picks it.",
		Method:     roadmapv1.Proposal_METHOD_SINGLE_CHOICE, Options: []string{"a CMS", "a ground-up design"}, QuorumVotes: 5,
	}},
}

func seedID(key string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("guildhall:seed:sme:roadmap:"+key)).String()
}

// SeedSME loads the SME Server roadmap through the API. It runs after
// membership's seed (teams/development must exist) with an admin token on
// conn, and is idempotent: creates use fixed request ids or look for what a
// first run made, so a second run adds nothing.
func SeedSME(ctx context.Context, conn grpc.ClientConnInterface) error {
	c := roadmapv1.NewRoadmapServiceClient(conn)
	m := membershipv1.NewMembershipServiceClient(actas.On(conn, "membership"))
	for _, r := range smeReleases {
		_, err := c.CreateRelease(ctx, &roadmapv1.CreateReleaseRequest{ReleaseId: r.id, Release: r.release, RequestId: seedID("release/" + r.id)})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("release %s: %w", r.id, err)
		}
	}
	names := map[string]string{}
	for _, it := range smeItems {
		// Owners the membership seed did not create are left out, not invented.
		var owners []string
		for _, p := range it.owners {
			if _, err := m.GetPerson(ctx, &membershipv1.GetPersonRequest{Name: p}); err == nil {
				owners = append(owners, p)
			} else if status.Code(err) != codes.NotFound {
				return fmt.Errorf("person %s: %w", p, err)
			}
		}
		item, err := c.CreateItem(ctx, &roadmapv1.CreateItemRequest{RequestId: seedID("item/" + it.key), Item: &roadmapv1.Item{
			Title: it.title, Description: it.description, Release: "releases/" + it.release, State: it.state,
			Priority: it.priority, OwnerTeam: "teams/development", OwnerPeople: owners, Tags: it.tags,
		}})
		if err != nil {
			return fmt.Errorf("item %s: %w", it.key, err)
		}
		names[it.key] = item.GetName()
		if err := seedStatus(ctx, conn, item.GetName(), it); err != nil {
			return fmt.Errorf("status of %s: %w", it.key, err)
		}
	}
	existing := map[string]bool{}
	token := ""
	for {
		resp, err := c.ListProposals(ctx, &roadmapv1.ListProposalsRequest{PageSize: 1000, PageToken: token})
		if err != nil {
			return fmt.Errorf("list proposals: %w", err)
		}
		for _, p := range resp.GetProposals() {
			existing[p.GetQuestion()] = true
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	for _, sp := range smeProposals {
		p := sp.proposal
		if existing[p.GetQuestion()] {
			continue
		}
		as, err := actas.As(ctx, conn, sp.author)
		if err != nil {
			return err
		}
		author := roadmapv1.NewRoadmapServiceClient(as)
		p = proto.CloneOf(p)
		p.CloseTime = timestamppb.New(time.Now().Add(30 * 24 * time.Hour).Truncate(time.Hour))
		created, err := author.CreateProposal(ctx, &roadmapv1.CreateProposalRequest{Proposal: p})
		if err != nil {
			return fmt.Errorf("proposal %q: %w", p.GetQuestion(), err)
		}
		if _, err := author.OpenProposal(ctx, &roadmapv1.OpenProposalRequest{Name: created.GetName()}); err != nil {
			return fmt.Errorf("open proposal %q: %w", p.GetQuestion(), err)
		}
	}
	return nil
}

// seedStatus writes an item's first status update as its author, unless the
// item has one already.
func seedStatus(ctx context.Context, conn grpc.ClientConnInterface, item string, it seedItem) error {
	c := roadmapv1.NewRoadmapServiceClient(conn)
	have, err := c.ListItemUpdates(ctx, &roadmapv1.ListItemUpdatesRequest{Parent: item, PageSize: 1})
	if err != nil {
		return err
	}
	if len(have.GetItemUpdates()) > 0 {
		return nil
	}
	as, err := actas.As(ctx, conn, it.author)
	if err != nil {
		return err
	}
	_, err = roadmapv1.NewRoadmapServiceClient(as).CreateItemUpdate(ctx, &roadmapv1.CreateItemUpdateRequest{
		Parent: item, RequestId: seedID("update/" + it.key), ItemUpdate: &roadmapv1.ItemUpdate{Text: it.status},
	})
	return err
}
