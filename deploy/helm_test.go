package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"
)

// renderChart renders every template of helm/ymera with values (the
// chart's values.yaml, changed by override) as Helm would, and returns the
// documents by template file. Only the Helm functions in helmFuncs are
// known, so a template using another fails here rather than slipping by.
func renderChart(t *testing.T, override func(values map[string]any)) (map[string]map[string]any, map[string]any) {
	t.Helper()
	var chart, values map[string]any
	if err := yaml.Unmarshal(read(t, "helm/ymera/Chart.yaml"), &chart); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	if err := yaml.Unmarshal(read(t, "helm/ymera/values.yaml"), &values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	if override != nil {
		override(values)
	}
	var tmpl *template.Template
	tmpl = template.New("chart").Funcs(helmFuncs(&tmpl)).Option("missingkey=error")
	files, err := filepath.Glob("helm/ymera/templates/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, f := range files {
		if _, err := tmpl.New(filepath.Base(f)).Parse(string(read(t, f))); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	data := map[string]any{
		"Values":  values,
		"Release": map[string]any{"Name": "test", "Namespace": "default"},
		"Chart":   map[string]any{"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
	}
	docs := map[string]map[string]any{}
	for _, f := range files {
		name := filepath.Base(f)
		if strings.HasPrefix(name, "_") {
			continue // helpers, included by the others
		}
		var b strings.Builder
		if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(b.String()), &doc); err != nil {
			t.Fatalf("%s renders invalid YAML: %v\n%s", name, err, b.String())
		}
		if doc != nil {
			docs[name] = doc
		}
	}
	return docs, values
}

// TestHelmChart renders the chart and checks it against the code: the
// ymera image, the gateway's port, probes on /health/ready, and only
// variables the code reads, in the ConfigMap, the Secret and the containers.
func TestHelmChart(t *testing.T) {
	f := readFacts(t)
	docs, values := renderChart(t, func(v map[string]any) {
		v["secrets"].(map[string]any)["jwtSecretKey"] = strings.Repeat("k", 32)
	})
	kinds := map[string]string{
		"configmap.yaml": "ConfigMap", "secret.yaml": "Secret", "gateway-deployment.yaml": "Deployment",
		"gateway-service.yaml": "Service", "node-deployment.yaml": "Deployment",
	}
	for name, kind := range kinds {
		if got := str(yamlMap(docs[name], "kind")); got != kind {
			t.Errorf("%s renders kind %q, want %s", name, got, kind)
		}
	}

	cm := yamlMap(docs["configmap.yaml"], "data")
	checkVars(t, f, "ConfigMap", sortedKeys(cm))
	checkVars(t, f, "Secret", sortedKeys(yamlMap(docs["secret.yaml"], "data")))
	if r := str(yamlMap(cm, "YMERA_STREAM_REPLICAS")); r != "3" {
		t.Errorf("ConfigMap: YMERA_STREAM_REPLICAS=%q, want 3", r)
	}
	if a := str(yamlMap(cm, "HTTP_ADDR")); a != f.vars["HTTP_ADDR"] {
		t.Errorf("ConfigMap: HTTP_ADDR=%q, want the default %q", a, f.vars["HTTP_ADDR"])
	}
	if u := str(yamlMap(cm, "NATS_URL")); u != fmt.Sprintf("nats://test-nats:%d", natsClient) {
		t.Errorf("ConfigMap: NATS_URL=%q, want the nats subchart's service", u)
	}
	for _, k := range []string{"JWT_SECRET_KEY", "DATABASE_URL"} {
		if _, ok := yamlMap(docs["secret.yaml"], "data").(map[string]any)[k]; !ok {
			t.Errorf("Secret has no %s", k)
		}
	}

	for name, role := range map[string]string{"gateway-deployment.yaml": "gateway", "node-deployment.yaml": "node"} {
		containers, _ := yamlMap(docs[name], "spec", "template", "spec", "containers").([]any)
		if len(containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", name, len(containers))
		}
		c := containers[0]
		if img := str(yamlMap(c, "image")); img != ymeraImage {
			t.Errorf("%s: image %q, want %q", name, img, ymeraImage)
		}
		if args := strList(yamlMap(c, "args")); !slices.Equal(args, []string{role}) {
			t.Errorf("%s: args %v, want [%s]", name, args, role)
		}
		ports, _ := yamlMap(c, "ports").([]any)
		if role == "gateway" {
			if len(ports) != 1 || str(yamlMap(ports[0], "containerPort")) != fmt.Sprint(httpPort) {
				t.Errorf("%s: container ports %v, want %d", name, ports, httpPort)
			}
			if p := str(yamlMap(c, "readinessProbe", "httpGet", "path")); p != "/health/ready" {
				t.Errorf("%s: readiness probe on %q, want /health/ready", name, p)
			}
		} else if len(ports) != 0 || yamlMap(c, "readinessProbe") != nil {
			t.Errorf("%s: a node serves no HTTP, but has ports %v or an HTTP probe", name, ports)
		}
		if u := str(yamlMap(docs[name], "spec", "template", "spec", "securityContext", "runAsNonRoot")); u != "true" {
			t.Errorf("%s: runAsNonRoot is %q", name, u)
		}
		var env []string
		list, _ := yamlMap(c, "env").([]any)
		for _, e := range list {
			env = append(env, str(yamlMap(e, "name")))
		}
		checkVars(t, f, name, env)
		if role == "node" && !slices.Equal(env, []string{"AGENT_KINDS", "AGENT_WORKERS"}) {
			t.Errorf("%s: env %v, want AGENT_KINDS and AGENT_WORKERS", name, env)
		}
	}
	if p := yamlMap(docs["gateway-service.yaml"], "spec", "ports"); len(p.([]any)) != 1 ||
		str(yamlMap(p.([]any)[0], "port")) != fmt.Sprint(httpPort) {
		t.Errorf("gateway Service ports %v, want %d", p, httpPort)
	}

	// The NATS subchart: clustered, JetStream, the standard ports.
	nats := yamlMap(values, "nats", "config")
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"cluster", "enabled"}, "true"},
		{[]string{"cluster", "replicas"}, "3"},
		{[]string{"cluster", "port"}, fmt.Sprint(natsRoute)},
		{[]string{"jetstream", "enabled"}, "true"},
		{[]string{"nats", "port"}, fmt.Sprint(natsClient)},
		{[]string{"monitor", "port"}, fmt.Sprint(natsHTTP)},
	} {
		if got := str(yamlMap(nats, c.path...)); got != c.want {
			t.Errorf("values nats.config.%s = %q, want %s", strings.Join(c.path, "."), got, c.want)
		}
	}
}

// TestHelmChartExternal renders the chart for a NATS cluster and a Secret
// the operator already has: no Secret is made, and the URL is theirs.
func TestHelmChartExternal(t *testing.T) {
	docs, _ := renderChart(t, func(v map[string]any) {
		v["natsUrl"] = "nats://a:4222,nats://b:4222,nats://c:4222"
		v["nats"].(map[string]any)["enabled"] = false
		v["secrets"].(map[string]any)["existingSecret"] = "ymera-prod"
	})
	if _, ok := docs["secret.yaml"]; ok {
		t.Error("a Secret is rendered although existingSecret is set")
	}
	if u := str(yamlMap(docs["configmap.yaml"], "data", "NATS_URL")); u != "nats://a:4222,nats://b:4222,nats://c:4222" {
		t.Errorf("NATS_URL=%q, want natsUrl", u)
	}
	containers, _ := yamlMap(docs["node-deployment.yaml"], "spec", "template", "spec", "containers").([]any)
	from, _ := yamlMap(containers[0], "envFrom").([]any)
	if len(from) != 2 || str(yamlMap(from[1], "secretRef", "name")) != "ymera-prod" {
		t.Errorf("node envFrom %v does not use the existing Secret", from)
	}
}

// TestHelmChartDependency checks Chart.yaml's NATS dependency is the
// official chart, switched by nats.enabled.
func TestHelmChartDependency(t *testing.T) {
	var chart struct {
		APIVersion   string `yaml:"apiVersion"`
		Name         string `yaml:"name"`
		Dependencies []struct {
			Name, Version, Repository, Condition string
		} `yaml:"dependencies"`
	}
	if err := yaml.Unmarshal(read(t, "helm/ymera/Chart.yaml"), &chart); err != nil {
		t.Fatal(err)
	}
	if chart.APIVersion != "v2" || chart.Name != "ymera" || len(chart.Dependencies) != 1 {
		t.Fatalf("Chart.yaml: %+v", chart)
	}
	d := chart.Dependencies[0]
	if d.Name != "nats" || d.Condition != "nats.enabled" || !strings.Contains(d.Repository, "nats-io") {
		t.Errorf("dependency %+v, want the official nats chart under nats.enabled", d)
	}
	if _, err := os.Stat("README.md"); err != nil {
		t.Errorf("deploy/README.md: %v", err)
	}
}
