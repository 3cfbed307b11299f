package roadmap_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestReleaseTransitions(t *testing.T) {
	f := start(t)
	newRelease(t, f.admin, "v9", `{"displayName":"SME Server 9","basePlatform":"CentOS 6"}`)
	steps := []struct {
		to     string
		status int
	}{
		{"STATE_RELEASED", http.StatusBadRequest}, // a planned release is not released without development
		{"STATE_MAINTAINED", http.StatusBadRequest},
		{"STATE_IN_DEVELOPMENT", http.StatusOK},
		{"STATE_PLANNED", http.StatusOK}, // back to planning
		{"STATE_IN_DEVELOPMENT", http.StatusOK},
		{"STATE_END_OF_LIFE", http.StatusBadRequest},
		{"STATE_RELEASED", http.StatusOK},
		{"STATE_IN_DEVELOPMENT", http.StatusBadRequest},
		{"STATE_END_OF_LIFE", http.StatusOK}, // released straight to end of life is allowed
		{"STATE_MAINTAINED", http.StatusBadRequest},
		{"STATE_PLANNED", http.StatusBadRequest},
	}
	state := "STATE_PLANNED"
	for _, s := range steps {
		res := f.admin.Do(t, http.MethodPost, "/v1/releases/v9:transition", `{"state":"`+s.to+`","note":"to `+s.to+`"}`)
		if s.status == http.StatusOK {
			m := ok(t, res, http.StatusOK)
			if m["state"] != s.to {
				t.Fatalf("%s → %s: state %v", state, s.to, m["state"])
			}
			state = s.to
			continue
		}
		st := refused(t, res, http.StatusBadRequest)
		if st.Code != 9 || st.Reason() != "ILLEGAL_TRANSITION" {
			t.Fatalf("%s → %s: code %d reason %q, want FAILED_PRECONDITION ILLEGAL_TRANSITION", state, s.to, st.Code, st.Reason())
		}
		if !strings.Contains(st.Message, state) || !strings.Contains(st.Message, s.to) {
			t.Errorf("%s → %s: message does not say from and to: %s", state, s.to, st.Message)
		}
		got := ok(t, f.admin.Do(t, http.MethodGet, "/v1/releases/v9", ""), http.StatusOK)
		if got["state"] != state {
			t.Fatalf("refused move changed the state to %v", got["state"])
		}
	}
	// Every move is on the record, with actor, time and note; refused ones are not.
	got := ok(t, f.env.Do(t, http.MethodGet, "/v1/releases/v9", ""), http.StatusOK)
	hist, _ := got["history"].([]any)
	wantTo := []string{"STATE_PLANNED", "STATE_IN_DEVELOPMENT", "STATE_PLANNED", "STATE_IN_DEVELOPMENT", "STATE_RELEASED", "STATE_END_OF_LIFE"}
	if len(hist) != len(wantTo) {
		t.Fatalf("history has %d moves, want %d: %v", len(hist), len(wantTo), hist)
	}
	for i, h := range hist {
		m := h.(map[string]any)
		if m["toState"] != wantTo[i] || m["actor"] != "people/admin" || m["time"] == nil {
			t.Errorf("move %d: %v, want to %s by people/admin with a time", i, m, wantTo[i])
		}
		if i > 0 && m["note"] != "to "+wantTo[i] {
			t.Errorf("move %d note %v", i, m["note"])
		}
	}
}

// State is output only on update (AIP-216): a PATCH naming it is refused
// on the field and changes nothing, for releases and items alike.
func TestStatePatchRefused(t *testing.T) {
	f := start(t)
	newRelease(t, f.admin, "v9", `{"displayName":"SME Server 9"}`)
	item := newItem(t, f.admin, `{"title":"LDAP"}`)
	cases := []struct{ path, body, field string }{
		{"/v1/releases/v9", `{"state":"STATE_IN_DEVELOPMENT"}`, "release.state"},
		{"/v1/releases/v9?updateMask=state", `{"state":"STATE_IN_DEVELOPMENT"}`, "release.state"},
		{"/v1/releases/v9", `{"notes":"n","state":"STATE_IN_DEVELOPMENT"}`, "release.state"},
		{"/v1/" + item, `{"state":"STATE_DONE"}`, "item.state"},
		{"/v1/" + item + "?updateMask=title,state", `{"title":"x","state":"STATE_PLANNED"}`, "item.state"},
	}
	for _, c := range cases {
		st := refused(t, f.admin.Do(t, http.MethodPatch, c.path, c.body), http.StatusBadRequest)
		if st.Code != 3 || !hasField(st, c.field) || !strings.Contains(st.Message+strings.Join(st.Fields(), ""), "state") {
			t.Errorf("PATCH %s %s: code %d fields %v, want INVALID_ARGUMENT on %s", c.path, c.body, st.Code, st.Fields(), c.field)
		}
	}
	r := ok(t, f.env.Do(t, http.MethodGet, "/v1/releases/v9", ""), http.StatusOK)
	i := ok(t, f.env.Do(t, http.MethodGet, "/v1/"+item, ""), http.StatusOK)
	if r["state"] != "STATE_PLANNED" || i["state"] != "STATE_PROPOSED" || i["title"] != "LDAP" || r["notes"] != "" {
		t.Fatalf("a refused PATCH changed something: release %v, item %v", r, i)
	}
	if n := count(t, f.env, "roadmap", `SELECT count(*) FROM item_updates WHERE item_id = $1`, itemID(item)); n != 0 {
		t.Fatalf("%d timeline entries after refused PATCHes", n)
	}
	// Sending the current state back unchanged (read-modify-write) is no change.
	ok(t, f.admin.Do(t, http.MethodPatch, "/v1/releases/v9?updateMask=notes", `{"notes":"kept","state":"STATE_PLANNED"}`), http.StatusOK)
}

func TestReleaseProgressAndChangelog(t *testing.T) {
	f := start(t)
	newRelease(t, f.admin, "v9", `{"displayName":"SME Server 9"}`)
	for _, st := range []string{"STATE_DONE", "STATE_DONE", "STATE_IN_PROGRESS", "STATE_PLANNED", "STATE_DEFERRED", "STATE_DECLINED"} {
		newItem(t, f.admin, `{"title":"`+st+`","release":"releases/v9","state":"`+st+`"}`)
	}
	newItem(t, f.admin, `{"title":"backlog","state":"STATE_DONE"}`)
	m := ok(t, f.admin.Do(t, http.MethodGet, "/v1/releases/v9", ""), http.StatusOK)
	if m["itemCount"] != 4.0 || m["doneCount"] != 2.0 || m["progress"] != 0.5 {
		t.Fatalf("progress %v/%v = %v, want 2/4 = 0.5", m["doneCount"], m["itemCount"], m["progress"])
	}
	list := ok(t, f.env.Do(t, http.MethodGet, "/v1/releases", ""), http.StatusOK)
	if r := list["releases"].([]any)[0].(map[string]any); r["progress"] != 0.5 {
		t.Fatalf("listed progress %v", r["progress"])
	}
	cl := ok(t, f.env.Do(t, http.MethodGet, "/v1/releases/v9:changelog", ""), http.StatusOK)
	its := cl["items"].([]any)
	if len(its) != 2 {
		t.Fatalf("changelog has %d items, want the 2 done: %v", len(its), its)
	}
	for _, it := range its {
		if it.(map[string]any)["state"] != "STATE_DONE" {
			t.Fatalf("changelog item not done: %v", it)
		}
	}
}

func TestDeleteReleaseWithItems(t *testing.T) {
	f := start(t)
	newRelease(t, f.admin, "v9", `{"displayName":"9"}`)
	item := newItem(t, f.admin, `{"title":"t","release":"releases/v9"}`)
	st := refused(t, f.admin.Do(t, http.MethodDelete, "/v1/releases/v9", ""), http.StatusBadRequest)
	if st.Reason() != "RELEASE_HAS_ITEMS" {
		t.Fatalf("reason %q", st.Reason())
	}
	ok(t, f.admin.Do(t, http.MethodPatch, "/v1/"+item+"?updateMask=release", `{}`), http.StatusOK)
	ok(t, f.admin.Do(t, http.MethodDelete, "/v1/releases/v9", ""), http.StatusOK)
}
