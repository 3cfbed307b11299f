// Package groupcommit lets concurrent requests share one database write.
//
// Each caller queues its item and waits. A caller that finds a write slot
// free takes what is queued (up to a limit) and writes it as one batch: one
// statement and one commit for all of them, and every caller gets its own
// result. There is no timer and no background goroutine: under light load a
// batch holds one item and costs nothing extra, and batches grow only while
// earlier writes are in flight, which is when sharing a commit pays.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// WriteFunc writes items all or nothing and returns one result per item.
type WriteFunc[T, R any] func(ctx context.Context, items []T) ([]R, error)

// Batcher groups concurrent Do calls into batches for its WriteFunc.
type Batcher[T, R any] struct {
	write   WriteFunc[T, R]
	max     int
	timeout time.Duration
	slots   chan struct{}

	mu    sync.Mutex
	queue []*call[T, R]
}

type call[T, R any] struct {
	ctx   context.Context
	item  T
	taken bool // by a writer; guarded by Batcher.mu
	done  chan struct{}
	res   R
	err   error
}

// New returns a Batcher that runs at most writers writes at a time, each of
// at most maxBatch items and given at most timeout.
func New[T, R any](writers, maxBatch int, timeout time.Duration, write WriteFunc[T, R]) *Batcher[T, R] {
	return &Batcher[T, R]{write: write, max: max(1, maxBatch), timeout: timeout, slots: make(chan struct{}, max(1, writers))}
}

// Do writes item in some batch and returns its result. When a batch fails as
// a whole (other than by timeout), each of its items is written again on its
// own, so one bad item fails only its own call. If ctx ends before a writer takes item, nothing is
// written; once taken, Do waits for the write, which then runs to the end
// whatever ctx does (a client that goes away after sending is no different
// from one whose reply is lost, and request ids make retries safe).
func (b *Batcher[T, R]) Do(ctx context.Context, item T) (R, error) {
	c := &call[T, R]{ctx: ctx, item: item, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	b.mu.Unlock()
	for {
		b.mu.Lock()
		taken := c.taken
		b.mu.Unlock()
		if taken {
			<-c.done
			return c.res, c.err
		}
		select {
		case <-c.done:
			return c.res, c.err
		case b.slots <- struct{}{}:
			b.flush()
			<-b.slots
		case <-ctx.Done():
			if b.withdraw(c) {
				var zero R
				return zero, ctx.Err()
			}
			<-c.done
			return c.res, c.err
		}
	}
}

// withdraw removes c from the queue unless a writer has taken it.
func (b *Batcher[T, R]) withdraw(c *call[T, R]) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.taken {
		return false
	}
	b.queue = slices.DeleteFunc(b.queue, func(q *call[T, R]) bool { return q == c })
	return true
}

// flush takes up to max queued calls, writes them and completes them.
func (b *Batcher[T, R]) flush() {
	b.mu.Lock()
	n := min(len(b.queue), b.max)
	batch := slices.Clone(b.queue[:n])
	b.queue = slices.Delete(b.queue, 0, n)
	for _, c := range batch {
		c.taken = true
	}
	b.mu.Unlock()
	if n == 0 {
		return
	}
	// The write serves every caller in the batch, so the first one's
	// cancellation must not abort it; its values (request id, logger) stay,
	// and the Batcher's own timeout bounds it instead.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), b.timeout)
	defer cancel()
	items := make([]T, n)
	for i, c := range batch {
		items[i] = c.item
	}
	res, err := b.safeWrite(ctx, items)
	if err == nil && len(res) != n {
		err = fmt.Errorf("groupcommit: write returned %d results for %d items", len(res), n)
	}
	// Retry item by item to isolate a bad one, unless the write ran out of
	// time: then the database is in trouble and retries would only queue.
	if err != nil && n > 1 && !errors.Is(err, context.DeadlineExceeded) {
		for _, c := range batch {
			r, err := b.safeWrite(ctx, []T{c.item})
			if err == nil && len(r) != 1 {
				err = fmt.Errorf("groupcommit: write returned %d results for 1 item", len(r))
			}
			if err == nil {
				c.res = r[0]
			}
			c.err = err
			close(c.done)
		}
		return
	}
	for i, c := range batch {
		if err == nil {
			c.res = res[i]
		}
		c.err = err
		close(c.done)
	}
}

// safeWrite turns a panic in write into an error, so that the other callers
// of the batch are answered and the write slot is given back.
func (b *Batcher[T, R]) safeWrite(ctx context.Context, items []T) (res []R, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("groupcommit: write panicked: %v", p)
		}
	}()
	return b.write(ctx, items)
}
