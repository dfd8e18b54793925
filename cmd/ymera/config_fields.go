package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
	if allowZero {
		return checkedDurationField(p, "a duration ≥ 0 such as 30 (seconds), 30s or 1m",
			func(d time.Duration) bool { return d >= 0 })
	}
	return checkedDurationField(p, "a duration > 0 such as 30 (seconds), 30s or 1m",
		func(d time.Duration) bool { return d > 0 })
}

// minDurationField accepts a duration of at least lo.
func minDurationField(p func(*Config) *time.Duration, lo time.Duration) field {
	return checkedDurationField(p, "a duration ≥ "+formatDuration(lo)+" such as 30 (seconds), 30s or 2m",
		func(d time.Duration) bool { return d >= lo })
}

// checkedDurationField accepts a duration that valid accepts; expected
// says which in the error.
func checkedDurationField(p func(*Config) *time.Duration, expected string, valid func(time.Duration) bool) field {
	return typedField(p, func(s string) (time.Duration, error) {
		d, ok := parseDuration(s)
		if !ok || !valid(d) {
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
