package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/ymera/ymera/actors"
	"github.com/ymera/ymera/store"
	"github.com/ymera/ymera/transport"
)

// An agent outside the platform (another language, another machine) takes
// its tasks from the same durable consumers as a worker of this process, but
// it has no database. The results service records for it what a worker's
// start and settle record, through the same code (runtime.start, commit),
// and tells it how to answer its message: the agent acks only after the
// reply, so a crash between the two is one harmless redelivery, exactly as
// for a worker. docs/protocol.md is the agent's side.

// reportTimeout bounds the store work of one report.
const reportTimeout = 10 * time.Second

// ReportConfig configures a results service.
type ReportConfig struct {
	Conn  *transport.Conn
	Tasks TaskStore
	// RetryBase is the exponential base of retry delays (default 2), as
	// NodeConfig.RetryBase.
	RetryBase float64
	// Observer is told of every task that reaches a final status.
	Observer Observer
	Logger   *slog.Logger
}

// ReportService is the "ymera-results" NATS micro service of one process.
type ReportService struct {
	svc  micro.Service
	rt   *runtime
	conn *transport.Conn
}

// StartReportService starts the results service on cfg.Conn: the endpoints
// start (transport.ReportStartSubject) and result
// (transport.ReportResultSubject) in the queue group
// transport.ReportQueueGroup, so the processes running it share the reports.
// Stop it with Stop.
func StartReportService(cfg ReportConfig) (*ReportService, error) {
	if cfg.Conn == nil || cfg.Tasks == nil {
		return nil, errors.New("runner: results service needs a connection and a task store")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	rt := &runtime{tasks: cfg.Tasks, events: cfg.Conn, log: cfg.Logger, retryBase: cfg.RetryBase,
		now: time.Now, observer: cfg.Observer}
	if cfg.Conn != nil {
		rt.leases = cfg.Conn
	}
	if rt.observer == nil {
		rt.observer = noObserver{}
	}
	s := &ReportService{rt: rt, conn: cfg.Conn}
	svc, err := micro.AddService(cfg.Conn.NC(), micro.Config{
		Name:        transport.ReportServiceName,
		Version:     transport.ReportServiceVersion,
		Description: "Records the start and outcome of tasks run by agents outside the platform (docs/protocol.md).",
		QueueGroup:  transport.ReportQueueGroup,
	})
	if err != nil {
		return nil, fmt.Errorf("runner: results service: %w", err)
	}
	s.svc = svc
	for _, ep := range []struct {
		name, subject string
		handle        func(context.Context, micro.Request)
	}{
		{"start", transport.ReportStartSubject, s.start},
		{"result", transport.ReportResultSubject, s.result},
	} {
		if err := svc.AddEndpoint(ep.name, s.dispatch(ep.handle), micro.WithEndpointSubject(ep.subject)); err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("runner: results service endpoint %s: %w", ep.name, err)
		}
	}
	// Once the server has the subscriptions, a report sent after this
	// returns finds the service rather than "no responders".
	if err := cfg.Conn.NC().Flush(); err != nil {
		_ = svc.Stop()
		return nil, fmt.Errorf("runner: results service: %w", err)
	}
	return s, nil
}

// Stop stops taking reports; the micro service drains its subscriptions,
// so a report being handled is answered.
func (s *ReportService) Stop() {
	_ = s.svc.Stop()
}

// dispatch runs handle with the caller's trace context and a bounded
// deadline. It runs on the endpoint's subscription goroutine, one report at
// a time per process and endpoint: the micro package reads the request's
// reply state after the handler returns, so the handler cannot hand the
// request to another goroutine. Processes in the queue group share the load.
func (s *ReportService) dispatch(handle func(context.Context, micro.Request)) micro.HandlerFunc {
	return func(req micro.Request) {
		ctx := transport.ExtractTrace(context.Background(), nats.Header(req.Headers()))
		ctx, cancel := context.WithTimeout(ctx, reportTimeout)
		defer cancel()
		handle(ctx, req)
	}
}

// start handles a ReportStart: runtime.start under the agent's lease. A task
// published straight to NATS has no row yet; its message, read at the lease,
// makes one.
func (s *ReportService) start(ctx context.Context, req micro.Request) {
	r, err := transport.DecodeReportStart(req.Data())
	if err != nil {
		s.refuse(req, transport.ReportCodeBadRequest, err.Error(), transport.ActionNone, 0)
		return
	}
	log := s.rt.log.With("task_id", r.TaskID, "lease", r.Lease, "agent_id", r.AgentID)
	lease := int64(r.Lease)
	st, err := s.rt.tasks.Start(ctx, r.TaskID, lease, s.rt.now())
	if errors.Is(err, store.ErrNotFound) {
		var msg actors.Task
		msg, err = s.conn.TaskAt(ctx, r.Lease)
		switch {
		case errors.Is(err, transport.ErrNoMessage):
			s.refuse(req, transport.ReportCodeNotFound,
				fmt.Sprintf("no task %s, and no task message at lease %d", r.TaskID, r.Lease), transport.ActionAck, 0)
			return
		case err == nil && msg.ID != r.TaskID:
			s.refuse(req, transport.ReportCodeBadRequest,
				fmt.Sprintf("lease %d holds task %s, not %s", r.Lease, msg.ID, r.TaskID), transport.ActionNone, 0)
			return
		case err == nil:
			st, err = s.rt.start(ctx, msg, lease, false)
		}
	}
	if errors.Is(err, store.ErrConflict) {
		st, err = s.rt.takeOver(ctx, log, r.TaskID, lease, func() (store.Task, error) {
			return s.rt.tasks.Start(ctx, r.TaskID, lease, s.rt.now())
		})
	}
	switch {
	case errors.Is(err, store.ErrConflict):
		log.DebugContext(ctx, "reported start refused: task final or held by another delivery", "error", err)
		s.refuse(req, transport.ReportCodeConflict, "task is final or held by another delivery", transport.ActionAck, 0)
		return
	case err != nil:
		log.WarnContext(ctx, "could not start reported task", "error", err)
		s.refuse(req, transport.ReportCodeUnavailable, "the task store did not answer; nothing was recorded",
			transport.ActionNak, s.rt.storeBackoff())
		return
	}
	// The event goes out before the reply: the agent's next report can only
	// follow the reply, so watchers see started before what comes next.
	publishEvent(ctx, s.rt.events, log, taskEvent("task.started", st.Task, actors.StatusRunning, nil))
	s.reply(req, log, transport.ReportStartReply{V: transport.ProtocolVersion, OK: true,
		Attempt: st.Attempts, MaxAttempts: st.MaxAttempts})
}

// result handles a ReportResult: commit, as a worker's settle does, for
// the attempt running under the agent's lease.
func (s *ReportService) result(ctx context.Context, req micro.Request) {
	r, err := transport.DecodeReportResult(req.Data())
	if err != nil {
		s.refuse(req, transport.ReportCodeBadRequest, err.Error(), transport.ActionNone, 0)
		return
	}
	log := s.rt.log.With("task_id", r.TaskID, "lease", r.Lease, "agent_id", r.AgentID)
	st, err := s.rt.tasks.Get(ctx, r.TaskID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.refuse(req, transport.ReportCodeNotFound, fmt.Sprintf("no task %s", r.TaskID), transport.ActionAck, 0)
		return
	case err != nil:
		log.WarnContext(ctx, "could not read reported task", "error", err)
		s.refuse(req, transport.ReportCodeUnavailable, "the task store did not answer; nothing was recorded",
			transport.ActionNak, s.rt.storeBackoff())
		return
	case st.Status.Final():
		// A repeated report, or one after a cancel: the message is spent.
		s.refuse(req, transport.ReportCodeConflict,
			fmt.Sprintf("task is %s already; outcome not recorded", st.Status), transport.ActionAck, 0)
		return
	case st.Status != actors.StatusRunning || st.Lease != int64(r.Lease):
		// Not ours (any more): the next start decides, after the ack deadline.
		s.refuse(req, transport.ReportCodeConflict,
			fmt.Sprintf("task is %s, not running under lease %d", st.Status, r.Lease), transport.ActionNone, 0)
		return
	}

	var (
		res  actors.Result
		perr error
	)
	switch r.Status {
	case transport.ReportCompleted:
		res.Output = r.Result
	case transport.ReportFailed:
		perr = errors.New(r.Error)
		if r.Permanent {
			perr = actors.Permanent(perr)
		}
	case transport.ReportRetry:
		perr = errors.New(r.Error)
	}
	v := s.rt.commit(ctx, log, attempt{Task: st}, res, perr, false)
	switch {
	case errors.Is(v.err, store.ErrConflict):
		s.refuse(req, transport.ReportCodeConflict, "task changed hands; outcome not recorded", transport.ActionNone, 0)
		return
	case v.err != nil:
		s.refuse(req, transport.ReportCodeUnavailable, "the task store did not answer; nothing was recorded",
			transport.ActionNak, v.delay)
		return
	}
	out := transport.ReportResultReply{V: transport.ProtocolVersion, OK: true, Status: string(v.status), Action: transport.ActionAck}
	if v.answer == answerNak {
		out.Action, out.DelayNS = transport.ActionNak, int64(v.delay)
	}
	// After the commit and before the reply, for the same order as start.
	s.rt.announce(ctx, log, st, v)
	s.reply(req, log, out)
}

func (s *ReportService) reply(req micro.Request, log *slog.Logger, body any) {
	if err := req.RespondJSON(body); err != nil {
		log.Warn("report reply not sent", "error", err)
	}
}

// refuse answers with a ReportError, as a micro service error (headers
// Nats-Service-Error and Nats-Service-Error-Code) whose body is the JSON.
func (s *ReportService) refuse(req micro.Request, code, message, action string, delay time.Duration) {
	body, _ := json.Marshal(transport.ReportError{V: transport.ProtocolVersion, Code: code, Message: message,
		Action: action, DelayNS: int64(delay)})
	if err := req.Error(code, message, body); err != nil {
		s.rt.log.Warn("report error reply not sent", "code", code, "error", err)
	}
}
