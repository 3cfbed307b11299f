package membership_test

import (
	"testing"
	"time"

	"github.com/guildhall/guildhall/app/apptest"
)

// A person's last activity is exact for the person, admins and the leads of
// their teams, and the start of its UTC day for everyone else, so it cannot
// be matched with the public time of an act whose actor is hidden.
func TestLastActiveTimeIsCoarseForThePublic(t *testing.T) {
	env := apptest.Start(t)
	a := env.Actors(t)
	at := time.Date(2026, 11, 29, 13, 45, 12, 345000000, time.UTC)
	env.Member(t, "docs", "lead", "lead") // member is in docs
	env.Clock.Set(at)
	self := env.WithToken(a.Member)
	mustOK(t, self.Do(t, "PATCH", "/v1/people/member", `{"bio":"busy"}`), "own write")

	exact, day := at.Format(time.RFC3339Nano), "2026-11-29T00:00:00Z"
	for _, c := range []struct {
		who, token, want string
	}{
		{"the person", a.Member, exact},
		{"an admin", a.Admin, exact},
		{"the lead of one of their teams", a.Lead, exact},
		{"an anonymous caller", "", day},
		{"another member", a.OtherLead, day},
	} {
		for _, path := range []string{"/v1/people/member", "/v1/people?pageSize=1000"} {
			body := mustOK(t, env.WithToken(c.token).Do(t, "GET", path, ""), c.who+" reads "+path)
			p := body
			if people := list(t, body, "people"); len(people) > 0 {
				for _, q := range people {
					if q["name"] == "people/member" {
						p = q
					}
				}
			}
			if p["lastActiveTime"] != c.want {
				t.Errorf("%s reading %s: lastActiveTime %v, want %s", c.who, path, p["lastActiveTime"], c.want)
			}
		}
	}
}
