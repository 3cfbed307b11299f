package groupcommit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guildhall/guildhall/internal/groupcommit"
)

// recorder is a write function that remembers its batches.
type recorder struct {
	mu       sync.Mutex
	batches  [][]int
	inFlight atomic.Int32
	peak     atomic.Int32
	delay    time.Duration
	fail     func(int) bool // items that make a whole batch fail
}

func (r *recorder) write(_ context.Context, items []int) ([]int, error) {
	n := r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(r.delay)
	for _, it := range items {
		if r.fail != nil && r.fail(it) {
			return nil, errors.New("bad item")
		}
	}
	r.mu.Lock()
	r.batches = append(r.batches, append([]int(nil), items...))
	r.mu.Unlock()
	out := make([]int, len(items))
	for i, it := range items {
		out[i] = it * 10
	}
	return out, nil
}

func TestConcurrentCallsShareWritesAndGetTheirOwnResults(t *testing.T) {
	r := &recorder{delay: 5 * time.Millisecond}
	b := groupcommit.New(2, 16, time.Minute, r.write)
	const n = 200
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := b.Do(context.Background(), i)
			if err != nil || got != i*10 {
				t.Errorf("Do(%d) = %d, %v; want %d", i, got, err, i*10)
			}
		}()
	}
	wg.Wait()
	seen := map[int]int{}
	for _, batch := range r.batches {
		if len(batch) > 16 {
			t.Errorf("batch of %d items, limit 16", len(batch))
		}
		for _, it := range batch {
			seen[it]++
		}
	}
	for i := 1; i <= n; i++ {
		if seen[i] != 1 {
			t.Errorf("item %d written %d times", i, seen[i])
		}
	}
	if len(r.batches) >= n/2 {
		t.Errorf("%d writes for %d concurrent calls: batches are not forming", len(r.batches), n)
	}
	if p := r.peak.Load(); p > 2 {
		t.Errorf("%d writes ran at once, limit 2", p)
	}
}

func TestAFailedBatchIsRetriedItemByItem(t *testing.T) {
	r := &recorder{delay: 2 * time.Millisecond, fail: func(i int) bool { return i == 7 }}
	b := groupcommit.New(1, 64, time.Minute, r.write)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.Do(context.Background(), i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 7) {
			t.Errorf("item %d: err = %v", i, err)
		}
	}
	written := 0
	for _, batch := range r.batches {
		written += len(batch)
	}
	if written != 19 {
		t.Errorf("%d items written, want 19", written)
	}
}

func TestACancelledCallThatWasNotTakenWritesNothing(t *testing.T) {
	release := make(chan struct{})
	var writes atomic.Int32
	b := groupcommit.New(1, 8, time.Minute, func(_ context.Context, items []int) ([]int, error) {
		writes.Add(1)
		if items[0] == 1 {
			<-release // hold the only slot
		}
		return items, nil
	})
	first := make(chan error)
	go func() {
		_, err := b.Do(context.Background(), 1)
		first <- err
	}()
	for writes.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := b.Do(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued call: err = %v, want deadline exceeded", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if got, err := b.Do(context.Background(), 3); err != nil || got != 3 {
		t.Fatalf("later call: %d, %v", got, err)
	}
	if w := writes.Load(); w != 2 {
		t.Errorf("%d writes, want 2 (item 2 was withdrawn)", w)
	}
}

func TestAPanickingWriteAnswersEveryoneAndFreesItsSlot(t *testing.T) {
	b := groupcommit.New(1, 8, time.Minute, func(_ context.Context, items []int) ([]int, error) {
		if items[0] < 0 {
			panic("boom")
		}
		return items, nil
	})
	if _, err := b.Do(context.Background(), -1); err == nil {
		t.Fatal("want an error from a panicking write")
	}
	if got, err := b.Do(context.Background(), 4); err != nil || got != 4 {
		t.Fatalf("after a panic: %d, %v", got, err)
	}
}

func TestAShortResultIsAnError(t *testing.T) {
	b := groupcommit.New(1, 8, time.Minute, func(context.Context, []int) ([]int, error) { return nil, nil })
	if _, err := b.Do(context.Background(), 1); err == nil {
		t.Fatal("want an error when write returns no result")
	}
}

func TestAWriteIsBoundedByTheTimeoutNotByTheCaller(t *testing.T) {
	b := groupcommit.New(1, 8, 20*time.Millisecond, func(ctx context.Context, items []int) ([]int, error) {
		<-ctx.Done() // a database that never answers
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := b.Do(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the batcher's deadline", err)
	}
}

func TestATimedOutBatchIsNotRetriedItemByItem(t *testing.T) {
	var writes atomic.Int32
	started := make(chan struct{}, 1)
	b := groupcommit.New(1, 8, 50*time.Millisecond, func(ctx context.Context, items []int) ([]int, error) {
		writes.Add(1)
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = b.Do(context.Background(), 0) }()
	<-started // the first write holds the only slot; the next three queue
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := b.Do(context.Background(), i); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("item %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	// Two writes when the three share a batch, four at most if each went
	// alone; retrying a shared batch item by item makes five.
	if w := writes.Load(); w > 4 {
		t.Errorf("%d writes: a timed-out batch was retried item by item", w)
	}
}
