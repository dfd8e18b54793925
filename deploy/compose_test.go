package deploy_test

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestCompose parses docker-compose.yml (anchors and merge keys resolved)
// and checks it against the code: three clustered NATS servers of go.mod's
// nats-server version with JetStream, PostgreSQL 15, a gateway and two
// nodes on the ymera image, with only variables the code reads.
func TestCompose(t *testing.T) {
	f := readFacts(t)
	var doc map[string]any
	if err := yaml.Unmarshal(read(t, "docker-compose.yml"), &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	services, _ := doc["services"].(map[string]any)
	want := []string{"gateway", "nats-1", "nats-2", "nats-3", "node-1", "node-2", "postgres"}
	if got := sortedKeys(services); !slices.Equal(got, want) {
		t.Fatalf("services %v, want %v", got, want)
	}

	natsNames := []string{"nats-1", "nats-2", "nats-3"}
	serverNames := map[string]bool{}
	for _, name := range natsNames {
		svc := services[name]
		if img, want := str(yamlMap(svc, "image")), "nats:"+f.natsMinor+"-alpine"; img != want {
			t.Errorf("%s: image %q, want %q (go.mod's nats-server)", name, img, want)
		}
		conf := ""
		for _, v := range strList(yamlMap(svc, "volumes")) {
			if src, dst, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(dst, "/etc/nats/nats.conf") {
				conf = src
			}
		}
		if conf != "./nats/"+name+".conf" {
			t.Errorf("%s mounts %q as its configuration, want ./nats/%s.conf", name, conf, name)
			continue
		}
		if cmd := strings.Join(strList(yamlMap(svc, "command")), " "); cmd != "-c /etc/nats/nats.conf" {
			t.Errorf("%s: command %q does not load the mounted configuration", name, cmd)
		}
		opts := natsConfig(t, conf)
		serverNames[opts.ServerName] = true
		if opts.Port != natsClient || opts.HTTPPort != natsHTTP || opts.Cluster.Port != natsRoute {
			t.Errorf("%s: ports client %d, monitor %d, cluster %d; want %d, %d, %d",
				conf, opts.Port, opts.HTTPPort, opts.Cluster.Port, natsClient, natsHTTP, natsRoute)
		}
		if !opts.JetStream || opts.StoreDir == "" {
			t.Errorf("%s: JetStream %v with store %q", conf, opts.JetStream, opts.StoreDir)
		}
		var routes []string
		for _, r := range opts.Routes {
			routes = append(routes, r.Host)
		}
		slices.Sort(routes)
		wantRoutes := []string{}
		for _, n := range natsNames {
			wantRoutes = append(wantRoutes, fmt.Sprintf("%s:%d", n, natsRoute))
		}
		if !slices.Equal(routes, wantRoutes) {
			t.Errorf("%s: routes %v, want %v", conf, routes, wantRoutes)
		}
		if hc := strings.Join(strList(yamlMap(svc, "healthcheck", "test")), " "); !strings.Contains(hc, fmt.Sprintf(":%d/healthz", natsHTTP)) {
			t.Errorf("%s: healthcheck %q does not ask the monitoring port", name, hc)
		}
	}
	if len(serverNames) != len(natsNames) {
		t.Errorf("server names %v are not distinct", serverNames)
	}

	pg := services["postgres"]
	if img := str(yamlMap(pg, "image")); !strings.HasPrefix(img, "postgres:15") {
		t.Errorf("postgres: image %q, want PostgreSQL 15", img)
	}
	if !slices.Contains(strList(yamlMap(pg, "expose")), fmt.Sprint(pgPort)) {
		t.Errorf("postgres does not expose %d", pgPort)
	}

	roles := map[string]string{"gateway": "gateway", "node-1": "node", "node-2": "node"}
	for name, role := range roles {
		svc := services[name]
		if img := str(yamlMap(svc, "image")); img != ymeraImage {
			t.Errorf("%s: image %q, want %q", name, img, ymeraImage)
		}
		if df := str(yamlMap(svc, "build", "dockerfile")); df != "deploy/Dockerfile" {
			t.Errorf("%s: built from %q, want deploy/Dockerfile", name, df)
		}
		if cmd := strings.Join(strList(yamlMap(svc, "command")), " "); cmd != role {
			t.Errorf("%s: command %q, want %q", name, cmd, role)
		}
		envMap, _ := yamlMap(svc, "environment").(map[string]any)
		checkVars(t, f, "docker-compose.yml "+name, sortedKeys(envMap))
		checkNATSURL(t, name, str(envMap["NATS_URL"]), natsNames)
		if r := str(envMap["YMERA_STREAM_REPLICAS"]); r != "3" {
			t.Errorf("%s: YMERA_STREAM_REPLICAS=%q, want 3 on a three-server cluster", name, r)
		}
		if db, err := url.Parse(interpolate(str(envMap["DATABASE_URL"]))); err != nil || db.Scheme != "postgres" ||
			db.Host != fmt.Sprintf("postgres:%d", pgPort) {
			t.Errorf("%s: DATABASE_URL %q does not name the postgres service on %d", name, envMap["DATABASE_URL"], pgPort)
		}
		for _, v := range []string{"JWT_SECRET_KEY", "HTTP_ADDR"} {
			if _, ok := envMap[v]; !ok {
				t.Errorf("%s does not set %s", name, v)
			}
		}
		if a := str(envMap["HTTP_ADDR"]); a != f.vars["HTTP_ADDR"] {
			t.Errorf("%s: HTTP_ADDR %q, want the default %q", name, a, f.vars["HTTP_ADDR"])
		}
		if role == "node" {
			for _, v := range []string{"AGENT_KINDS", "AGENT_WORKERS"} {
				if str(envMap[v]) == "" {
					t.Errorf("%s does not set %s", name, v)
				}
			}
		}
		wantDeps := append(slices.Clone(natsNames), "postgres")
		if role == "gateway" {
			if hc := strings.Join(strList(yamlMap(svc, "healthcheck", "test")), " "); !strings.Contains(hc, fmt.Sprintf(":%d/health/ready", httpPort)) {
				t.Errorf("%s: healthcheck %q does not probe /health/ready on %d", name, hc, httpPort)
			}
		} else {
			// A node serves no HTTP, and needs the streams the gateway makes.
			if str(yamlMap(svc, "healthcheck", "disable")) != "true" || yamlMap(svc, "ports") != nil || yamlMap(svc, "expose") != nil {
				t.Errorf("%s: a node has no HTTP port to publish or probe", name)
			}
			wantDeps = append(wantDeps, "gateway")
			slices.Sort(wantDeps)
		}
		if deps := sortedKeys(yamlMap(svc, "depends_on")); !slices.Equal(deps, wantDeps) {
			t.Errorf("%s depends on %v, want %v", name, deps, wantDeps)
		}
	}
	port := fmt.Sprintf("%d:%d", httpPort, httpPort)
	if !slices.Contains(strList(yamlMap(services["gateway"], "ports")), port) {
		t.Errorf("gateway does not publish %s", port)
	}
}

// interpolate does compose's substitution of ${VAR:-default} (the
// default) and ${VAR:?message} (a placeholder, as if the variable were set).
func interpolate(s string) string {
	return regexp.MustCompile(`\$\{[A-Z_]+(:-([^}]*)|:\?[^}]*)?\}`).ReplaceAllStringFunc(s, func(m string) string {
		if _, def, ok := strings.Cut(strings.Trim(m, "${}"), ":-"); ok {
			return def
		}
		return "set"
	})
}

// checkNATSURL requires NATS_URL to list every server on the client port.
func checkNATSURL(t *testing.T, where, v string, servers []string) {
	t.Helper()
	var hosts []string
	for _, u := range strings.Split(v, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.Scheme != "nats" {
			t.Errorf("%s: NATS_URL entry %q is not a nats:// URL", where, u)
			continue
		}
		hosts = append(hosts, p.Host)
	}
	slices.Sort(hosts)
	var want []string
	for _, s := range servers {
		want = append(want, fmt.Sprintf("%s:%d", s, natsClient))
	}
	if !slices.Equal(hosts, want) {
		t.Errorf("%s: NATS_URL names %v, want %v", where, hosts, want)
	}
}
