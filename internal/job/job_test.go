package job_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"

	"github.com/guildhall/guildhall/internal/database"
	"github.com/guildhall/guildhall/internal/job"
	"github.com/guildhall/guildhall/internal/pgtest"
)

func newRunner(t *testing.T) (*job.Runner, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	return job.NewRunner(zaptest.NewLogger(t), reg), reg
}

func passes(t *testing.T, reg *prometheus.Registry, name, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "guildhall_job_passes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["job"] == name && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// An exclusive job runs on one replica at a time: while one pass holds the
// lock another replica's pass is skipped, and a lock whose holder died (its
// connection closed) is free again.
func TestExclusiveJobRunsOnOneReplicaAtATime(t *testing.T) {
	ctx := context.Background()
	url := pgtest.New(t, []pgtest.Schema{{Name: "jobs", Migrations: fstest.MapFS{
		"00001_none.sql": {Data: []byte("-- +goose Up\nSELECT 1;\n-- +goose Down\nSELECT 1;\n")},
	}}})
	db, err := database.Open(ctx, url, "jobs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)

	var ran atomic.Int32
	inPass, release := make(chan struct{}), make(chan struct{})
	blocking := job.Job{Name: "test.exclusive", Interval: time.Hour, Exclusive: db, Pass: func(context.Context) (bool, error) {
		ran.Add(1)
		inPass <- struct{}{}
		<-release
		return false, nil
	}}
	counting := blocking
	counting.Pass = func(context.Context) (bool, error) { ran.Add(1); return false, nil }

	a, _ := newRunner(t)
	b, regB := newRunner(t)
	done := make(chan error, 1)
	go func() { _, err := a.Once(ctx, blocking); done <- err }()
	<-inPass
	if _, err := b.Once(ctx, counting); err != nil {
		t.Fatal(err)
	}
	if got := passes(t, regB, "test.exclusive", "skipped"); got != 1 || ran.Load() != 1 {
		t.Fatalf("second replica: %v skipped, %d passes run; want its pass skipped", got, ran.Load())
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := b.Once(ctx, counting); err != nil || ran.Load() != 2 {
		t.Fatalf("after the first pass ended: %v, %d passes run; want the second replica to run", err, ran.Load())
	}

	// A replica that dies holding the lock: its connection closes.
	dead, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, job.LockKey("test.exclusive")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Once(ctx, counting); err != nil || ran.Load() != 2 {
		t.Fatalf("while the lock is held: %v, %d passes; want a skip", err, ran.Load())
	}
	_ = dead.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for ran.Load() != 3 && time.Now().Before(deadline) {
		if _, err := b.Once(ctx, counting); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // the server notices the closed connection
	}
	if ran.Load() != 3 {
		t.Fatal("the lock of a closed connection was never freed")
	}
}

// A pass that reports more work is followed at once by the next; a failed
// pass is retried after a backoff; the runner counts both.
func TestRunnerMoreWorkAndBackoff(t *testing.T) {
	r, reg := newRunner(t)
	r.StartSpread = 0 // the first pass at once
	var n atomic.Int32
	done := make(chan struct{})
	var failedAt, retriedAt time.Time
	r.Add(job.Job{Name: "test.loop", Interval: time.Hour, Pass: func(context.Context) (bool, error) {
		switch n.Add(1) {
		case 1, 2, 3:
			return true, nil // more: no wait
		case 4:
			failedAt = time.Now()
			return false, errors.New("boom")
		case 5:
			retriedAt = time.Now()
			close(done)
		}
		return false, nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { r.Run(ctx); close(stopped) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("only %d passes ran", n.Load())
	}
	cancel()
	<-stopped
	if wait := retriedAt.Sub(failedAt); wait < 700*time.Millisecond || wait > 3*time.Second {
		t.Errorf("retried %v after a failure, want about a second of backoff", wait)
	}
	if ok, failed := passes(t, reg, "test.loop", "ok"), passes(t, reg, "test.loop", "error"); ok != 4 || failed != 1 {
		t.Errorf("counted %v ok and %v failed passes, want 4 and 1", ok, failed)
	}
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "guildhall_job_pass_duration_seconds" && mf.GetMetric()[0].GetHistogram().GetSampleCount() != 5 {
			t.Errorf("%d pass durations observed, want 5", mf.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
}

// First passes are spread over StartSpread, or the job's Interval if that is
// shorter, instead of all starting at once.
func TestRunnerSpreadsFirstPasses(t *testing.T) {
	// firstPasses runs the jobs until each has made a pass, and returns how
	// long after Run each first one began.
	firstPasses := func(r *job.Runner, intervals []time.Duration, within time.Duration) []time.Duration {
		t.Helper()
		var mu sync.Mutex
		first := make([]time.Duration, len(intervals))
		var left sync.WaitGroup
		left.Add(len(intervals))
		start := time.Now()
		for i, iv := range intervals {
			var once sync.Once
			r.Add(job.Job{Name: fmt.Sprintf("test.spread.%d", i), Interval: iv, Pass: func(context.Context) (bool, error) {
				once.Do(func() {
					mu.Lock()
					first[i] = time.Since(start)
					mu.Unlock()
					left.Done()
				})
				return false, nil
			}})
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { r.Run(ctx); close(stopped) }()
		all := make(chan struct{})
		go func() { left.Wait(); close(all) }()
		select {
		case <-all:
		case <-time.After(within):
			t.Errorf("not every job made a first pass within %v", within)
		}
		cancel()
		<-stopped
		mu.Lock()
		defer mu.Unlock()
		return first
	}

	r, _ := newRunner(t)
	r.StartSpread = 400 * time.Millisecond
	hourly := make([]time.Duration, 20)
	for i := range hourly {
		hourly[i] = time.Hour
	}
	first := firstPasses(r, hourly, 5*time.Second)
	late := 0
	for _, at := range first {
		if at > 100*time.Millisecond {
			late++
		}
	}
	// Drawn uniformly over 400ms, each first pass is past 100ms with odds
	// of 3 in 4; none of 20 being so has odds below 1e-12.
	if late == 0 {
		t.Errorf("every first pass ran within 100ms of start: %v", first)
	}

	// A job's interval bounds its own first wait: with an hour's spread, a
	// job run every 20ms still starts at once, near enough.
	r, _ = newRunner(t)
	r.StartSpread = time.Hour
	firstPasses(r, []time.Duration{20 * time.Millisecond}, 5*time.Second)
}
