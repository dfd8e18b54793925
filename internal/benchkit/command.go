package benchkit

import (
	"context"
	"os"
	"os/exec"
	"time"
)

// stopGrace is how long a child that was asked to stop has before it is
// killed. `ymera bench` needs a few seconds to stop its system and drop
// its throwaway database; a variable so that tests can shorten it.
var stopGrace = time.Minute

// Command is exec.CommandContext for the programs the benchmark commands
// run (`ymera bench`, bench/pipefloor and the other helpers), except in
// how it stops them: when ctx is done (an interrupt, a run's time limit)
// the child is sent an interrupt rather than killed, so that it cleans up
// after itself as it would at a terminal. `ymera bench` stops its
// in-process system and drops the database it created; a kill would leave
// the database behind on the shared server. A child that has not exited
// stopGrace after the interrupt is killed.
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopGrace
	return cmd
}
