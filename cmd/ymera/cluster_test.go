package main

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ymera/ymera/store/postgres/pgtest"
	"github.com/ymera/ymera/transport"
)

// TestClusterLosesServerAndNode runs the scale-out shape on one machine:
// three clustered nats-servers with every stream replicated three times, a
// gateway process (no agents) and two agent-node processes sharing the
// bench_noop kind, all on one PostgreSQL database. Under a steady load it
// shuts down the server leading YMERA_TASKS and SIGKILLs one node. Every
// task answered 201 must complete exactly once, and completions must not
// pause for 10 s or more after the kills.
func TestClusterLosesServerAndNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a NATS cluster and three processes")
	}
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	bin := buildBinary(t)
	cluster := startCluster(t, 3)
	natsURL := cluster.url()

	common := []string{
		"NATS_URL=" + natsURL,
		"YMERA_STREAM_REPLICAS=3",
		"DATABASE_URL=" + dbURL,
		"JWT_SECRET_KEY=" + strings.Repeat("cluster-test-secret-", 3),
		// A killed node's tasks come back to the other one after AckWait.
		"AGENT_ACK_WAIT=2s",
		"AGENT_WORKERS=4",
		"LOG_LEVEL=ERROR",
	}
	role := func(kinds string) []string {
		return append(append([]string(nil), common...),
			"DATA_DIR="+t.TempDir(), "HTTP_ADDR=127.0.0.1:0", "AGENT_KINDS="+kinds)
	}
	// One at a time: the first applies the migrations and makes the streams.
	nodeA, nodeABase := startProcess(t, bin, role("bench_noop"))
	_, nodeBBase := startProcess(t, bin, role("bench_noop"))
	_, gwBase := startProcess(t, bin, role(""))

	a := &apiClient{t: t, base: gwBase, c: &http.Client{Timeout: 10 * time.Second}}
	a.signUp()
	// The gateway learns task types from the nodes through a KV watch.
	waitTaskType(t, a, "bench_noop", 15*time.Second)

	load := startLoad(gwBase, a.token, map[string]int{"sleep_ms": 20}, 20*time.Millisecond)
	time.Sleep(4 * time.Second)

	// Both nodes take work of the one kind before the kill.
	doneA := completedOn(t, nodeABase)
	doneB := completedOn(t, nodeBBase)
	t.Logf("before the kills: node A completed %d tasks, node B %d", doneA, doneB)
	if doneA == 0 || doneB == 0 {
		t.Errorf("the two nodes did not share the work: A %d, B %d", doneA, doneB)
	}

	leader := cluster.streamLeader(t, transport.StreamTasks)
	killed := time.Now()
	leader.Shutdown()
	if err := nodeA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = nodeA.Wait()
	t.Logf("shut down nats server %s (leader of %s) and SIGKILLed node A", leader.Name(), transport.StreamTasks)

	time.Sleep(5 * time.Second)
	ids := load.finish()
	stopped := time.Now()
	t.Logf("load: %s", load)
	if len(ids) == 0 {
		t.Fatal("no task was accepted")
	}

	lost, doubled := checkAllOnce(t, a, cluster.url(), ids, 60*time.Second)
	t.Logf("%d accepted, %d lost, %d duplicated; node B completed %d in all",
		len(ids), lost, doubled, completedOn(t, nodeBBase))

	pause := longestPause(completionTimes(t, cluster.url()), killed, stopped)
	t.Logf("longest pause in completions after the kills: %s", pause.Round(time.Millisecond))
	if pause >= 10*time.Second {
		t.Errorf("completions paused for %s after the kills, want under 10 s", pause)
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

// completedOn reads tasks_total{status="completed"} from a process's
// /metrics: the tasks its own workers completed.
func completedOn(t *testing.T, base string) int {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET %s/metrics: %v", base, err)
	}
	defer resp.Body.Close()
	total := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "tasks_total{") || !strings.Contains(line, `status="completed"`) ||
			!strings.Contains(line, `type="bench_noop"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		total += int(v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return total
}
