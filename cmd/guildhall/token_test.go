package main

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/guildhall/guildhall/app/apptest"
	"github.com/guildhall/guildhall/internal/config"
	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pgtest"
)

func TestTokenCreateAdmin(t *testing.T) {
	url := pgtest.New(t, apptest.Schemas())
	t.Setenv("GUILDHALL_DATABASE_URL", url)
	t.Setenv("GUILDHALL_LOG_LEVEL", "error")

	if err := run(context.Background(), []string{"token", "create"}, &strings.Builder{}); err == nil {
		t.Fatal("token create without --admin should fail")
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"token", "create", "--admin", "--person", "ops"}, &out); err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(out.String())
	if !strings.HasPrefix(secret, "gh_") || len(secret) < 30 {
		t.Fatalf("printed %q, want one gh_ secret", secret)
	}

	pool, err := database.Open(context.Background(), url, config.Membership)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	sum := sha256.Sum256([]byte(secret))
	var person string
	var admin bool
	err = pool.QueryRow(context.Background(),
		`SELECT p.id, p.admin FROM tokens t JOIN people p ON p.id = t.person_id WHERE t.secret_hash = $1 AND t.revoke_time IS NULL`,
		sum[:]).Scan(&person, &admin)
	if err != nil || person != "ops" || !admin {
		t.Fatalf("stored token: person %q admin %v err %v", person, admin, err)
	}
	var plain int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM tokens WHERE position($1 in encode(secret_hash, 'escape')) > 0`, secret).Scan(&plain); err != nil || plain != 0 {
		t.Fatalf("the secret itself is stored (%d rows, %v)", plain, err)
	}
}
