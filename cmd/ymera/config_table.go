package main

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// setting is one row of the configuration table: the single description of a
// variable from which its flag, lookup, default, validation, .env.example
// entry and redacted log value all derive.
type setting struct {
	section string // heading of its group in .env.example
	env     string // name in the environment and the .env file
	def     string // default, as it would be written in a .env file
	help    string // one line: what it means, including what empty means
	hide    redaction
	field
}

// field parses a value into a typed field of Config and formats it back.
type field struct {
	// parse stores s in c, or returns a phrase completing "expected ...".
	parse  func(c *Config, s string) error
	format func(c *Config) string
	// noOptValue is what a bare flag means: "true" for booleans, so that
	// --db-echo works as it would for a bool flag.
	noOptValue string
}

// redaction says how much of a value may be shown in errors and logs.
type redaction int

const (
	showAll       redaction = iota
	hideAll                 // secrets
	hideURLSecret           // URLs: passwords and tokens hidden, the rest shown
)

// flag derives the flag name: DATA_DIR → data-dir. The YMERA_ prefix, which
// only keeps environment names apart, is dropped (--stream-replicas).
func (s setting) flag() string {
	name := strings.TrimPrefix(s.env, "YMERA_")
	return strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// lookup returns the raw value by precedence, and where it came from as a
// suffix for error messages ("" for the default, which is always valid).
func (s setting) lookup(fs *pflag.FlagSet, getenv func(string) (string, bool), file envFile) (raw, from string) {
	if f := lookupFlag(fs, s.flag()); f != nil && f.Changed {
		return f.Value.String(), " (from --" + s.flag() + ")"
	}
	if v, ok := getenv(s.env); ok {
		return v, " (from the environment)"
	}
	if e, ok := file.values[s.env]; ok {
		return e.value, fmt.Sprintf(" (from %s line %d)", file.path, e.line)
	}
	return s.def, ""
}

// redact returns v as it may be shown.
func (s setting) redact(v string) string {
	switch {
	case v == "":
		return ""
	case s.hide == hideAll || looksLikeNKeySeed(v):
		return "(hidden)"
	case s.hide == hideURLSecret:
		return redactURLs(v)
	}
	return v
}

// assignment renders NAME="value" for an error message, with the value
// redacted: a secret is only said to be there.
func (s setting) assignment(raw string) string {
	if raw != "" && (s.hide == hideAll || looksLikeNKeySeed(raw)) {
		return s.env + "=(value hidden)"
	}
	return fmt.Sprintf("%s=%q", s.env, s.redact(raw))
}

// assignmentOf renders NAME="value" with the effective value in c.
func assignmentOf(c *Config, env string) string {
	s := settingNamed(env)
	return s.assignment(s.format(c))
}

// settingNamed returns the table row for env, or nil.
func settingNamed(env string) *setting {
	for i := range configTable {
		if configTable[i].env == env {
			return &configTable[i]
		}
	}
	return nil
}

// redactURLs hides passwords, bare user tokens (nats://TOKEN@host) and
// password query parameters in a comma-separated list of URLs. Something
// that does not parse is hidden whole: it may be a mistyped password.
func redactURLs(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			return "(value hidden)"
		}
		q := u.Query()
		if u.User == nil && !q.Has("password") {
			continue // nothing to hide: keep it exactly as written
		}
		if u.User != nil {
			if _, hasPassword := u.User.Password(); hasPassword {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx")
			}
		}
		if q.Has("password") {
			q.Set("password", "xxxxx")
			u.RawQuery = q.Encode()
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// configTable lists every variable, grouped as in .env.example. It is static
// description, not configuration: the values live in the Config that
// loadConfig returns.
var configTable = slices.Concat(
	group("Server",
		setting{env: "HTTP_ADDR", def: ":8000",
			help:  "Address the HTTP API listens on, host:port.",
			field: stringField(func(c *Config) *string { return &c.HTTP.Addr }, checkHostPort)},
		setting{env: "DATA_DIR", def: "./data",
			help:  "Directory for local state: SQLite database, embedded NATS store, generated JWT secret, local files.",
			field: stringField(func(c *Config) *string { return &c.DataDir }, checkNonEmpty)},
		setting{env: "SHUTDOWN_GRACE_PERIOD", def: "25s",
			help:  "How long a stopping process waits for in-flight requests and tasks.",
			field: durationField(func(c *Config) *time.Duration { return &c.ShutdownGracePeriod }, false)},
		setting{env: "DEBUG_ADDR", def: "",
			help:  "host:port (such as 127.0.0.1:6060) serving Go runtime profiles at /debug/pprof/; empty serves none. Unauthenticated: keep it on loopback.",
			field: stringField(func(c *Config) *string { return &c.DebugAddr }, optional(checkHostPort))},
		setting{env: "MEMORY_LIMIT_MB", def: "256",
			help:  "Soft limit of the process's Go memory, in megabytes: past it the garbage collector works harder and returns freed memory to the system sooner. 0 sets none; a GOMEMLIMIT in the environment wins.",
			field: intField(func(c *Config) *int { return &c.MemoryLimitMB }, 0, 1<<20)},
		setting{env: "GC_PERCENT", def: "300",
			help:  "How far the Go heap may grow past its live part before the garbage collector runs, in percent (Go's own default is 100). More trades memory, still bounded by MEMORY_LIMIT_MB, for less CPU under load. A GOGC in the environment wins.",
			field: intField(func(c *Config) *int { return &c.GCPercent }, 10, 10000)},
	),
	group("NATS",
		setting{env: "NATS_URL", def: "", hide: hideURLSecret,
			help:  "NATS server URLs, comma-separated (nats://, tls://, ws://, wss://); empty runs an embedded server.",
			field: stringField(func(c *Config) *string { return &c.NATS.URL }, checkNATSURLs)},
		setting{env: "NATS_LISTEN", def: "",
			help:  "host:port (such as 127.0.0.1:4222) where the embedded server accepts other clients; empty accepts only this process.",
			field: stringField(func(c *Config) *string { return &c.NATS.Listen }, optional(checkHostPort))},
		setting{env: "NATS_CONFIG", def: "",
			help:  "nats.conf for the embedded server (cluster, accounts); empty uses built-in settings.",
			field: stringField(func(c *Config) *string { return &c.NATS.ConfigFile }, nil)},
		setting{env: "NATS_CREDS", def: "",
			help:  "Credentials file (.creds) used to connect to NATS.",
			field: stringField(func(c *Config) *string { return &c.NATS.CredsFile }, nil)},
		setting{env: "NATS_NKEY_SEED", def: "",
			help:  "File holding the NKey seed used to connect to NATS (the file, not the seed).",
			field: stringField(func(c *Config) *string { return &c.NATS.NKeySeedFile }, checkNotASeed)},
		setting{env: "NATS_TLS_CA", def: "",
			help:  "CA certificate (PEM) that verifies the NATS server.",
			field: stringField(func(c *Config) *string { return &c.NATS.TLSCAFile }, nil)},
		setting{env: "NATS_TLS_CERT", def: "",
			help:  "Client certificate (PEM) for NATS; set with NATS_TLS_KEY.",
			field: stringField(func(c *Config) *string { return &c.NATS.TLSCertFile }, nil)},
		setting{env: "NATS_TLS_KEY", def: "",
			help:  "Client private key (PEM) for NATS.",
			field: stringField(func(c *Config) *string { return &c.NATS.TLSKeyFile }, nil)},
		setting{env: "NATS_USER", def: "",
			help:  "NATS user of this process's role (nats.conf: ymera, gateway, node or agent); also for the embedded server when NATS_CONFIG requires users.",
			field: stringField(func(c *Config) *string { return &c.NATS.User }, nil)},
		setting{env: "NATS_PASSWORD", def: "", hide: hideAll,
			help:  "Password of NATS_USER.",
			field: stringField(func(c *Config) *string { return &c.NATS.Password }, nil)},
		setting{env: "YMERA_STREAM_REPLICAS", def: "1",
			help:  "Replicas of each JetStream stream and KV bucket; more than 1 needs a NATS cluster.",
			field: intField(func(c *Config) *int { return &c.NATS.StreamReplicas }, 1, 5)},
		setting{env: "YMERA_EVENTS_REPLICAS", def: "0",
			help:  "Replicas of the event stream; 0 takes YMERA_STREAM_REPLICAS. Fewer than the other streams costs the events' availability, never the tasks', for fewer replicated writes per task.",
			field: intField(func(c *Config) *int { return &c.NATS.EventsReplicas }, 0, 5)},
		setting{env: "YMERA_EVENTS_MAX_AGE", def: "24h",
			help:  "How long the event stream keeps task and agent events (what a WebSocket client can catch up on after a disconnect).",
			field: durationField(func(c *Config) *time.Duration { return &c.NATS.EventsMaxAge }, false)},
		setting{env: "YMERA_EVENTS_MAX_MESSAGES", def: "1000000",
			help:  "Most events the event stream keeps, the oldest dropped first; a task makes about three.",
			field: intField(func(c *Config) *int { return &c.NATS.EventsMaxMessages }, 1, math.MaxInt)},
		setting{env: "YMERA_DUPLICATE_WINDOW", def: "2m",
			help:  "How long the task streams remember a task's Nats-Msg-Id, dropping a republish of it as a duplicate (services publishing straight to NATS; tasks submitted over HTTP carry none). The server keeps each id for up to about four times this, ~160 bytes of heap each: shorten it when services publish tens of thousands of tasks a second.",
			field: minDurationField(func(c *Config) *time.Duration { return &c.NATS.DuplicateWindow }, 100*time.Millisecond)},
	),
	group("Database",
		setting{env: "DATABASE_URL", def: "", hide: hideURLSecret,
			help:  "postgres:// URL, or sqlite:///path or a file path; empty uses SQLite at DATA_DIR/ymera.db.",
			field: databaseField()},
		setting{env: "DB_POOL_SIZE", def: "20",
			help:  "Connections kept in the pool.",
			field: intField(func(c *Config) *int { return &c.DB.PoolSize }, 1, math.MaxInt)},
		setting{env: "DB_MAX_OVERFLOW", def: "10",
			help:  "Connections allowed above DB_POOL_SIZE under load.",
			field: intField(func(c *Config) *int { return &c.DB.MaxOverflow }, 0, math.MaxInt)},
		setting{env: "DB_POOL_TIMEOUT", def: "30s",
			help:  "How long a query waits for a free connection.",
			field: durationField(func(c *Config) *time.Duration { return &c.DB.PoolTimeout }, false)},
		setting{env: "DB_POOL_RECYCLE", def: "1h",
			help:  "Longest a connection is reused; 0 keeps connections until they fail.",
			field: durationField(func(c *Config) *time.Duration { return &c.DB.PoolRecycle }, true)},
		setting{env: "DB_ECHO", def: "false",
			help:  "Log every SQL statement.",
			field: boolField(func(c *Config) *bool { return &c.DB.Echo })},
	),
	group("Authentication",
		setting{env: "JWT_SECRET_KEY", def: "", hide: hideAll,
			help:  "HS256 signing key, at least 32 bytes; empty generates one and keeps it in DATA_DIR.",
			field: stringField(func(c *Config) *string { return &c.JWT.SecretKey }, checkJWTSecret)},
		setting{env: "JWT_ALGORITHM", def: "HS256",
			help:  "Token signature: HS256 (shared secret) or RS256 (key pair).",
			field: choiceField(func(c *Config) *string { return &c.JWT.Algorithm }, "HS256", "RS256")},
		setting{env: "JWT_PRIVATE_KEY_FILE", def: "",
			help:  "RSA private key (PEM) that signs RS256 tokens.",
			field: stringField(func(c *Config) *string { return &c.JWT.PrivateKeyFile }, nil)},
		setting{env: "JWT_PUBLIC_KEY_FILE", def: "",
			help:  "RSA public key (PEM) that verifies RS256 tokens.",
			field: stringField(func(c *Config) *string { return &c.JWT.PublicKeyFile }, nil)},
		setting{env: "JWT_EXPIRE_MINUTES", def: "60",
			help:  "Token lifetime in minutes.",
			field: unitsField(func(c *Config) *time.Duration { return &c.JWT.Expiry }, time.Minute, "minutes", 1, 1440)},
		setting{env: "JWT_ISSUER", def: "ymera",
			help:  "iss claim written into tokens and required on incoming ones.",
			field: stringField(func(c *Config) *string { return &c.JWT.Issuer }, checkNonEmpty)},
		setting{env: "JWT_AUDIENCE", def: "ymera-api",
			help:  "aud claim written into tokens and required on incoming ones.",
			field: stringField(func(c *Config) *string { return &c.JWT.Audience }, checkNonEmpty)},
		setting{env: "ADMIN_USERNAME", def: "",
			help:  "Administrator created at start if missing; set with ADMIN_PASSWORD.",
			field: stringField(func(c *Config) *string { return &c.Admin.Username }, nil)},
		setting{env: "ADMIN_PASSWORD", def: "", hide: hideAll,
			help:  "Password of ADMIN_USERNAME.",
			field: stringField(func(c *Config) *string { return &c.Admin.Password }, nil)},
	),
	group("HTTP protection",
		setting{env: "CORS_ORIGINS", def: `["http://localhost:3000"]`,
			help:  "Origins allowed to call the API: a JSON array or a comma-separated list; * alone allows any.",
			field: originsField()},
		setting{env: "RATE_LIMIT_ENABLED", def: "true",
			help:  "Limit requests per client.",
			field: boolField(func(c *Config) *bool { return &c.HTTP.RateLimit.Enabled })},
		setting{env: "RATE_LIMIT_REQUESTS_PER_MINUTE", def: "100",
			help:  "Requests per minute allowed to one client.",
			field: intField(func(c *Config) *int { return &c.HTTP.RateLimit.RequestsPerMinute }, 1, math.MaxInt)},
		setting{env: "RATE_LIMIT_LOGIN_PER_MINUTE", def: "10",
			help:  "Login attempts per minute allowed to one client.",
			field: intField(func(c *Config) *int { return &c.HTTP.RateLimit.LoginPerMinute }, 1, math.MaxInt)},
	),
	group("Agents",
		setting{env: "AGENT_REQUEST_TIMEOUT", def: "30s",
			help:  "Timeout of one request to an agent.",
			field: durationField(func(c *Config) *time.Duration { return &c.Agent.RequestTimeout }, false)},
		setting{env: "AGENT_MAX_RETRIES", def: "3",
			help:  "Default attempts per task, the first one included.",
			field: intField(func(c *Config) *int { return &c.Agent.MaxAttempts }, 1, 100)},
		setting{env: "AGENT_RETRY_BACKOFF", def: "2.0",
			help:  "Base of the exponential backoff between attempts.",
			field: backoffField(func(c *Config) *float64 { return &c.Agent.RetryBackoff })},
		setting{env: "AGENT_CIRCUIT_BREAKER_THRESHOLD", def: "5",
			help:  "Consecutive failures that open an agent's circuit breaker.",
			field: intField(func(c *Config) *int { return &c.Agent.CircuitBreakerThreshold }, 1, math.MaxInt)},
		setting{env: "AGENT_CIRCUIT_BREAKER_TIMEOUT", def: "1m",
			help:  "How long an open circuit breaker waits before letting a trial call through.",
			field: durationField(func(c *Config) *time.Duration { return &c.Agent.CircuitBreakerTimeout }, false)},
		setting{env: "AGENT_TASK_TIMEOUT", def: "5m",
			help:  "Longest a task may run.",
			field: durationField(func(c *Config) *time.Duration { return &c.Agent.TaskTimeout }, false)},
		setting{env: "AGENT_HEARTBEAT_INTERVAL", def: "10s",
			help:  "How often a working agent reports that it is alive.",
			field: durationField(func(c *Config) *time.Duration { return &c.Agent.HeartbeatInterval }, false)},
		setting{env: "AGENT_ACK_WAIT", def: "30s",
			help:  "JetStream redelivers a task that was not acknowledged or extended within this time.",
			field: durationField(func(c *Config) *time.Duration { return &c.Agent.AckWait }, false)},
		setting{env: "AGENT_RECORD_START_AFTER", def: "50ms",
			help:  "A task's first attempt is recorded running once it has run this long; one that succeeds sooner goes from queued to completed in one write. 0 records every start before the agent runs.",
			field: durationField(func(c *Config) *time.Duration { return &c.Agent.RecordStartAfter }, true)},
		setting{env: "AGENT_MAX_DELIVER", def: "5",
			help:  "Deliveries of a task message before JetStream stops redelivering it.",
			field: intField(func(c *Config) *int { return &c.Agent.MaxDeliver }, 2, math.MaxInt)},
		setting{env: "AGENT_WORKERS", def: "4",
			help:  "Actors run for each built-in agent kind.",
			field: intField(func(c *Config) *int { return &c.Agent.Workers }, 1, 1024)},
		setting{env: "AGENT_KINDS", def: "security,documentation",
			help:  "Built-in agent kinds run by this process, comma-separated; empty runs none.",
			field: kindsField()},
		setting{env: "NODE_NAME", def: "",
			help:  "Name of this node in its built-in agents' ids; empty uses the host name. Must be stable across restarts and distinct per node.",
			field: stringField(func(c *Config) *string { return &c.Agent.NodeName }, nil)},
	),
	group("Quality verification",
		setting{env: "QUALITY_THRESHOLD", def: "85.0",
			help:  "Minimum quality score that passes, 0..100.",
			field: floatField(func(c *Config) *float64 { return &c.Quality.Threshold }, 0, 100)},
		setting{env: "CODE_COVERAGE_MIN", def: "80.0",
			help:  "Minimum test coverage that passes, in percent.",
			field: floatField(func(c *Config) *float64 { return &c.Quality.CoverageMin }, 0, 100)},
		setting{env: "QUALITY_CODE_WEIGHT", def: "0.35",
			help:  "Weight of code quality in the score; the four weights sum to 1.",
			field: floatField(func(c *Config) *float64 { return &c.Quality.Weights.Code }, 0, 1)},
		setting{env: "QUALITY_SECURITY_WEIGHT", def: "0.3",
			help:  "Weight of security in the score.",
			field: floatField(func(c *Config) *float64 { return &c.Quality.Weights.Security }, 0, 1)},
		setting{env: "QUALITY_PERFORMANCE_WEIGHT", def: "0.2",
			help:  "Weight of performance in the score.",
			field: floatField(func(c *Config) *float64 { return &c.Quality.Weights.Performance }, 0, 1)},
		setting{env: "QUALITY_DOCUMENTATION_WEIGHT", def: "0.15",
			help:  "Weight of documentation in the score.",
			field: floatField(func(c *Config) *float64 { return &c.Quality.Weights.Documentation }, 0, 1)},
		setting{env: "SECURITY_SCAN_ENABLED", def: "true",
			help:  "Run security scans during verification.",
			field: boolField(func(c *Config) *bool { return &c.Quality.SecurityScan })},
		setting{env: "PERFORMANCE_BENCHMARK_ENABLED", def: "true",
			help:  "Run performance benchmarks during verification.",
			field: boolField(func(c *Config) *bool { return &c.Quality.PerformanceBenchmark })},
		setting{env: "DOCUMENTATION_CHECK_ENABLED", def: "true",
			help:  "Check documentation during verification.",
			field: boolField(func(c *Config) *bool { return &c.Quality.DocumentationCheck })},
	),
	group("File storage",
		setting{env: "STORAGE_BACKEND", def: "local",
			help:  "Where uploaded files are kept: local, s3 or nats (JetStream object store).",
			field: choiceField(func(c *Config) *string { return &c.Storage.Backend }, "local", "s3", "nats")},
		setting{env: "STORAGE_PATH", def: "",
			help:  "Directory of the local backend; empty uses DATA_DIR/files.",
			field: stringField(func(c *Config) *string { return &c.Storage.Path }, nil)},
		setting{env: "MAX_UPLOAD_SIZE_MB", def: "100",
			help:  "Largest accepted upload, in megabytes.",
			field: megabytesField(func(c *Config) *int64 { return &c.Storage.MaxUploadBytes })},
		setting{env: "FILE_VERSIONING_ENABLED", def: "true",
			help:  "Keep earlier versions of a file when it is replaced.",
			field: boolField(func(c *Config) *bool { return &c.Storage.Versioning })},
		setting{env: "FILE_VERSION_RETENTION_DAYS", def: "90",
			help:  "Days an earlier version is kept.",
			field: unitsField(func(c *Config) *time.Duration { return &c.Storage.VersionRetention }, 24*time.Hour, "days", 1, 36500)},
		setting{env: "AWS_ACCESS_KEY_ID", def: "",
			help:  "S3 access key; empty uses the AWS default credential chain.",
			field: stringField(func(c *Config) *string { return &c.Storage.S3.AccessKeyID }, nil)},
		setting{env: "AWS_SECRET_ACCESS_KEY", def: "", hide: hideAll,
			help:  "S3 secret key.",
			field: stringField(func(c *Config) *string { return &c.Storage.S3.SecretAccessKey }, nil)},
		setting{env: "AWS_REGION", def: "us-east-1",
			help:  "S3 region.",
			field: stringField(func(c *Config) *string { return &c.Storage.S3.Region }, checkNonEmpty)},
		setting{env: "S3_BUCKET", def: "",
			help:  "S3 bucket; required by the s3 backend.",
			field: stringField(func(c *Config) *string { return &c.Storage.S3.Bucket }, nil)},
		setting{env: "S3_ENDPOINT", def: "", hide: hideURLSecret,
			help:  "URL of an S3-compatible server (MinIO, ...); empty uses AWS.",
			field: stringField(func(c *Config) *string { return &c.Storage.S3.Endpoint }, optional(checkHTTPURL))},
	),
	group("Logging and telemetry",
		setting{env: "LOG_LEVEL", def: "INFO",
			help:  "Lowest level logged: DEBUG, INFO, WARNING (or WARN) or ERROR.",
			field: logLevelField()},
		setting{env: "LOG_FORMAT", def: "json",
			help:  "Log format: json or text.",
			field: choiceField(func(c *Config) *string { return &c.Log.Format }, "json", "text")},
		setting{env: "LOG_FILE", def: "",
			help:  "File the log is appended to; empty writes to stderr.",
			field: stringField(func(c *Config) *string { return &c.Log.File }, nil)},
		setting{env: "OTEL_EXPORTER_OTLP_ENDPOINT", def: "", hide: hideURLSecret,
			help:  "OTLP endpoint (http:// or https://) receiving traces and metrics; empty exports nothing.",
			field: stringField(func(c *Config) *string { return &c.OTel.Endpoint }, optional(checkHTTPURL))},
		setting{env: "OTEL_SERVICE_NAME", def: "ymera",
			help:  "Service name reported to OpenTelemetry.",
			field: stringField(func(c *Config) *string { return &c.OTel.ServiceName }, checkNonEmpty)},
	),
)

// group sets the section of its settings.
func group(section string, settings ...setting) []setting {
	for i := range settings {
		settings[i].section = section
	}
	return settings
}

// The field makers below tie a typed Config field to its parser. Each
// parser returns a phrase completing "expected ..." when it refuses a value;
// numbers and words are trimmed of surrounding spaces, free text is not.
