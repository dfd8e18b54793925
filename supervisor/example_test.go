package supervisor_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ymera/ymera/supervisor"
)

// sliceSource serves a fixed list of messages, then nothing.
type sliceSource struct {
	mu   sync.Mutex
	msgs []string
	wg   *sync.WaitGroup // done once per settled message
}

func (s *sliceSource) Fetch(ctx context.Context, limit int) ([]supervisor.Delivery, error) {
	s.mu.Lock()
	n := min(limit, len(s.msgs))
	out := make([]supervisor.Delivery, n)
	for i, m := range s.msgs[:n] {
		out[i] = &message{body: m, wg: s.wg}
	}
	s.msgs = s.msgs[n:]
	s.mu.Unlock()
	if n == 0 {
		// A real source waits its poll interval for messages to arrive.
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

type message struct {
	body string
	wg   *sync.WaitGroup
}

func (m *message) Data() []byte                  { return []byte(m.body) }
func (m *message) Ack() error                    { m.wg.Done(); return nil }
func (m *message) Nak(delay time.Duration) error { return nil }
func (m *message) InProgress() error             { return nil }

// greeter is an agent: one instance per actor, made again at each restart.
type greeter struct{}

func (greeter) Start(context.Context) error { return nil }

func (greeter) Handle(_ context.Context, d supervisor.Delivery) {
	fmt.Printf("hello, %s\n", d.Data())
	_ = d.Ack()
}

func (greeter) Stop(context.Context) {}

func Example() {
	sup := supervisor.New(nil) // nil logger: discard
	defer sup.Shutdown(context.Background())

	var wg sync.WaitGroup
	wg.Add(2)
	pool, err := sup.StartPool(context.Background(), supervisor.PoolConfig{
		Name:      "greeter",
		Size:      1, // one actor: the messages are handled in order
		Source:    &sliceSource{msgs: []string{"ada", "grace"}, wg: &wg},
		NewWorker: func() supervisor.Worker { return greeter{} },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	wg.Wait()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := pool.Stop(ctx); err != nil {
		fmt.Println(err)
	}
	fmt.Printf("%+v\n", pool.Stats())
	// Output:
	// hello, ada
	// hello, grace
	// {Size:1 Idle:0 Busy:0 Restarts:0 Down:0 Degraded:false}
}
