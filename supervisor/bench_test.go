package supervisor

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPoolThroughput measures the pool's own cost per delivery: fetch
// bookkeeping, the Send to an idle actor, the actor's turn and its offer back
// to the dispatcher. The source hands out preallocated deliveries and the
// worker only acks, so nothing else is measured.
func BenchmarkPoolThroughput(b *testing.B) {
	for _, size := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			src := newBenchSource(b.N)
			sup := New(nil)
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := sup.Shutdown(ctx); err != nil {
					b.Error(err)
				}
			}()
			_, err := sup.StartPool(context.Background(), PoolConfig{
				Name: "bench", Size: size, Source: src,
				NewWorker: func() Worker { return ackWorker{} },
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			close(src.begin)
			<-src.done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// benchSource hands out n deliveries, as fast as asked, once begin is closed,
// and closes done when all are acked.
type benchSource struct {
	all   []benchDelivery
	next  int // only the dispatcher calls Fetch, one call at a time
	batch []Delivery
	acked atomic.Int64
	begin chan struct{}
	done  chan struct{}
}

func newBenchSource(n int) *benchSource {
	s := &benchSource{all: make([]benchDelivery, n), begin: make(chan struct{}), done: make(chan struct{})}
	for i := range s.all {
		s.all[i].src = s
	}
	return s
}

func (s *benchSource) Fetch(ctx context.Context, limit int) ([]Delivery, error) {
	select {
	case <-s.begin:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	n := min(limit, len(s.all)-s.next)
	if n == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	// The dispatcher is done with the previous batch when it fetches again.
	s.batch = s.batch[:0]
	for i := range n {
		s.batch = append(s.batch, &s.all[s.next+i])
	}
	s.next += n
	return s.batch, nil
}

type benchDelivery struct{ src *benchSource }

func (d *benchDelivery) Data() []byte { return nil }

func (d *benchDelivery) Ack() error {
	if d.src.acked.Add(1) == int64(len(d.src.all)) {
		close(d.src.done)
	}
	return nil
}

func (d *benchDelivery) Nak(time.Duration) error { return nil }
func (d *benchDelivery) InProgress() error       { return nil }

type ackWorker struct{}

func (ackWorker) Start(context.Context) error          { return nil }
func (ackWorker) Handle(_ context.Context, d Delivery) { _ = d.Ack() }
func (ackWorker) Stop(context.Context)                 {}
