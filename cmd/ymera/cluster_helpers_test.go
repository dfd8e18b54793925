package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/transport"
)

// testCluster is a NATS cluster of nats-servers in the test process, on
// loopback, each with its own JetStream store.
type testCluster struct {
	servers []*server.Server
}

// startCluster starts n clustered nats-servers with JetStream and waits
// until every route is up and JetStream has a meta leader.
func startCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	clusterPorts := make([]int, n)
	routes := make([]string, n)
	for i := range n {
		clusterPorts[i] = freePort(t)
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", clusterPorts[i])
	}
	c := &testCluster{}
	for i := range n {
		opts := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       freePort(t),
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster: server.ClusterOpts{
				Name: "ymera-test",
				Host: "127.0.0.1",
				Port: clusterPorts[i],
			},
			// Every server lists every server; a route to itself is ignored.
			Routes: server.RoutesFromStr(strings.Join(routes, ",")),
			NoLog:  true,
			NoSigs: true,
		}
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("nats server %d: %v", i+1, err)
		}
		srv.Start()
		t.Cleanup(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats server %d not ready within 10 s", i+1)
		}
		c.servers = append(c.servers, srv)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, srv := range c.servers {
		for srv.NumRoutes() < n-1 {
			if time.Now().After(deadline) {
				t.Fatalf("%s has %d routes after 30 s, want %d", srv.Name(), srv.NumRoutes(), n-1)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// An account info request is answered only once a meta leader is elected.
	nc, js := c.client(t)
	defer nc.Close()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream has no meta leader after 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// url lists the client URLs of the servers still running.
func (c *testCluster) url() string {
	var urls []string
	for _, s := range c.servers {
		if s.Running() {
			urls = append(urls, s.ClientURL())
		}
	}
	return strings.Join(urls, ",")
}

// client connects to the running servers.
func (c *testCluster) client(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(c.url(), nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return nc, js
}

// streamLeader returns the server leading stream, the one whose loss makes
// the stream elect a new leader.
func (c *testCluster) streamLeader(t *testing.T, stream string) *server.Server {
	t.Helper()
	nc, js := c.client(t)
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info := s.CachedInfo()
	if info.Cluster == nil || len(info.Cluster.Replicas) != len(c.servers)-1 {
		t.Fatalf("stream %s is not replicated on every server: %+v", stream, info.Cluster)
	}
	for _, srv := range c.servers {
		if srv.Name() == info.Cluster.Leader {
			return srv
		}
	}
	t.Fatalf("stream %s: leader %q is none of the servers", stream, info.Cluster.Leader)
	return nil
}

// completionTimes reads YMERA_EVENTS and returns the time of every
// task.completed event, in order.
func completionTimes(t *testing.T, url string) []time.Time {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, transport.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"ymera.events.task.>"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var times []time.Time
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			var ev transport.Event
			if json.Unmarshal(m.Data(), &ev) == nil && ev.Type == "task.completed" {
				times = append(times, ev.Time)
			}
		}
		if got == 0 {
			sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
			return times
		}
	}
}

// longestPause is the longest stretch within [from, to] with no completion:
// from the start to the first completion, between two, or from the last to
// the end.
func longestPause(times []time.Time, from, to time.Time) time.Duration {
	var longest time.Duration
	prev := from
	for _, tm := range times {
		if tm.Before(from) {
			continue
		}
		if tm.After(to) {
			break
		}
		longest = max(longest, tm.Sub(prev))
		prev = tm
	}
	return max(longest, to.Sub(prev))
}
