package finance_test

import (
	"context"
	"strings"
	"testing"
)

// schedule_shift (migration 00015) gives what its first form (00008) gave,
// for every day of six years, both intervals, steps back and forth and
// every kind of anchor day, and the planner inlines it (no call per row).
func TestScheduleShiftUnchanged(t *testing.T) {
	t.Parallel()
	f := start(t)
	db := f.env.DB(t, "finance")
	ctx := context.Background()
	var checked, differ int
	if err := db.QueryRow(ctx, `
		WITH c AS (
			SELECT d::date, iv, n, a FROM generate_series('2026-01-01'::date, '2031-12-31', interval '1 day') AS d,
				unnest(ARRAY['month', 'year']) AS iv, unnest(ARRAY[-13, -2, -1, 1, 2, 13]) AS n, unnest(ARRAY[1, 15, 28, 29, 30, 31]) AS a)
		SELECT count(*), count(*) FILTER (WHERE schedule_shift(d, iv, n, a) IS DISTINCT FROM
			(SELECT (m + least(a, extract(day FROM m + interval '1 month' - interval '1 day')::int) - 1)
				FROM (SELECT (date_trunc('month', d) + make_interval(months => n * CASE iv WHEN 'year' THEN 12 ELSE 1 END))::date AS m) x))
		FROM c`).Scan(&checked, &differ); err != nil {
		t.Fatal(err)
	}
	if checked < 100000 || differ != 0 {
		t.Errorf("schedule_shift differs from its first form in %d of %d cases", differ, checked)
	}
	rows, err := db.Query(ctx, `EXPLAIN (VERBOSE) SELECT schedule_shift(next_due_date, interval, 1, anchor_day) FROM subscriptions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if strings.Contains(plan.String(), "schedule_shift") {
		t.Errorf("schedule_shift is called per row, not inlined:\n%s", plan.String())
	}
}
