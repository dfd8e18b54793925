package transport

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestConnectEmbeddedWithoutListener(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{})
	if !c.Embedded() {
		t.Fatal("Embedded() = false")
	}
	if u := c.ClientURL(); u != "" {
		t.Fatalf("ClientURL() = %q, want none without a listener", u)
	}
	if err := c.Ping(testCtx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestConnectNeedsDataDir(t *testing.T) {
	t.Parallel()
	_, err := Connect(testCtx(t), Options{}, nil)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("Connect without DataDir: err = %v, want ErrInvalid", err)
	}
}

func TestConnectUnreachableExternal(t *testing.T) {
	t.Parallel()
	_, err := Connect(testCtx(t), Options{URL: "nats://127.0.0.1:1"}, nil)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Connect to a closed port: err = %v, want ErrUnavailable", err)
	}
}

// An external client (any NATS library) reaches the embedded server over
// TCP and submits a task written by hand; the transport consumes it.
func TestListenTCPForExternalClients(t *testing.T) {
	t.Parallel()
	c := testConn(t, Options{Listen: "127.0.0.1:0"})
	ctx := testCtx(t)
	if err := c.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	tc := consumer(t, c, ConsumerOptions{Kind: "echo", TaskTypes: []string{"echo"}})

	url := c.ClientURL()
	if url == "" || url == "nats://127.0.0.1:0" {
		t.Fatalf("ClientURL() = %q, want the bound port", url)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("plain client connect to %s: %v", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	id := newID()
	body := `{"v":1,"id":"` + id + `","name":"hello","task_type":"echo","priority":"high","parameters":{"text":"hi"}}`
	ack, err := js.Publish(ctx, "ymera.tasks.echo.high", []byte(body), jetstream.WithMsgID(id))
	if err != nil {
		t.Fatalf("plain client publish: %v", err)
	}
	if ack.Stream != StreamTasks {
		t.Fatalf("stored in %q, want %s", ack.Stream, StreamTasks)
	}

	d := fetchOne(t, tc)
	task, err := d.Task()
	if err != nil {
		t.Fatalf("Task(): %v", err)
	}
	if task.ID != id || task.Priority != "high" || string(task.Parameters) != `{"text":"hi"}` || task.Attempt != 1 {
		t.Fatalf("task = %+v", task)
	}
	if err := d.AckSync(ctx); err != nil {
		t.Fatal(err)
	}
}

// The embedded server keeps its JetStream data across a restart on the same
// directory: a task published before Close is delivered after Connect.
func TestEmbeddedDataSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := testCtx(t)

	c1, err := Connect(ctx, Options{DataDir: dir}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.EnsureConsumer(ctx, ConsumerOptions{Kind: "k", TaskTypes: []string{"persist"}}); err != nil {
		t.Fatal(err)
	}
	task := newTask("persist")
	if _, err := c1.PublishTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if err := c1.RegisterTaskTypes(ctx, "k", []string{"persist"}); err != nil {
		t.Fatal(err)
	}
	if err := c1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c1.Close(ctx); err != nil { // idempotent
		t.Fatalf("second Close: %v", err)
	}
	if err := c1.Ping(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ping after Close: err = %v, want ErrClosed", err)
	}

	c2 := testConn(t, Options{DataDir: dir})
	if err := c2.Setup(ctx, SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	tc := consumer(t, c2, ConsumerOptions{Kind: "k", TaskTypes: []string{"persist"}})
	d := fetchOne(t, tc)
	got, err := d.Task()
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != task.ID {
		t.Fatalf("after restart got task %s, want %s", got.ID, task.ID)
	}
	tt, err := c2.WatchTaskTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tt.Stop()
	if !tt.Known("persist") {
		t.Fatal("task type registry lost across restart")
	}
}

// A nats.conf configures the embedded server; DataDir fills in for a
// missing store_dir and the file's listener is kept.
func TestConnectWithConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(conf, []byte("server_name: cfgtest\nhost: 127.0.0.1\nport: -1\nmax_payload: 2MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	c := testConn(t, Options{ConfigFile: conf, DataDir: data})
	if c.ClientURL() == "" {
		t.Fatal("the config file's listener was dropped")
	}
	if got := c.NC().ConnectedServerName(); got != "cfgtest" {
		t.Fatalf("server name %q, want cfgtest from the file", got)
	}
	if got := c.NC().MaxPayload(); got != 2<<20 {
		t.Fatalf("max payload %d, want 2MB from the file", got)
	}
	if err := c.Setup(testCtx(t), SetupOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(data, "jetstream")); err != nil {
		t.Fatalf("JetStream store not in DataDir: %v", err)
	}
}

func TestConnectWithBadConfigFile(t *testing.T) {
	t.Parallel()
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, []byte("this is { not valid"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Connect(context.Background(), Options{ConfigFile: conf, DataDir: t.TempDir()}, nil)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

// The operator's nats.conf at the repository root must stay loadable by
// the embedded server (parsed only: it names fixed ports and directories).
func TestRepositoryNatsConfLoads(t *testing.T) {
	t.Parallel()
	const path = "../nats.conf"
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		t.Skip("no nats.conf at the repository root")
	}
	sopts, err := serverOptions(Options{ConfigFile: path, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !sopts.JetStream || sopts.StoreDir == "" || sopts.NoSigs != true {
		t.Fatalf("jetstream %v, store %q, nosigs %v", sopts.JetStream, sopts.StoreDir, sopts.NoSigs)
	}
	if sopts.DontListen {
		t.Fatal("the file's listener was dropped")
	}
}
