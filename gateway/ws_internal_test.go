package gateway

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ymera/ymera/transport"
)

// FuzzWSMessage feeds arbitrary frames to the client message decoder: it
// must never panic, and whatever it accepts must be something the
// connection can act on safely.
func FuzzWSMessage(f *testing.F) {
	id := "0195a3c4-7b1e-7c2d-9e8f-0123456789ab"
	for _, seed := range []string{
		`{"type":"ping"}`,
		`{"type":"subscribe","topic":"tasks"}`,
		`{"type":"subscribe","topic":"tasks","since":42}`,
		`{"type":"subscribe","topic":"task","id":"` + id + `"}`,
		`{"type":"subscribe","topic":"task","id":"` + strings.ToUpper(id) + `","since":1}`,
		`{"type":"subscribe","topic":"project","id":"` + id + `"}`,
		`{"type":"subscribe","topic":"agents"}`,
		`{"type":"unsubscribe","topic":"task","id":"` + id + `"}`,
		`{"type":"subscribe","topic":"task","id":"ymera.events.>"}`,
		`{"type":"subscribe","topic":"tasks","since":-1}`,
		`{"type":"subscribe","topic":"tasks","since":1.5}`,
		`{"type":"subscribe","topic":"tasks","since":"7"}`,
		`{"type":"subscribe","topic":"tasks","id":"x"}`,
		`{"type":["ping"]}`,
		`{"type":"ping"`,
		`[]`, `null`, `""`, `0`, ``, "\xff\xfe", `{"type":"\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, werr := decodeClientMessage(b)
		if werr != nil {
			if werr.Code != wsErrBadRequest || werr.Message == "" {
				t.Fatalf("refusal %+v", werr)
			}
			if !utf8.ValidString(werr.Message) {
				t.Fatalf("error message is not UTF-8: %q", werr.Message)
			}
			if _, err := json.Marshal(werr.frame()); err != nil {
				t.Fatalf("error frame does not encode: %v", err)
			}
			return
		}
		switch m.Type {
		case wsPing:
			if m.Topic != "" || m.ID != "" || m.Since != 0 {
				t.Fatalf("ping carries %+v", m)
			}
		case wsSubscribe, wsUnsubscribe:
			switch m.Topic {
			case wsTopicTasks, wsTopicAgents:
				if m.ID != "" {
					t.Fatalf("accepted an id on %s: %+v", m.Topic, m)
				}
			case wsTopicTask, wsTopicProject:
				// Accepted ids go into subjects: they must be valid tokens.
				if !transport.ValidTaskID(m.ID) {
					t.Fatalf("accepted id %q", m.ID)
				}
			default:
				t.Fatalf("accepted topic %q", m.Topic)
			}
		default:
			t.Fatalf("accepted type %q", m.Type)
		}
	})
}

func TestWSSlowClientIsClosed(t *testing.T) {
	t.Parallel()
	c := &wsConn{
		hub:     &wsHub{cfg: WebSocketOptions{}.withDefaults()},
		log:     slog.New(slog.DiscardHandler),
		send:    make(chan []byte, 2),
		closing: make(chan struct{}),
	}
	c.enqueue([]byte("1"))
	c.enqueue([]byte("2"))
	select {
	case <-c.closing:
		t.Fatal("closed with room left in the queue")
	default:
	}
	c.enqueue([]byte("3")) // full: the client is too slow
	select {
	case <-c.closing:
	default:
		t.Fatal("a full queue did not close the connection")
	}
	if c.closeCode != wsCloseTryAgain {
		t.Errorf("close code %d, want 1013", c.closeCode)
	}
	c.enqueue([]byte("4")) // after closing: dropped, never blocks
	if len(c.send) != 2 {
		t.Errorf("queue holds %d frames", len(c.send))
	}
}

func TestOriginAllowed(t *testing.T) {
	t.Parallel()
	list := []string{"https://app.example", "http://localhost:3000/"}
	for _, tc := range []struct {
		origin, host string
		allowed      []string
		want         bool
	}{
		{"", "api.example", list, true}, // not a browser
		{"https://app.example", "api.example", list, true},
		{"HTTPS://APP.EXAMPLE", "api.example", list, true},
		{"http://localhost:3000", "api.example", list, true},
		{"https://api.example", "api.example", list, true}, // same origin
		{"https://evil.example", "api.example", list, false},
		{"https://app.example.evil", "api.example", list, false},
		{"null", "api.example", list, false},
		{"https://evil.example", "api.example", nil, false},
		{"https://evil.example", "api.example", []string{"*"}, true},
	} {
		if got := originAllowed(tc.origin, tc.host, tc.allowed); got != tc.want {
			t.Errorf("originAllowed(%q, %q, %v) = %v, want %v", tc.origin, tc.host, tc.allowed, got, tc.want)
		}
	}
}
