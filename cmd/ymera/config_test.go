package main

import (
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite .env.example from envExample()")

// envOf turns a map into the getenv that loadConfig takes.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// load runs loadConfig as main does: flags registered, then parsed from args.
// Tests that do not test the .env file pass ENV_FILE="" so a developer's own
// .env cannot change their outcome.
func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse flags %q: %v", args, err)
	}
	return loadConfig(fs, envOf(env))
}

// writeFile writes a file in a fresh temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigDefaults also proves that a missing ./.env is not an error:
// it runs in an empty directory.
func TestConfigDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	got, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DataDir: "./data",
		HTTP: HTTPConfig{
			Addr:        ":8000",
			CORSOrigins: []string{"http://localhost:3000"},
			RateLimit:   RateLimitConfig{Enabled: true, RequestsPerMinute: 100, LoginPerMinute: 10},
		},
		NATS: NATSConfig{StreamReplicas: 1, EventsMaxAge: 24 * time.Hour, EventsMaxMessages: 1_000_000,
			DuplicateWindow: 2 * time.Minute},
		DB: DBConfig{
			Driver: "sqlite", DSN: filepath.Join("data", "ymera.db"),
			PoolSize: 20, MaxOverflow: 10, PoolTimeout: 30 * time.Second, PoolRecycle: time.Hour,
		},
		JWT: JWTConfig{Algorithm: "HS256", Expiry: time.Hour, Issuer: "ymera", Audience: "ymera-api"},
		Agent: AgentConfig{
			RequestTimeout: 30 * time.Second, MaxAttempts: 3, RetryBackoff: 2,
			CircuitBreakerThreshold: 5, CircuitBreakerTimeout: time.Minute,
			TaskTimeout: 5 * time.Minute, HeartbeatInterval: 10 * time.Second,
			AckWait: 30 * time.Second, MaxDeliver: 5, RecordStartAfter: 50 * time.Millisecond, Workers: 4,
			Kinds: []string{"security", "documentation"},
		},
		Quality: QualityConfig{
			Threshold: 85, CoverageMin: 80,
			Weights:      QualityWeights{Code: 0.35, Security: 0.3, Performance: 0.2, Documentation: 0.15},
			SecurityScan: true, PerformanceBenchmark: true, DocumentationCheck: true,
		},
		Storage: StorageConfig{
			Backend: "local", Path: filepath.Join("data", "files"), MaxUploadBytes: 100 << 20,
			Versioning: true, VersionRetention: 90 * 24 * time.Hour,
			S3: S3Config{Region: "us-east-1"},
		},
		Log:                 LogConfig{Level: slog.LevelInfo, Format: "json"},
		OTel:                OTelConfig{ServiceName: "ymera"},
		ShutdownGracePeriod: 25 * time.Second,
		MemoryLimitMB:       256,
		GCPercent:           300,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
}

// TestConfigTable checks the table itself: names that cannot collide,
// one-line help, and defaults written exactly as they are formatted back,
// which catches a default that does not mean what it says.
func TestConfigTable(t *testing.T) {
	t.Parallel()
	var c Config
	for _, s := range configTable {
		if err := s.parse(&c, s.def); err != nil {
			t.Errorf("%s: default %q: %v", s.env, s.def, err)
		}
	}
	envs, flags := map[string]bool{}, map[string]bool{envFileFlag: true}
	for _, s := range configTable {
		if envs[s.env] || flags[s.flag()] {
			t.Errorf("%s: name or flag --%s used twice", s.env, s.flag())
		}
		envs[s.env], flags[s.flag()] = true, true
		if s.help == "" || strings.Contains(s.help, "\n") || s.section == "" {
			t.Errorf("%s: needs a one-line help and a section", s.env)
		}
		if got := s.format(&c); got != s.def {
			t.Errorf("%s: default %q formats back as %q", s.env, s.def, got)
		}
	}
	if got := settingNamed("DATA_DIR").flag(); got != "data-dir" {
		t.Errorf("DATA_DIR flag = %q", got)
	}
	if got := settingNamed("YMERA_STREAM_REPLICAS").flag(); got != "stream-replicas" {
		t.Errorf("YMERA_STREAM_REPLICAS flag = %q", got)
	}
}

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	dotenv := writeFile(t, ".env", "DB_POOL_SIZE=11\n")
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"default", nil, map[string]string{"ENV_FILE": ""}, 20},
		{".env over default", nil, map[string]string{"ENV_FILE": dotenv}, 11},
		{"environment over .env", nil, map[string]string{"ENV_FILE": dotenv, "DB_POOL_SIZE": "12"}, 12},
		{"flag over environment", []string{"--db-pool-size=13"}, map[string]string{"ENV_FILE": dotenv, "DB_POOL_SIZE": "12"}, 13},
		// Set explicitly, a flag wins even when it repeats the default.
		{"flag at its default", []string{"--db-pool-size=20"}, map[string]string{"ENV_FILE": dotenv, "DB_POOL_SIZE": "12"}, 20},
		{"--env-file over ENV_FILE", []string{"--env-file=" + dotenv}, map[string]string{"ENV_FILE": "/nonexistent/.env"}, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.DB.PoolSize != tt.want {
				t.Errorf("DB.PoolSize = %d, want %d", c.DB.PoolSize, tt.want)
			}
		})
	}

	// A bare boolean flag means true, as for a bool flag.
	c, err := load(t, []string{"--db-echo"}, map[string]string{"ENV_FILE": "", "DB_ECHO": "false"})
	if err != nil || !c.DB.Echo {
		t.Errorf("--db-echo: DB.Echo = %v, %v", c.DB.Echo, err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"bad int", map[string]string{"DB_POOL_SIZE": "abc"},
			`config: DB_POOL_SIZE="abc" (from the environment): expected a whole number ≥ 1`},
		{"out of range", map[string]string{"YMERA_STREAM_REPLICAS": "7"},
			`config: YMERA_STREAM_REPLICAS="7" (from the environment): expected a whole number from 1 to 5`},
		{"duplicate window below the server's least", map[string]string{"YMERA_DUPLICATE_WINDOW": "50ms"},
			`config: YMERA_DUPLICATE_WINDOW="50ms" (from the environment): expected a duration ≥ 100ms such as 30 (seconds), 30s or 2m`},
		{"no events kept", map[string]string{"YMERA_EVENTS_MAX_MESSAGES": "0"},
			`config: YMERA_EVENTS_MAX_MESSAGES="0" (from the environment): expected a whole number ≥ 1`},
		{"out of range float", map[string]string{"QUALITY_THRESHOLD": "101"},
			`config: QUALITY_THRESHOLD="101" (from the environment): expected a number from 0 to 100`},
		{"bad duration", map[string]string{"AGENT_ACK_WAIT": "soon"},
			`config: AGENT_ACK_WAIT="soon" (from the environment): expected a duration > 0 such as 30 (seconds), 30s or 1m`},
		{"zero duration", map[string]string{"AGENT_TASK_TIMEOUT": "0"},
			`config: AGENT_TASK_TIMEOUT="0" (from the environment): expected a duration > 0 such as 30 (seconds), 30s or 1m`},
		{"bad bool", map[string]string{"DB_ECHO": "maybe"},
			`config: DB_ECHO="maybe" (from the environment): expected true or false (or yes/no, 1/0)`},
		{"backoff not growing", map[string]string{"AGENT_RETRY_BACKOFF": "1"},
			`config: AGENT_RETRY_BACKOFF="1" (from the environment): expected a number > 1`},
		{"max deliver too low", map[string]string{"AGENT_MAX_DELIVER": "1"},
			`config: AGENT_MAX_DELIVER="1" (from the environment): expected a whole number ≥ 2`},
		{"bad choice", map[string]string{"STORAGE_BACKEND": "azure"},
			`config: STORAGE_BACKEND="azure" (from the environment): expected one of local, s3, nats`},
		{"bad log level", map[string]string{"LOG_LEVEL": "verbose"},
			`config: LOG_LEVEL="verbose" (from the environment): expected DEBUG, INFO, WARNING, WARN or ERROR`},
		{"bad address", map[string]string{"HTTP_ADDR": "8000"},
			`config: HTTP_ADDR="8000" (from the environment): expected host:port such as :8000 or 127.0.0.1:8000`},
		{"short JWT secret is hidden", map[string]string{"JWT_SECRET_KEY": "hunter2"},
			`config: JWT_SECRET_KEY=(value hidden) (from the environment): expected at least 32 bytes, or empty to generate a key`},
		{"bad database scheme, password hidden", map[string]string{"DATABASE_URL": "mysql://app:s3cret@db/ymera"},
			`config: DATABASE_URL="mysql://app:xxxxx@db/ymera" (from the environment): expected postgres://, postgresql:// (a +asyncpg suffix is fine), sqlite:///path or a file path`},
		{"libpq key=value DSN", map[string]string{"DATABASE_URL": "host=db dbname=ymera"},
			`config: DATABASE_URL="host=db dbname=ymera" (from the environment): expected a URL such as postgres://user:pass@host:5432/db, not a key=value connection string`},
		{"bad NATS URL, token hidden", map[string]string{"NATS_URL": "http://t0ken@nats:4222"},
			`config: NATS_URL="http://xxxxx@nats:4222" (from the environment): expected nats://, tls://, ws:// or wss:// URLs with a host, comma-separated, or empty for the embedded server`},
		{"NKey seed instead of its file", map[string]string{"NATS_NKEY_SEED": "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY"},
			`config: NATS_NKEY_SEED=(value hidden) (from the environment): expected the path of a file holding the seed, not the seed itself`},
		{"CORS * with others", map[string]string{"CORS_ORIGINS": `["*", "http://a.example"]`},
			`config: CORS_ORIGINS="[\"*\", \"http://a.example\"]" (from the environment): expected * alone, not mixed with other origins`},
		{"CORS origin with a path", map[string]string{"CORS_ORIGINS": "http://a.example/app"},
			`config: CORS_ORIGINS="http://a.example/app" (from the environment): expected origins such as http://localhost:3000 (scheme://host[:port], nothing after); "http://a.example/app" is not one`},
		{"CORS broken JSON", map[string]string{"CORS_ORIGINS": `["http://a.example"`},
			`config: CORS_ORIGINS="[\"http://a.example\"" (from the environment): expected a JSON array of strings such as ["http://localhost:3000"] or a comma-separated list`},
		{"bad agent kind", map[string]string{"AGENT_KINDS": "security,code.review"},
			`config: AGENT_KINDS="security,code.review" (from the environment): expected comma-separated kind names of lowercase letters, digits, - and _; "code.review" is not one`},
		{"weights not summing to 1", map[string]string{"QUALITY_CODE_WEIGHT": "0.4"},
			`config: QUALITY_CODE_WEIGHT="0.4", QUALITY_SECURITY_WEIGHT="0.3", QUALITY_PERFORMANCE_WEIGHT="0.2", QUALITY_DOCUMENTATION_WEIGHT="0.15": expected weights summing to 1.0, they sum to 1.05`},
		{"RS256 without key files", map[string]string{"JWT_ALGORITHM": "rs256", "JWT_PRIVATE_KEY_FILE": "jwt.pem"},
			`config: JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY_FILE="jwt.pem", JWT_PUBLIC_KEY_FILE="": expected both key files for RS256`},
		{"admin user without password", map[string]string{"ADMIN_USERNAME": "root"},
			`config: ADMIN_USERNAME="root", ADMIN_PASSWORD="": expected both or neither`},
		{"admin password without user is hidden", map[string]string{"ADMIN_PASSWORD": "pa55word"},
			`config: ADMIN_USERNAME="", ADMIN_PASSWORD=(value hidden): expected both or neither`},
		{"NATS client cert without key", map[string]string{"NATS_TLS_CERT": "client.pem"},
			`config: NATS_TLS_CERT="client.pem", NATS_TLS_KEY="": expected both or neither: a client certificate needs its key`},
		{"more event replicas than stream replicas", map[string]string{"YMERA_EVENTS_REPLICAS": "3"},
			`config: YMERA_EVENTS_REPLICAS="3", YMERA_STREAM_REPLICAS="1": expected no more event stream replicas than stream replicas`},
		{"event replicas out of range", map[string]string{"YMERA_EVENTS_REPLICAS": "6"},
			`config: YMERA_EVENTS_REPLICAS="6" (from the environment): expected a whole number from 0 to 5`},
		{"s3 without a bucket", map[string]string{"STORAGE_BACKEND": "S3"},
			`config: STORAGE_BACKEND="s3", S3_BUCKET="": expected S3_BUCKET to be set for the s3 backend`},
		// Single values are checked before combinations, in table order.
		{"first problem in table order", map[string]string{"LOG_FORMAT": "xml", "DB_ECHO": "maybe", "ADMIN_USERNAME": "root"},
			`config: DB_ECHO="maybe" (from the environment): expected true or false (or yes/no, 1/0)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.env["ENV_FILE"] = ""
			_, err := load(t, nil, tt.env)
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			for k, v := range tt.env {
				if s := settingNamed(k); s != nil && s.hide == hideAll && strings.Contains(err.Error(), v) {
					t.Errorf("error shows the secret %s", k)
				}
			}
		})
	}
}

// TestConfigErrorSource checks that an error says where the value was set.
func TestConfigErrorSource(t *testing.T) {
	t.Parallel()
	dotenv := writeFile(t, ".env", "# pool\n\nDB_POOL_SIZE=0\n")
	_, err := load(t, nil, map[string]string{"ENV_FILE": dotenv})
	want := `config: DB_POOL_SIZE="0" (from ` + dotenv + ` line 3): expected a whole number ≥ 1`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = load(t, []string{"--agent-workers=0"}, map[string]string{"ENV_FILE": ""})
	want = `config: AGENT_WORKERS="0" (from --agent-workers): expected a whole number from 1 to 1024`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestConfigValues checks the accepted spellings and what they become.
func TestConfigValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		got  func(Config) any
		want any
	}{
		{"bare seconds", map[string]string{"AGENT_TASK_TIMEOUT": "30"}, func(c Config) any { return c.Agent.TaskTimeout }, 30 * time.Second},
		{"fractional seconds", map[string]string{"AGENT_TASK_TIMEOUT": "1.5"}, func(c Config) any { return c.Agent.TaskTimeout }, 1500 * time.Millisecond},
		{"Go duration", map[string]string{"AGENT_TASK_TIMEOUT": "1m30s"}, func(c Config) any { return c.Agent.TaskTimeout }, 90 * time.Second},
		{"zero recycle", map[string]string{"DB_POOL_RECYCLE": "0"}, func(c Config) any { return c.DB.PoolRecycle }, time.Duration(0)},
		{"bool yes", map[string]string{"DB_ECHO": "YES"}, func(c Config) any { return c.DB.Echo }, true},
		{"bool 0", map[string]string{"RATE_LIMIT_ENABLED": "0"}, func(c Config) any { return c.HTTP.RateLimit.Enabled }, false},
		{"WARNING", map[string]string{"LOG_LEVEL": "warning"}, func(c Config) any { return c.Log.Level }, slog.LevelWarn},
		{"debug", map[string]string{"LOG_LEVEL": "Debug"}, func(c Config) any { return c.Log.Level }, slog.LevelDebug},
		{"minutes", map[string]string{"JWT_EXPIRE_MINUTES": "15"}, func(c Config) any { return c.JWT.Expiry }, 15 * time.Minute},
		{"megabytes", map[string]string{"MAX_UPLOAD_SIZE_MB": "2"}, func(c Config) any { return c.Storage.MaxUploadBytes }, int64(2 << 20)},
		{"postgres", map[string]string{"DATABASE_URL": "postgres://u:p@db:5432/y"},
			func(c Config) any { return c.DB.Driver + " " + c.DB.DSN }, "postgres postgres://u:p@db:5432/y"},
		{"asyncpg suffix dropped", map[string]string{"DATABASE_URL": "postgresql+asyncpg://u:p@db/y?sslmode=disable"},
			func(c Config) any { return c.DB.Driver + " " + c.DB.DSN }, "postgres postgresql://u:p@db/y?sslmode=disable"},
		{"sqlite relative", map[string]string{"DATABASE_URL": "sqlite:///var/y.db"},
			func(c Config) any { return c.DB.Driver + " " + c.DB.DSN }, "sqlite var/y.db"},
		{"sqlite absolute", map[string]string{"DATABASE_URL": "sqlite:////var/y.db"},
			func(c Config) any { return c.DB.Driver + " " + c.DB.DSN }, "sqlite /var/y.db"},
		{"plain file path", map[string]string{"DATABASE_URL": "/srv/y.db"},
			func(c Config) any { return c.DB.Driver + " " + c.DB.DSN }, "sqlite /srv/y.db"},
		{"empty database under DATA_DIR", map[string]string{"DATA_DIR": "/srv/ymera"},
			func(c Config) any { return c.DB.Driver + " " + c.DB.DSN + " " + c.Storage.Path }, "sqlite /srv/ymera/ymera.db /srv/ymera/files"},
		{"CORS JSON", map[string]string{"CORS_ORIGINS": `["https://A.example:8443/", "http://b.example"]`},
			func(c Config) any { return c.HTTP.CORSOrigins }, []string{"https://a.example:8443", "http://b.example"}},
		{"CORS list", map[string]string{"CORS_ORIGINS": "https://a.example, http://b.example"},
			func(c Config) any { return c.HTTP.CORSOrigins }, []string{"https://a.example", "http://b.example"}},
		{"CORS any", map[string]string{"CORS_ORIGINS": "*"}, func(c Config) any { return c.HTTP.CORSOrigins }, []string{"*"}},
		{"CORS none", map[string]string{"CORS_ORIGINS": "[]"}, func(c Config) any { return c.HTTP.CORSOrigins }, []string(nil)},
		{"kinds", map[string]string{"AGENT_KINDS": " Security , documentation,"},
			func(c Config) any { return c.Agent.Kinds }, []string{"security", "documentation"}},
		{"no kinds", map[string]string{"AGENT_KINDS": ""}, func(c Config) any { return c.Agent.Kinds }, []string(nil)},
		{"choice spelled canonically", map[string]string{"LOG_FORMAT": "TEXT"}, func(c Config) any { return c.Log.Format }, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.env["ENV_FILE"] = ""
			c, err := load(t, nil, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.got(c); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestConfigEnvFileParse(t *testing.T) {
	t.Parallel()
	src := "\ufeff# a comment\r\n" +
		"\n" +
		"PLAIN=value\n" +
		"  SPACED = two words  # trailing comment\n" +
		"export EXPORTED=yes\n" +
		"HASH=#fff\n" +
		"INWORD=a#b\n" +
		"EMPTY=\n" +
		"SINGLE='literal \\n $HOME # not a comment'\n" +
		`DOUBLE="line1\nline2\t\"q\" \\ \d"` + " # comment\n" +
		"MULTI=\"first\n" +
		"second\"\n" +
		"NOINTERP=$HOME/${USER}\n" +
		"AFTER=last"
	got, err := parseDotenv(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []envEntry{
		{"PLAIN", "value", 3},
		{"SPACED", "two words", 4},
		{"EXPORTED", "yes", 5},
		{"HASH", "#fff", 6},
		{"INWORD", "a#b", 7},
		{"EMPTY", "", 8},
		{"SINGLE", `literal \n $HOME # not a comment`, 9},
		{"DOUBLE", "line1\nline2\t\"q\" \\ \\d", 10},
		{"MULTI", "first\nsecond", 11},
		{"NOINTERP", "$HOME/${USER}", 13},
		{"AFTER", "last", 14},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseDotenv:\n got %+v\nwant %+v", got, want)
	}
}

// TestEnvQuoteRoundTrip checks that what envExample writes reads back.
func TestEnvQuoteRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "plain", `["http://localhost:3000"]`, "two words", "a#b # c", "it's", "line\nnot\tescape", "multi\nline\n", `back\slash "q"`, "$HOME"} {
		got, err := parseDotenv("K=" + quoteEnvValue(v) + "\n")
		if err != nil || len(got) != 1 || got[0].value != v {
			t.Errorf("quoteEnvValue(%q) = %s reads back as %+v, %v", v, quoteEnvValue(v), got, err)
		}
	}
}

func TestConfigEnvFileParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		{"OK=1\nJUSTAWORD\n", "line 2: expected KEY=VALUE, KEY made of letters, digits and _"},
		{"BAD-KEY=1\n", "line 1: expected KEY=VALUE, KEY made of letters, digits and _"},
		{"1KEY=1\n", "line 1: expected KEY=VALUE, KEY made of letters, digits and _"},
		{"A=\"open\nstill open\n", "line 1: A: missing closing \""},
		{"A='x' y\n", "line 1: A: unexpected \"y\" after the closing quote"},
	}
	for _, tt := range tests {
		_, err := parseDotenv(tt.src)
		if err == nil || err.Error() != tt.want {
			t.Errorf("parseDotenv(%q) error = %v, want %s", tt.src, err, tt.want)
		}
	}
}

func TestConfigWarnings(t *testing.T) {
	t.Parallel()
	dotenv := writeFile(t, ".env", "REDIS_URL=redis://localhost\nDB_POOL_SZE=5\nLOG_LEVEL=debug\nLOG_LEVEL=info\nMANAGER_AGENT_URL=http://m\n")
	c, err := load(t, nil, map[string]string{"ENV_FILE": dotenv})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		dotenv + " line 2: unknown variable DB_POOL_SZE is ignored; did you mean DB_POOL_SIZE?",
		dotenv + " line 4: LOG_LEVEL is set again (first on line 3); the last value wins",
		dotenv + " line 5: unknown variable MANAGER_AGENT_URL is ignored",
		redisWarning,
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", c.Warnings, want)
	}
	if c.Log.Level != slog.LevelInfo || c.EnvFile != dotenv {
		t.Errorf("Log.Level = %v, EnvFile = %q", c.Log.Level, c.EnvFile)
	}

	// The environment is never checked for unknown names, only for REDIS_URL.
	c, err = load(t, nil, map[string]string{"ENV_FILE": "", "REDIS_URL": "redis://x", "DB_POOL_SZE": "5"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Warnings, []string{redisWarning}) {
		t.Errorf("warnings = %q, want only the REDIS_URL one", c.Warnings)
	}
}

func TestConfigEnvFileMissing(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.env")
	_, err := load(t, []string{"--env-file", missing}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), `config: --env-file="`+missing+`": expected a readable .env file (open `) {
		t.Errorf("--env-file missing: error = %v", err)
	}
	_, err = load(t, nil, map[string]string{"ENV_FILE": missing})
	if err == nil || !strings.HasPrefix(err.Error(), `config: ENV_FILE="`+missing+`": expected a readable .env file (open `) {
		t.Errorf("ENV_FILE missing: error = %v", err)
	}
	bad := writeFile(t, ".env", "OK=1\nnot an assignment\n")
	_, err = load(t, nil, map[string]string{"ENV_FILE": bad})
	if want := `config: .env file "` + bad + `": line 2: expected KEY=VALUE, KEY made of letters, digits and _`; err == nil || err.Error() != want {
		t.Errorf("malformed file: error = %v, want %s", err, want)
	}
}

func TestConfigRedacted(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil, map[string]string{
		"ENV_FILE":              "",
		"JWT_SECRET_KEY":        strings.Repeat("k", 32),
		"ADMIN_USERNAME":        "root",
		"ADMIN_PASSWORD":        "pa55word",
		"AWS_SECRET_ACCESS_KEY": "aws-s3cret",
		"DATABASE_URL":          "postgres://app:db-s3cret@db/ymera?sslmode=disable",
		"NATS_URL":              "nats://nats-t0ken@n1:4222,nats://u:nats-s3cret@n2:4222",
	})
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	for _, secret := range []string{"kkkk", "pa55word", "aws-s3cret", "db-s3cret", "nats-t0ken", "nats-s3cret"} {
		for k, v := range r {
			if strings.Contains(v, secret) {
				t.Errorf("Redacted()[%s] = %q shows a secret", k, v)
			}
		}
	}
	want := map[string]string{
		"JWT_SECRET_KEY": "(hidden)",
		"ADMIN_USERNAME": "root",
		"DATABASE_URL":   "postgres://app:xxxxx@db/ymera?sslmode=disable",
		"NATS_URL":       "nats://xxxxx@n1:4222,nats://u:xxxxx@n2:4222",
		"DB_POOL_SIZE":   "20",
		"NATS_CREDS":     "",
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("Redacted()[%s] = %q, want %q", k, r[k], v)
		}
	}
	if len(r) != len(configTable) {
		t.Errorf("Redacted() has %d keys, want %d", len(r), len(configTable))
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	if strings.Contains(b.String(), "pa55word") || !strings.Contains(b.String(), "config.DB_POOL_SIZE=20") {
		t.Errorf("logged config: %s", b.String())
	}
}

func TestConfigCheckAgentKinds(t *testing.T) {
	t.Parallel()
	known := []string{"security", "documentation"}
	if err := checkAgentKinds([]string{"documentation"}, known); err != nil {
		t.Error(err)
	}
	err := checkAgentKinds([]string{"security", "coding"}, known)
	want := `config: AGENT_KINDS="security,coding": expected built-in kinds among security, documentation; "coding" is not one`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestEnvExample fails when .env.example is not what envExample renders;
// run it with -update to rewrite the file.
func TestEnvExample(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", ".env.example")
	want := envExample()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf(".env.example is out of date; regenerate it with\n\tgo test ./cmd/ymera -run TestEnvExample -update")
	}
}

// TestEnvExampleUncommented checks that .env.example means what it says:
// with every variable uncommented it loads, without warnings, to the defaults.
func TestEnvExampleUncommented(t *testing.T) {
	t.Parallel()
	assignment := regexp.MustCompile(`(?m)^# ([A-Z][A-Z0-9_]*=)`)
	uncommented := assignment.ReplaceAllString(envExample(), "$1")
	if n := len(assignment.FindAllString(envExample(), -1)); n != len(configTable) {
		t.Fatalf(".env.example has %d assignments, the table %d variables", n, len(configTable))
	}
	fromFile, err := load(t, nil, map[string]string{"ENV_FILE": writeFile(t, ".env", uncommented)})
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := load(t, nil, map[string]string{"ENV_FILE": ""})
	if err != nil {
		t.Fatal(err)
	}
	if fromFile.Warnings != nil {
		t.Errorf("warnings: %q", fromFile.Warnings)
	}
	fromFile.EnvFile = ""
	if !reflect.DeepEqual(fromFile, defaults) {
		t.Errorf("uncommented .env.example:\n got %+v\nwant %+v", fromFile, defaults)
	}
}
