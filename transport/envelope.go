package transport

import (
	"encoding/json"
	"fmt"

	"github.com/ymera/ymera/actors"
)

// ProtocolVersion is the major version of the message bodies this build
// writes and reads. Every body is a JSON object carrying it as "v". Fields
// are added without changing it (readers ignore fields they do not know); a
// change that old readers would misread takes a new major version, and a
// reader refuses versions it does not know with ErrUnsupportedVersion.
const ProtocolVersion = 1

// taskEnvelope is the wire form of a task: the task's own JSON fields with
// "v" first. Embedding promotes the fields, so the body stays flat and any
// NATS client can write it by hand.
type taskEnvelope struct {
	V int `json:"v"`
	actors.Task
}

// EncodeTask returns the wire body of t. It validates what the subject and
// the message id are built from: the task id (a lowercase UUID), the task
// type (a token) and the priority (empty means normal, and is written so).
func EncodeTask(t actors.Task) ([]byte, error) {
	if err := validateTask(&t); err != nil {
		return nil, err
	}
	env := taskEnvelope{V: ProtocolVersion, Task: t}
	if b, ok := appendTaskFast(nil, env); ok {
		return b, nil
	}
	b, err := json.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("%w: encode task %s: %w", ErrInvalid, t.ID, err)
	}
	return b, nil
}

// DecodeTask parses a wire body into a task and validates it as EncodeTask
// does. A body of another major version fails with ErrUnsupportedVersion,
// any other malformed body with ErrInvalid. Attempt is left zero: it comes
// from the delivery, not the body (see TaskDelivery.Task).
func DecodeTask(b []byte) (actors.Task, error) {
	env, ok := decodeTaskFast(b)
	if !ok {
		// A variable of its own, so that only this path moves it to the heap.
		var slow taskEnvelope
		if err := json.Unmarshal(b, &slow); err != nil {
			if verr := checkVersion(probeVersion(b)); verr != nil {
				return actors.Task{}, fmt.Errorf("transport: decode task: %w", verr)
			}
			return actors.Task{}, fmt.Errorf("%w: decode task: %w", ErrInvalid, err)
		}
		env = slow
	}
	if err := checkVersion(env.V); err != nil {
		return actors.Task{}, fmt.Errorf("transport: decode task %s: %w", env.ID, err)
	}
	if err := validateTask(&env.Task); err != nil {
		return actors.Task{}, fmt.Errorf("transport: decode task: %w", err)
	}
	return env.Task, nil
}

// validateTask checks the fields the transport relies on and normalises the
// priority.
func validateTask(t *actors.Task) error {
	if err := checkTaskID(t.ID); err != nil {
		return err
	}
	if err := checkTaskType(t.Type); err != nil {
		return err
	}
	p, err := actors.ParsePriority(string(t.Priority))
	if err != nil {
		return fmt.Errorf("%w: task %s: %w", ErrInvalid, t.ID, err)
	}
	t.Priority = p
	return nil
}

// checkVersion accepts the major version this build speaks.
func checkVersion(v int) error {
	switch v {
	case ProtocolVersion:
		return nil
	case 0:
		return fmt.Errorf("%w: body has no \"v\" field (this build reads version %d)", ErrInvalid, ProtocolVersion)
	}
	return fmt.Errorf("%w %d (this build reads version %d)", ErrUnsupportedVersion, v, ProtocolVersion)
}

// probeVersion reads only "v", for a clear error when a body of another
// version does not even parse as this version's schema. It returns 1 when
// "v" cannot be read either, so that the parse error is reported instead.
func probeVersion(b []byte) int {
	var p struct {
		V int `json:"v"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return ProtocolVersion
	}
	return p.V
}
