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
		res := f.admin.Do(t, http.MethodPatch, "/v1/releases/v9?updateMask=state", `{"state":"`+s.to+`"}`)
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
