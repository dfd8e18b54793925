package gateway

import (
	"bytes"
	"io"
	"maps"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ymera/ymera/internal/jsonfast"
)

// jsonAppender is an answer body that writes its own JSON, the bytes
// encoding/json would write for it, or reports false where it cannot (an
// invalid raw object, a time encoding/json refuses), and encoding/json then
// writes it and reports the error. The answers of POST /tasks and
// GET /tasks/{id}, written for every task, are; encoding/json's reflection
// was ~3 % of a server's CPU in a closed loop of those two requests.
type jsonAppender interface {
	appendJSON(dst []byte) ([]byte, bool)
}

// jsonDecoder is a request body that reads its own JSON into itself, as
// encoding/json would read it, or reports false, leaving itself as it
// was, where it is unsure (a key in another case, which encoding/json
// matches to a field too; a string with escapes), and encoding/json then
// reads it.
type jsonDecoder interface {
	decodeJSON(b []byte) bool
}

// jsonFormats returns huma's formats with JSON written by jsonAppender
// where the body is one, and read without reflection: into a jsonDecoder,
// and into the `any` huma validates a request body as
// (jsonfast.DecodeAny). Reading each POST /tasks body twice with
// encoding/json was ~4 % of a server's CPU in a closed loop of
// submissions.
func jsonFormats(formats map[string]huma.Format) map[string]huma.Format {
	formats = maps.Clone(formats)
	for _, name := range []string{"application/json", "json"} {
		f, ok := formats[name]
		if !ok {
			continue
		}
		unmarshal := f.Unmarshal
		f.Unmarshal = func(b []byte, v any) error {
			switch v := v.(type) {
			case *any:
				if x, ok := jsonfast.DecodeAny(b); ok {
					*v = x
					return nil
				}
			case jsonDecoder:
				if v.decodeJSON(b) {
					return nil
				}
			}
			return unmarshal(b, v)
		}
		marshal := f.Marshal
		f.Marshal = func(w io.Writer, v any) error {
			a, ok := v.(jsonAppender)
			if !ok {
				return marshal(w, v)
			}
			bp := answerBufs.Get().(*[]byte)
			b, ok := a.appendJSON((*bp)[:0])
			if !ok {
				answerBufs.Put(bp)
				return marshal(w, v)
			}
			b = append(b, '\n') // as json.Encoder ends it
			_, err := w.Write(b)
			if cap(b) <= maxPooledAnswer {
				*bp = b
				answerBufs.Put(bp)
			}
			return err
		}
		formats[name] = f
	}
	return formats
}

// answerBufs holds the buffers answers are written in; one that grew past
// maxPooledAnswer (a task with large parameters) is left to the collector.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

const maxPooledAnswer = 64 << 10

// decodeJSON reads a POST /tasks body (jsonDecoder). Unknown members are
// checked and ignored, as encoding/json ignores them.
func (r *submitTaskRequest) decodeJSON(b []byte) bool {
	was := *r
	ok := jsonfast.WalkObject(b, func(key []byte, i int) (int, bool) {
		switch string(key) {
		case "name":
			return plainString(b, i, &r.Name)
		case "description":
			return plainString(b, i, &r.Description)
		case "task_type":
			return plainString(b, i, &r.TaskType)
		case "priority":
			return plainString(b, i, &r.Priority)
		case "agent_id":
			return plainString(b, i, &r.AgentID)
		case "parameters":
			end, ok := jsonfast.ValueEnd(b, i)
			return end, ok && r.Parameters.UnmarshalJSON(b[i:end]) == nil
		}
		for _, name := range submitTaskFields {
			if bytes.EqualFold(key, []byte(name)) {
				return 0, false // encoding/json's match regardless of case
			}
		}
		if !isASCII(key) {
			return 0, false // which may fold to a field's name too (K, ſ)
		}
		return jsonfast.ValueEnd(b, i) // ignored, as an unknown member is
	})
	if !ok {
		*r = was
	}
	return ok
}

// submitTaskFields are the JSON names of submitTaskRequest's fields.
var submitTaskFields = [...]string{"name", "description", "task_type", "priority", "agent_id", "parameters"}

// plainString reads the string or null at b[i] into *dst as encoding/json
// does (null leaves it be), reporting false for a string with escapes.
func plainString[S ~string](b []byte, i int, dst *S) (int, bool) {
	if b[i] == 'n' {
		end, ok := jsonfast.ValueEnd(b, i)
		return end, ok
	}
	start, end, ok := jsonfast.ScanPlainString(b, i)
	if !ok {
		return 0, false
	}
	*dst = S(b[start:end])
	return end + 1, true
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (r submitTaskResponse) appendJSON(dst []byte) ([]byte, bool) {
	dst = append(dst, `{"task_id":`...)
	dst = jsonfast.AppendString(dst, r.TaskID)
	dst = append(dst, `,"status":`...)
	dst = jsonfast.AppendString(dst, r.Status)
	ok := true
	if r.Task != nil {
		dst = append(dst, `,"task":`...)
		dst, ok = r.Task.appendJSON(dst)
	}
	return append(dst, '}'), ok
}

// appendJSON writes the fields in the struct's order; none is omitempty.
func (d taskDetail) appendJSON(dst []byte) ([]byte, bool) {
	ok := true
	dst = append(dst, `{"id":`...)
	dst = jsonfast.AppendString(dst, d.ID)
	dst = append(dst, `,"name":`...)
	dst = jsonfast.AppendString(dst, d.Name)
	dst = append(dst, `,"description":`...)
	dst = jsonfast.AppendString(dst, d.Description)
	dst = append(dst, `,"task_type":`...)
	dst = jsonfast.AppendString(dst, d.TaskType)
	dst = append(dst, `,"parameters":`...)
	dst = appendObject(dst, d.Parameters, &ok)
	dst = append(dst, `,"priority":`...)
	dst = jsonfast.AppendString(dst, string(d.Priority))
	dst = append(dst, `,"status":`...)
	dst = jsonfast.AppendString(dst, string(d.Status))
	dst = append(dst, `,"result":`...)
	dst = appendObject(dst, d.Result, &ok)
	dst = append(dst, `,"created_at":`...)
	dst = appendTime(dst, &d.CreatedAt, &ok)
	dst = append(dst, `,"completed_at":`...)
	dst = appendTime(dst, d.CompletedAt, &ok)
	dst = append(dst, `,"error_message":`...)
	dst = appendOptString(dst, d.ErrorMessage)
	dst = append(dst, `,"attempts":`...)
	dst = strconv.AppendInt(dst, int64(d.Attempts), 10)
	dst = append(dst, `,"max_attempts":`...)
	dst = strconv.AppendInt(dst, int64(d.MaxAttempts), 10)
	dst = append(dst, `,"started_at":`...)
	dst = appendTime(dst, d.StartedAt, &ok)
	dst = append(dst, `,"updated_at":`...)
	dst = appendTime(dst, &d.UpdatedAt, &ok)
	dst = append(dst, `,"attempt_history":`...)
	if d.AttemptHistory == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, a := range d.AttemptHistory {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"attempt":`...)
			dst = strconv.AppendInt(dst, int64(a.Attempt), 10)
			dst = append(dst, `,"status":`...)
			dst = jsonfast.AppendString(dst, a.Status)
			dst = append(dst, `,"error":`...)
			dst = appendOptString(dst, a.Error)
			dst = append(dst, `,"started_at":`...)
			dst = appendTime(dst, &a.StartedAt, &ok)
			dst = append(dst, `,"finished_at":`...)
			dst = appendTime(dst, a.FinishedAt, &ok)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), ok
}

// appendObject writes o as jsonObject.MarshalJSON and encoding/json do,
// clearing *ok where encoding/json would fail.
func appendObject(dst []byte, o jsonObject, ok *bool) []byte {
	if len(o) == 0 {
		return append(dst, "null"...)
	}
	dst, valid := jsonfast.AppendRaw(dst, o)
	*ok = *ok && valid
	return dst
}

// appendTime writes *t, or null for nil, clearing *ok where
// encoding/json would fail.
func appendTime(dst []byte, t *time.Time, ok *bool) []byte {
	if t == nil {
		return append(dst, "null"...)
	}
	dst, valid := jsonfast.AppendTime(dst, *t)
	*ok = *ok && valid
	return dst
}

func appendOptString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return jsonfast.AppendString(dst, *s)
}
