package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"

	"github.com/nats-io/nats-server/v2/server"
	"gopkg.in/yaml.v3"
)

// The ymera image and the ports the code and the deployment files share.
const (
	ymeraImage = "ymera:latest"
	httpPort   = 8000 // HTTP_ADDR's default
	natsClient = 4222
	natsRoute  = 6222
	natsHTTP   = 8222
	pgPort     = 5432
)

// codeFacts is what the deployment files must agree with, read from the
// repository rather than restated here.
type codeFacts struct {
	vars       map[string]string // .env.example: variable → default
	goMinor    string            // "1.26", from go.mod's go line
	natsMinor  string            // "2.15", from go.mod's nats-server
	dockerfile string
}

func readFacts(t *testing.T) codeFacts {
	t.Helper()
	f := codeFacts{vars: map[string]string{}}
	// .env.example is generated from the configuration table (a test in
	// cmd/ymera keeps it so): every variable as "# NAME=default".
	line := regexp.MustCompile(`^# ([A-Z][A-Z0-9_]*)=(.*)$`)
	sc := bufio.NewScanner(bytes.NewReader(read(t, "../.env.example")))
	for sc.Scan() {
		if m := line.FindStringSubmatch(sc.Text()); m != nil {
			f.vars[m[1]] = m[2]
		}
	}
	if len(f.vars) < 20 {
		t.Fatalf(".env.example: found %d variables, expected the whole table", len(f.vars))
	}
	mod := string(read(t, "../go.mod"))
	if m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(mod); m != nil {
		f.goMinor = m[1]
	}
	if m := regexp.MustCompile(`github\.com/nats-io/nats-server/v2 v(\d+\.\d+)\.`).FindStringSubmatch(mod); m != nil {
		f.natsMinor = m[1]
	}
	if f.goMinor == "" || f.natsMinor == "" {
		t.Fatalf("go.mod: go %q, nats-server %q", f.goMinor, f.natsMinor)
	}
	f.dockerfile = string(read(t, "Dockerfile"))
	return f
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEnvExampleHTTPPort pins the port every file below uses to the code's
// default listen address.
func TestEnvExampleHTTPPort(t *testing.T) {
	f := readFacts(t)
	if got, want := f.vars["HTTP_ADDR"], fmt.Sprintf(":%d", httpPort); got != want {
		t.Fatalf("HTTP_ADDR defaults to %q in .env.example, deploy files use %q", got, want)
	}
}

// TestDockerfile checks the image builds the binary with go.mod's Go, runs
// as a non-root user and exposes the gateway's port.
func TestDockerfile(t *testing.T) {
	f := readFacts(t)
	d := f.dockerfile
	if want := "FROM golang:" + f.goMinor + "-"; !strings.Contains(d, want) {
		t.Errorf("Dockerfile: no %q stage (go.mod says go %s)", want, f.goMinor)
	}
	if !strings.Contains(d, "go build") || !strings.Contains(d, "./cmd/ymera") {
		t.Error("Dockerfile does not go build ./cmd/ymera")
	}
	if !regexp.MustCompile(fmt.Sprintf(`(?m)^EXPOSE %d$`, httpPort)).MatchString(d) {
		t.Errorf("Dockerfile does not EXPOSE %d", httpPort)
	}
	users := regexp.MustCompile(`(?m)^USER (\S+)$`).FindAllStringSubmatch(d, -1)
	if len(users) == 0 {
		t.Fatal("Dockerfile sets no USER: the image would run as root")
	}
	if u := users[len(users)-1][1]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("Dockerfile runs as %s", u)
	}
	if !strings.Contains(d, "/health/ready") {
		t.Error("Dockerfile HEALTHCHECK does not probe /health/ready")
	}
}

// checkVars reports every variable a ymera container is given that the
// code does not read.
func checkVars(t *testing.T, f codeFacts, where string, names []string) {
	t.Helper()
	for _, n := range names {
		if _, ok := f.vars[n]; !ok {
			t.Errorf("%s sets %s, which is not in .env.example (the configuration table)", where, n)
		}
	}
}

func natsConfig(t *testing.T, path string) *server.Options {
	t.Helper()
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return opts
}

// yamlMap walks nested maps by key; nil when a key is missing.
func yamlMap(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

func strList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, str(x))
		}
	}
	return out
}

func sortedKeys(v any) []string {
	m, _ := v.(map[string]any)
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// helmFuncs are the few Helm functions the chart's templates use, with
// Helm's meaning, so the test renders the templates as Helm would.
func helmFuncs(tmpl **template.Template) template.FuncMap {
	return template.FuncMap{
		"include": func(name string, data any) (string, error) {
			var b strings.Builder
			err := (*tmpl).ExecuteTemplate(&b, name, data)
			return b.String(), err
		},
		"quote": func(v any) string { return strconv.Quote(str(v)) },
		"default": func(def, v any) any {
			if str(v) == "" {
				return def
			}
			return v
		},
		"b64enc": func(v any) string { return base64.StdEncoding.EncodeToString([]byte(str(v))) },
		"nindent": func(n int, s string) string {
			pad := strings.Repeat(" ", n)
			return "\n" + pad + strings.ReplaceAll(s, "\n", "\n"+pad)
		},
		"toYaml": func(v any) (string, error) {
			b, err := yaml.Marshal(v)
			return strings.TrimSuffix(string(b), "\n"), err
		},
	}
}
