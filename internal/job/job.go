// Package job runs Guildhall's background work: draining outboxes, purging
// old request ids, drift, watching databases. A Job is one kind of work done
// in passes; one Runner runs every job of a process with the same backoff,
// jitter, logging and metrics, after river's internal/maintenance services.
//
// Replicas share work through PostgreSQL, never through a leader of their
// own: a job either claims rows with FOR UPDATE SKIP LOCKED inside its pass
// (the outbox), or names a pool in Exclusive, and then each pass runs under a
// session advisory lock keyed by the job's name, so one replica at a time runs
// it. A killed replica's connection closes, its locks go with it, and the
// work is picked up by the next pass anywhere.
package job

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Job is one kind of background work.
type Job struct {
	// Name identifies the job in logs, metrics and its advisory lock, e.g.
	// "finance.outbox". Names are unique within a process and across the
	// services sharing a database.
	Name string
	// Interval is the pause between passes that found no more work.
	Interval time.Duration
	// Pass does one bounded piece of the work. more reports that work is
	// left, and the next pass starts at once.
	Pass func(ctx context.Context) (more bool, err error)
	// Exclusive, if set, makes each pass hold a PostgreSQL advisory lock on
	// this database, keyed by Name: of all replicas, one runs a pass at a
	// time and the others skip theirs. The lock holds one connection of the
	// pool for the pass, besides those the pass uses.
	Exclusive *pgxpool.Pool
}

// MaxBackoff caps the wait after failed passes.
const MaxBackoff = 5 * time.Minute

// DefaultStartSpread is the longest a job's first pass waits after Run.
const DefaultStartSpread = 10 * time.Second

// Runner runs jobs until its context ends.
type Runner struct {
	// StartSpread bounds the random wait before each job's first pass,
	// which is also at most the job's Interval: the jobs of one process,
	// and replicas rolled out together, reach the database spread out
	// rather than all at once (river's maintenance services likewise start
	// staggered). Work a stopped process left is picked up within it. Set
	// before Run; 0 runs every first pass at once.
	StartSpread time.Duration

	log      *zap.Logger
	jobs     []Job
	passes   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewRunner returns a runner whose metrics (guildhall_job_passes_total by job
// and result: ok, error or skipped; guildhall_job_pass_duration_seconds by
// job) are registered in reg.
func NewRunner(log *zap.Logger, reg prometheus.Registerer) *Runner {
	r := &Runner{
		StartSpread: DefaultStartSpread,
		log:         log,
		passes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guildhall_job_passes_total",
			Help: "Passes of background jobs, by job and result (ok, error, skipped: another replica held the job).",
		}, []string{"job", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "guildhall_job_pass_duration_seconds", Help: "Time one pass of a background job took.",
			Buckets: prometheus.DefBuckets,
		}, []string{"job"}),
	}
	reg.MustRegister(r.passes, r.duration)
	return r
}

// Add adds jobs; call before Run.
func (r *Runner) Add(jobs ...Job) { r.jobs = append(r.jobs, jobs...) }

// Names lists the jobs added, in order.
func (r *Runner) Names() []string {
	out := make([]string, len(r.jobs))
	for i, j := range r.jobs {
		out[i] = j.Name
	}
	return out
}

// Run runs every job until ctx ends and the passes under way return.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, j := range r.jobs {
		wg.Go(func() { r.loop(ctx, j) })
	}
	wg.Wait()
}

func (r *Runner) loop(ctx context.Context, j Job) {
	log := r.log.With(zap.String("job", j.Name))
	// The first pass runs soon after start (see StartSpread), so a process
	// that starts finds its work done as it was left; later passes are
	// jittered, so replicas drift out of step.
	wait := time.Duration(0)
	if spread := min(j.Interval, r.StartSpread); spread > 0 {
		wait = rand.N(spread)
	}
	failures := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		more, err := r.Once(ctx, j)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			failures++
			wait = jitter(min(time.Second<<min(failures-1, 20), MaxBackoff), 0.2)
			log.Warn("job pass failed; will retry", zap.Error(err), zap.Int("failures", failures), zap.Duration("retry_in", wait))
		default:
			if failures > 0 {
				log.Info("job recovered", zap.Int("failures", failures))
			}
			failures = 0
			wait = jitter(j.Interval, 0.1)
			if more {
				wait = 0
			}
		}
	}
}

// errSkipped marks a pass another replica was running.
var errSkipped = errors.New("held by another replica")

// Once runs one pass of j now, under its advisory lock if it is exclusive,
// and records it. A pass skipped because another replica holds the lock
// returns no error and no more work.
func (r *Runner) Once(ctx context.Context, j Job) (more bool, err error) {
	start := time.Now()
	if j.Exclusive != nil {
		more, err = exclusive(ctx, j)
	} else {
		more, err = j.Pass(ctx)
	}
	result := "ok"
	switch {
	case errors.Is(err, errSkipped):
		r.passes.WithLabelValues(j.Name, "skipped").Inc()
		return false, nil
	case err != nil:
		result = "error"
	}
	r.passes.WithLabelValues(j.Name, result).Inc()
	r.duration.WithLabelValues(j.Name).Observe(time.Since(start).Seconds())
	return more, err
}

// exclusive runs a pass while holding the job's session advisory lock on a
// connection of its own; the lock is released after the pass, or by the
// server when the connection dies with its process.
func exclusive(ctx context.Context, j Job) (bool, error) {
	conn, err := j.Exclusive.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, LockKey(j.Name)).Scan(&got); err != nil {
		return false, err
	}
	if !got {
		return false, errSkipped
	}
	defer func() {
		// Unlock even if ctx ended; a connection that cannot unlock is
		// closed, which unlocks too.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, LockKey(j.Name)); err != nil {
			_ = conn.Conn().Close(uctx)
		}
	}()
	return j.Pass(ctx)
}

// LockKey is the text whose hash keys a job's advisory lock.
func LockKey(name string) string { return "guildhall.job/" + name }

// jitter returns d moved by up to ±frac of itself at random.
func jitter(d time.Duration, frac float64) time.Duration {
	if d <= 0 {
		return 0
	}
	delta := (rand.Float64()*2 - 1) * frac * float64(d)
	return max(0, d+time.Duration(delta))
}
