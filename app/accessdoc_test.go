package app_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	financev1 "github.com/guildhall/guildhall/gen/go/guildhall/finance/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	transparencyv1 "github.com/guildhall/guildhall/gen/go/guildhall/transparency/v1"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/services/events"
	"github.com/guildhall/guildhall/services/finance"
	"github.com/guildhall/guildhall/services/membership"
	"github.com/guildhall/guildhall/services/roadmap"
	"github.com/guildhall/guildhall/services/transparency"
)

// accessDoc is the access table of the API docs. It is rendered from the
// policies the services enforce, so it cannot drift from them; run with
// GUILDHALL_UPDATE_DOCS=1 to rewrite it after changing a rule.
const accessDoc = "../docs/access.md"

const accessIntro = `# Who may call what

Every Guildhall service enforces one access policy (package internal/auth):
a rule per RPC, checked before the handler runs. This table is rendered from
those policies by app/accessdoc_test.go, which fails when it is out
of date. Admins pass every rule. A caller that a rule refuses gets
PERMISSION_DENIED (HTTP 403), or UNAUTHENTICATED (401) without a token.

Powers are scoped to the team that grants them: leading a team gives power
over that team and what it owns (its members and positions, the packages
whose ` + "`team`" + ` it is, the items it owns, the offers matched to its
positions, its own votes), and nothing elsewhere. Permissions (such as
` + "`roadmap.edit`, `finance.approve`, `volunteers.coordinate`, `people.read_private`" + `)
come from the teams a person belongs to (Team.permissions).

What a caller may see inside an answer is narrower still:
- a person's email: the person, admins, holders of people.read_private and
  the leads of the person's teams;
- a person's email is changed only by admins (a person may not change their
  own: sign-in links go to it);
- a volunteer offer: leads, holders of volunteers.coordinate, admins and the
  offer's owner, who made it while signed in (to anyone else it does not
  exist: NOT_FOUND); its contact only to admins, holders of
  volunteers.coordinate, the leads of the team the offer is matched to and
  the owner;
- donors and private finance records as the finance rules below say;
- an event in the feed (ListEvents): those its service named as its
  audience (the public, some people, holders of a permission, a team's
  leads), admins and Guildhall services; see docs/events.md.

The transparency report (TransparencyService, served by the gateway over
REST only) reads the services anonymously, so every caller gets the
anonymous view: public figures without the current UTC month's PRIVATE
gifts, and the volunteer funnel as counts only (GetVolunteerStats is public).

`

func TestAccessDocIsCurrent(t *testing.T) {
	ms, err := membership.NewServer(membership.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := roadmap.NewServer(roadmap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := finance.NewServer(finance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	es, err := events.NewServer(events.Options{Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(accessIntro)
	b.WriteString("| Service | RPC | REST | Who may call |\n|---|---|---|---|\n")
	for _, svc := range []struct {
		desc   grpc.ServiceDesc
		policy auth.Policy
	}{
		{membershipv1.MembershipService_ServiceDesc, ms.Policy()},
		{roadmapv1.RoadmapService_ServiceDesc, rs.Policy()},
		{financev1.FinanceService_ServiceDesc, fs.Policy()},
		{eventsv1.EventService_ServiceDesc, es.Policy()},
		{transparencyv1.TransparencyService_ServiceDesc, (&transparency.Server{}).Policy()},
	} {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(svc.desc.ServiceName))
		if err != nil {
			t.Fatal(err)
		}
		sd := d.(protoreflect.ServiceDescriptor)
		short := svc.desc.ServiceName[strings.LastIndex(svc.desc.ServiceName, ".")+1:]
		for i := range sd.Methods().Len() {
			md := sd.Methods().Get(i)
			rule, ok := svc.policy["/"+svc.desc.ServiceName+"/"+string(md.Name())]
			if !ok {
				t.Errorf("no access rule for %s", md.FullName())
				continue
			}
			b.WriteString("| " + short + " | " + string(md.Name()) + " | " + restRoute(md) + " | " +
				strings.ReplaceAll(rule.Doc, "|", "\\|") + " |\n")
		}
	}
	want := b.String()
	if os.Getenv("GUILDHALL_UPDATE_DOCS") != "" {
		if err := os.WriteFile(accessDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(accessDoc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("%s is out of date with the access policies: run GUILDHALL_UPDATE_DOCS=1 go test ./app -run TestAccessDocIsCurrent", accessDoc)
	}
}

// restRoute is the method's REST route, or "gRPC only".
func restRoute(md protoreflect.MethodDescriptor) string {
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	var verb, path string
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		verb, path = "GET", p.Get
	case *annotations.HttpRule_Post:
		verb, path = "POST", p.Post
	case *annotations.HttpRule_Patch:
		verb, path = "PATCH", p.Patch
	case *annotations.HttpRule_Put:
		verb, path = "PUT", p.Put
	case *annotations.HttpRule_Delete:
		verb, path = "DELETE", p.Delete
	default:
		return "gRPC only"
	}
	return "`" + verb + " " + path + "`"
}
