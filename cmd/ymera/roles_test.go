package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestRolesNeedExternalNATS: gateway and node refuse to start with an
// embedded server, with one line naming NATS_URL.
func TestRolesNeedExternalNATS(t *testing.T) {
	for _, role := range []string{"gateway", "node"} {
		var out, errw bytes.Buffer
		err := run(context.Background(), []string{role, "--env-file", ""},
			mapEnv(map[string]string{"DATA_DIR": t.TempDir()}), &out, &errw)
		if err == nil || !strings.Contains(err.Error(), "NATS_URL") || strings.Contains(err.Error(), "\n") {
			t.Fatalf("ymera %s without NATS_URL: %v", role, err)
		}
	}
}
