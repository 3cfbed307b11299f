package roadmap_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/guildhall/guildhall/app/apptest"
	roadmapv1 "github.com/guildhall/guildhall/gen/go/guildhall/roadmap/v1"
)

func TestItemTransitions(t *testing.T) {
	f := start(t)
	name := newItem(t, f.admin, `{"title":"LDAP"}`)
	cases := []struct {
		via, to string
		status  int
	}{
		{"update", "STATE_DONE", http.StatusBadRequest}, // not started, cannot be done
		{"update", "STATE_IN_PROGRESS", http.StatusOK},
		{"update", "STATE_DECLINED", http.StatusBadRequest},
		{"update", "STATE_DONE", http.StatusOK},
		{"update", "STATE_PLANNED", http.StatusBadRequest},
		{"update", "STATE_IN_PROGRESS", http.StatusOK}, // reopened
	}
	state := "STATE_PROPOSED"
	updates := 0
	for _, c := range cases {
		var res *apptest.Response
		if c.via == "patch" {
			res = f.admin.Do(t, http.MethodPatch, "/v1/"+name+"?updateMask=state", `{"state":"`+c.to+`"}`)
		} else {
			res = f.admin.Do(t, http.MethodPost, "/v1/"+name+"/updates", `{"text":"moving on","newState":"`+c.to+`"}`)
		}
		if c.status != http.StatusOK {
			st := refused(t, res, c.status)
			if st.Code != int(codes.FailedPrecondition) || st.Reason() != "ILLEGAL_TRANSITION" {
				t.Fatalf("%s %s → %s: %d %s", c.via, state, c.to, st.Code, st.Reason())
			}
		} else {
			ok(t, res, http.StatusOK)
			state = c.to
			if c.via == "update" {
				updates++
			}
		}
		got := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+name, ""), http.StatusOK)
		if got["state"] != state {
			t.Fatalf("after %s → %s: state %v, want %s", c.via, c.to, got["state"], state)
		}
	}
	// Refused updates leave no timeline entry: the update and the move are one transaction.
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM item_updates WHERE item_id = $1`, itemID(name)); n != updates {
		t.Fatalf("%d timeline entries, want %d", n, updates)
	}
	tl := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+name+"/updates", ""), http.StatusOK)
	entries := tl["itemUpdates"].([]any)
	if len(entries) != updates {
		t.Fatalf("timeline lists %d", len(entries))
	}
	newest := entries[0].(map[string]any)
	if newest["newState"] != "STATE_IN_PROGRESS" || newest["previousState"] != "STATE_DONE" || newest["author"] != "people/admin" {
		t.Fatalf("newest entry %v", newest)
	}
	ok(t, f.env.Do(t, http.MethodGet, "/v1/"+newest["name"].(string), ""), http.StatusOK)
}

// people creates n people, each in its own subtest so each fixture's pool is
// closed at once (PostgreSQL's connection limit is shared with other tests).
func people(t *testing.T, env *apptest.Env, prefix string, n int) []string {
	tokens := make([]string, n)
	for i := range n {
		t.Run(fmt.Sprintf("person-%s%d", prefix, i), func(t *testing.T) {
			tokens[i] = env.Person(t, fmt.Sprintf("%s%d", prefix, i), false)
		})
	}
	return tokens
}

func TestConcurrentVotes(t *testing.T) {
	f := start(t)
	name := newItem(t, f.admin, `{"title":"Samba 4"}`)
	tokens := people(t, f.env, "voter", 200)
	ctx := context.Background()

	var wg sync.WaitGroup
	errs := make(chan error, 250)
	for _, tok := range tokens {
		wg.Go(func() {
			if _, err := f.client.VoteItem(apptest.Outgoing(ctx, tok), &roadmapv1.VoteItemRequest{Name: name}); err != nil {
				errs <- err
			}
		})
	}
	// One person voting 50 times at once.
	for range 50 {
		wg.Go(func() {
			if _, err := f.client.VoteItem(apptest.Outgoing(ctx, tokens[0]), &roadmapv1.VoteItemRequest{Name: name}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("vote: %v", err)
	}
	it, err := f.client.GetItem(ctx, &roadmapv1.GetItemRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if it.GetVoteCount() != 200 {
		t.Fatalf("vote_count %d, want 200", it.GetVoteCount())
	}
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM item_votes WHERE item_id = $1`, itemID(name)); n != 200 {
		t.Fatalf("%d vote rows, want 200", n)
	}

	// The same person 50 times in parallel on a fresh item: exactly one vote.
	solo := newItem(t, f.admin, `{"title":"VPS"}`)
	for range 50 {
		wg.Go(func() {
			_, _ = f.client.VoteItem(apptest.Outgoing(ctx, tokens[1]), &roadmapv1.VoteItemRequest{Name: solo})
		})
	}
	wg.Wait()
	it, _ = f.client.GetItem(ctx, &roadmapv1.GetItemRequest{Name: solo})
	if it.GetVoteCount() != 1 {
		t.Fatalf("one person voting 50 times: vote_count %d, want 1", it.GetVoteCount())
	}

	// Unvote is idempotent too, and voters can be listed.
	for range 3 {
		if _, err := f.client.UnvoteItem(apptest.Outgoing(ctx, tokens[1]), &roadmapv1.UnvoteItemRequest{Name: solo}); err != nil {
			t.Fatal(err)
		}
	}
	it, _ = f.client.GetItem(ctx, &roadmapv1.GetItemRequest{Name: solo})
	if it.GetVoteCount() != 0 {
		t.Fatalf("after unvote: %d", it.GetVoteCount())
	}
	var voters []string
	token := ""
	for {
		resp, err := f.client.ListItemVoters(ctx, &roadmapv1.ListItemVotersRequest{Name: name, PageSize: 70, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range resp.GetVoters() {
			voters = append(voters, v.GetPerson())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(voters) != 200 {
		t.Fatalf("listed %d voters", len(voters))
	}
	page := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+name+":voters?pageSize=5", ""), http.StatusOK)
	if len(asList(page["voters"])) != 5 || page["nextPageToken"] == "" {
		t.Fatalf("REST voters page: %s", js(page))
	}
	// Anonymous callers may not vote.
	_, err = f.client.VoteItem(ctx, &roadmapv1.VoteItemRequest{Name: name})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("anonymous vote: %v", err)
	}
}

func TestStaleFollowsClock(t *testing.T) {
	f := start(t)
	name := newItem(t, f.admin, `{"title":"Base move","state":"STATE_IN_PROGRESS"}`)
	other := newItem(t, f.admin, `{"title":"Planned","state":"STATE_PLANNED"}`)
	stale := func() (bool, []string) {
		m := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+name, ""), http.StatusOK)
		l := ok(t, f.env.Do(t, http.MethodGet, "/v1/items?stale=true", ""), http.StatusOK)
		var names []string
		for _, it := range asList(l["items"]) {
			names = append(names, it["name"].(string))
		}
		return m["stale"] == true, names
	}
	if s, l := stale(); s || len(l) != 0 {
		t.Fatalf("fresh item stale=%v, stale list %v", s, l)
	}
	f.env.Clock.Advance(29 * 24 * time.Hour)
	if s, _ := stale(); s {
		t.Fatal("stale after 29 days")
	}
	f.env.Clock.Advance(24*time.Hour + time.Second)
	if s, l := stale(); !s || len(l) != 1 || l[0] != name {
		t.Fatalf("after 30 days: stale=%v list %v", s, l)
	}
	// The planned item is never stale, however old.
	if m := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+other, ""), http.StatusOK); m["stale"] == true {
		t.Fatal("a PLANNED item reads stale")
	}
	fresh := ok(t, f.env.Do(t, http.MethodGet, "/v1/items?stale=false", ""), http.StatusOK)
	if l := asList(fresh["items"]); len(l) != 1 || l[0]["name"] != other {
		t.Fatalf("stale=false lists %v", l)
	}
	// A status update makes it fresh again.
	ok(t, f.admin.Do(t, http.MethodPost, "/v1/"+name+"/updates", `{"text":"still on it"}`), http.StatusOK)
	if s, _ := stale(); s {
		t.Fatal("stale right after a status update")
	}
}

func asList(v any) []map[string]any {
	var out []map[string]any
	for _, x := range asSlice(v) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func TestListItemsFiltersAndSorts(t *testing.T) {
	f := start(t)
	f.env.Team(t, "samba")
	newRelease(t, f.admin, "v9", `{"displayName":"9"}`)
	tokens := people(t, f.env, "v", 6)
	type spec struct {
		title, body string
		votes       int
	}
	specs := []spec{
		{"a", `"priority":10,"release":"releases/v9","tags":["ldap"]`, 3},
		{"b", `"priority":50,"ownerTeam":"teams/samba","tags":["samba","ldap"]`, 3},
		{"c", `"priority":50,"state":"STATE_PLANNED"`, 0},
		{"d", `"priority":90,"release":"releases/v9"`, 6},
		{"e", `"priority":10`, 1},
		{"f", `"priority":0,"release":"releases/v9","state":"STATE_PLANNED"`, 3},
		{"g", `"priority":50`, 5},
	}
	names := map[string]string{}
	for _, s := range specs {
		n := newItem(t, f.admin, `{"title":"`+s.title+`",`+s.body+`}`)
		names[n] = s.title
		for i := range s.votes {
			if _, err := f.client.VoteItem(apptest.Outgoing(context.Background(), tokens[i]), &roadmapv1.VoteItemRequest{Name: n}); err != nil {
				t.Fatal(err)
			}
		}
		f.env.Clock.Advance(time.Minute)
	}
	walk := func(query string) string {
		out := ""
		token := ""
		for range 20 {
			m := ok(t, f.env.Do(t, http.MethodGet, "/v1/items?pageSize=2&"+query+"&pageToken="+token, ""), http.StatusOK)
			for _, it := range asList(m["items"]) {
				out += names[it["name"].(string)]
			}
			tok, _ := m["nextPageToken"].(string)
			if tok == "" {
				return out
			}
			token = tok
		}
		t.Fatalf("%s: pagination does not end", query)
		return ""
	}
	// Ties break by id, which is creation order.
	for query, want := range map[string]string{
		"":                                 "dgabfec",
		"orderBy=vote_count%20desc":        "dgabfec",
		"orderBy=priority%20desc":          "dbcgaef",
		"orderBy=last_update_time%20desc":  "gfedcba",
		"release=releases/v9":              "daf",
		"release=-":                        "gbec",
		"state=STATE_PLANNED":              "fc",
		"ownerTeam=teams/samba":            "b",
		"tag=ldap&orderBy=priority%20desc": "ba",
	} {
		if got := walk(query); got != want {
			t.Errorf("%q: got %s, want %s", query, got, want)
		}
	}
	// A token is bound to its query.
	m := ok(t, f.env.Do(t, http.MethodGet, "/v1/items?pageSize=2", ""), http.StatusOK)
	st := refused(t, f.env.Do(t, http.MethodGet, "/v1/items?pageSize=2&orderBy=priority%20desc&pageToken="+m["nextPageToken"].(string), ""), http.StatusBadRequest)
	if !hasField(st, "pageToken") {
		t.Fatalf("reused token: %v", st.Fields())
	}
}
