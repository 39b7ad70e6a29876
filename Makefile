# The two commands: `make run` starts the service on config/example.toml; `make test` runs every test.
BUILD ?= build
JOBS ?= 2
CONFIG ?= config/example.toml

.PHONY: deps configure build run test bench format clean

deps:
	@bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: configure
	cmake --build $(BUILD) -j$(JOBS)

run: configure
	cmake --build $(BUILD) -j$(JOBS) --target ai-usage-exporter
	./$(BUILD)/ai-usage-exporter --config $(CONFIG)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

bench: build
	bash bench/run.sh

# Issue #20's 1M-user scrape, RSS and restart figures (docs/benchmarks.md).
.PHONY: bench-cardinality
bench-cardinality: build
	BENCH_BUILD=$(BUILD) bash bench/cardinality.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD)

# Long reliability runs, documented in docs/reliability.md.
.PHONY: torture
torture: build
	python3 tests/reliability/torture.py --exporter $(BUILD)/ai-usage-exporter --cycles 100

# libFuzzer over the ingest parser for FUZZ_SECONDS (default 10 minutes); the corpus grows in $(BUILD).
FUZZ_SECONDS ?= 600
.PHONY: fuzz
fuzz: build
	mkdir -p $(BUILD)/tests/fuzz-corpus
	$(BUILD)/tests/ingest_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 \
	  $(BUILD)/tests/fuzz-corpus tests/fuzz/corpus
	mkdir -p $(BUILD)/tests/otlp-fuzz-corpus
	$(BUILD)/tests/otlp_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=8192 -timeout=10 \
	  $(BUILD)/tests/otlp-fuzz-corpus tests/fuzz/otlp_corpus
