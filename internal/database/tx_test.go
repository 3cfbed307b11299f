package database_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/pgtest"
)

// TestInTxRetriesADeadlock: two transactions that lock two rows in opposite
// orders deadlock; PostgreSQL aborts one, and InTx runs it again, so both
// commit and each row carries both writes.
func TestInTxRetriesADeadlock(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.New(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL); INSERT INTO rows VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var (
		wg       sync.WaitGroup
		attempts [2]int
		errs     [2]error
		first    sync.WaitGroup // both hold their first row before either asks for its second
	)
	first.Add(2)
	for i, order := range [2][2]int{{1, 2}, {2, 1}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = database.InTx(ctx, pool, func(tx pgx.Tx) error {
				attempts[i]++
				if _, err := tx.Exec(ctx, `UPDATE rows SET n = n + 1 WHERE id = $1`, order[0]); err != nil {
					return err
				}
				if attempts[i] == 1 {
					first.Done()
					first.Wait()
				}
				_, err := tx.Exec(ctx, `UPDATE rows SET n = n + 1 WHERE id = $1`, order[1])
				return err
			})
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("errors %v, %v; want both committed", errs[0], errs[1])
	}
	if attempts[0]+attempts[1] != 3 {
		t.Fatalf("attempts %v: want one transaction run twice after the deadlock", attempts)
	}
	var a, b int
	if err := pool.QueryRow(ctx, `SELECT (SELECT n FROM rows WHERE id = 1), (SELECT n FROM rows WHERE id = 2)`).Scan(&a, &b); err != nil || a != 2 || b != 2 {
		t.Fatalf("rows %d, %d (%v): want 2 and 2", a, b, err)
	}
}
