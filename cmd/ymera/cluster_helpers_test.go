package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/transport"
)

// testCluster is a NATS cluster of nats-servers in the test process, on
// loopback, each with its own JetStream store, each configured from the
// repository's nats.conf: its accounts and its users' allow-lists are the
// ones under test.
type testCluster struct {
	servers []*server.Server
}

// observerUser is the nats.conf user the test itself connects as to read
// the streams: the all-in-one role, allowed the whole account.
const observerUser, observerPassword = "ymera", "change-me-ymera"

// clusterNatsConf writes the repository's nats.conf with server name,
// client port and store dir of one cluster member, and no monitoring port.
func clusterNatsConf(t *testing.T, name string, port int) string {
	t.Helper()
	b, err := os.ReadFile("../../nats.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := string(b)
	for old, repl := range map[string]string{
		"server_name: ymera-1":     "server_name: " + name,
		"listen: 127.0.0.1:4222":   "listen: 127.0.0.1:" + strconv.Itoa(port),
		"http: 127.0.0.1:8222\n":   "",
		`store_dir: "./data/nats"`: `store_dir: "` + filepath.Join(dir, "js") + `"`,
	} {
		if !strings.Contains(conf, old) {
			t.Fatalf("nats.conf no longer contains %q", old)
		}
		conf = strings.Replace(conf, old, repl, 1)
	}
	path := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startCluster starts n clustered nats-servers with JetStream, each from
// the repository's nats.conf plus cluster settings, and waits until every
// route is up and JetStream has a meta leader.
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
		name := fmt.Sprintf("n%d", i+1)
		opts, err := server.ProcessConfigFile(clusterNatsConf(t, name, freePort(t)))
		if err != nil {
			t.Fatalf("nats server %s: nats.conf: %v", name, err)
		}
		opts.Cluster = server.ClusterOpts{Name: "ymera-test", Host: "127.0.0.1", Port: clusterPorts[i]}
		// Every server lists every server; a route to itself is ignored.
		opts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		opts.NoLog, opts.NoSigs = true, true
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("nats server %s: %v", name, err)
		}
		srv.Start()
		t.Cleanup(func() {
			srv.Shutdown()
			srv.WaitForShutdown()
		})
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatalf("nats server %s not ready within 10 s", name)
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

// plainURL lists the client URLs of the servers still running, without
// credentials: the processes bring their own (NATS_USER, NATS_PASSWORD).
func (c *testCluster) plainURL() string {
	var urls []string
	for _, s := range c.servers {
		if s.Running() {
			urls = append(urls, s.ClientURL())
		}
	}
	return strings.Join(urls, ",")
}

// url lists the client URLs of the servers still running with the test's
// own credentials (observerUser) in each.
func (c *testCluster) url() string {
	var urls []string
	for _, s := range c.servers {
		if s.Running() {
			urls = append(urls, strings.Replace(s.ClientURL(), "nats://",
				"nats://"+observerUser+":"+observerPassword+"@", 1))
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

// completedEvents reads YMERA_EVENTS and returns every task.completed
// event, in time order.
func completedEvents(t *testing.T, url string) []transport.Event {
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
	// An ephemeral consumer counts what it has to deliver when it is made,
	// so the read knows when it has everything: a no-wait fetch straight
	// after making a consumer can come back empty while the stream is not.
	cons, err := js.CreateConsumer(ctx, transport.StreamEvents, jetstream.ConsumerConfig{
		FilterSubject: transport.StoredTaskEventsWildcard(),
		AckPolicy:     jetstream.AckNonePolicy,
		MemoryStorage: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = js.DeleteConsumer(context.Background(), transport.StreamEvents, cons.CachedInfo().Name) }()
	var events []transport.Event
	for left := cons.CachedInfo().NumPending; left > 0; {
		batch, err := cons.Fetch(int(min(left, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := uint64(0)
		for m := range batch.Messages() {
			got++
			var ev transport.Event
			if json.Unmarshal(m.Data(), &ev) == nil && ev.Type == transport.EventTaskCompleted {
				events = append(events, ev)
			}
		}
		err = batch.Error()
		// The consumer lives on one server and the client may be on
		// another: until the routes carry its pull subscription, which
		// takes longer while the cluster is short of a server, a fetch
		// finds no responders. That passes; anything else is the answer.
		if errors.Is(err, nats.ErrNoResponders) && got == 0 && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		if err != nil && got == 0 {
			t.Fatalf("reading %s: %v (%d events left)", transport.StreamEvents, err, left)
		}
		left -= min(got, left)
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Time.Before(events[j].Time) })
	return events
}

// completionTimes returns the times of completed events, in order.
func completionTimes(events []transport.Event) []time.Time {
	times := make([]time.Time, len(events))
	for i, ev := range events {
		times[i] = ev.Time
	}
	return times
}

// completionsByAgent counts completed events by the agent that ran the
// task (the event's agent_id).
func completionsByAgent(events []transport.Event) map[string]int {
	counts := map[string]int{}
	for _, ev := range events {
		counts[ev.AgentID]++
	}
	return counts
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
