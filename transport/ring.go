package transport

import (
	"slices"
	"strings"
)

// Every task YMERA publishes rings its lane's doorbell once it is stored
// (see Doorbell): after the PubAck, a core message with no body on
// ymera.ring.tasks.<type>.<priority>[.<agent_id>], the task's subject
// under the doorbell's prefix. A batch rings each lane it stored into once,
// not once per task: that is what a ring per stored message, which
// YMERA_TASKS used to republish itself, cost (6-9 % of a task's CPU in
// process, docs/performance.md step 20). A publisher outside YMERA rings
// the same way (docs/protocol.md); one that does not has its tasks taken
// by a pool's next look, within a second when the pool is idle.

// ringSubject returns the doorbell subject of the task subject s.
func ringSubject(s string) string {
	return prefixDoorbell + strings.TrimPrefix(s, prefixTasks)
}

// lanes collects the distinct task subjects of a batch: few, usually one.
type lanes []string

func (l *lanes) add(subject string) {
	if !slices.Contains(*l, subject) {
		*l = append(*l, subject)
	}
}

// ring rings the doorbell of each task subject given. A ring is a hint
// (an idle pool looks again within a second anyway), so a failure to
// publish it is logged, not returned.
func (c *Conn) ring(subjects ...string) {
	for _, s := range subjects {
		if err := c.nc.Publish(ringSubject(s), nil); err != nil {
			c.logger.Debug("doorbell not rung", "subject", s, "err", err)
		}
	}
}
