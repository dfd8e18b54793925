package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/runner"
	"github.com/ymera/ymera/sdk"
	"github.com/ymera/ymera/store/sqlite"
	"github.com/ymera/ymera/transport"
)

// greeter is a whole Go agent: it implements actors.Agent.
type greeter struct{}

func (greeter) Process(_ context.Context, t actors.Task) (actors.Result, error) {
	var p struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(t.Parameters, &p); err != nil || p.Name == "" {
		return actors.Result{}, actors.Permanent(fmt.Errorf("parameter name is required"))
	}
	return actors.JSONResult(map[string]string{"greeting": "hello, " + p.Name})
}

// Example runs an external agent with sdk.Run. The platform side (embedded
// NATS, the SQLite store, the results service) stands in for a ymera
// deployment; a real agent only connects to its NATS and calls sdk.Run.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "ymera-sdk-example")
	defer os.RemoveAll(dir)
	conn, _ := transport.Connect(ctx, transport.Options{DataDir: filepath.Join(dir, "nats"), Listen: "127.0.0.1:0"}, nil)
	defer conn.Close(ctx)
	_ = conn.Setup(ctx, transport.SetupOptions{})
	db, _ := sqlite.Open(ctx, filepath.Join(dir, "ymera.db"), sqlite.Options{})
	defer db.Close()
	_ = db.MigrateUp(ctx)
	results, _ := runner.StartReportService(runner.ReportConfig{Conn: conn, Tasks: db.Tasks(), Logger: slog.New(slog.DiscardHandler)})
	defer results.Stop()

	// The agent's side: its own connection, its kind, sdk.Run.
	nc, err := nats.Connect(conn.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	kind := actors.Kind{Name: "greeter", TaskTypes: []string{"greet"}, New: func() actors.Agent { return greeter{} }}
	agentCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- sdk.Run(agentCtx, nc, kind, sdk.Options{PollInterval: 20 * time.Millisecond}) }()

	// A task submitted to the platform is run by the agent.
	submitter := &runner.Submitter{Tasks: db.Tasks(), Queue: queue{conn}, Events: conn}
	task := actors.Task{ID: uuid.Must(uuid.NewV7()).String(), Name: "hello", Type: "greet",
		Parameters: json.RawMessage(`{"name":"Ada"}`), Priority: actors.PriorityNormal, MaxAttempts: 3, CreatedAt: time.Now().UTC()}
	if err := submitter.Submit(ctx, task); err != nil {
		fmt.Println(err)
		return
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got, err := db.Tasks().Get(ctx, task.ID)
		if err == nil && got.Status.Final() {
			fmt.Println(got.Status, string(got.Result))
			break
		}
	}
	stop()
	fmt.Println("agent stopped:", <-done)
	// Output:
	// completed {"greeting":"hello, Ada"}
	// agent stopped: <nil>
}
