package transport

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/ymera/ymera/actors"
)

// Every subject, stream, bucket and consumer name of YMERA is built in this
// file and nowhere else. Subjects are lowercase, dot-separated, general to
// specific, under "ymera."; only subscribers (streams, consumer filters) use
// wildcards, and every token that comes from outside is validated before it
// is put into a subject.

// Stream names.
const (
	// StreamTasks is the work-queue stream holding tasks until an agent
	// acknowledges them. It captures ymera.tasks.>.
	StreamTasks = "YMERA_TASKS"
	// StreamEvents is the limits stream keeping task and agent events for
	// SetupOptions.EventsMaxAge. It captures ymera.events.> ([EventsWildcard]).
	StreamEvents = "YMERA_EVENTS"
	// StreamDeadLetters keeps copies of tasks that ran out of deliveries, until
	// an operator replays or deletes them. It captures ymera.dlq.>.
	StreamDeadLetters = "YMERA_DLQ"
)

// Key-value bucket names.
const (
	// BucketHeartbeats holds one key per live agent (the agent id); a key that
	// expires means the agent is offline.
	BucketHeartbeats = "ymera_heartbeats"
	// BucketTaskTypes maps each registered task type to the agent kind that
	// processes it.
	BucketTaskTypes = "ymera_task_types"
	// BucketRevoked is the access-token denylist: one key per revoked token
	// (its jti) or user, each living as long as the tokens it refuses.
	BucketRevoked = "ymera_revoked"
	// BucketRateLimits holds the gateway replicas' shared request counters,
	// one key per limited identity and window (see [Conn.AddRate]).
	BucketRateLimits = "ymera_ratelimit"
	// BucketCancels holds one key per task cancelled before it started
	// (the task id), for CancelTTL (see [CancelView]).
	BucketCancels = "ymera_cancels"
)

// Subjects the streams capture.
const (
	subjectAllTasks       = "ymera.tasks.>"
	subjectAllEvents      = "ymera.events.>"
	subjectAllDeadLetters = "ymera.dlq.>"
)

const (
	prefixTasks       = "ymera.tasks."
	prefixTaskEvents  = "ymera.events.task."
	prefixTaskBuckets = "ymera.events.task_bucket."
	prefixAgentEvents = "ymera.events.agent."
	prefixProjEvents  = "ymera.events.project."
	prefixDeadLetters = "ymera.dlq."
	prefixConsumer    = "agent_"

	// advisoryMaxDeliveries is followed by <stream>.<consumer>.
	advisoryMaxDeliveries = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."
)

// TaskSubject returns the subject a task of the given type and priority is
// published on: ymera.tasks.<task_type>.<priority>. An empty priority is
// normal.
func TaskSubject(taskType string, p actors.Priority) (string, error) {
	if err := checkTaskType(taskType); err != nil {
		return "", err
	}
	p, err := actors.ParsePriority(string(p))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return prefixTasks + taskType + "." + string(p), nil
}

// TaskFilter returns the consumer filter matching every priority of one task
// type: ymera.tasks.<task_type>.*.
func TaskFilter(taskType string) (string, error) {
	if err := checkTaskType(taskType); err != nil {
		return "", err
	}
	return prefixTasks + taskType + ".*", nil
}

// EventsWildcard matches every event, task and agent: ymera.events.>.
func EventsWildcard() string { return subjectAllEvents }

// TaskEventsWildcard matches the events of every task: ymera.events.task.*.
func TaskEventsWildcard() string { return prefixTaskEvents + "*" }

// AgentEventsWildcard matches the events of every agent:
// ymera.events.agent.*.
func AgentEventsWildcard() string { return prefixAgentEvents + "*" }

// How YMERA_EVENTS stores task events. Each task's events are published on
// a subject of their own, ymera.events.task.<task_id>, which is what core
// subscribers see; but the server keeps an in-memory index entry for every
// distinct subject a stream holds (about 200 bytes each with nats-server
// 2.15, so a million tasks' events would hold ~200 MB of heap for as long
// as the events are kept). The stream therefore files them, through a
// subject transform, under ymera.events.task_bucket.<bucket>, the bucket
// being the task id's 32-bit FNV-1a hash modulo taskBuckets: 4,096
// subjects whatever the number of tasks. A watch of one task reads its
// bucket and keeps the task's own events (WatchEvents does both).
const taskBuckets = 4096

// taskBucketTransform is the destination of the stream's transform of
// [TaskEventsWildcard]. The server's partition function hashes the first
// wildcard token (the task id) with 32-bit FNV-1a and takes it modulo its
// first argument, as storedTaskEvents does. (Right(1,3), the last three
// characters of the id, would be simpler, but older servers refuse it in a
// stream's transform: nats-server pull request 8568, in 2.15.2, fixed
// that. Partition is accepted since 2.10, which brought stream transforms.)
func taskBucketTransform() string {
	return prefixTaskBuckets + "{{Partition(" + strconv.Itoa(taskBuckets) + ",1)}}"
}

// StoredTaskEventsWildcard matches every task event as YMERA_EVENTS
// stores it: ymera.events.task_bucket.*. It is the filter for a consumer of
// the stream made without WatchEvents; the events carry their task id.
func StoredTaskEventsWildcard() string { return prefixTaskBuckets + "*" }

// StoredTaskEventSubject returns the subject under which YMERA_EVENTS
// stores the events of one task, for a reader of the stream made without
// WatchEvents: the task's bucket, which it shares with the other tasks
// whose ids hash to the same bucket, so the reader keeps the events whose
// task_id is the task's. The id must be a canonical lowercase UUID.
func StoredTaskEventSubject(taskID string) (string, error) {
	if err := checkTaskID(taskID); err != nil {
		return "", err
	}
	return storedTaskEvents(taskID), nil
}

// storedTaskEvents returns the subject under which YMERA_EVENTS stores the
// events of the task id, a valid task id: the bucket the stream's
// transform computes for it (taskBucketTransform).
func storedTaskEvents(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return prefixTaskBuckets + strconv.FormatUint(uint64(h.Sum32()%taskBuckets), 10)
}

// TaskEventSubject returns the subject of one task's events:
// ymera.events.task.<task_id>. The id must be a canonical lowercase UUID.
func TaskEventSubject(taskID string) (string, error) {
	if err := checkTaskID(taskID); err != nil {
		return "", err
	}
	return prefixTaskEvents + taskID, nil
}

// AgentEventSubject returns the subject of one agent's events:
// ymera.events.agent.<agent_id>. See [ValidAgentID] for the id syntax.
func AgentEventSubject(agentID string) (string, error) {
	if err := checkAgentID(agentID); err != nil {
		return "", err
	}
	return prefixAgentEvents + agentID, nil
}

// ProjectEventSubject returns the subject of one project's own events (not
// its tasks'): ymera.events.project.<project_id>. The id must be a canonical
// lowercase UUID.
func ProjectEventSubject(projectID string) (string, error) {
	if !ValidTaskID(projectID) {
		return "", fmt.Errorf("%w: project id %q must be a lowercase UUID", ErrInvalid, projectID)
	}
	return prefixProjEvents + projectID, nil
}

// DeadLetterSubject returns the subject a dead task of the given type is
// copied to: ymera.dlq.<task_type>.
func DeadLetterSubject(taskType string) (string, error) {
	if err := checkTaskType(taskType); err != nil {
		return "", err
	}
	return prefixDeadLetters + taskType, nil
}

// ConsumerName returns the durable consumer name of an agent kind:
// agent_<kind>. All nodes running the kind share it, so JetStream spreads
// the kind's tasks among them.
func ConsumerName(kind string) (string, error) {
	if !actors.ValidToken(kind) {
		return "", fmt.Errorf("%w: agent kind %q must be 1-64 characters of [a-z0-9_-]", ErrInvalid, kind)
	}
	return prefixConsumer + kind, nil
}

// MaxDeliveriesAdvisorySubject returns the subject on which the server
// announces that a message of the kind's consumer on [StreamTasks] ran out of
// deliveries. The message stays in the work-queue stream; see
// [Conn.DeadLetter].
func MaxDeliveriesAdvisorySubject(kind string) (string, error) {
	name, err := ConsumerName(kind)
	if err != nil {
		return "", err
	}
	return advisoryMaxDeliveries + StreamTasks + "." + name, nil
}

// revokedKeySubject is the subject a value of key in [BucketRevoked] is
// published on: what jetstream's KeyValue.Put uses, written out so that
// Revoke can attach a per-message TTL, which Put cannot.
func revokedKeySubject(key string) (string, error) {
	if err := checkRevokedKey(key); err != nil {
		return "", err
	}
	return "$KV." + BucketRevoked + "." + key, nil
}

// checkRevokedKey accepts 1 to 128 characters of [A-Za-z0-9_=.-], with no
// empty dot-separated token: a valid KV key and a valid subject tail.
func checkRevokedKey(key string) error {
	ok := len(key) > 0 && len(key) <= 128 && key[0] != '.' && key[len(key)-1] != '.' && !strings.Contains(key, "..")
	for i := 0; ok && i < len(key); i++ {
		c := key[i]
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '=' || c == '-' || c == '.'
	}
	if !ok {
		return fmt.Errorf("%w: revocation key %q must be 1-128 characters of [A-Za-z0-9_=.-]", ErrInvalid, key)
	}
	return nil
}

// ValidTaskID reports whether id is a task id: a canonical lowercase UUID
// (8-4-4-4-12 hexadecimal digits), as the store generates them. Task ids are
// subject tokens and message ids, so one spelling per task matters.
func ValidTaskID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// ValidAgentID reports whether id can name an agent instance: 1 to 128
// characters of letters, digits, '_' and '-'. Agent ids are subject tokens
// and heartbeat keys, hence the narrow alphabet.
func ValidAgentID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func checkTaskType(tt string) error {
	if !actors.ValidToken(tt) {
		return fmt.Errorf("%w: task type %q must be 1-64 characters of [a-z0-9_-]", ErrInvalid, tt)
	}
	return nil
}

func checkTaskID(id string) error {
	if !ValidTaskID(id) {
		return fmt.Errorf("%w: task id %q must be a lowercase UUID", ErrInvalid, id)
	}
	return nil
}

func checkAgentID(id string) error {
	if !ValidAgentID(id) {
		return fmt.Errorf("%w: agent id %q must be 1-128 characters of [A-Za-z0-9_-]", ErrInvalid, id)
	}
	return nil
}

// TaskTypeOfSubject returns the task type of a task subject
// (ymera.tasks.<task_type>.<priority>).
func TaskTypeOfSubject(subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, prefixTasks)
	if !ok {
		return "", fmt.Errorf("%w: %q is not a task subject", ErrInvalid, subject)
	}
	taskType, _, ok := strings.Cut(rest, ".")
	if !ok {
		return "", fmt.Errorf("%w: %q is not a task subject", ErrInvalid, subject)
	}
	return taskType, checkTaskType(taskType)
}

// deadLetterMsgID is the message id of the dead-letter copy of the task
// stored at seq in YMERA_TASKS, so that moving it twice stores it once.
func deadLetterMsgID(seq uint64) string {
	return StreamTasks + "." + strconv.FormatUint(seq, 10)
}

// Names of the task runtime's priority queues, doorbell, control subjects
// and dead-letter machinery.
const (
	// StreamDeadAdvisories keeps the server's max-deliveries advisories of
	// the task consumers until a node has dead-lettered the task they name,
	// so an advisory sent while no node listens is not lost. Work queue.
	StreamDeadAdvisories = "YMERA_DEAD_ADVISORIES"
	// DeadAdvisoryConsumer is the durable consumer every node's dead-letter
	// watcher shares on StreamDeadAdvisories.
	DeadAdvisoryConsumer = "dead_letter_watcher"

	prefixDoorbell    = "ymera.ring.tasks."
	prefixTaskControl = "ymera.control.task."
	suffixCancel      = ".cancel"
)

// PriorityConsumerName returns the durable consumer of one agent kind and
// one priority: agent_<kind>_<priority>. No two (kind, priority) pairs give
// the same name, because a priority never ends with "_<priority>".
func PriorityConsumerName(kind string, p actors.Priority) (string, error) {
	name, err := ConsumerName(kind)
	if err != nil {
		return "", err
	}
	p, err = actors.ParsePriority(string(p))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return name + "_" + string(p), nil
}

// DoorbellFilter matches the rings of the tasks of one type stored in
// YMERA_TASKS: ymera.ring.tasks.<task_type>.*. An idle pool waits on it
// instead of polling its four priority consumers.
func DoorbellFilter(taskType string) (string, error) {
	if err := checkTaskType(taskType); err != nil {
		return "", err
	}
	return prefixDoorbell + taskType + ".*", nil
}

// TaskCancelSubject returns the core NATS subject on which a request to
// cancel a running task is announced to every node:
// ymera.control.task.<task_id>.cancel.
func TaskCancelSubject(taskID string) (string, error) {
	if err := checkTaskID(taskID); err != nil {
		return "", err
	}
	return prefixTaskControl + taskID + suffixCancel, nil
}

// TaskCancelWildcard matches every cancel request:
// ymera.control.task.*.cancel.
func TaskCancelWildcard() string { return prefixTaskControl + "*" + suffixCancel }

// TaskIDOfCancelSubject returns the task id of a cancel subject.
func TaskIDOfCancelSubject(subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, prefixTaskControl)
	if ok {
		rest, ok = strings.CutSuffix(rest, suffixCancel)
	}
	if !ok || !ValidTaskID(rest) {
		return "", fmt.Errorf("%w: %q is not a task cancel subject", ErrInvalid, subject)
	}
	return rest, nil
}

// MaxDeliveriesAdvisoryWildcard matches the max-deliveries advisories of
// every consumer on [StreamTasks]; StreamDeadAdvisories captures it.
func MaxDeliveriesAdvisoryWildcard() string {
	return advisoryMaxDeliveries + StreamTasks + ".*"
}

// Names of presence and per-agent routing (see the "Heartbeats and
// presence" and "Routing and selection" sections of docs/architecture.md).
const (
	prefixHeartbeatKV   = "$KV." + BucketHeartbeats + "."
	prefixAgentConsumer = "direct_"
)

// HeartbeatSubject returns the subject an agent speaking NATS publishes its
// heartbeat on: $KV.ymera_heartbeats.<agent_id>. It is the key's own
// subject in the presence bucket, so a plain publish (core or JetStream) of
// a [Heartbeat] body there is a key-value put: it renews the key's TTL and
// reaches every presence watcher, with no relay in between. nats.conf can
// allow each agent user exactly its own key.
func HeartbeatSubject(agentID string) (string, error) {
	if err := checkAgentID(agentID); err != nil {
		return "", err
	}
	return prefixHeartbeatKV + agentID, nil
}

// AgentTaskSubject returns the subject of a task routed to one agent:
// ymera.tasks.<task_type>.<priority>.<agent_id>. It has one token more
// than [TaskSubject], so the kind's consumers (filtered on four tokens)
// never see it and only the agent's own consumers take it.
func AgentTaskSubject(taskType string, p actors.Priority, agentID string) (string, error) {
	s, err := TaskSubject(taskType, p)
	if err != nil {
		return "", err
	}
	if err := checkAgentID(agentID); err != nil {
		return "", err
	}
	return s + "." + agentID, nil
}

// AgentTaskFilter matches the tasks of one priority routed to one agent,
// whatever their type: ymera.tasks.*.<priority>.<agent_id>.
func AgentTaskFilter(agentID string, p actors.Priority) (string, error) {
	if err := checkAgentID(agentID); err != nil {
		return "", err
	}
	p, err := actors.ParsePriority(string(p))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return prefixTasks + "*." + string(p) + "." + agentID, nil
}

// AgentConsumerName returns the durable consumer of the tasks of one
// priority routed to one agent: direct_<agent_id>_<priority>. The prefix
// keeps it apart from the kinds' agent_<kind>_<priority>.
func AgentConsumerName(agentID string, p actors.Priority) (string, error) {
	if err := checkAgentID(agentID); err != nil {
		return "", err
	}
	p, err := actors.ParsePriority(string(p))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return prefixAgentConsumer + agentID + "_" + string(p), nil
}

// AgentDoorbellFilter matches the rings of every task routed to
// one agent: ymera.ring.tasks.*.*.<agent_id>.
func AgentDoorbellFilter(agentID string) (string, error) {
	if err := checkAgentID(agentID); err != nil {
		return "", err
	}
	return prefixDoorbell + "*.*." + agentID, nil
}

// Subjects of the results service ("ymera-results", a NATS micro service
// every process with the store runs): an agent outside the platform, which
// has no database, reports through them the start and the outcome of the
// task it holds. See transport/report.go and docs/protocol.md.
const (
	// ReportStartSubject takes a ReportStart request.
	ReportStartSubject = "ymera.agent.report.start"
	// ReportResultSubject takes a ReportResult request.
	ReportResultSubject = "ymera.agent.report.result"
)

// AgentServiceName returns the NATS micro service name of an agent kind:
// ymera-agent-<kind>. Every process running the kind, built in or external,
// registers under it, so $SRV.PING.ymera-agent-<kind> finds them all.
func AgentServiceName(kind string) (string, error) {
	if _, err := ConsumerName(kind); err != nil {
		return "", err
	}
	return "ymera-agent-" + kind, nil
}

// AgentTaskTypeSubject returns the subject of the micro service endpoint
// describing one task type of a kind: ymera.agent.kind.<kind>.<task_type>.
// A request on it is answered with the kind, the task type and its
// parameter JSON Schema.
func AgentTaskTypeSubject(kind, taskType string) (string, error) {
	if _, err := ConsumerName(kind); err != nil {
		return "", err
	}
	if err := checkTaskType(taskType); err != nil {
		return "", err
	}
	return "ymera.agent.kind." + kind + "." + taskType, nil
}
