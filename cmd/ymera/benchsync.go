package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// benchSyncAlwaysConf is the embedded server's configuration for
// `ymera bench --sync-always`: JetStream fsyncs every write before it
// acknowledges it (the production-durability profile, DESIGN.md "Speed")
// instead of the default periodic sync. Only the jetstream block is given,
// so the store stays in the bench's temporary DATA_DIR.
const benchSyncAlwaysConf = "jetstream {\n  sync_interval: always\n}\n"

// useSyncAlways points the in-process system's embedded NATS server at a
// configuration file in dir that turns on sync_interval: always. The
// config's own NATS_CONFIG or NATS_URL would decide durability themselves,
// so either is refused rather than silently overridden.
func useSyncAlways(cfg *Config, dir string) error {
	switch {
	case cfg.NATS.URL != "":
		return fmt.Errorf("bench: --sync-always configures the embedded NATS server; NATS_URL=%s names an external one", redactURL(cfg.NATS.URL))
	case cfg.NATS.ConfigFile != "":
		return fmt.Errorf("bench: --sync-always writes its own nats.conf; NATS_CONFIG=%s is set (put sync_interval: always in it instead)", cfg.NATS.ConfigFile)
	}
	path := filepath.Join(dir, "nats-sync-always.conf")
	if err := os.WriteFile(path, []byte(benchSyncAlwaysConf), 0o600); err != nil {
		return fmt.Errorf("bench: --sync-always: %w", err)
	}
	cfg.NATS.ConfigFile = path
	return nil
}
