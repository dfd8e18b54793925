package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults of PoolConfig's restart budget, applied to zero fields.
const (
	defaultMaxRestarts = 10
	defaultWindow      = time.Minute
)

// PoolConfig describes one agent kind's pool.
type PoolConfig struct {
	// Name is the agent kind. It names the pool in logs, hooks and protoactor
	// (so it may not contain '/'), and is unique within a Supervisor.
	Name string
	// Size is the number of worker actors, each handling one delivery at a
	// time. At least 1.
	Size int
	// Source supplies the deliveries. Required.
	Source Source
	// NewWorker makes the state of one actor; it is called at every start and
	// restart. Required.
	NewWorker func() Worker
	// Backoff is the restart delay schedule; zero fields take defaults
	// (100ms, 30s, ×2).
	Backoff Backoff
	// MaxRestarts is the restart budget of one actor: failing more than
	// MaxRestarts times within Window stops the actor, and a fresh one
	// replaces it after Backoff.Max. Zero means 10.
	MaxRestarts int
	// Window is the period over which MaxRestarts counts, and over which
	// failures raise the backoff. Zero means one minute.
	Window time.Duration
	// Logger receives the pool's records; nil means the Supervisor's logger.
	Logger *slog.Logger
	// Hooks are optional callbacks for metrics.
	Hooks Hooks
}

// Hooks are optional callbacks, for metrics, about a pool's actors. They are
// called on protoactor's goroutines and must return quickly. Each receives
// the pool's Name as kind.
type Hooks struct {
	// OnFailure is called for every failure of an actor: a panic in Handle
	// (err is a *PanicError) or an error from Start.
	OnFailure func(kind string, err error)
	// OnRestart is called when a failed actor is scheduled to restart.
	OnRestart func(kind string)
	// OnReplace is called when an actor exhausted its restart budget and is
	// stopped, to be replaced after the maximum backoff; the pool is degraded
	// meanwhile.
	OnReplace func(kind string)
}

// withDefaults fills the zero fields that have defaults.
func (c PoolConfig) withDefaults(fallback *slog.Logger) PoolConfig {
	c.Backoff = c.Backoff.withDefaults()
	if c.MaxRestarts == 0 {
		c.MaxRestarts = defaultMaxRestarts
	}
	if c.Window == 0 {
		c.Window = defaultWindow
	}
	if c.Logger == nil {
		c.Logger = fallback.With("pool", c.Name)
	}
	return c
}

// validate reports every field that cannot run, wrapped in ErrInvalidConfig.
// It expects defaults to have been applied.
func (c PoolConfig) validate() error {
	var errs []error
	switch {
	case c.Name == "":
		errs = append(errs, errors.New("name is required"))
	case strings.ContainsAny(c.Name, "/ \t\n"):
		errs = append(errs, fmt.Errorf("name %q may not contain '/' or spaces", c.Name))
	}
	if c.Size < 1 {
		errs = append(errs, fmt.Errorf("size must be at least 1, got %d", c.Size))
	}
	if c.Source == nil {
		errs = append(errs, errors.New("source is required"))
	}
	if c.NewWorker == nil {
		errs = append(errs, errors.New("NewWorker is required"))
	}
	if err := c.Backoff.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxRestarts < 0 {
		errs = append(errs, fmt.Errorf("max restarts must not be negative, got %d", c.MaxRestarts))
	}
	if c.Window < 0 {
		errs = append(errs, fmt.Errorf("window must not be negative, got %v", c.Window))
	}
	if len(errs) == 0 {
		return nil
	}
	// One line, so that it reads well in a log record or a CLI error.
	msg := strings.ReplaceAll(errors.Join(errs...).Error(), "\n", "; ")
	return fmt.Errorf("%w %q: %s", ErrInvalidConfig, c.Name, msg)
}
