# efskeeper: `make demo` runs the whole system on the simulated AWS;
# `make test` runs every test (Go, CDK assertions, dynalite-backed store).
SHELL := /bin/bash
GO ?= go
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
FUNCTIONS := tick regionrun jobevents reconcile retention indexlaunch indexdone api report
BUILD := build
# Lambda: linux/arm64, provided.al2023, no RPC shim, reproducible.
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: all deps build demo test vet fmt-check soak bench-engine clean

all: build

# Node tools (CDK CLI, dynalite, s3rver) from the lock file.
deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@# node_modules ships Go templates; a go.mod makes ./... skip the tree.
	@echo 'module example.invalid/node_modules' > node_modules/go.mod
	@touch $@

build:
	@mkdir -p $(BUILD)/functions $(BUILD)/worker
	@for f in $(FUNCTIONS); do \
	  if [ -d functions/$$f ]; then \
	    CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD)/functions/$$f/bootstrap ./functions/$$f || exit 1; \
	  fi; \
	done
	@if [ -d worker ] && ls worker/*.go >/dev/null 2>&1; then \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags "-s -w" -o $(BUILD)/worker/efskeeper-worker ./worker; \
	fi
	@echo "binary sizes:"; find $(BUILD) -type f -printf '  %-45p %s bytes\n' | sort

# The whole system on the embedded simulated AWS: 45 days in well under a minute.
demo:
	$(GO) run ./cmd/efskeeper demo

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

test: deps fmt-check vet
	$(GO) test -timeout 20m ./...
	# Concurrent handling (as Lambda runs it), and the harness parsing events
	# and retention deciding ahead of their consumers and writing behind them
	# (through the store's views), under the race detector.
	$(GO) test -race -timeout 10m -run 'TestConcurrentWorkers|TestReproducibleBySeed|TestEventBatch|TestContract|TestValues|TestRetentionCap|TestRetentionView|TestRecount|TestBehind' ./pkg/simrun ./pkg/store/memory ./pkg/ahead ./pkg/engine

# The long chaos soak: 90 simulated days, heavy faults, several seeds.
soak:
	$(GO) test -timeout 60m -run 'TestSoak' ./pkg/simrun -soak.days=90 -soak.seeds=1,2,3,4,5 -v

# 50 accounts x 16 Regions x 20 file systems for 7 simulated days.
bench-engine:
	$(GO) run ./bench/engine

clean:
	rm -rf $(BUILD) cdk.out

-include mk/*.mk
