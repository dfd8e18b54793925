package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Options says where NATS is. With URL empty, Connect starts an embedded
// server in the process (the "ymera serve" default); with URL set, it
// connects to an external server or cluster.
type Options struct {
	// URL of an external NATS server or cluster ("nats://a:4222,nats://b:4222").
	// Empty means embedded.
	URL string

	// Name identifies the client connection in server monitoring; default
	// "ymera".
	Name string

	// Creds is a credentials file (user JWT and nkey seed) for decentralized
	// auth. NKeySeed is a file holding an nkey seed. User and Password are
	// static credentials. They apply to the embedded server as well, when its
	// ConfigFile requires authentication.
	Creds    string
	NKeySeed string
	User     string
	Password string

	// TLSCA, TLSCert and TLSKey are PEM files: the CA that signed the server
	// certificate and a client certificate with its key (mutual TLS). External
	// servers only.
	TLSCA   string
	TLSCert string
	TLSKey  string

	// ReconnectBuffer is how many bytes of outgoing messages are kept while
	// reconnecting to an external server; default 8 MiB. Publishes beyond it
	// fail instead of blocking.
	ReconnectBuffer int

	// DataDir is the embedded server's JetStream store directory, e.g.
	// "<DATA_DIR>/nats". Required for the embedded server unless ConfigFile
	// sets store_dir.
	DataDir string

	// ConfigFile is a nats-server configuration file (nats.conf) for the
	// embedded server: accounts, permissions, limits, cluster. DataDir still
	// applies when the file sets no store_dir, and JetStream is always on.
	ConfigFile string

	// Listen ("host:port", port 0 for a random one) makes the embedded server
	// accept TCP clients, for external agents and tests. Without it the server
	// listens only where ConfigFile says, and with neither it has no listener
	// at all: the process talks to it in memory.
	Listen string

	// SyncAlways makes the embedded file store fsync every write before
	// acknowledging it. The default syncs every 2 minutes and acknowledges
	// before syncing, so a power loss can lose acknowledged messages; this is
	// the production-profile switch (use replicas 3 in a cluster as well).
	SyncAlways bool

	// StartTimeout bounds the wait for the embedded server to be ready;
	// default 10 s.
	StartTimeout time.Duration
}

// Conn is a connection to NATS with JetStream, and the embedded server when
// there is one. Conn is safe for concurrent use. The caller that connected
// owns it and closes it.
type Conn struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	srv    *server.Server // nil when external
	logger *slog.Logger

	closed    chan struct{} // closed by the nats.go closed handler
	closeOnce sync.Once
	closeErr  error

	bucketsMu sync.Mutex
	buckets   map[string]jetstream.KeyValue // bound on first use
}

// Connect starts or reaches NATS as opts say and returns a ready connection.
// For an embedded server it waits until the server is ready for clients and
// JetStream is enabled, at most StartTimeout or until ctx's deadline; any
// failure shuts it down again. For an external server the first connect
// must succeed (else ErrUnavailable); afterwards the connection reconnects
// forever, buffering publishes meanwhile. A nil logger discards logs.
func Connect(ctx context.Context, opts Options, logger *slog.Logger) (*Conn, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "nats")
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("transport: connect: %w", err)
	}

	c := &Conn{logger: logger, closed: make(chan struct{})}
	natsOpts, err := c.clientOptions(opts)
	if err != nil {
		return nil, err
	}

	url := opts.URL
	if url == "" {
		if d, ok := ctx.Deadline(); ok && (opts.StartTimeout <= 0 || time.Until(d) < opts.StartTimeout) {
			opts.StartTimeout = max(time.Until(d), time.Millisecond)
		}
		srv, err := startEmbedded(opts, logger)
		if err != nil {
			return nil, err
		}
		c.srv = srv
		natsOpts = append(natsOpts, nats.InProcessServer(srv))
	}

	nc, err := nats.Connect(url, natsOpts...)
	if err != nil {
		c.shutdownServer()
		// Whatever the cause (refused, timeout, TLS, auth), there is no
		// NATS to talk to; the caller retries or gives up.
		return nil, fmt.Errorf("transport: connect: %w: %w", ErrUnavailable, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		c.shutdownServer()
		return nil, wrap("jetstream", err)
	}
	c.nc, c.js = nc, js
	logger.Info("nats connected", "url", nc.ConnectedUrlRedacted(), "embedded", c.srv != nil, "server", nc.ConnectedServerName())
	return c, nil
}

// clientOptions translates opts into nats.go options. The handlers log
// through slog and signal Close when the connection is gone for good.
func (c *Conn) clientOptions(opts Options) ([]nats.Option, error) {
	name := opts.Name
	if name == "" {
		name = "ymera"
	}
	buf := opts.ReconnectBuffer
	if buf <= 0 {
		buf = 8 << 20
	}
	logger := c.logger
	o := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectBufSize(buf),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			close(c.closed)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				logger.Error("nats async error", "subject", sub.Subject, "err", err)
				return
			}
			logger.Error("nats async error", "err", err)
		}),
	}
	if opts.Creds != "" {
		o = append(o, nats.UserCredentials(opts.Creds))
	}
	if opts.NKeySeed != "" {
		nk, err := nats.NkeyOptionFromSeed(opts.NKeySeed)
		if err != nil {
			return nil, fmt.Errorf("transport: nkey seed %s: %w", opts.NKeySeed, err)
		}
		o = append(o, nk)
	}
	if opts.User != "" {
		o = append(o, nats.UserInfo(opts.User, opts.Password))
	}
	if opts.URL != "" {
		if opts.TLSCA != "" {
			o = append(o, nats.RootCAs(opts.TLSCA))
		}
		if opts.TLSCert != "" || opts.TLSKey != "" {
			o = append(o, nats.ClientCert(opts.TLSCert, opts.TLSKey))
		}
	}
	return o, nil
}

// NC returns the underlying core NATS connection, for what this package does
// not wrap (micro services, ad hoc subscriptions). Do not close it.
func (c *Conn) NC() *nats.Conn { return c.nc }

// JS returns the JetStream context of the connection.
func (c *Conn) JS() jetstream.JetStream { return c.js }

// Embedded reports whether the connection runs its own in-process server.
func (c *Conn) Embedded() bool { return c.srv != nil }

// ClientURL returns a URL other clients can connect to: the embedded server's
// TCP address when it listens, the connected server's URL for an external
// one, and "" for an embedded server without a listener.
func (c *Conn) ClientURL() string {
	if c.srv != nil {
		if c.srv.Addr() == nil {
			return ""
		}
		return c.srv.ClientURL()
	}
	return c.nc.ConnectedUrlRedacted()
}

// Ping makes a round trip to the server (a flush), for health checks.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.nc.FlushWithContext(ctx); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Close drains the connection, so that pending publishes and acks reach the
// server and subscriptions finish their messages, then shuts the embedded
// server down and waits for it. The drain is bounded by ctx; when ctx ends
// first the connection is closed at once. Close is safe to call more than
// once; later calls return the first result.
func (c *Conn) Close(ctx context.Context) error {
	c.closeOnce.Do(func() {
		var errs []error
		if err := c.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, fmt.Errorf("transport: drain: %w", err))
			c.nc.Close()
		}
		select {
		case <-c.closed:
		case <-ctx.Done():
			c.nc.Close()
			errs = append(errs, fmt.Errorf("transport: drain: %w", ctx.Err()))
		}
		c.shutdownServer()
		c.closeErr = errors.Join(errs...)
		c.logger.Info("nats closed")
	})
	return c.closeErr
}

// bucket returns the key-value bucket name, binding to it on first use
// (one round trip) and from memory afterwards.
func (c *Conn) bucket(ctx context.Context, name string) (jetstream.KeyValue, error) {
	c.bucketsMu.Lock()
	defer c.bucketsMu.Unlock()
	if kv, ok := c.buckets[name]; ok {
		return kv, nil
	}
	kv, err := c.js.KeyValue(ctx, name)
	if err != nil {
		return nil, err
	}
	if c.buckets == nil {
		c.buckets = make(map[string]jetstream.KeyValue)
	}
	c.buckets[name] = kv
	return kv, nil
}

func (c *Conn) shutdownServer() {
	if c.srv == nil {
		return
	}
	c.srv.Shutdown()
	c.srv.WaitForShutdown()
}
