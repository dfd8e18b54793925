package transport

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// embeddedServerName names the embedded server (and its JetStream node).
const embeddedServerName = "ymera"

// serverOptions builds the embedded server's options from opts: the
// ConfigFile when given, then JetStream on, the store in DataDir unless the
// file chose one, no listener unless Listen or the file asks for one, and no
// signal handlers (the process owner handles signals).
func serverOptions(opts Options) (*server.Options, error) {
	sopts := &server.Options{}
	if opts.ConfigFile != "" {
		var err error
		sopts, err = server.ProcessConfigFile(opts.ConfigFile)
		if err != nil {
			return nil, fmt.Errorf("%w: nats config %s: %w", ErrInvalid, opts.ConfigFile, err)
		}
	}
	if sopts.ServerName == "" {
		sopts.ServerName = embeddedServerName
	}
	sopts.JetStream = true
	if sopts.StoreDir == "" {
		if opts.DataDir == "" {
			return nil, fmt.Errorf("%w: the embedded nats server needs Options.DataDir (or store_dir in the config file)", ErrInvalid)
		}
		sopts.StoreDir = opts.DataDir
	}
	if opts.SyncAlways {
		sopts.SyncAlways = true
	}
	sopts.NoSigs = true

	switch {
	case opts.Listen != "":
		host, port, err := net.SplitHostPort(opts.Listen)
		if err != nil {
			return nil, fmt.Errorf("%w: listen address %q: %w", ErrInvalid, opts.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("%w: listen address %q: bad port", ErrInvalid, opts.Listen)
		}
		if p == 0 {
			p = server.RANDOM_PORT // 0 would mean the default 4222 to the server
		}
		sopts.Host, sopts.Port, sopts.DontListen = host, p, false
	case opts.ConfigFile != "" && sopts.Port != 0:
		// The file chose a listener; keep it.
	default:
		sopts.DontListen = true
	}
	return sopts, nil
}

// startEmbedded starts an in-process nats-server and waits until it accepts
// clients with JetStream enabled.
func startEmbedded(opts Options, logger *slog.Logger) (*server.Server, error) {
	sopts, err := serverOptions(opts)
	if err != nil {
		return nil, err
	}
	srv, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("transport: embedded nats server: %w", err)
	}
	srv.SetLoggerV2(serverLogger{logger.With("component", "nats-server")}, false, false, false)

	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	srv.Start()
	if !srv.ReadyForConnections(timeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("transport: embedded nats server (store %s) not ready after %s", sopts.StoreDir, timeout)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("transport: embedded nats server started without JetStream (store %s): see the nats-server log", sopts.StoreDir)
	}
	logger.Info("embedded nats server ready", "store_dir", sopts.StoreDir, "listen", listenAddr(srv), "sync_always", sopts.SyncAlways)
	return srv, nil
}

func listenAddr(srv *server.Server) string {
	if a := srv.Addr(); a != nil {
		return a.String()
	}
	return ""
}

// serverLogger sends the embedded server's log to slog. Notices (the start
// banner, configuration echoes) go to debug so that "ymera serve" stays
// quiet; warnings and errors keep their level. Debug and trace are never
// enabled on the server.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLogger) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Tracef(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
