package roadmap_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app/apptest"
	eventsv1 "github.com/guildhall/guildhall/gen/go/guildhall/events/v1"
	membershipv1 "github.com/guildhall/guildhall/gen/go/guildhall/membership/v1"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
	"github.com/guildhall/guildhall/internal/activity"
	"github.com/guildhall/guildhall/internal/auth"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/events"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/outbox"
	"github.com/guildhall/guildhall/internal/pgtest"
	"github.com/guildhall/guildhall/services/roadmap"
)

func TestUnknownMembershipNames(t *testing.T) {
	f := start(t)
	cases := []struct{ body, field string }{
		{`{"title":"t","ownerTeam":"teams/nosuch"}`, "item.ownerTeam"},
		{`{"title":"t","ownerPeople":["people/member","people/nosuch"]}`, "item.ownerPeople[1]"},
	}
	for _, c := range cases {
		st := refused(t, f.admin.Do(t, http.MethodPost, "/v1/items", c.body), http.StatusBadRequest)
		if st.Code != int(codes.InvalidArgument) || len(st.Fields()) != 1 || st.Fields()[0] != c.field {
			t.Errorf("%s: %d %v, want INVALID_ARGUMENT on %s", c.body, st.Code, st.Fields(), c.field)
		}
	}
	name := newItem(t, f.admin, `{"title":"t","ownerTeam":"teams/docs","ownerPeople":["people/member"]}`)
	st := refused(t, f.admin.Do(t, http.MethodPatch, "/v1/"+name+"?updateMask=owner_team", `{"ownerTeam":"teams/gone"}`), http.StatusBadRequest)
	if !hasField(st, "item.ownerTeam") {
		t.Errorf("update to an unknown team: %v", st.Fields())
	}
	st = refused(t, f.admin.Do(t, http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","eligibleTeam":"teams/gone"}`), http.StatusBadRequest)
	if !hasField(st, "proposal.eligibleTeam") {
		t.Errorf("proposal for an unknown team: %v", st.Fields())
	}
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM items`); n != 1 {
		t.Errorf("%d items stored, want 1", n)
	}
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM proposals`); n != 0 {
		t.Errorf("%d proposals stored", n)
	}
}

// A membership service that cannot be reached is UNAVAILABLE, never INTERNAL.
func TestMembershipDownIsUnavailable(t *testing.T) {
	url := pgtest.New(t, apptest.Schemas())
	db, err := database.Open(context.Background(), url, "roadmap")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close() // nothing listens there any more
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s, err := roadmap.NewServer(roadmap.Options{DB: db, Log: zap.NewNop(), Membership: membershipv1.NewMembershipServiceClient(conn)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := auth.With(context.Background(), &auth.Principal{Person: "people/admin", Admin: true})
	_, err = s.CreateItem(ctx, &roadmapv1.CreateItemRequest{Item: &roadmapv1.Item{Title: "t", OwnerTeam: "teams/development"}})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("owner team with membership down: %v", err)
	}
	_, err = s.CreateItem(ctx, &roadmapv1.CreateItemRequest{Item: &roadmapv1.Item{Title: "t", OwnerPeople: []string{"people/x"}}})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("owner people with membership down: %v", err)
	}
	// Writes that name nobody do not need membership.
	it, err := s.CreateItem(ctx, &roadmapv1.CreateItemRequest{Item: &roadmapv1.Item{Title: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	// A vote succeeds with membership down; its activity, like the item's
	// creation's, waits in the outbox, written by the write's own
	// transaction, and survives failed deliveries.
	if _, err := s.VoteItem(ctx, &roadmapv1.VoteItemRequest{Name: it.GetName()}); err != nil {
		t.Fatal(err)
	}
	// The outbox job as the app runs it: activity to membership (down),
	// events to an events service (down too).
	drain := outbox.Job("roadmap.outbox", db, outbox.Route(map[string]outbox.Sender{
		activity.Topic: activity.Sender(membershipv1.NewMembershipServiceClient(conn)),
		events.Topic:   events.Sender(eventsv1.NewEventServiceClient(conn)),
	}), time.Second)
	runner := job.NewRunner(zap.NewNop(), prometheus.NewRegistry())
	for range 3 {
		if _, err := runner.Once(context.Background(), drain); err == nil {
			t.Fatal("delivery to services that are down succeeded")
		}
	}
	var queued, queuedEvents int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE topic = $1), count(*) FILTER (WHERE topic = $2) FROM outbox`,
		activity.Topic, events.Topic).Scan(&queued, &queuedEvents); err != nil {
		t.Fatal(err)
	}
	if queued != 2 || queuedEvents != 1 {
		t.Fatalf("%d activity rows and %d events queued, want 2 and 1 (the item's creation)", queued, queuedEvents)
	}
}

// Every write route refuses bad input with a field violation and stores nothing.
func TestBadInput(t *testing.T) {
	f := start(t)
	newRelease(t, f.admin, "v9", `{"displayName":"9"}`)
	item := newItem(t, f.admin, `{"title":"t"}`)
	prop := newProposal(t, f.admin, `{"question":"q","method":"METHOD_SINGLE_CHOICE","options":["x","y"]}`)
	open := newProposal(t, f.admin, `{"question":"q","method":"METHOD_SINGLE_CHOICE","options":["x","y"],"closeTime":"2999-01-01T00:00:00Z"}`)
	ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+open+":open", `{}`), http.StatusOK)
	long := strings.Repeat("x", 201)
	cases := []struct {
		name, method, path, body, field string
	}{
		{"release id", http.MethodPost, "/v1/releases?releaseId=V9!", `{"displayName":"x"}`, "releaseId"},
		{"release date", http.MethodPost, "/v1/releases?releaseId=v10", `{"displayName":"x","targetDate":"2027-02-30"}`, "release.targetDate"},
		{"release state", http.MethodPost, "/v1/releases/v9:transition", `{"state":"STATE_NOPE"}`, ""},
		{"release state unset", http.MethodPost, "/v1/releases/v9:transition", `{}`, "state"},
		{"proposals review date", http.MethodGet, "/v1/proposals?reviewDueBy=2027-13-01", "", "reviewDueBy"},
		{"item title required", http.MethodPost, "/v1/items", `{"description":"d"}`, "item.title"},
		{"item title too long", http.MethodPost, "/v1/items", `{"title":"` + long + `"}`, "item.title"},
		{"item description with NUL", http.MethodPost, "/v1/items", `{"title":"t","description":"d\u0000"}`, "item.description"},
		{"item priority", http.MethodPost, "/v1/items", `{"title":"t","priority":101}`, "item.priority"},
		{"item owner team name", http.MethodPost, "/v1/items", `{"title":"t","ownerTeam":"development"}`, "item.ownerTeam"},
		{"item owner people name", http.MethodPost, "/v1/items", `{"title":"t","ownerPeople":["jane"]}`, "item.ownerPeople"},
		{"item tag", http.MethodPost, "/v1/items", `{"title":"t","tags":["Not A Tag"]}`, "item.tags"},
		{"item unknown release", http.MethodPost, "/v1/items", `{"title":"t","release":"releases/v99"}`, "item.release"},
		{"item request id", http.MethodPost, "/v1/items?requestId=nope", `{"title":"t"}`, "requestId"},
		{"item update empty title", http.MethodPatch, "/v1/" + item + "?updateMask=title", `{"title":""}`, "item.title"},
		{"item update priority", http.MethodPatch, "/v1/" + item + "?updateMask=priority", `{"priority":-1}`, "item.priority"},
		{"item update bad name", http.MethodPatch, "/v1/items/not-a-uuid?updateMask=title", `{"title":"x"}`, ""},
		{"vote bad name", http.MethodPost, "/v1/items/xyz:vote", `{}`, "name"},
		{"unvote bad name", http.MethodPost, "/v1/items/xyz:unvote", `{}`, "name"},
		{"update text required", http.MethodPost, "/v1/" + item + "/updates", `{"newState":"STATE_PLANNED"}`, "itemUpdate.text"},
		{"update bad state", http.MethodPost, "/v1/" + item + "/updates", `{"text":"x","newState":"STATE_NOPE"}`, ""},
		{"proposal question", http.MethodPost, "/v1/proposals", `{"method":"METHOD_CONSENT"}`, "proposal.question"},
		{"proposal method", http.MethodPost, "/v1/proposals", `{"question":"q"}`, "proposal.method"},
		{"proposal one option", http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_SINGLE_CHOICE","options":["x"]}`, "proposal.options"},
		{"proposal consent options", http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","options":["yes","no"]}`, "proposal.options"},
		{"proposal quorum share", http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","quorumShare":1.5}`, "proposal.quorumShare"},
		{"proposal close before open", http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","openTime":"2030-01-02T00:00:00Z","closeTime":"2030-01-01T00:00:00Z"}`, "proposal.closeTime"},
		{"proposal linked item", http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","linkedItems":["items/00000000-0000-0000-0000-000000000000"]}`, "proposal.linkedItems"},
		{"proposal linked release", http.MethodPost, "/v1/proposals", `{"question":"q","method":"METHOD_CONSENT","linkedReleases":["releases/v99"]}`, "proposal.linkedReleases"},
		{"proposal review date", http.MethodPatch, "/v1/" + prop + "?updateMask=review_date", `{"reviewDate":"2027-13-01"}`, "proposal.reviewDate"},
		{"proposal update options", http.MethodPatch, "/v1/" + prop + "?updateMask=options", `{"options":["x"]}`, "proposal.options"},
		{"vote no choice", http.MethodPost, "/v1/" + open + ":vote", `{"choices":[]}`, "choices"},
		{"vote unknown option", http.MethodPost, "/v1/" + open + ":vote", `{"choices":["z"]}`, "choices[0]"},
		{"vote two choices", http.MethodPost, "/v1/" + open + ":vote", `{"choices":["x","y"]}`, "choices"},
		{"delete item bad name", http.MethodDelete, "/v1/items/xyz", "", "name"},
		{"delete proposal bad name", http.MethodDelete, "/v1/proposals/p1", "", "name"},
		{"delete release bad name", http.MethodDelete, "/v1/releases/V9", "", "name"},
		{"delete item bad etag", http.MethodDelete, "/v1/" + item + "?etag=" + strings.Repeat("1", 65), "", "etag"},
		{"release update bad date", http.MethodPatch, "/v1/releases/v9?updateMask=release_date", `{"releaseDate":"2027-1-1"}`, "release.releaseDate"},
		{"open bad name", http.MethodPost, "/v1/proposals/p1:open", `{}`, "name"},
		{"close bad name", http.MethodPost, "/v1/proposals/p1:close", `{}`, "name"},
		{"list bad order", http.MethodGet, "/v1/items?orderBy=title", "", "orderBy"},
		{"list bad page size", http.MethodGet, "/v1/items?pageSize=-1", "", "pageSize"},
	}
	before := map[string]int{}
	tables := []string{"releases", "items", "item_updates", "item_votes", "proposals", "proposal_votes"}
	for _, tb := range tables {
		before[tb] = count(t, f.env, "roadmap", "SELECT count(*) FROM "+tb)
	}
	// Activity is queued in the outbox and delivered to membership in the
	// background: once the outbox is empty, every report is in membership.
	reported := func() int {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for count(t, f.env, "roadmap", "SELECT count(*) FROM outbox") > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the outbox was not delivered within 20s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return count(t, f.env, "membership", "SELECT count(*) FROM activity_events WHERE kind LIKE 'roadmap.%'")
	}
	reportedBefore := reported()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.admin.Do(t, c.method, c.path, c.body)
			if res.Status != http.StatusBadRequest {
				t.Fatalf("HTTP %d, want 400: %s", res.Status, res.Body)
			}
			st := res.RPCStatus(t)
			if st.Code != int(codes.InvalidArgument) {
				t.Fatalf("code %d, want INVALID_ARGUMENT: %s", st.Code, st.Message)
			}
			if c.field != "" && !hasField(st, c.field) {
				t.Fatalf("violations %v, want %s", st.Fields(), c.field)
			}
		})
	}
	for _, tb := range tables {
		if n := count(t, f.env, "roadmap", "SELECT count(*) FROM "+tb); n != before[tb] {
			t.Errorf("%s: %d rows after bad input, %d before", tb, n, before[tb])
		}
	}
	if n := reported(); n != reportedBefore {
		t.Errorf("%d activity reports after bad input, %d before", n, reportedBefore)
	}
}
