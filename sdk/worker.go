package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/transport"
)

// work is one worker: it takes a task only when it is free, highest
// priority first, and polls when every queue is empty.
func (a *agent) work(ctx context.Context, inst actors.Agent) {
	idle := time.NewTimer(0)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
		}
		for a.takeOne(ctx, inst) {
		}
		idle.Reset(a.opts.PollInterval)
	}
}

// takeOne runs the first ready task of the consumers, in their order, and
// reports whether there was one.
func (a *agent) takeOne(ctx context.Context, inst actors.Agent) bool {
	for _, tc := range a.consumers {
		if ctx.Err() != nil {
			return false
		}
		ds, err := tc.FetchReady(ctx, 1)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("fetch failed", "consumer", tc.Name(), "err", err)
			}
			continue
		}
		if len(ds) > 0 {
			a.handle(ctx, inst, ds[0])
			return true
		}
	}
	return false
}

// handle runs one delivery as docs/protocol.md says: start, work while
// keeping the lease, report the result, then answer the message as the
// reply says and only then.
func (a *agent) handle(ctx context.Context, inst actors.Agent, d *transport.TaskDelivery) {
	t, err := d.Task()
	if err != nil {
		// Undecodable or of another major version: no delivery can help.
		a.log.Error("dropping a task message", "seq", d.Seq(), "err", err)
		_ = d.Term()
		return
	}
	log := a.log.With("task_id", t.ID, "lease", d.Seq())
	var started startReply
	if !a.request(transport.ReportStartSubject, transport.ReportStart{
		V: transport.ProtocolVersion, TaskID: t.ID, Lease: d.Seq(), AgentID: a.opts.AgentID,
	}, &started, d, log) {
		return
	}
	t.Attempt = started.Attempt
	if started.MaxAttempts > 0 {
		t.MaxAttempts = started.MaxAttempts
	}

	res, err := a.process(ctx, inst, t, d)
	if err != nil && ctx.Err() != nil && !errors.Is(err, errCancelled) {
		// Run is stopping and the agent gave up: hand the task back
		// untouched, as a node does, rather than report a failure (on the
		// last attempt, a failed task) for a stop that was not the task's
		// fault. The redelivery starts it again under the same lease.
		log.Info("stopping: task handed back for another delivery", "err", err)
		if nerr := d.Nak(0); nerr != nil {
			log.Warn("handing the task back failed; it is delivered again after its ack deadline", "err", nerr)
		}
		return
	}
	report := transport.ReportResult{V: transport.ProtocolVersion, TaskID: t.ID, Lease: d.Seq(), AgentID: a.opts.AgentID}
	switch {
	case err == nil:
		report.Status, report.Result = transport.ReportCompleted, res.Output
		if len(report.Result) == 0 || report.Result[0] != '{' {
			// The result must be a JSON object; wrap anything else.
			out, _ := json.Marshal(map[string]json.RawMessage{"output": orNull(res.Output)})
			report.Result = out
		}
	case actors.IsPermanent(err):
		report.Status, report.Error, report.Permanent = transport.ReportFailed, err.Error(), true
	default:
		report.Status, report.Error = transport.ReportRetry, err.Error()
	}
	var done resultReply
	a.request(transport.ReportResultSubject, report, &done, d, log)
}

// process runs Process under a context that a cancel request or the end of
// Run cancels, renewing the lease meanwhile. A cancelled task fails
// permanently; a panic is a transient failure.
func (a *agent) process(ctx context.Context, inst actors.Agent, t actors.Task, d *transport.TaskDelivery) (res actors.Result, err error) {
	tctx, cancel := context.WithCancelCause(d.Context(ctx))
	a.mu.Lock()
	a.running[t.ID] = cancel
	a.inFlight++
	a.mu.Unlock()
	stopKeep := make(chan struct{})
	keepDone := make(chan struct{})
	go func() {
		defer close(keepDone)
		tk := time.NewTicker(a.opts.KeepAlive)
		defer tk.Stop()
		for {
			select {
			case <-stopKeep:
				return
			case <-tk.C:
				_ = d.InProgress()
			}
		}
	}()
	defer func() {
		close(stopKeep)
		<-keepDone
		a.mu.Lock()
		delete(a.running, t.ID)
		a.inFlight--
		a.mu.Unlock()
		cause := context.Cause(tctx)
		cancel(nil)
		if p := recover(); p != nil {
			res, err = actors.Result{}, fmt.Errorf("sdk: agent panicked: %v", p)
		}
		if errors.Is(cause, errCancelled) {
			res, err = actors.Result{}, actors.Permanent(errCancelled)
		}
	}()
	return inst.Process(tctx, t)
}

func orNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}
