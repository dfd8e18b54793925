package runner

import "context"

// TaskRescuer moves the selector-routed tasks still waiting for an agent
// back to their kind's shared queue (transport.Conn.RescueAgentTasks).
type TaskRescuer interface {
	RescueAgentTasks(ctx context.Context, agentID string) (int, error)
}

// rescue runs the Rescuer for an agent whose key is gone, in the
// background so the presence watch is never held up by it. The tasks the
// selector had sent to the agent would otherwise wait for it forever: a
// node that dies on one host comes back, if ever, under another id. Every
// watcher does this; the rescue is idempotent, so racing ones move each
// task once.
func (w *PresenceWatcher) rescue(ctx context.Context, agentID string) {
	if w.Rescuer == nil {
		return
	}
	w.rescues.Go(func() {
		n, err := w.Rescuer.RescueAgentTasks(ctx, agentID)
		if err != nil && ctx.Err() == nil {
			w.Logger.WarnContext(ctx, "presence: rescue tasks of offline agent", "agent_id", agentID,
				"moved", n, "error", err)
			return
		}
		if n > 0 {
			w.Logger.InfoContext(ctx, "presence: moved offline agent's tasks to the shared queue",
				"agent_id", agentID, "moved", n)
		}
	})
}
