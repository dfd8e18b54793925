package benchkit

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ymera/ymera/store/postgres/pgtest"
)

func TestMedian(t *testing.T) {
	odd := []float64{3, 1, 2}
	if got := Median(odd); got != 2 {
		t.Errorf("Median(%v) = %v, want 2", odd, got)
	}
	if !slices.Equal(odd, []float64{3, 1, 2}) {
		t.Errorf("Median reordered its input: %v", odd)
	}
	if got := Median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("Median of four = %v, want 2.5", got)
	}
	if got := Median(nil); got != 0 {
		t.Errorf("Median(nil) = %v, want 0", got)
	}
}

func TestSettlerWithoutServerDoesNothing(t *testing.T) {
	s := Settler{Databases: []string{"postgres://nowhere.invalid/x"}, Name: "test"}
	s.Settle(context.Background()) // would fail and warn if it tried
	if s.warned {
		t.Error("a Settler without a server tried to reach one")
	}
}

func TestSettlerReportsAFailureOnce(t *testing.T) {
	s := Settler{Server: "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1", Name: "test"}
	s.Settle(context.Background())
	if !s.warned {
		t.Fatal("a server that cannot be reached was not reported")
	}
	s.Settle(context.Background()) // reported once; the runs go on
}

// TestCommandInterruptsItsChild checks that a cancelled Command asks its
// child to stop, which then cleans up as it would at a terminal, and that
// a child that ignores the request is killed once its grace is over.
func TestCommandInterruptsItsChild(t *testing.T) {
	dir := t.TempDir()
	cleaned := filepath.Join(dir, "cleaned")
	// run starts a shell script under Command, cancels its context once
	// the script has set its trap (it prints a line then), and returns
	// how Wait saw it end.
	run := func(t *testing.T, name, trap string) error {
		bin := filepath.Join(dir, name)
		script := "#!/bin/sh\ntrap " + trap + " INT\necho ready\nwhile :; do sleep 0.05; done\n"
		if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd := Command(ctx, bin)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		cancel()
		return cmd.Wait()
	}

	t.Run("interrupted", func(t *testing.T) {
		// The trap writes the file the way ymera bench drops its database.
		err := run(t, "tidy", "'echo done > "+cleaned+"; exit 3'")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 {
			t.Fatalf("Wait = %v, want the exit status 3 of the child's own INT trap", err)
		}
		if b, err := os.ReadFile(cleaned); err != nil || string(b) != "done\n" {
			t.Fatalf("the child did not clean up: %q, %v", b, err)
		}
	})

	t.Run("ignores the interrupt", func(t *testing.T) {
		defer func(g time.Duration) { stopGrace = g }(stopGrace)
		stopGrace = 200 * time.Millisecond
		err := run(t, "stubborn", "''")
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("Wait = %v, want the child killed", err)
		}
		if ws, ok := exit.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("the child ended with %v, want SIGKILL after its grace", exit)
		}
	})
}

// TestServerVersion reads the version of the tests' PostgreSQL, and
// nothing, without an error, from a server that does not answer.
func TestServerVersion(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	v := ServerVersion(t.Context(), dsn)
	if v == "" || v[0] < '1' || v[0] > '9' {
		t.Errorf("ServerVersion = %q, want a version number", v)
	}
	if v := ServerVersion(t.Context(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=2"); v != "" {
		t.Errorf("ServerVersion of a closed port = %q, want \"\"", v)
	}
}
