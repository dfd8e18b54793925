package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// TestBenchSyncAlwaysConfig checks the file --sync-always writes really turns
// on sync_interval: always for the embedded server, and that an external
// NATS or an operator's own nats.conf is refused, not overridden.
func TestBenchSyncAlwaysConfig(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.NATS.URL, cfg.NATS.ConfigFile = "", ""
	if err := useSyncAlways(&cfg, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(cfg.NATS.ConfigFile)
	if err != nil {
		t.Fatalf("written config: %v", err)
	}
	if !opts.SyncAlways || opts.StoreDir != "" {
		t.Errorf("SyncAlways = %v, StoreDir = %q; want true and the bench's own DATA_DIR", opts.SyncAlways, opts.StoreDir)
	}

	for _, tc := range []struct {
		url, file, want string
	}{
		{"nats://nats.invalid:4222", "", "NATS_URL"},
		{"", "/etc/nats.conf", "NATS_CONFIG=/etc/nats.conf"},
	} {
		c := testConfig(t, nil)
		c.NATS.URL, c.NATS.ConfigFile = tc.url, tc.file
		if err := useSyncAlways(&c, t.TempDir()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("useSyncAlways(url=%q, file=%q) = %v, want an error naming %s", tc.url, tc.file, err, tc.want)
		}
	}
}

// TestBenchSyncAlwaysRun runs a tiny in-process bench with --sync-always and
// checks every task completes.
func TestBenchSyncAlwaysRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a whole system")
	}
	o := benchOptions{via: "http", store: "sqlite", tasks: 30, concurrency: 4, batch: 1,
		taskType: "bench_noop", timeout: time.Minute, workers: 4, syncAlways: true}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	rep, err := runBench(context.Background(), testConfig(t, nil), o, mapEnv(nil), &log)
	if err != nil {
		t.Fatalf("runBench: %v\nlog:\n%s", err, log.String())
	}
	if rep.Errors != 0 || rep.Accepted != o.tasks || rep.Completed != rep.Accepted {
		t.Fatalf("accepted %d, completed %d, errors %d (%s)", rep.Accepted, rep.Completed, rep.Errors, rep.FirstError)
	}
}
