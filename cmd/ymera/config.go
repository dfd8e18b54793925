package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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
	StreamReplicas int    // YMERA_STREAM_REPLICAS, 1..5
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
	Workers                 int           // AGENT_WORKERS, actors per built-in agent kind
	Kinds                   []string      // AGENT_KINDS, built-in kinds run by this process
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
	if c.Storage.Backend == "s3" && c.Storage.S3.Bucket == "" {
		return cross("S3_BUCKET to be set for the s3 backend", "STORAGE_BACKEND", "S3_BUCKET")
	}
	return nil
}

// envFile is what was read from the .env file.
type envFile struct {
	path   string
	values map[string]envEntry
}

func (f envFile) has(key string) bool {
	_, ok := f.values[key]
	return ok
}

// readEnvFile finds, reads and parses the .env file, records its path in
// c.EnvFile and warns in c.Warnings about keys that are repeated or that no
// variable has, which are usually typos.
func readEnvFile(fs *pflag.FlagSet, getenv func(string) (string, bool), c *Config) (envFile, error) {
	path, origin, explicit := defaultEnvFile, "", false
	if f := lookupFlag(fs, envFileFlag); f != nil && f.Changed {
		path, origin, explicit = f.Value.String(), "--"+envFileFlag, true
	} else if v, ok := getenv(envFileVar); ok {
		path, origin, explicit = v, envFileVar, true
	}
	if path == "" {
		return envFile{}, nil // explicitly switched off
	}

	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return envFile{}, nil
	}
	if err != nil {
		return envFile{}, &configError{
			subject:  fmt.Sprintf("%s=%q", origin, path),
			expected: "a readable .env file (" + err.Error() + ")",
		}
	}
	entries, err := parseDotenv(string(data))
	if err != nil {
		return envFile{}, fmt.Errorf("config: .env file %q: %w", path, err)
	}

	f := envFile{path: path, values: make(map[string]envEntry, len(entries))}
	for _, e := range entries {
		switch prev, dup := f.values[e.key]; {
		case dup:
			c.Warnings = append(c.Warnings, fmt.Sprintf(
				"%s line %d: %s is set again (first on line %d); the last value wins", path, e.line, e.key, prev.line))
		case e.key == "REDIS_URL":
			// Warned about once, with the environment, in loadConfig.
		case e.key == envFileVar:
			c.Warnings = append(c.Warnings, fmt.Sprintf(
				"%s line %d: %s is ignored in a .env file; set it in the environment or use --%s", path, e.line, e.key, envFileFlag))
		case settingNamed(e.key) == nil:
			msg := fmt.Sprintf("%s line %d: unknown variable %s is ignored", path, e.line, e.key)
			if near := closestName(e.key); near != "" {
				msg += "; did you mean " + near + "?"
			}
			c.Warnings = append(c.Warnings, msg)
		}
		f.values[e.key] = e
	}
	c.EnvFile = path
	return f, nil
}

// lookupFlag is fs.Lookup that tolerates a nil FlagSet.
func lookupFlag(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil {
		return nil
	}
	return fs.Lookup(name)
}

// closestName returns the variable whose name is within two edits of key,
// or "" if there is none.
func closestName(key string) string {
	best, bestDist := "", 3
	for _, s := range configTable {
		if d := editDistance(key, s.env); d < bestDist {
			best, bestDist = s.env, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

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
		setting{env: "YMERA_STREAM_REPLICAS", def: "1",
			help:  "Replicas of each JetStream stream and KV bucket; more than 1 needs a NATS cluster.",
			field: intField(func(c *Config) *int { return &c.NATS.StreamReplicas }, 1, 5)},
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
		setting{env: "AGENT_MAX_DELIVER", def: "5",
			help:  "Deliveries of a task message before JetStream stops redelivering it.",
			field: intField(func(c *Config) *int { return &c.Agent.MaxDeliver }, 2, math.MaxInt)},
		setting{env: "AGENT_WORKERS", def: "4",
			help:  "Actors run for each built-in agent kind.",
			field: intField(func(c *Config) *int { return &c.Agent.Workers }, 1, 1024)},
		setting{env: "AGENT_KINDS", def: "security,documentation",
			help:  "Built-in agent kinds run by this process, comma-separated; empty runs none.",
			field: kindsField()},
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

// typedField parses a field of type T with parse and formats it with format.
func typedField[T any](p func(*Config) *T, parse func(string) (T, error), format func(T) string) field {
	return field{
		parse: func(c *Config, s string) error {
			v, err := parse(s)
			if err != nil {
				return err
			}
			*p(c) = v
			return nil
		},
		format: func(c *Config) string { return format(*p(c)) },
	}
}

// stringField stores the value as given once check, if any, accepts it.
func stringField(p func(*Config) *string, check func(string) error) field {
	return typedField(p, func(s string) (string, error) {
		if check != nil {
			if err := check(s); err != nil {
				return "", err
			}
		}
		return s, nil
	}, func(s string) string { return s })
}

// intField accepts a whole number from lo to hi.
func intField(p func(*Config) *int, lo, hi int) field {
	return typedField(p, func(s string) (int, error) {
		return parseWhole(s, "", lo, hi)
	}, strconv.Itoa)
}

// unitsField accepts a whole number of units (minutes, days) from lo to hi
// and stores it as a duration, so that no consumer multiplies by hand.
func unitsField(p func(*Config) *time.Duration, unit time.Duration, unitName string, lo, hi int) field {
	return typedField(p, func(s string) (time.Duration, error) {
		n, err := parseWhole(s, " of "+unitName, lo, hi)
		return time.Duration(n) * unit, err
	}, func(d time.Duration) string { return strconv.FormatInt(int64(d/unit), 10) })
}

// megabytesField accepts a whole number of megabytes and stores bytes.
func megabytesField(p func(*Config) *int64) field {
	return typedField(p, func(s string) (int64, error) {
		n, err := parseWhole(s, " of megabytes", 1, 1<<20)
		return int64(n) << 20, err
	}, func(b int64) string { return strconv.FormatInt(b>>20, 10) })
}

func parseWhole(s, unit string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < lo || n > hi {
		bounds := fmt.Sprintf("from %d to %d", lo, hi)
		if hi == math.MaxInt {
			bounds = fmt.Sprintf("≥ %d", lo)
		}
		return 0, fmt.Errorf("a whole number%s %s", unit, bounds)
	}
	return n, nil
}

// floatField accepts a number from lo to hi.
func floatField(p func(*Config) *float64, lo, hi float64) field {
	return typedField(p, func(s string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || v < lo || v > hi {
			return 0, fmt.Errorf("a number from %g to %g", lo, hi)
		}
		return v, nil
	}, formatFloat)
}

// backoffField accepts a backoff base: above 1, or delays would not grow.
func backoffField(p func(*Config) *float64) field {
	return typedField(p, func(s string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 1 {
			return 0, errors.New("a number > 1")
		}
		return v, nil
	}, formatFloat)
}

// formatFloat writes whole numbers with one decimal (85.0) so they read as
// the seed writes them, and others in their shortest form (0.35).
func formatFloat(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// durationField accepts a Go duration (30s, 1m30s) or a bare number of
// seconds, as the seed writes them. Zero is refused unless allowZero:
// for most of these a zero would mean "time out at once".
func durationField(p func(*Config) *time.Duration, allowZero bool) field {
	expected := "a duration > 0 such as 30 (seconds), 30s or 1m"
	if allowZero {
		expected = "a duration ≥ 0 such as 30 (seconds), 30s or 1m"
	}
	return typedField(p, func(s string) (time.Duration, error) {
		d, ok := parseDuration(s)
		if !ok || d < 0 || (d == 0 && !allowZero) {
			return 0, errors.New(expected)
		}
		return d, nil
	}, formatDuration)
}

func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(secs) || math.Abs(secs) > float64(math.MaxInt64)/float64(time.Second) {
			return 0, false
		}
		return time.Duration(math.Round(secs * float64(time.Second))), true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// formatDuration writes round durations in their largest unit (1h, not
// 1h0m0s) so that the start-up log and .env.example read naturally.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// boolField accepts true/false, yes/no and 1/0 in any case.
func boolField(p func(*Config) *bool) field {
	f := typedField(p, func(s string) (bool, error) {
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "yes", "1":
			return true, nil
		case "false", "no", "0":
			return false, nil
		}
		return false, errors.New("true or false (or yes/no, 1/0)")
	}, strconv.FormatBool)
	f.noOptValue = "true"
	return f
}

// choiceField accepts one of choices in any case and stores it spelled as
// in choices, so consumers compare against one spelling.
func choiceField(p func(*Config) *string, choices ...string) field {
	return stringFieldMapped(p, func(s string) (string, error) {
		for _, ch := range choices {
			if strings.EqualFold(strings.TrimSpace(s), ch) {
				return ch, nil
			}
		}
		return "", errors.New("one of " + strings.Join(choices, ", "))
	})
}

func stringFieldMapped(p func(*Config) *string, parse func(string) (string, error)) field {
	return typedField(p, parse, func(s string) string { return s })
}

// logLevelField accepts the seed's level names, WARNING included.
func logLevelField() field {
	return typedField(func(c *Config) *slog.Level { return &c.Log.Level }, func(s string) (slog.Level, error) {
		switch strings.ToUpper(strings.TrimSpace(s)) {
		case "DEBUG":
			return slog.LevelDebug, nil
		case "INFO":
			return slog.LevelInfo, nil
		case "WARNING", "WARN":
			return slog.LevelWarn, nil
		case "ERROR":
			return slog.LevelError, nil
		}
		return 0, errors.New("DEBUG, INFO, WARNING, WARN or ERROR")
	}, slog.Level.String)
}

// databaseField reads DATABASE_URL into DB.Driver and DB.DSN. An empty
// value is left empty here and becomes SQLite under DATA_DIR in loadConfig.
func databaseField() field {
	return field{
		parse: func(c *Config, s string) error {
			driver, dsn, err := parseDatabaseURL(s)
			if err != nil {
				return err
			}
			c.DB.Driver, c.DB.DSN = driver, dsn
			return nil
		},
		format: func(c *Config) string { return c.DB.DSN },
	}
}

// parseDatabaseURL accepts the seed's SQLAlchemy URLs: a +driver suffix
// (postgresql+asyncpg) only chose a Python driver and is dropped, and
// sqlite:///rel/path and sqlite:////abs/path follow SQLAlchemy's slashes.
func parseDatabaseURL(s string) (driver, dsn string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", nil
	}
	scheme, rest, isURL := strings.Cut(s, "://")
	if !isURL {
		// A libpq "host=... dbname=..." string would otherwise be taken
		// for an odd file name and create an empty SQLite database.
		if strings.Contains(s, "=") && strings.ContainsAny(s, " \t") {
			return "", "", errors.New("a URL such as postgres://user:pass@host:5432/db, not a key=value connection string")
		}
		return "sqlite", s, nil
	}
	base, _, _ := strings.Cut(strings.ToLower(scheme), "+")
	switch base {
	case "postgres", "postgresql":
		dsn = base + "://" + rest
		if _, err := url.Parse(dsn); err != nil {
			return "", "", errors.New("a valid URL such as postgres://user:pass@host:5432/db")
		}
		return "postgres", dsn, nil
	case "sqlite":
		path, ok := strings.CutPrefix(rest, "/")
		if !ok || path == "" {
			return "", "", errors.New("sqlite:///relative/path or sqlite:////absolute/path")
		}
		return "sqlite", path, nil
	}
	return "", "", errors.New("postgres://, postgresql:// (a +asyncpg suffix is fine), sqlite:///path or a file path")
}

// originsField reads CORS_ORIGINS, written as the seed's JSON array or as
// a comma-separated list.
func originsField() field {
	return typedField(func(c *Config) *[]string { return &c.HTTP.CORSOrigins }, parseOrigins,
		func(origins []string) string {
			b, _ := json.Marshal(append([]string{}, origins...)) // [] rather than null
			return string(b)
		})
}

// parseOrigins returns the origins as browsers send them in the Origin
// header (scheme://host[:port], lower case, no trailing slash), so the
// gateway can compare strings. "*" must stand alone: mixed with names it
// would silently allow everything.
func parseOrigins(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	var items []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			return nil, errors.New(`a JSON array of strings such as ["http://localhost:3000"] or a comma-separated list`)
		}
	} else {
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
	}
	var origins []string
	for _, it := range items {
		it = strings.TrimSpace(it)
		if it == "*" {
			if len(items) > 1 {
				return nil, errors.New("* alone, not mixed with other origins")
			}
			origins = append(origins, it)
			continue
		}
		u, err := url.Parse(it)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, fmt.Errorf("origins such as http://localhost:3000 (scheme://host[:port], nothing after); %q is not one", it)
		}
		origins = append(origins, u.Scheme+"://"+strings.ToLower(u.Host))
	}
	return origins, nil
}

// kindToken is what an agent kind may be called: it becomes a NATS subject
// token and a stream name part, so no dots, wildcards or spaces.
var kindToken = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// kindsField reads AGENT_KINDS. Whether each kind exists is checked by main
// with checkAgentKinds, which knows what is compiled in.
func kindsField() field {
	return typedField(func(c *Config) *[]string { return &c.Agent.Kinds }, func(s string) ([]string, error) {
		var kinds []string
		for _, k := range strings.Split(s, ",") {
			k = strings.ToLower(strings.TrimSpace(k))
			switch {
			case k == "":
				continue
			case !kindToken.MatchString(k):
				return nil, fmt.Errorf("comma-separated kind names of lowercase letters, digits, - and _; %q is not one", k)
			case slices.Contains(kinds, k):
				return nil, fmt.Errorf("each kind once; %q is repeated", k)
			}
			kinds = append(kinds, k)
		}
		return kinds, nil
	}, func(kinds []string) string { return strings.Join(kinds, ",") })
}

// optional lets an empty value through check.
func optional(check func(string) error) func(string) error {
	return func(s string) error {
		if s == "" {
			return nil
		}
		return check(s)
	}
}

func checkNonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("a non-empty value")
	}
	return nil
}

// checkHostPort accepts what net.Listen accepts for TCP: an optional host
// and a numeric port (0 picks a free one).
func checkHostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return errors.New("host:port such as :8000 or 127.0.0.1:8000")
	}
	return nil
}

// checkHTTPURL accepts an absolute http or https URL.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("an http:// or https:// URL with a host")
	}
	return nil
}

// checkNATSURLs accepts what nats.Connect accepts: comma-separated server
// URLs. Empty selects the embedded server.
func checkNATSURLs(s string) error {
	if s == "" {
		return nil
	}
	for _, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Host == "" || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
			return errors.New("nats://, tls://, ws:// or wss:// URLs with a host, comma-separated, or empty for the embedded server")
		}
	}
	return nil
}

func checkJWTSecret(s string) error {
	if s != "" && len(s) < 32 {
		return errors.New("at least 32 bytes, or empty to generate a key")
	}
	return nil
}

// checkNotASeed refuses a seed pasted where its file belongs: the seed is a
// private key, and looksLikeNKeySeed keeps it out of the error message.
func checkNotASeed(s string) error {
	if looksLikeNKeySeed(s) {
		return errors.New("the path of a file holding the seed, not the seed itself")
	}
	return nil
}

// looksLikeNKeySeed reports whether s has the shape of an NKey seed: 58
// base32 characters starting with S.
func looksLikeNKeySeed(s string) bool {
	if len(s) != 58 || s[0] != 'S' {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '2' || r > '7') {
			return false
		}
	}
	return true
}

// envEntry is one KEY=VALUE assignment of a .env file.
type envEntry struct {
	key, value string
	line       int // where the assignment starts, for messages
}

// parseDotenv reads the .env format as docker compose and godotenv write
// it: KEY=VALUE lines, blank lines and # comments, an optional "export "
// prefix, values unquoted (a # after a space starts a comment), 'single
// quoted' (literal) or "double quoted" (\n, \r, \t, \" and \\ escapes);
// quoted values may span lines. Nothing is interpolated: $HOME stays
// $HOME, because a configuration file that reads the environment would
// undo the precedence of the environment over the file.
func parseDotenv(src string) ([]envEntry, error) {
	src = strings.TrimPrefix(src, "\ufeff")
	src = strings.ReplaceAll(src, "\r\n", "\n")
	var entries []envEntry
	line := 0
	for src != "" {
		line++
		var text string
		var more bool
		text, src, more = strings.Cut(src, "\n")
		text = strings.TrimLeft(text, " \t")
		if text == "" || text[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(text, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			text = strings.TrimLeft(rest, " \t")
		}
		key, val, ok := strings.Cut(text, "=")
		key = strings.TrimRight(key, " \t")
		if !ok || !validEnvKey(key) {
			return nil, fmt.Errorf("line %d: expected KEY=VALUE, KEY made of letters, digits and _", line)
		}
		e := envEntry{key: key, line: line}

		rest := strings.TrimLeft(val, " \t")
		if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
			e.value = strings.Trim(stripComment(val), " \t")
			entries = append(entries, e)
			continue
		}

		// A quoted value may run over several lines: scan the rest of the
		// file, then resume after the line holding the closing quote.
		body := rest[1:]
		if more {
			body += "\n" + src
		}
		value, n, closed := unquote(body, rest[0])
		if !closed {
			return nil, fmt.Errorf("line %d: %s: missing closing %c", e.line, key, rest[0])
		}
		line += strings.Count(body[:n], "\n")
		tail, after, _ := strings.Cut(body[n:], "\n")
		if t := strings.TrimLeft(tail, " \t"); t != "" && t[0] != '#' {
			return nil, fmt.Errorf("line %d: %s: unexpected %q after the closing quote", line, key, t)
		}
		e.value, src = value, after
		entries = append(entries, e)
	}
	return entries, nil
}

// validEnvKey reports whether k is a shell-style variable name.
func validEnvKey(k string) bool {
	if k == "" || (k[0] >= '0' && k[0] <= '9') {
		return false
	}
	for _, r := range k {
		if r != '_' && (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// stripComment cuts an unquoted value at a # that follows a space or tab;
// a # right after = or inside a word (#fff, a#b) is part of the value.
func stripComment(v string) string {
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			return v[:i]
		}
	}
	return v
}

// unquote reads a quoted value up to its closing quote q. It returns the
// value, the length of s consumed (closing quote included) and whether the
// quote was closed. Unknown escapes in double quotes are kept as written,
// so a Windows path or a regular expression survives.
func unquote(s string, q byte) (value string, n int, closed bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, true
		case c == '\\' && q == '"' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", len(s), false
}

// envExample renders .env.example from the table: every variable under its
// section, with its meaning, commented out at its default so that a copy
// changes nothing until a line is uncommented.
func envExample() string {
	var b strings.Builder
	b.WriteString(`# YMERA configuration: every variable with its default.
#
# Generated from cmd/ymera/config.go; do not edit by hand. Regenerate with
#   go test ./cmd/ymera -run TestEnvExample -update
#
# Copy to .env and uncomment what you change. Each variable can also be set
# in the environment or with a flag named after it (DATA_DIR → --data-dir).
# Flags win over the environment, the environment over this file, this
# file over the defaults. ymera reads ./.env unless --env-file or ENV_FILE
# names another file ("" reads none).
#
# Durations take a number of seconds (30) or a Go duration (30s, 1m, 1h).
# Booleans take true/false, yes/no or 1/0.
`)
	section := ""
	for _, s := range configTable {
		if s.section != section {
			section = s.section
			fmt.Fprintf(&b, "\n# ---- %s ----\n", section)
		}
		fmt.Fprintf(&b, "\n# %s\n# %s=%s\n", s.help, s.env, quoteEnvValue(s.def))
	}
	return b.String()
}

// quoteEnvValue writes v so that parseDotenv, docker compose and a POSIX
// shell all read it back unchanged.
func quoteEnvValue(v string) string {
	plain := true
	for _, r := range v {
		if !strings.ContainsRune("_-.,:/@+%", r) && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			plain = false
			break
		}
	}
	switch {
	case plain:
		return v
	case !strings.ContainsAny(v, "'\n"):
		return "'" + v + "'"
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}
