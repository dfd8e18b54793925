# YMERA: one binary, `ymera`. `make help` lists the targets.

GO        ?= go
BIN       ?= bin/ymera
PKGS      ?= ./...
# Tests that need PostgreSQL read this; they make and drop their own database.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export TEST_DATABASE_URL

.DEFAULT_GOAL := help
.PHONY: help build run test test-short fuzz bench bench-compare bench-ab soak lint fmt vet clean

help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/ymera
	$(GO) build -trimpath -o $(BIN) ./cmd/ymera

run: build ## Start the whole system on its embedded defaults (NATS, SQLite, gateway on :8000)
	./$(BIN) serve

test: lint fuzz ## gofmt, go vet, the fuzz targets briefly, then every test with the race detector (PostgreSQL tests included)
	@# The JavaScript agent's test (cmd/ymera TestJSAgent) needs its packages; skipped quietly without npm.
	@if command -v npm >/dev/null 2>&1; then npm ci --silent --no-audit --no-fund --prefix examples/js-agent; fi
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# FUZZTIME is how long `make fuzz` runs each target: an iteration count
# ("Nx"), not a duration, since Go 1.26's -fuzztime=Ns can end with a bare
# "context deadline exceeded". 300 keeps each target under a minute on 2 cores.
FUZZTIME ?= 300x

# Every Fuzz* target of every package, found anew each run so that a new
# target is fuzzed without editing this file. -fuzz takes one target per run.
fuzz: ## Run each fuzz target briefly (FUZZTIME iterations each, after its seed corpus)
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do \
		pkg=$$(dirname $$f); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "fuzz $$pkg $$t"; \
			$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

test-short: ## The tests without the race detector, for a quick loop
	$(GO) test -count=1 -timeout 10m $(PKGS)

soak: ## Minutes of mixed faults (kill -9, SIGSTOP/SIGCONT, database outages) under load; prints submitted, completed, lost, duplicated (needs PostgreSQL; SOAK_DURATION=3m)
	YMERA_SOAK=1 YMERA_SOAK_DURATION=$(or $(SOAK_DURATION),3m) $(GO) test -count=1 -timeout 20m -run '^TestSoak$$' -v ./cmd/ymera

bench: build ## Submit tasks through the full path in-process and print throughput and latency
	./$(BIN) bench --tasks 5000 --concurrency 64

bench-compare: build ## YMERA vs River (bench/river) and the design's pipeline, on the product's schema and on a bare one (bench/pipefloor), on the same PostgreSQL, and YMERA vs the pipeline on SQLite, alternating runs, medians and ratios; then the issue-6 target table
	cd bench/river && GOWORK=off $(GO) build -trimpath -o ../../bin/river-bench .
	$(GO) build -trimpath -o bin/httpfloor ./bench/httpfloor
	$(GO) build -trimpath -o bin/pipefloor ./bench/pipefloor
	$(GO) build -trimpath -o bin/listtasks ./bench/listtasks
	$(GO) build -trimpath -o bin/natsflood ./bench/natsflood
	$(GO) run ./bench/compare -ymera $(BIN) -river bin/river-bench -floor bin/httpfloor -pipefloor bin/pipefloor -listtasks bin/listtasks -natsflood bin/natsflood -server "$(TEST_DATABASE_URL)" $(COMPARE_FLAGS)

# `make bench-ab` measures bin/ymera (side B, the working tree) against side
# A: ymera built at AB_REV (default HEAD, so uncommitted changes are what is
# compared), or with AB_REV= and AB_FLAGS="-a other-binary"; AB_FLAGS="-b-env
# KEY=VALUE" compares a setting. Bench flags go after "--" in AB_FLAGS
# (default: --store postgres --concurrency 64 --duration 8s).
AB_REV ?= HEAD
bench-ab: build ## Compare this build with AB_REV (default HEAD): in-process runs in ABBA order, each figure's paired ratio (AB_FLAGS="-pairs 8 -- --concurrency 256")
	$(GO) run ./bench/abtest -b $(BIN) -server "$(TEST_DATABASE_URL)" $(if $(AB_REV),-a-rev $(AB_REV)) $(AB_FLAGS)

lint: fmt vet ## gofmt and go vet

fmt: ## Fail if any Go file is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

clean: ## Remove build output and the local data directory
	rm -rf bin data
