package main

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store/postgres/pgtest"
	"github.com/ymera/ymera/transport"
)

// TestClusterLosesServerAndNode runs the scale-out shape on one machine
// with the real roles and the real least-privilege users: three clustered
// nats-servers configured from the repository's nats.conf, every stream
// replicated three times, one `ymera gateway` (NATS user gateway) and two
// `ymera node` processes (NATS user node) sharing the bench_noop kind, all
// on one PostgreSQL database. Under a steady load it shuts down the server
// leading YMERA_TASKS and SIGKILLs one node. Every task answered 201 must
// complete exactly once, completions must not pause for 10 s or more after
// the kills, and no process may be refused a subject by the server.
func TestClusterLosesServerAndNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a NATS cluster and three processes")
	}
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	bin := buildBinary(t)
	cluster := startCluster(t, 3)

	common := []string{
		"NATS_URL=" + cluster.plainURL(),
		"YMERA_STREAM_REPLICAS=3",
		"DATABASE_URL=" + dbURL,
		"JWT_SECRET_KEY=" + strings.Repeat("cluster-test-secret-", 3),
		// A killed node's tasks come back to the other one after AckWait.
		"AGENT_ACK_WAIT=2s",
		"AGENT_WORKERS=4",
		"LOG_LEVEL=WARN",
	}
	role := func(user string, extra ...string) []string {
		env := append(append([]string(nil), common...), "DATA_DIR="+t.TempDir(),
			"NATS_USER="+user, "NATS_PASSWORD=change-me-"+user)
		return append(env, extra...)
	}
	// The gateway first: it applies the migrations and makes the streams.
	gw := startRole(t, bin, "gateway", role("gateway", "HTTP_ADDR=127.0.0.1:0", "AGENT_KINDS="))
	nodeA := startRole(t, bin, "node", role("node", "NODE_NAME=node-a", "AGENT_KINDS=bench_noop"))
	nodeB := startRole(t, bin, "node", role("node", "NODE_NAME=node-b", "AGENT_KINDS=bench_noop"))
	procs := map[string]*roleProcess{"gateway": gw, "node A": nodeA, "node B": nodeB}
	agentA := runner.BuiltinAgentID("node-a", "bench_noop")
	agentB := runner.BuiltinAgentID("node-b", "bench_noop")

	a := &apiClient{t: t, base: gw.base, c: &http.Client{Timeout: 10 * time.Second}}
	a.signUp()
	// The gateway learns task types from the nodes through a KV watch.
	waitTaskType(t, a, "bench_noop", 15*time.Second)

	load := startLoad(gw.base, a.token, map[string]int{"sleep_ms": 20}, 20*time.Millisecond)
	time.Sleep(4 * time.Second)

	// Both nodes take work of the one kind before the kill: the
	// task.completed events name the built-in agent that ran the task.
	byAgent := completionsByAgent(completedEvents(t, cluster.url()))
	t.Logf("before the kills: node A completed %d tasks, node B %d", byAgent[agentA], byAgent[agentB])
	if byAgent[agentA] == 0 || byAgent[agentB] == 0 {
		t.Errorf("the two nodes did not share the work: %v (A %s, B %s)", byAgent, agentA, agentB)
	}

	leader := cluster.streamLeader(t, transport.StreamTasks)
	killed := time.Now()
	leader.Shutdown()
	if err := nodeA.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = nodeA.cmd.Wait()
	t.Logf("shut down nats server %s (leader of %s) and SIGKILLed node A", leader.Name(), transport.StreamTasks)

	time.Sleep(5 * time.Second)
	ids := load.finish()
	stopped := time.Now()
	t.Logf("load: %s", load)
	if len(ids) == 0 {
		t.Fatal("no task was accepted")
	}

	lost, doubled := checkAllOnce(t, a, cluster.url(), ids, 60*time.Second)
	events := completedEvents(t, cluster.url())
	byAgent = completionsByAgent(events)
	t.Logf("%d accepted, %d lost, %d duplicated; completed in all: node A %d, node B %d",
		len(ids), lost, doubled, byAgent[agentA], byAgent[agentB])

	// The events read here in full: no task may have completed twice.
	perTask := map[string]int{}
	for _, ev := range events {
		if perTask[ev.TaskID]++; perTask[ev.TaskID] == 2 {
			t.Errorf("task %s has two task.completed events", ev.TaskID)
		}
	}

	pause := longestPause(completionTimes(events), killed, stopped)
	t.Logf("longest pause in completions after the kills: %s", pause.Round(time.Millisecond))
	if pause >= 10*time.Second {
		t.Errorf("completions paused for %s after the kills, want under 10 s", pause)
	}
	for name, p := range procs {
		if v := p.permissionViolations(); len(v) > 0 {
			t.Errorf("%s was refused subjects by the server (nats.conf allow-lists):\n%s", name, strings.Join(v, "\n"))
		}
	}
}

// waitTaskType waits until the gateway accepts tasks of taskType (until
// then it answers 422), submitting one probe task.
func waitTaskType(t *testing.T, a *apiClient, taskType string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		status, body, _ := a.do(http.MethodPost, "/tasks", map[string]any{
			"name": "probe", "task_type": taskType, "parameters": map[string]string{"probe": "x"},
		})
		if status == http.StatusCreated {
			return
		}
		if status != http.StatusUnprocessableEntity || time.Now().After(deadline) {
			t.Fatalf("POST /tasks %s: status %d: %s", taskType, status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
