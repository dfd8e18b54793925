package sdk

import (
	"encoding/json"
	"log/slog"
	"time"

	"github.com/ymera/ymera/transport"
)

// reply is the part every reply of the results service shares, a refusal
// (transport.ReportError) included.
type reply struct {
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Action  string `json:"action"`
	DelayNS int64  `json:"delay_ns"`
}

type startReply struct {
	reply
	Attempt     int `json:"attempt"`
	MaxAttempts int `json:"max_attempts"`
}

type resultReply struct {
	reply
	Status string `json:"status"`
}

// replyOf lets request read the shared part of both replies.
type replyOf interface{ common() *reply }

func (r *reply) common() *reply { return r }

// request sends body to the results service and decodes the reply into
// out. It reports true only for an accepted start; otherwise, and after
// every result, it answers the delivery as the reply's action says. No
// reply at all leaves the message: the ack deadline brings it back and the
// next start decides.
func (a *agent) request(subject string, body any, out replyOf, d *transport.TaskDelivery, log *slog.Logger) bool {
	data, err := json.Marshal(body)
	if err != nil {
		log.Error("encode report", "subject", subject, "err", err)
		return false
	}
	msg, err := a.nc.Request(subject, data, a.opts.RequestTimeout)
	if err != nil {
		log.Warn("report unanswered; the task is delivered again after its ack deadline", "subject", subject, "err", err)
		return false
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		log.Warn("report reply is not JSON", "subject", subject, "err", err)
		return false
	}
	r := out.common()
	if !r.OK {
		log.Info("report refused", "subject", subject, "code", r.Code, "message", r.Message, "action", r.Action)
	}
	if r.OK && subject == transport.ReportStartSubject {
		return true
	}
	var aerr error
	switch r.Action {
	case transport.ActionAck:
		aerr = d.Ack()
	case transport.ActionNak:
		// Nak corrects for the consumer's BackOff skew.
		aerr = d.Nak(time.Duration(r.DelayNS))
	}
	if aerr != nil {
		log.Warn("answering the task message failed", "action", r.Action, "err", aerr)
	}
	return false
}
