package apptest

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/google/uuid"
	"google.golang.org/grpc/metadata"
)

// Person stores people/{id} directly (a fixture; tests of the person API use
// the API) and returns a fresh bearer token of theirs.
func (e *Env) Person(t testing.TB, id string, admin bool) string {
	t.Helper()
	db := e.DB(t, "membership")
	ctx := context.Background()
	if _, err := db.Exec(ctx, `INSERT INTO people (id, display_name, email, admin) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET admin = excluded.admin`, id, "Test "+id, id+"@example.org", admin); err != nil {
		t.Fatal(err)
	}
	token := "gh_test-" + uuid.NewString()
	sum := sha256.Sum256([]byte(token))
	if _, err := db.Exec(ctx, `INSERT INTO tokens (id, person_id, display_name, secret_hash) VALUES ($1, $2, 'test', $3)`,
		uuid.Must(uuid.NewV7()).String(), id, sum[:]); err != nil {
		t.Fatal(err)
	}
	return token
}

// Team stores teams/{id} with the given permissions, directly (a fixture).
func (e *Env) Team(t testing.TB, id string, permissions ...string) {
	t.Helper()
	if permissions == nil {
		permissions = []string{}
	}
	_, err := e.DB(t, "membership").Exec(context.Background(), `INSERT INTO teams (id, display_name, permissions) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET permissions = excluded.permissions`, id, "Team "+id, permissions)
	if err != nil {
		t.Fatal(err)
	}
}

// Member stores a person's role ("lead", "member", "moderator", "maintainer") in a team, directly.
func (e *Env) Member(t testing.TB, team, person, role string) {
	t.Helper()
	_, err := e.DB(t, "membership").Exec(context.Background(), `INSERT INTO team_members (team_id, person_id, role) VALUES ($1, $2, $3)
		ON CONFLICT (team_id, person_id) DO UPDATE SET role = excluded.role`, team, person, role)
	if err != nil {
		t.Fatal(err)
	}
}

// Actors are the callers of the access matrix, with their tokens ("" for
// anonymous). Teams: "development" (roadmap.edit), "finance" (finance.*),
// "forums" and "docs" (no permissions).
type Actors struct {
	Anonymous   string
	Member      string // plain member of docs
	OtherLead   string // lead of forums
	Lead        string // lead of development
	FinanceTeam string // member of finance
	Admin       string
}

// FinancePermissions are those of the Finance & Legal team.
var FinancePermissions = []string{"finance.approve", "finance.pay", "finance.read_private", "finance.record"}

// Actors creates the matrix's teams and people (ids: member, otherlead, lead,
// financer, root) and returns their tokens.
func (e *Env) Actors(t testing.TB) Actors {
	t.Helper()
	e.Team(t, "development", "roadmap.edit")
	e.Team(t, "finance", FinancePermissions...)
	e.Team(t, "forums")
	e.Team(t, "docs")
	a := Actors{
		Member:      e.Person(t, "member", false),
		OtherLead:   e.Person(t, "otherlead", false),
		Lead:        e.Person(t, "lead", false),
		FinanceTeam: e.Person(t, "financer", false),
		Admin:       e.Person(t, "root", true),
	}
	e.Member(t, "docs", "member", "member")
	e.Member(t, "forums", "otherlead", "lead")
	e.Member(t, "development", "lead", "lead")
	e.Member(t, "finance", "financer", "member")
	return a
}

// Outgoing returns ctx carrying token as a bearer token for gRPC calls.
func Outgoing(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
