# YMERA: one binary, `ymera`. `make help` lists the targets.

GO        ?= go
BIN       ?= bin/ymera
PKGS      ?= ./...
# Tests that need PostgreSQL read this; they make and drop their own database.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable
export TEST_DATABASE_URL

.DEFAULT_GOAL := help
.PHONY: help build run test test-short fuzz bench lint fmt vet clean

help: ## List the targets with what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/ymera
	$(GO) build -trimpath -o $(BIN) ./cmd/ymera

run: build ## Start the whole system on its embedded defaults (NATS, SQLite, gateway on :8000)
	./$(BIN) serve

test: lint ## gofmt, go vet, then every test with the race detector (PostgreSQL tests included)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short: ## The tests without the race detector, for a quick loop
	$(GO) test -count=1 -timeout 10m $(PKGS)

bench: build ## Submit tasks through the full path in-process and print throughput and latency
	./$(BIN) bench --tasks 5000 --concurrency 64

lint: fmt vet ## gofmt and go vet

fmt: ## Fail if any Go file is not gofmt-formatted
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet $(PKGS)

clean: ## Remove build output and the local data directory
	rm -rf bin data
