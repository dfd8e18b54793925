package main

import (
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Config is the effective configuration of one ymera process. loadConfig
// builds it once at start from flags, the environment, a .env file and the
// defaults; main passes it (or parts of it) to what needs it, so nothing
// reads the environment after start-up.
//
// Every field is filled from one row of configTable; the comments name the
// variable behind each field.
type Config struct {
	// DataDir holds local state: the SQLite database, the embedded NATS
	// store, the generated JWT secret and locally stored files (DATA_DIR).
	DataDir string

	HTTP    HTTPConfig
	NATS    NATSConfig
	DB      DBConfig
	JWT     JWTConfig
	Admin   AdminConfig
	Agent   AgentConfig
	Quality QualityConfig
	Storage StorageConfig
	Log     LogConfig
	OTel    OTelConfig

	// ShutdownGracePeriod bounds how long a stopping process waits for
	// in-flight requests and tasks (SHUTDOWN_GRACE_PERIOD).
	ShutdownGracePeriod time.Duration

	// DebugAddr serves runtime profiles (net/http/pprof) when set
	// (DEBUG_ADDR).
	DebugAddr string
	// MemoryLimitMB is the Go runtime's soft memory limit in megabytes
	// (MEMORY_LIMIT_MB); 0 leaves the runtime's default (none).
	MemoryLimitMB int
	// GCPercent is the garbage collector's pace, as GOGC (GC_PERCENT).
	GCPercent int

	// EnvFile is the .env file that was read, or "" if none was.
	EnvFile string
	// Warnings are problems that do not stop start-up (an ignored
	// REDIS_URL, an unknown key in the .env file); main logs them.
	Warnings []string
}

// HTTPConfig configures the gateway's listener and its protections.
type HTTPConfig struct {
	Addr        string   // HTTP_ADDR, host:port
	CORSOrigins []string // CORS_ORIGINS; ["*"] allows any origin, empty allows none
	RateLimit   RateLimitConfig
}

// RateLimitConfig configures per-client request limits.
type RateLimitConfig struct {
	Enabled           bool // RATE_LIMIT_ENABLED
	RequestsPerMinute int  // RATE_LIMIT_REQUESTS_PER_MINUTE
	LoginPerMinute    int  // RATE_LIMIT_LOGIN_PER_MINUTE
}

// NATSConfig says which NATS server to use: an external one when URL is set,
// otherwise one embedded in this process and stored under DataDir.
type NATSConfig struct {
	URL            string // NATS_URL, comma-separated server URLs; "" = embedded
	Listen         string // NATS_LISTEN, embedded server's client port; "" = in-process only
	ConfigFile     string // NATS_CONFIG, nats.conf for the embedded server
	CredsFile      string // NATS_CREDS
	NKeySeedFile   string // NATS_NKEY_SEED
	TLSCAFile      string // NATS_TLS_CA
	TLSCertFile    string // NATS_TLS_CERT
	TLSKeyFile     string // NATS_TLS_KEY
	User           string // NATS_USER, for a nats.conf with users (roles.go)
	Password       string // NATS_PASSWORD
	StreamReplicas int    // YMERA_STREAM_REPLICAS, 1..5
	EventsReplicas int    // YMERA_EVENTS_REPLICAS, 0 (as StreamReplicas)..5
	// EventsMaxAge and EventsMaxMessages bound YMERA_EVENTS
	// (transport.SetupOptions).
	EventsMaxAge      time.Duration // YMERA_EVENTS_MAX_AGE
	EventsMaxMessages int           // YMERA_EVENTS_MAX_MESSAGES
	// DuplicateWindow is how long YMERA_TASKS, YMERA_INTAKE and YMERA_DLQ
	// remember a Nats-Msg-Id (transport.SetupOptions.DuplicateWindow).
	DuplicateWindow time.Duration // YMERA_DUPLICATE_WINDOW
}

// DBConfig says which database to open and how to pool connections.
type DBConfig struct {
	// Driver is "postgres" or "sqlite".
	Driver string
	// DSN is a postgres:// or postgresql:// URL for Postgres (a SQLAlchemy
	// driver suffix such as +asyncpg removed) and a file path for SQLite.
	// An empty DATABASE_URL gives SQLite at DataDir/ymera.db.
	DSN         string
	PoolSize    int           // DB_POOL_SIZE
	MaxOverflow int           // DB_MAX_OVERFLOW, connections allowed above PoolSize
	PoolTimeout time.Duration // DB_POOL_TIMEOUT, wait for a free connection
	PoolRecycle time.Duration // DB_POOL_RECYCLE, maximum connection lifetime; 0 = unlimited
	Echo        bool          // DB_ECHO, log SQL statements
}

// JWTConfig configures the tokens the gateway issues and accepts.
type JWTConfig struct {
	// SecretKey signs HS256 tokens (JWT_SECRET_KEY). Empty means main
	// generates one and keeps it in DataDir, so tokens survive restarts.
	SecretKey      string
	Algorithm      string        // JWT_ALGORITHM, "HS256" or "RS256"
	PrivateKeyFile string        // JWT_PRIVATE_KEY_FILE, PEM, RS256 only
	PublicKeyFile  string        // JWT_PUBLIC_KEY_FILE, PEM, RS256 only
	Expiry         time.Duration // JWT_EXPIRE_MINUTES
	Issuer         string        // JWT_ISSUER
	Audience       string        // JWT_AUDIENCE
}

// AdminConfig names an administrator created at start; both fields are set
// or both are empty.
type AdminConfig struct {
	Username string // ADMIN_USERNAME
	Password string // ADMIN_PASSWORD
}

// AgentConfig configures how agents are run and called.
type AgentConfig struct {
	RequestTimeout time.Duration // AGENT_REQUEST_TIMEOUT, one call to an agent
	// MaxAttempts is the default number of attempts for a task, the first
	// one included (AGENT_MAX_RETRIES, named so in the seed).
	MaxAttempts             int
	RetryBackoff            float64       // AGENT_RETRY_BACKOFF, base of the exponential backoff
	CircuitBreakerThreshold int           // AGENT_CIRCUIT_BREAKER_THRESHOLD, failures before opening
	CircuitBreakerTimeout   time.Duration // AGENT_CIRCUIT_BREAKER_TIMEOUT, open time before a trial
	TaskTimeout             time.Duration // AGENT_TASK_TIMEOUT
	HeartbeatInterval       time.Duration // AGENT_HEARTBEAT_INTERVAL
	AckWait                 time.Duration // AGENT_ACK_WAIT, JetStream redelivery after silence
	MaxDeliver              int           // AGENT_MAX_DELIVER, JetStream deliveries per message
	RecordStartAfter        time.Duration // AGENT_RECORD_START_AFTER, 0: every start recorded first
	Workers                 int           // AGENT_WORKERS, actors per built-in agent kind
	Kinds                   []string      // AGENT_KINDS, built-in kinds run by this process
	// NodeName (NODE_NAME) names this node in its built-in agents' ids; empty
	// means the host name. Two nodes on one host need distinct names.
	NodeName string
}

// QualityConfig configures quality verification of agent output.
type QualityConfig struct {
	Threshold            float64 // QUALITY_THRESHOLD, minimum score 0..100
	CoverageMin          float64 // CODE_COVERAGE_MIN, percent
	Weights              QualityWeights
	SecurityScan         bool // SECURITY_SCAN_ENABLED
	PerformanceBenchmark bool // PERFORMANCE_BENCHMARK_ENABLED
	DocumentationCheck   bool // DOCUMENTATION_CHECK_ENABLED
}

// QualityWeights weigh the parts of a quality score; they sum to 1.
type QualityWeights struct {
	Code          float64 // QUALITY_CODE_WEIGHT
	Security      float64 // QUALITY_SECURITY_WEIGHT
	Performance   float64 // QUALITY_PERFORMANCE_WEIGHT
	Documentation float64 // QUALITY_DOCUMENTATION_WEIGHT
}

// StorageConfig configures where uploaded files are kept.
type StorageConfig struct {
	Backend          string        // STORAGE_BACKEND, "local", "s3" or "nats"
	Path             string        // STORAGE_PATH, local backend; "" gives DataDir/files
	MaxUploadBytes   int64         // MAX_UPLOAD_SIZE_MB
	Versioning       bool          // FILE_VERSIONING_ENABLED
	VersionRetention time.Duration // FILE_VERSION_RETENTION_DAYS
	S3               S3Config
}

// S3Config configures the s3 storage backend.
type S3Config struct {
	AccessKeyID     string // AWS_ACCESS_KEY_ID; empty uses the SDK's default chain
	SecretAccessKey string // AWS_SECRET_ACCESS_KEY
	Region          string // AWS_REGION
	Bucket          string // S3_BUCKET, required by the s3 backend
	Endpoint        string // S3_ENDPOINT, for S3-compatible servers; "" = AWS
}

// LogConfig configures the process logger.
type LogConfig struct {
	Level  slog.Level // LOG_LEVEL
	Format string     // LOG_FORMAT, "json" or "text"
	File   string     // LOG_FILE; "" = stderr
}

// OTelConfig configures OpenTelemetry export.
type OTelConfig struct {
	Endpoint    string // OTEL_EXPORTER_OTLP_ENDPOINT; "" = no export
	ServiceName string // OTEL_SERVICE_NAME
}

// envFileFlag and envFileVar name the .env file. They are not rows of the
// table because the file cannot name itself.
const (
	envFileFlag    = "env-file"
	envFileVar     = "ENV_FILE"
	defaultEnvFile = "./.env"
)

// redisWarning is recorded when the seed's REDIS_URL is set: it used to
// configure the queue and cache that JetStream and NATS KV now provide, so
// an old deployment file keeps working but the operator is told.
const redisWarning = "REDIS_URL is ignored: JetStream and NATS KV replace Redis"

// addConfigFlags registers one string flag per configuration variable, named
// after it (DATA_DIR → --data-dir), plus --env-file. Values are parsed by
// loadConfig, so a bad flag value gets the same message as a bad variable.
func addConfigFlags(fs *pflag.FlagSet) {
	fs.String(envFileFlag, defaultEnvFile,
		"`path` of the .env file to read; \"\" reads none ["+envFileVar+"]")
	for _, s := range configTable {
		usage := s.help + " [" + s.env + "]"
		if s.hide == hideAll {
			usage += " (prefer the environment: command lines are visible to other users)"
		}
		fs.String(s.flag(), s.def, usage)
		fs.Lookup(s.flag()).NoOptDefVal = s.noOptValue
	}
}

// loadConfig builds the Config. For each variable the first of these wins:
// a flag explicitly set on fs, the environment (a variable set to "" counts
// as set), the .env file, the default. The .env file is --env-file, else
// ENV_FILE, else ./.env, which may be missing; a file named explicitly must
// exist. fs may be nil.
//
// The first invalid value, in table order, is returned as a one-line error
// naming the variable, the value (hidden for secrets) and what was
// expected; checks across variables run after all single values are valid.
func loadConfig(fs *pflag.FlagSet, getenv func(string) (string, bool)) (Config, error) {
	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	var c Config

	file, err := readEnvFile(fs, getenv, &c)
	if err != nil {
		return Config{}, err
	}

	for _, s := range configTable {
		raw, from := s.lookup(fs, getenv, file)
		if err := s.parse(&c, raw); err != nil {
			return Config{}, &configError{
				subject:  s.assignment(raw) + from,
				expected: err.Error(),
			}
		}
	}
	if err := checkCombinations(&c); err != nil {
		return Config{}, err
	}

	// Paths under DATA_DIR are resolved here, once, so every consumer sees
	// the same location and the start-up log shows it.
	if c.DB.DSN == "" {
		c.DB.Driver, c.DB.DSN = "sqlite", filepath.Join(c.DataDir, "ymera.db")
	}
	if c.Storage.Path == "" {
		c.Storage.Path = filepath.Join(c.DataDir, "files")
	}

	if _, ok := getenv("REDIS_URL"); ok || file.has("REDIS_URL") {
		c.Warnings = append(c.Warnings, redisWarning)
	}
	if c.NATS.URL != "" && (c.NATS.Listen != "" || c.NATS.ConfigFile != "") {
		c.Warnings = append(c.Warnings,
			"NATS_LISTEN and NATS_CONFIG are ignored: they configure the embedded server, and NATS_URL names an external one")
	}
	return c, nil
}

// configError is a configuration problem that stops start-up. Its message
// is one line: "config: NAME=\"value\": expected ...".
type configError struct {
	subject  string // the variables involved, with their values
	expected string // completes "expected ..."
}

func (e *configError) Error() string {
	return "config: " + e.subject + ": expected " + e.expected
}

// Redacted returns every variable's effective value keyed by its name,
// secrets replaced by "(hidden)" and passwords removed from URLs, for
// logging the configuration at start.
func (c Config) Redacted() map[string]string {
	m := make(map[string]string, len(configTable))
	for _, s := range configTable {
		m[s.env] = s.redact(s.format(&c))
	}
	return m
}

// LogValue logs the configuration as Redacted does, in table order, so that
// passing a Config to a logger can never print a secret.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(configTable))
	for _, s := range configTable {
		attrs = append(attrs, slog.String(s.env, s.redact(s.format(&c))))
	}
	return slog.GroupValue(attrs...)
}

// checkAgentKinds reports the first kind in kinds that is not in known, in
// the same one-line form as loadConfig's errors. loadConfig only checks the
// spelling of AGENT_KINDS; main knows which kinds are compiled in.
func checkAgentKinds(kinds, known []string) error {
	for _, k := range kinds {
		if !slices.Contains(known, k) {
			return &configError{
				subject:  fmt.Sprintf("AGENT_KINDS=%q", strings.Join(kinds, ",")),
				expected: fmt.Sprintf("built-in kinds among %s; %q is not one", strings.Join(known, ", "), k),
			}
		}
	}
	return nil
}

// checkCombinations runs the checks that involve several variables, in the
// table order of their first variable.
func checkCombinations(c *Config) error {
	cross := func(expected string, vars ...string) error {
		parts := make([]string, len(vars))
		for i, v := range vars {
			parts[i] = assignmentOf(c, v)
		}
		return &configError{subject: strings.Join(parts, ", "), expected: expected}
	}

	if (c.NATS.TLSCertFile == "") != (c.NATS.TLSKeyFile == "") {
		return cross("both or neither: a client certificate needs its key", "NATS_TLS_CERT", "NATS_TLS_KEY")
	}
	if c.JWT.Algorithm == "RS256" && (c.JWT.PrivateKeyFile == "" || c.JWT.PublicKeyFile == "") {
		return cross("both key files for RS256", "JWT_ALGORITHM", "JWT_PRIVATE_KEY_FILE", "JWT_PUBLIC_KEY_FILE")
	}
	if (c.Admin.Username == "") != (c.Admin.Password == "") {
		return cross("both or neither", "ADMIN_USERNAME", "ADMIN_PASSWORD")
	}
	w := c.Quality.Weights
	if sum := w.Code + w.Security + w.Performance + w.Documentation; math.Abs(sum-1) > 1e-9 {
		return cross("weights summing to 1.0, they sum to "+strconv.FormatFloat(sum, 'g', 10, 64),
			"QUALITY_CODE_WEIGHT", "QUALITY_SECURITY_WEIGHT", "QUALITY_PERFORMANCE_WEIGHT", "QUALITY_DOCUMENTATION_WEIGHT")
	}
	if c.NATS.EventsReplicas > c.NATS.StreamReplicas {
		return cross("no more event stream replicas than stream replicas", "YMERA_EVENTS_REPLICAS", "YMERA_STREAM_REPLICAS")
	}
	if c.Storage.Backend == "s3" && c.Storage.S3.Bucket == "" {
		return cross("S3_BUCKET to be set for the s3 backend", "STORAGE_BACKEND", "S3_BUCKET")
	}
	return nil
}
