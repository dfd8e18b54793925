package transport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of SetupOptions.
const (
	DefaultEventsMaxAge    = 24 * time.Hour
	DefaultEventsMaxMsgs   = 1_000_000
	DefaultHeartbeatTTL    = 30 * time.Second // three 10 s heartbeat intervals
	DefaultDuplicateWindow = 2 * time.Minute
)

// SetupOptions sizes the streams and buckets Setup declares. Zero values take
// the defaults.
type SetupOptions struct {
	// Replicas of every stream and bucket: 1 for the embedded server, 3 for
	// a production cluster. Default 1.
	Replicas int
	// EventsReplicas is YMERA_EVENTS' replicas. Default Replicas. A cluster
	// may run the event stream with fewer: a task makes three events and
	// two other replicated writes, and events are notifications whose
	// record is the task row, so one replica trades the events' (never the
	// tasks') availability while its server is down for up to ~15 % more
	// tasks a second (docs/performance.md, measurements section 4).
	EventsReplicas int
	// EventsMaxAge is how long YMERA_EVENTS keeps an event. Default 24h.
	EventsMaxAge time.Duration
	// EventsMaxMsgs is how many events YMERA_EVENTS keeps at most, the
	// oldest going first. Default 1,000,000, a few hundred megabytes on
	// disk: bounded by age alone, a day of a few thousand tasks a second
	// would be hundreds of millions of events. At three events per task the
	// default keeps the last ~330,000 tasks' events, a day's at 4 tasks a
	// second. (The memory the server needs for them does not grow with the
	// number of tasks: subjects.go, "How YMERA_EVENTS stores task events".)
	EventsMaxMsgs int64
	// HeartbeatTTL is how long a heartbeat key lives without being renewed;
	// an agent that stops beating is offline once it passes. Default 30 s.
	HeartbeatTTL time.Duration
	// DuplicateWindow is how long YMERA_TASKS (and YMERA_DLQ) remember a
	// Nats-Msg-Id (the task id) to drop a republished task. Default 2 min.
	// Exactly-once effects beyond it are the store's job. The server keeps
	// each id reachable for up to about four windows (docs/performance.md,
	// step 18), so at a sustained R ids a second a window W costs about
	// R × W × 160 bytes of heap, up to four times that.
	DuplicateWindow time.Duration
}

func (o SetupOptions) withDefaults() SetupOptions {
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.EventsReplicas <= 0 {
		o.EventsReplicas = o.Replicas
	}
	if o.EventsMaxAge <= 0 {
		o.EventsMaxAge = DefaultEventsMaxAge
	}
	if o.EventsMaxMsgs <= 0 {
		o.EventsMaxMsgs = DefaultEventsMaxMsgs
	}
	if o.HeartbeatTTL <= 0 {
		o.HeartbeatTTL = DefaultHeartbeatTTL
	}
	if o.DuplicateWindow <= 0 {
		o.DuplicateWindow = DefaultDuplicateWindow
	}
	return o
}

// Setup creates the streams and key-value buckets YMERA needs, or updates
// them to the configuration given. It is idempotent: running it again with
// the same options changes nothing, so every process runs it at start.
// Consumers are declared separately, per agent kind, by EnsureConsumer.
func (c *Conn) Setup(ctx context.Context, opts SetupOptions) error {
	opts = opts.withDefaults()
	for _, cfg := range streamConfigs(opts) {
		if err := c.keepPersistMode(ctx, &cfg); err != nil {
			return wrap("setup stream "+cfg.Name, err)
		}
		if _, err := c.js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return wrap("setup stream "+cfg.Name, err)
		}
	}
	for _, cfg := range bucketConfigs(opts) {
		if _, err := c.js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return wrap("setup bucket "+cfg.Bucket, err)
		}
	}
	return nil
}

// keepPersistMode gives cfg the persist mode of the stream of its name, if
// there is one: the server fixes a stream's persist mode when it creates
// it and refuses an update that changes it, so a stream made before
// YMERA_EVENTS was asynchronous (or by a server too old to know the
// setting) keeps the mode it has.
func (c *Conn) keepPersistMode(ctx context.Context, cfg *jetstream.StreamConfig) error {
	s, err := c.js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cfg.PersistMode = s.CachedInfo().Config.PersistMode
	if cfg.PersistMode == jetstream.AsyncPersistMode && cfg.Replicas > 1 {
		// Only YMERA_EVENTS is made asynchronous, and its events are
		// notifications: deleting it loses no task.
		return fmt.Errorf("%w: stream %s persists asynchronously, which the server allows only with one replica, "+
			"and %d were asked for: delete the stream (the next start makes it again) or keep it at one replica",
			ErrInvalid, cfg.Name, cfg.Replicas)
	}
	return nil
}

// eventsPersistMode is YMERA_EVENTS' persist mode. With one replica it is
// asynchronous: the server acknowledges, and hands on to watchers, an
// event before writing it to its file, and writes events in batches. An
// event is a notification whose record is the task row (a crash can lose
// the last few milliseconds of events, never a task), and in the
// production profile (sync_interval: always) this spares an fsync for
// each of a task's three events. The server refuses it on a replicated
// stream, which writes asynchronously anyway, behind its Raft log.
func eventsPersistMode(replicas int) jetstream.PersistModeType {
	if replicas > 1 {
		return jetstream.DefaultPersistMode
	}
	return jetstream.AsyncPersistMode
}

func streamConfigs(o SetupOptions) []jetstream.StreamConfig {
	return []jetstream.StreamConfig{
		{
			Name:        StreamTasks,
			Description: "YMERA tasks waiting for an agent (work queue)",
			Subjects:    []string{subjectAllTasks},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Discard:     jetstream.DiscardOld,
			Replicas:    o.Replicas,
			Duplicates:  o.DuplicateWindow,
			// No RePublish: publishers ring the doorbell themselves, once
			// per batch and lane (ring.go). An update removes the one
			// earlier versions configured.
		},
		{
			Name:        StreamDeadAdvisories,
			Description: "YMERA max-deliveries advisories of task consumers, until the task is dead-lettered",
			Subjects:    []string{MaxDeliveriesAdvisoryWildcard()},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Discard:     jetstream.DiscardOld,
			Replicas:    o.Replicas,
		},
		{
			Name:        StreamEvents,
			Description: "YMERA task and agent events",
			Subjects:    []string{subjectAllEvents},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Discard:     jetstream.DiscardOld,
			Replicas:    o.EventsReplicas,
			MaxAge:      o.EventsMaxAge,
			MaxMsgs:     o.EventsMaxMsgs,
			// Each task's events are filed under one of 4,096 buckets,
			// not a subject per task (subjects.go says why).
			SubjectTransform: &jetstream.SubjectTransformConfig{
				Source: TaskEventsWildcard(), Destination: taskBucketTransform()},
			// Events carry no message id; a short window keeps the
			// dedup index small.
			Duplicates:  min(o.EventsMaxAge, 10*time.Second),
			PersistMode: eventsPersistMode(o.EventsReplicas),
		},
		{
			Name:        StreamDeadLetters,
			Description: "YMERA tasks that ran out of deliveries, kept for replay",
			Subjects:    []string{subjectAllDeadLetters},
			Retention:   jetstream.LimitsPolicy,
			Storage:     jetstream.FileStorage,
			Discard:     jetstream.DiscardOld,
			Replicas:    o.Replicas,
			Duplicates:  o.DuplicateWindow,
		},
	}
}

func bucketConfigs(o SetupOptions) []jetstream.KeyValueConfig {
	return []jetstream.KeyValueConfig{
		{
			Bucket:      BucketHeartbeats,
			Description: "YMERA agent heartbeats; an expired key is an offline agent",
			History:     1,
			TTL:         o.HeartbeatTTL,
			// Memory: presence is rebuilt within one interval after a
			// restart, and heartbeats are the most frequent writes.
			Storage:  jetstream.MemoryStorage,
			Replicas: o.Replicas,
			// Expiry leaves a delete marker, so that watchers see an agent
			// go offline instead of having to poll. The server keeps a
			// marker at least a second.
			LimitMarkerTTL: max(o.HeartbeatTTL, time.Second),
		},
		{
			Bucket:      BucketTaskTypes,
			Description: "YMERA task types and the agent kind that processes each",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    o.Replicas,
		},
		{
			Bucket:      BucketRevoked,
			Description: "YMERA revoked access tokens and users; each key expires with the tokens it refuses",
			History:     1,
			// File: a restart must not bring revoked tokens back to life.
			Storage:  jetstream.FileStorage,
			Replicas: o.Replicas,
			// Enables per-key TTLs (Revoke sets one per key); the marker an
			// expiry leaves is kept only briefly.
			LimitMarkerTTL: time.Minute,
		},
		{
			Bucket:      BucketCancels,
			Description: "YMERA tasks cancelled before they started, which nodes must not run",
			History:     1,
			TTL:         CancelTTL,
			// File: a restart must not let a node run a cancelled task.
			Storage:  jetstream.FileStorage,
			Replicas: o.Replicas,
		},
		{
			Bucket:      BucketRateLimits,
			Description: "YMERA gateway request counters shared by the replicas",
			History:     1,
			TTL:         RateLimitTTL,
			// Memory: a lost counter only forgives one window's requests.
			Storage:  jetstream.MemoryStorage,
			Replicas: o.Replicas,
		},
	}
}
