package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/actors/security"
	"github.com/ymera/ymera/transport"
)

// TestAgentCommandUnderAgentUser runs a built-in kind the way any external
// agent runs: a standalone nats-server from the repository's nats.conf, a
// `ymera gateway` (NATS user gateway) running no agents, and `ymera agent
// --kinds security` as its own process connected as the least-privilege
// user agent, with no database. A security_scan submitted over HTTP
// completes with the report the in-process agent makes of the same files;
// a task routed with agent_id to the agent (registered with POST /agents)
// is taken from its own consumer; neither process is refused a subject;
// SIGTERM stops the agent with exit status 0 and takes it offline.
func TestAgentCommandUnderAgentUser(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two processes")
	}
	t.Parallel()
	bin := buildBinary(t)
	conf, url := repoNatsConf(t)
	startNatsServer(t, conf)

	gw := startRole(t, bin, "gateway", []string{
		"NATS_URL=" + url, "DATA_DIR=" + t.TempDir(), "HTTP_ADDR=127.0.0.1:0", "AGENT_KINDS=",
		"JWT_SECRET_KEY=" + strings.Repeat("agent-test-secret-", 3),
		"ADMIN_USERNAME=root", "ADMIN_PASSWORD=root-pa55word!",
		"NATS_USER=gateway", "NATS_PASSWORD=change-me-gateway",
	})
	admin := &apiClient{t: t, base: gw.base, c: &http.Client{Timeout: 10 * time.Second}}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	admin.mustJSON(http.MethodPost, "/auth/login", map[string]string{"username": "root", "password": "root-pa55word!"},
		http.StatusOK, &login)
	admin.token = login.AccessToken

	// Registered, the agent is visible in GET /agents and may be routed to.
	var reg struct {
		AgentID string `json:"agent_id"`
	}
	admin.mustJSON(http.MethodPost, "/agents", map[string]any{
		"name": "security via ymera agent", "capabilities": []string{"security_scan"},
	}, http.StatusCreated, &reg)

	ag := startRole(t, bin, "agent", []string{
		"NATS_URL=" + url, "LOG_LEVEL=INFO",
		"NATS_USER=agent", "NATS_PASSWORD=change-me-agent",
	}, "--kinds", "security", "--workers", "2", "--agent-id", reg.AgentID)

	user := &apiClient{t: t, base: gw.base, c: &http.Client{Timeout: 10 * time.Second}}
	user.signUp()
	// The gateway learns security_scan from the agent's registration.
	waitTaskType(t, user, "security_scan", 30*time.Second)
	waitAgentStatus(t, admin, reg.AgentID, "active", 30*time.Second)

	params := map[string]any{"files": []map[string]string{
		{"path": "settings.py", "content": "import os\nAWS_ACCESS_KEY_ID = \"AKIA4Q2WXV7RJ6M3KZ5T\"\n"},
	}}
	want := inProcessScan(t, params)
	if len(want.Findings) == 0 || want.Findings[0].Rule != "secret.aws-access-key" {
		t.Fatalf("the in-process agent reports %+v; want an AWS access key finding", want)
	}

	// Through the kind's shared queue.
	id := user.submit("security_scan", params)
	checkScan(t, user.waitFinal(id, 60*time.Second), want)

	// Routed to the agent alone: only its consumer direct_<id>_normal
	// sees the subject, so a delivery there shows who ran it. (The
	// gateway's selector may route the other tasks there too: the agent
	// heartbeats as a live agent of its kind.)
	before := directDeliveries(t, url, reg.AgentID)
	var sub struct {
		TaskID string `json:"task_id"`
	}
	admin.mustJSON(http.MethodPost, "/tasks", map[string]any{
		"name": "routed scan", "task_type": "security_scan", "parameters": params, "agent_id": reg.AgentID,
	}, http.StatusCreated, &sub)
	checkScan(t, admin.waitFinal(sub.TaskID, 60*time.Second), want)
	if n := directDeliveries(t, url, reg.AgentID) - before; n != 1 {
		t.Errorf("the consumer of the tasks routed to agent %s delivered %d messages for the routed task, want 1", reg.AgentID, n)
	}

	if err := ag.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(ag.cmd, 30*time.Second); code != 0 {
		t.Errorf("ymera agent exited with status %d after SIGTERM, want 0", code)
	}
	// A stopping agent deletes its heartbeat: offline at once, not after
	// the key's TTL.
	waitAgentStatus(t, admin, reg.AgentID, "offline", 20*time.Second)

	for name, p := range map[string]*roleProcess{"gateway": gw, "agent": ag} {
		if v := p.permissionViolations(); len(v) > 0 {
			t.Errorf("%s was refused subjects by the server (nats.conf allow-lists):\n%s", name, strings.Join(v, "\n"))
		}
	}
}

// TestAgentCommandBadFlags: a bad flag is a one-line error naming it,
// before any connection is made.
func TestAgentCommandBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no NATS_URL", []string{"agent"}, nil, "ymera agent needs an external NATS: set NATS_URL"},
		{"unknown kind", []string{"agent", "--kinds", "security,review"}, nil,
			`--kinds: unknown agent kind "review" (known: bench_noop, documentation, security)`},
		{"no kind", []string{"agent", "--kinds", " , "}, nil, "--kinds: no agent kind given"},
		{"kind twice", []string{"agent", "--kinds", "security,security"}, nil, `--kinds: agent kind "security" is named twice`},
		{"no workers", []string{"agent", "--workers", "0"}, nil, "--workers=0: must be at least 1"},
		{"agent id for two kinds", []string{"agent", "--agent-id", "a1"}, nil,
			"--agent-id=a1: names one agent, but --kinds has 2 kinds (documentation,security)"},
		{"bad agent id", []string{"agent", "--kinds", "security", "--agent-id", "a.b"}, nil,
			`--agent-id="a.b": expected 1-128 characters of [A-Za-z0-9_-]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"NATS_URL": "nats://127.0.0.1:1", "DATA_DIR": t.TempDir()}
			if tc.name == "no NATS_URL" {
				delete(env, "NATS_URL")
			}
			err := run(context.Background(), append(tc.args, "--env-file", ""), mapEnv(env), &strings.Builder{}, &strings.Builder{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// TestExternalAgentIDStable: the default id is the same on every start of
// the same node and kind, and differs from the built-in pool's.
func TestExternalAgentIDStable(t *testing.T) {
	t.Parallel()
	a, b := externalAgentID("host-1", "security"), externalAgentID("host-1", "security")
	if a != b || !transport.ValidAgentID(a) {
		t.Fatalf("ids %q and %q: want one valid id", a, b)
	}
	for _, other := range []string{externalAgentID("host-2", "security"), externalAgentID("host-1", "documentation")} {
		if other == a {
			t.Errorf("two agents share the id %s", a)
		}
	}
	plan, err := planAgents(defaultAgentKinds(), "", "host-1")
	if err != nil || len(plan) != 2 || plan[1].id != a {
		t.Fatalf("default plan %+v (%v): want documentation and security, security as %s", plan, err, a)
	}
}

// startNatsServer runs a nats-server in the test process from conf.
func startNatsServer(t *testing.T, conf string) {
	t.Helper()
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}
	opts.NoLog, opts.NoSigs = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready within 10 s")
	}
}

// inProcessScan is what the security agent reports of params when called
// directly, as a node's pool calls it.
func inProcessScan(t *testing.T, params any) security.Report {
	t.Helper()
	raw, err := json.Marshal(params)
	if err != nil {
		t.Fatal(err)
	}
	res, err := security.Kind().New().Process(context.Background(), actors.Task{Type: "security_scan", Parameters: raw})
	if err != nil {
		t.Fatal(err)
	}
	var rep security.Report
	if err := json.Unmarshal(res.Output, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// checkScan requires a completed task whose report equals want.
func checkScan(t *testing.T, tv taskView, want security.Report) {
	t.Helper()
	if tv.Status != "completed" {
		t.Fatalf("task %s is %s (%s), want completed", tv.ID, tv.Status, tv.ErrorMessage)
	}
	var got security.Report
	if err := json.Unmarshal(tv.Result, &got); err != nil {
		t.Fatalf("result %s: %v", tv.Result, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("task %s reports %s; the in-process agent reports %+v", tv.ID, tv.Result, want)
	}
}

// waitAgentStatus waits until GET /agents/{id} shows status.
func waitAgentStatus(t *testing.T, a *apiClient, id, status string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var v struct {
			Status string `json:"status"`
		}
		a.mustJSON(http.MethodGet, "/agents/"+id, nil, http.StatusOK, &v)
		if v.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s is %s after %s, want %s", id, v.Status, d, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// directDeliveries reads, as the all-in-one user, how many messages the
// normal-priority consumer of the tasks routed to agentID has delivered.
func directDeliveries(t *testing.T, url, agentID string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url, nats.UserInfo(observerUser, observerPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	name, err := transport.AgentConsumerName(agentID, actors.PriorityNormal)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.Consumer(ctx, transport.StreamTasks, name)
	if err != nil {
		t.Fatalf("consumer %s: %v", name, err)
	}
	return c.CachedInfo().Delivered.Consumer
}
