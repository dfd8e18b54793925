package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/ymera/ymera/transport"
)

// Client message types.
const (
	wsSubscribe   = "subscribe"
	wsUnsubscribe = "unsubscribe"
	wsPing        = "ping"
)

// Server frame types.
const (
	wsFrameEvent        = "event"
	wsFrameSubscribed   = "subscribed"
	wsFrameUnsubscribed = "unsubscribed"
	wsFramePong         = "pong"
	wsFrameError        = "error"
)

// Topics a client may subscribe to.
const (
	wsTopicTasks   = "tasks"   // every task of the user (every task for an admin)
	wsTopicTask    = "task"    // one task, by id
	wsTopicAgents  = "agents"  // presence of the user's agents
	wsTopicProject = "project" // one project's events, by id
)

// Error codes of error frames. Clients branch on these, never on messages.
const (
	wsErrBadRequest    = "bad_request"
	wsErrNotFound      = "not_found"
	wsErrRateLimited   = "rate_limited"
	wsErrTooManySubs   = "too_many_subscriptions"
	wsErrUnavailable   = "unavailable"
	wsErrNotSubscribed = "not_subscribed"
)

// clientMessage is one decoded frame from a client.
type clientMessage struct {
	Type  string `json:"type"`
	Topic string `json:"topic,omitempty"`
	ID    string `json:"id,omitempty"`
	// Since is the last stream sequence the client saw; 0 means "from now".
	Since uint64 `json:"since,omitempty"`
}

// key names the subscription m is about; one per topic and id.
func (m clientMessage) key() string { return m.Topic + "/" + m.ID }

// serverFrame is one frame to a client. Which fields are set depends on
// Type; see the protocol in ws.go.
type serverFrame struct {
	Type  string           `json:"type"`
	Topic string           `json:"topic,omitempty"`
	ID    string           `json:"id,omitempty"`
	Seq   uint64           `json:"seq,omitempty"`
	Since *uint64          `json:"since,omitempty"`
	Event *transport.Event `json:"event,omitempty"`
	// Code and Message describe an error frame.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// wsError is a refusal sent to the client as an error frame; Message may
// quote the client's own input (truncated), never internal errors.
type wsError struct {
	Code    string
	Message string
	// Topic and ID say which subscription it concerns, if one.
	Topic, ID string
}

func (e *wsError) Error() string { return e.Code + ": " + e.Message }

func (e *wsError) frame() serverFrame {
	return serverFrame{Type: wsFrameError, Code: e.Code, Message: e.Message, Topic: e.Topic, ID: e.ID}
}

func badRequest(format string, args ...any) *wsError {
	return &wsError{Code: wsErrBadRequest, Message: fmt.Sprintf(format, args...)}
}

// quote renders client input for an error message: JSON-quoted, at most
// 100 bytes, so that it cannot break the frame or flood the client.
func quote(s string) string {
	b, _ := json.Marshal(truncate(s, 100))
	return string(b)
}

// decodeClientMessage parses and validates one text frame. Unknown fields
// are ignored, as in HTTP bodies; everything the server acts on is checked
// here, so the rest of the connection handles only well-formed messages.
// Task and project ids come back in canonical (lowercase) form.
func decodeClientMessage(b []byte) (clientMessage, *wsError) {
	var m clientMessage
	if !utf8.Valid(b) {
		return m, badRequest("a message must be UTF-8 JSON")
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return m, badRequest("a message must be a JSON object")
	}
	if err := json.Unmarshal(trimmed, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			if te.Field == "since" {
				return m, badRequest("since must be a non-negative integer stream sequence (got %s)", quote(te.Value))
			}
			return m, badRequest("field %s must be a %s (got %s)", quote(te.Field), te.Type, quote(te.Value))
		}
		return m, badRequest("a message must be a JSON object")
	}
	switch m.Type {
	case wsPing:
		return clientMessage{Type: wsPing}, nil
	case wsSubscribe, wsUnsubscribe:
	case "":
		return m, badRequest(`a message needs a "type": subscribe, unsubscribe or ping`)
	default:
		return m, badRequest("unknown message type %s; use subscribe, unsubscribe or ping", quote(m.Type))
	}
	switch m.Topic {
	case wsTopicTasks, wsTopicAgents:
		if m.ID != "" {
			return m, badRequest("topic %s takes no id (got %s)", m.Topic, quote(m.ID))
		}
	case wsTopicTask, wsTopicProject:
		id, ok := parseID(m.ID)
		if !ok {
			return m, badRequest("topic %s needs the id of a %s, a UUID (got %s)", m.Topic, m.Topic, quote(m.ID))
		}
		m.ID = id
	case "":
		return m, badRequest(`%s needs a "topic": tasks, task, agents or project`, m.Type)
	default:
		return m, badRequest("unknown topic %s; use tasks, task, agents or project", quote(m.Topic))
	}
	if m.Type == wsUnsubscribe {
		m.Since = 0
	}
	return m, nil
}
