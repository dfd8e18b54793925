package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ymera/ymera/internal/procstat"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/store/postgres/pgtest"
	"github.com/ymera/ymera/transport"
)

// TestBenchModes runs tiny in-process benches through each submission path
// and checks every accepted task is counted completed exactly once. Figures
// are not asserted: they belong to `ymera bench`, not to tests.
func TestBenchModes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts whole systems")
	}
	cases := []struct {
		name string
		o    benchOptions
	}{
		{"http_tasks", benchOptions{via: "http", store: "sqlite", tasks: 40, concurrency: 4}},
		{"nats_tasks", benchOptions{via: "nats", store: "sqlite", tasks: 50, concurrency: 2, batch: 8}},
		{"http_duration", benchOptions{via: "http", store: "sqlite", duration: 200 * time.Millisecond, concurrency: 2}},
		{"http_closed_loop", benchOptions{via: "http", store: "sqlite", tasks: 30, concurrency: 2, closedLoop: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.taskType, o.timeout, o.workers = "bench_noop", time.Minute, 4
			o.batch = max(o.batch, 1)
			if tc.name == "http_tasks" {
				dir := t.TempDir()
				o.cpuprofile, o.memprofile = filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
			}
			if err := o.validate(); err != nil {
				t.Fatal(err)
			}
			var log strings.Builder
			rep, err := runBench(context.Background(), testConfig(t, nil), o, mapEnv(nil), &log)
			if err != nil {
				t.Fatalf("runBench: %v\nlog:\n%s", err, log.String())
			}
			if rep.Errors != 0 || rep.Accepted == 0 || rep.Completed != rep.Accepted {
				t.Fatalf("accepted %d, completed %d, errors %d (%s)", rep.Accepted, rep.Completed, rep.Errors, rep.FirstError)
			}
			if o.duration == 0 && rep.Accepted != o.tasks {
				t.Errorf("accepted %d, want --tasks=%d", rep.Accepted, o.tasks)
			}
			if rep.Store != "sqlite" || rep.Via != o.via || rep.ReadyMS <= 0 || rep.P99ms < rep.P50ms {
				t.Errorf("report %+v", rep)
			}
			// Every outcome went through a finish statement, or, for a task
			// published straight to NATS, made its row with it; HTTP tasks
			// went in through enqueue statements.
			gc := rep.GroupCommit
			if got := gc[runner.CommitFinish].Items + gc[runner.CommitCreateFinished].Items; got != rep.Completed {
				t.Errorf("group commit %+v: %d outcomes written, want %d", gc, got, rep.Completed)
			}
			if want := map[string]int{"http": rep.Accepted, "nats": 0}[o.via]; gc[runner.CommitEnqueue].Items != want {
				t.Errorf("group commit %+v: %d tasks enqueued, want %d", gc, gc[runner.CommitEnqueue].Items, want)
			}
			// The run cost this process CPU; in process the server is this
			// process, so no separate server figure.
			if c := rep.CPU; c == nil || c.ProcessUSPerTask <= 0 || c.ServerUSPerTask != 0 {
				t.Errorf("cpu %+v: want this process's µs per task and no server figure", c)
			} else if _, err := os.Stat("/proc/stat"); err == nil && (c.MachineUSPerTask <= 0 || c.MachineBusyPct <= 0 || c.MachineBusyPct > 100) {
				t.Errorf("cpu %+v: want the machine's µs per task and a busy share in (0, 100]", c)
			}
			var text strings.Builder
			printBenchReport(&text, rep)
			if m := rep.Machine; m.CPUs < 1 || m.Go == "" || !strings.Contains(text.String(), "machine    "+m.String()) {
				t.Errorf("machine %+v: want it in the report and its text line:\n%s", m, text.String())
			}
			if !strings.Contains(text.String(), "µs/task in this process") {
				t.Errorf("text report without its cpu line:\n%s", text.String())
			}
			if !strings.Contains(text.String(), "commits    finish") && !strings.Contains(text.String(), "commits    create_finished") {
				t.Errorf("text report without its commits:\n%s", text.String())
			}
			for _, p := range []string{o.cpuprofile, o.memprofile} {
				if p == "" {
					continue
				}
				if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
					t.Errorf("profile %s not written: %v", p, err)
				}
			}
		})
	}
}

// TestBenchPostgres runs a tiny in-process bench on a throwaway PostgreSQL
// database: every accepted task completed once, through the submit
// writer's enqueue statements, the server's version reported, and the
// database gone afterwards.
func TestBenchPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole system")
	}
	conn, err := pgx.Connect(t.Context(), pgtest.NewDatabase(t)) // skips without a server, fails under CI=true
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	benchDatabases := func() []string {
		rows, err := conn.Query(t.Context(), `SELECT datname FROM pg_database WHERE datname LIKE 'ymera\_bench\_%' ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	before := benchDatabases()

	o := benchOptions{via: "http", store: "postgres", tasks: 40, concurrency: 4, batch: 1,
		taskType: "bench_noop", timeout: time.Minute, workers: 4}
	var log strings.Builder
	rep, err := runBench(context.Background(), testConfig(t, nil), o,
		mapEnv(map[string]string{"TEST_DATABASE_URL": pgtest.ServerURL()}), &log)
	if err != nil {
		t.Fatalf("runBench: %v\nlog:\n%s", err, log.String())
	}
	if rep.Store != "postgres" || rep.Accepted != o.tasks || rep.Completed != o.tasks || rep.Errors != 0 {
		t.Errorf("store %s: accepted %d, completed %d, errors %d (%s); want postgres, %d, %d, 0",
			rep.Store, rep.Accepted, rep.Completed, rep.Errors, rep.FirstError, o.tasks, o.tasks)
	}
	if got := rep.GroupCommit[runner.CommitEnqueue].Items; got != rep.Accepted {
		t.Errorf("group commit %+v: %d tasks enqueued, want %d", rep.GroupCommit, got, rep.Accepted)
	}
	if !strings.HasPrefix(rep.Database, "PostgreSQL 1") {
		t.Errorf("database %q: want the server's version", rep.Database)
	}
	var text strings.Builder
	printBenchReport(&text, rep)
	if !strings.Contains(text.String(), "database   "+rep.Database+"\n") {
		t.Errorf("text report without its database line:\n%s", text.String())
	}
	if after := benchDatabases(); !slices.Equal(after, before) {
		t.Errorf("bench databases %v after the run, want %v as before it: the run's was left behind", after, before)
	}
}

// TestBenchUnfinished checks that a run which stops waiting with tasks
// still to complete says why: the --timeout, or an interrupt.
func TestBenchUnfinished(t *testing.T) {
	for _, tc := range []struct {
		ctxErr error
		want   string
	}{
		{context.DeadlineExceeded, "bench: only 7 of 9 accepted tasks completed before the --timeout (5m0s, on top of --duration)"},
		{context.Canceled, "bench: only 7 of 9 accepted tasks completed before the run was interrupted"},
		{nil, "bench: only 7 of 9 accepted tasks completed"},
	} {
		if got := unfinished(tc.ctxErr, 5*time.Minute, 7, 9).Error(); got != tc.want {
			t.Errorf("unfinished(%v) = %q, want %q", tc.ctxErr, got, tc.want)
		}
	}
}

// TestBenchOptionsRejected checks that bad flags are refused with the value
// named, before anything starts.
func TestBenchOptionsRejected(t *testing.T) {
	ok := benchOptions{via: "http", store: "sqlite", tasks: 1, concurrency: 1, batch: 1}
	for _, tc := range []struct {
		change func(*benchOptions)
		want   string
	}{
		{func(o *benchOptions) { o.via = "grpc" }, `--via="grpc"`},
		{func(o *benchOptions) { o.store = "mysql" }, `--store="mysql"`},
		{func(o *benchOptions) { o.tasks = 0 }, "--tasks=0"},
		{func(o *benchOptions) { o.concurrency = 0 }, "--concurrency=0"},
		{func(o *benchOptions) { o.duration = -time.Second }, "--duration=-1s"},
		{func(o *benchOptions) { o.url, o.via = "http://x", "nats" }, "--via=nats"},
		{func(o *benchOptions) { o.url, o.syncAlways = "http://x", true }, "--sync-always"},
		{func(o *benchOptions) { o.via, o.closedLoop = "nats", true }, "--closed-loop"},
		{func(o *benchOptions) { o.url, o.waitIn = "http://x", "sideways" }, `--wait-in="sideways"`},
		{func(o *benchOptions) { o.url = "127.0.0.1:8000" }, `--url="127.0.0.1:8000"`},
		{func(o *benchOptions) { o.url = "ftp://x" }, `--url="ftp://x"`},
		{func(o *benchOptions) { o.url = "http://" }, `--url="http://"`},
		{func(o *benchOptions) { o.url = "http://x y" }, `--url="http://x y"`},
	} {
		o := ok
		tc.change(&o)
		err := o.validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("validate(%+v) = %v, want an error naming %s", o, err, tc.want)
		}
	}
	if err := ok.validate(); err != nil {
		t.Errorf("valid options rejected: %v", err)
	}
}

// TestBenchTrackerEarlyCompletion covers a completion seen before its
// submission is known (the event beat the 201), for YMERA's UUIDs and for
// ids of another form (River's integers), which the tracker keeps apart.
func TestBenchTrackerEarlyCompletion(t *testing.T) {
	for _, ids := range [][2]string{
		{"0194d3a4-7b7e-7c3e-9a55-3f1f2d8c9e10", "0194d3a4-7b7e-7c3e-9a55-3f1f2d8c9e11"},
		{"41", "42"},
		{"0194d3a4-7b7e-7c3e-9a55-3f1f2d8c9e10", "0194D3A4-7B7E-7C3E-9A55-3F1F2D8C9E11"},
	} {
		a, b := ids[0], ids[1]
		tr := newBenchTracker(2)
		t0 := time.Now()
		tr.finish(a, t0.Add(3*time.Millisecond))
		tr.submit(a, t0)
		tr.submit(b, t0)
		tr.seal(2)
		select {
		case <-tr.done:
			t.Fatalf("%v: done with one of two completed", ids)
		default:
		}
		tr.finish(strings.ToLower(b), t0.Add(5*time.Millisecond)) // the same UUID, in another case
		tr.finish(b, t0.Add(9*time.Millisecond))                  // a duplicate event counts once
		<-tr.done
		n, last, p, req := tr.results()
		if n != 2 || !last.Equal(t0.Add(5*time.Millisecond)) || p[0] != 3*time.Millisecond {
			t.Errorf("%v: results = %d, %v, %v", ids, n, last.Sub(t0), p)
		}
		if req[2] <= 0 {
			t.Errorf("%v: request p99 %v, want the submissions' durations", ids, req[2])
		}
	}
}

// TestBenchTrackerWait: a closed-loop client's wait ends with its task's
// completion.
func TestBenchTrackerWait(t *testing.T) {
	for _, id := range []string{"0194d3a4-7b7e-7c3e-9a55-3f1f2d8c9e10", "7"} {
		tr := newBenchTracker(1)
		tr.submit(id, time.Now())
		waited := make(chan struct{})
		go func() {
			tr.wait(t.Context(), id)
			close(waited)
		}()
		for {
			tr.mu.Lock()
			_, ok := tr.waiters.get(keyOf(id))
			tr.mu.Unlock()
			if ok {
				break
			}
			time.Sleep(time.Millisecond)
		}
		tr.finish(id, time.Now())
		<-waited // a wait that missed the completion would last waitLimit
	}
}

// TestBenchEventFields: the bench client's quick read of an event body
// agrees with encoding/json, whatever the event's data holds.
func TestBenchEventFields(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for _, ev := range []transport.Event{
		{V: 1, Type: transport.EventTaskCompleted, TaskID: "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10", UserID: "u", Status: "completed", Time: at},
		{V: 1, Type: transport.EventTaskQueued, TaskID: "0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10", Status: "queued", Time: at},
		{V: 1, Type: transport.EventTaskFailed, TaskID: "t", Status: "failed", Time: at,
			Data: json.RawMessage(`{"task_id":"other","status":"completed","error":"a \"quoted\" status"}`)},
		{V: 1, Type: transport.EventTaskCompleted, TaskID: `odd"id`, Status: "completed", Time: at},
		{V: 1, Type: transport.EventAgentOnline, AgentID: "a-1", Status: "healthy", Time: at},
	} {
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			TaskID string `json:"task_id"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatal(err)
		}
		if id, status := benchEventFields(body); id != want.TaskID || status != want.Status {
			t.Errorf("%s: read %q, %q; want %q, %q", body, id, status, want.TaskID, want.Status)
		}
	}
}

// TestAnswerMember: the bench client's quick read of the task_id of a
// POST /tasks answer and the status of a GET /tasks/{id} answer takes the
// top-level member, never one inside an earlier value, and agrees with
// encoding/json.
func TestAnswerMember(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ key, body string }{
		{"task_id", `{"$schema":"http://127.0.0.1:8000/schemas/SubmitTaskResponse.json","task_id":"0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10","status":"created"}`},
		{"task_id", `{"task_id":"0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10","status":"created"}`},
		{"task_id", `{"$schema":"x \"task_id\":\"no\"","task_id":"yes","status":"created"}`},
		{"task_id", `{"task_id":"odd\"id","status":"created"}`},
		{"task_id", `{"status":"created"}`},
		{"status", `{"id":"0b7e4c1e-5f7a-4f63-9a55-3f1f2d8c9e10","name":"bench","parameters":{"status":"failed","x":[1,{"status":"x"}]},"priority":"normal","status":"completed","result":{"ok":true}}`},
		{"status", `{"id":"13","result":{"ok":true,"status":"failed"},"status":"completed"}`},
		{"status", `{"id":"13","result":"status\"","status":"running"}`},
		{"status", `{ "a" : [ "]" , "}" ] , "n" : -1.5e3 , "t" : true , "status" : "queued" }`},
		{"status", `{"a":null,"status":"cancelled"}`},
		{"status", `{"status":"comp\u006ceted"}`},
		{"status", `{"id":"1"}`},
		{"status", `{"id":"1","result":{"status":"completed"}}`},
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(tc.body), &m); err != nil {
			t.Fatal(err)
		}
		want, _ := m[tc.key].(string)
		got := answerMember{key: tc.key}
		if err := got.decode([]byte(tc.body)); err != nil || got.value != want {
			t.Errorf("%s in %s: read %q, %v; want %q", tc.key, tc.body, got.value, err, want)
		}
	}
}

// FuzzTopLevelString: whatever topLevelString reads from valid JSON is the
// value of the first top-level member of that name, as encoding/json's
// tokenizer finds it.
func FuzzTopLevelString(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","parameters":{"status":"x"},"status":"completed"}`,
		`{"result":["status",{"status":"a"}],"status":"b","status":"c"}`,
		`{"a":"\"status\":\"x\"","status":"y"}`,
		`{"n":1,"b":false,"status":""}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := topLevelString(b, "status")
		if !ok || !json.Valid(b) {
			return
		}
		want, found := firstTopLevelString(t, b, "status")
		if !found || got != want {
			t.Fatalf("%s: read %q; the first top-level status is %q (found %v)", b, got, want, found)
		}
	})
}

// firstTopLevelString walks the valid JSON object b with json.Decoder and
// returns the first top-level member key's value if it is a string.
func firstTopLevelString(t *testing.T, b []byte, key string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if tok == key {
			var s string
			return s, json.Unmarshal(v, &s) == nil
		}
	}
	return "", false
}

// TestBenchCPU checks the arithmetic of the cpu figures and that the
// server's own CPU is read from its /metrics.
func TestBenchCPU(t *testing.T) {
	at := time.Unix(1000, 0)
	a := cpuReading{Reading: procstat.Reading{At: at, Self: time.Second, Busy: 1000, Total: 4000}, server: 10, hasServ: true}
	b := cpuReading{Reading: procstat.Reading{At: at.Add(2 * time.Second), Self: 1500 * time.Millisecond, Busy: 2000, Total: 6000},
		server: 10.8, hasServ: true}
	c := cpuBetween(a, b, 1000)
	// 0.5 s of this process and 0.8 s of the server over 1,000 tasks; the
	// machine was busy for half its ticks, half of 2 s on every CPU.
	wantMachine := 0.5 * 2 * float64(runtime.NumCPU()) * 1e6 / 1000
	if math.Abs(c.ProcessUSPerTask-500) > 1e-6 || math.Abs(c.ServerUSPerTask-800) > 1e-6 ||
		math.Abs(c.MachineBusyPct-50) > 1e-9 || math.Abs(c.MachineUSPerTask-wantMachine) > 1e-6 {
		t.Errorf("cpuBetween = %+v, want process 500, server 800, machine %.0f at 50 %%", c, wantMachine)
	}
	if cpuBetween(a, b, 0) != nil {
		t.Error("a run with no task has no cpu figures")
	}
	b.hasServ = false
	if c := cpuBetween(a, b, 1000); c.ServerUSPerTask != 0 {
		t.Errorf("server figure %v without a second reading", c.ServerUSPerTask)
	}
	if c.DatabaseUSPerTask != 0 {
		t.Errorf("database figure %v without readings", c.DatabaseUSPerTask)
	}
	a.DB, a.HasDB = 3*time.Second, true
	b.DB, b.HasDB = 3300*time.Millisecond, true
	if c := cpuBetween(a, b, 1000); math.Abs(c.DatabaseUSPerTask-300) > 1e-6 {
		t.Errorf("database figure %v µs per task, want 300 (0.3 s over 1,000 tasks)", c.DatabaseUSPerTask)
	}

	var m serverMetrics
	body := "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.25\n"
	if err := m.decode([]byte(body)); err != nil || !m.hasCPU || m.cpuSeconds != 12.25 || m.commits != nil {
		t.Errorf("decode = %+v, %v; want 12.25 s and no commits", m, err)
	}
	m = serverMetrics{}
	if err := m.decode([]byte("# TYPE other counter\nother 1\n")); err != nil || m.hasCPU {
		t.Errorf("decode of metrics without the process's cpu = %+v, %v", m, err)
	}
}

// TestBenchJSONNotPrintedWhenNothingRan checks that a run that never got
// under way (no gateway answers) fails without printing a report of zeros,
// which a script reading --json would take for a measurement.
func TestBenchJSONNotPrintedWhenNothingRan(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var stdout, stderr bytes.Buffer
	err = run(t.Context(), []string{"bench", "--url", "http://" + addr, "--tasks", "1", "--json"},
		mapEnv(map[string]string{}), &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "register") {
		t.Fatalf("bench against a closed port: err = %v, want the register step's error", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("bench printed a report for a run that did not start: %s", stdout.String())
	}
}

// TestBenchURL drives a running system with `bench --url` in both of its
// closed loops and checks, from the server's own request counts, that
// --wait-in=post waits in the submission (no GET) and --wait-in=get after
// it (a GET a task), every task completed once.
func TestBenchURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole system")
	}
	const tasks = 24
	s, api := startTestSystem(t, testConfig(t, nil), benchNoopKind())
	gets := func() int {
		status, body, _ := api.do(http.MethodGet, "/metrics", nil)
		if status != http.StatusOK {
			t.Fatalf("GET /metrics: %d", status)
		}
		n := 0
		for line := range strings.Lines(string(body)) {
			if strings.HasPrefix(line, `http_requests_total{endpoint="/tasks/{task_id}",method="GET",status="200"}`) {
				n, _ = strconv.Atoi(strings.TrimSpace(line[strings.LastIndexByte(line, ' '):]))
			}
		}
		return n
	}
	for _, tc := range []struct {
		waitIn  string
		getsPer int
	}{{"post", 0}, {"get", 1}} {
		before := gets()
		var stdout, stderr bytes.Buffer
		err := run(t.Context(), []string{"bench", "--url", "http://" + s.addr(), "--tasks", strconv.Itoa(tasks),
			"--concurrency", "3", "--wait-in", tc.waitIn, "--json"}, mapEnv(map[string]string{}), &stdout, &stderr)
		if err != nil {
			t.Fatalf("--wait-in=%s: %v\n%s", tc.waitIn, err, stderr.String())
		}
		var rep benchReport
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("--wait-in=%s: report: %v\n%s", tc.waitIn, err, stdout.String())
		}
		if rep.Accepted != tasks || rep.Completed != tasks || rep.Errors != 0 {
			t.Errorf("--wait-in=%s: accepted %d, completed %d, errors %d (%s); want %d, %d, 0",
				tc.waitIn, rep.Accepted, rep.Completed, rep.Errors, rep.FirstError, tasks, tasks)
		}
		if got := gets() - before; got != tc.getsPer*tasks {
			t.Errorf("--wait-in=%s: %d GET /tasks/{task_id} answered, want %d", tc.waitIn, got, tc.getsPer*tasks)
		}
	}
}

// TestSubmitAnswerDecode reads the task_id and the waited task's status of
// POST /tasks answers, and falls back to encoding/json for what the fast
// walk is unsure of.
func TestSubmitAnswerDecode(t *testing.T) {
	for _, tc := range []struct{ body, id, status string }{
		{`{"task_id":"a","status":"created"}`, "a", ""},
		{`{"task_id":"a","status":"created","task":{"id":"a","parameters":{"status":"x"},"status":"completed"}}`, "a", "completed"},
		{`{"status":"created","task":{"status":"running"},"task_id":"b"}`, "b", "running"},
		{`{"task_id":"\u0061","task":null}`, "a", ""},
		{` { "task_id" : "c" , "task" : { "status" : "failed" } } `, "c", "failed"},
	} {
		var a submitAnswer
		if err := a.decode([]byte(tc.body)); err != nil || a.id != tc.id || a.status != tc.status {
			t.Errorf("decode(%s) = %+v, %v; want id %q, status %q", tc.body, a, err, tc.id, tc.status)
		}
	}
	var a submitAnswer
	if err := a.decode([]byte(`{"task_id":`)); err == nil {
		t.Errorf("decode of a cut answer = %+v, want an error", a)
	}
}
