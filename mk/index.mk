# EFS file index: benchmarks (included by the top-level Makefile).

.PHONY: bench-index index-fuzz

# Prints each measured figure of the index against its target (PASS/MISS).
# Builds a 1M-entry tree once under $$BENCH_DIR (default /dev/shm) and reuses it.
bench-index:
	bash bench/index/run.sh

# Runs each index fuzz target for a short while (their seeds run in go test).
index-fuzz:
	for f in FuzzReader FuzzCorruptIndex FuzzFooter FuzzBlock FuzzGlob; do \
		go test ./pkg/index/ -run XXX -fuzz "^$$f$$" -fuzztime 30s || exit 1; \
	done
