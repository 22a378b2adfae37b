# Benchmarks (bench/), included from the Makefile.
#   make bench                  builds an optimised, sanitizer-free tree in $(BENCH_B) (the C
#                               library and server, ttrpc-bench, raw-echo, the Go and Rust peers)
#                               and runs the whole matrix through bench/run-bench.py: a table on
#                               stdout, build/reports/bench.json and build/reports/bench.svg
#   make bench BENCH_SECONDS=3  longer points (default 1 s each after a 0.2 s warm-up)
#   make bench BENCH_ARGS='--servers c,go --placements split'   a subset
#   make bench-build            only the programs, in whatever $(B) and flags are current
# No timed assertions: the run prints what it measured and exits 0 unless something broke.

BENCH_B       ?= build/bench-o2
BENCH_CFLAGS  ?= -std=c11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wconversion \
                 -Wstrict-prototypes -Wmissing-prototypes -Wvla
BENCH_SECONDS ?= 1
BENCH_ARGS    ?=
BENCH_REPORTS ?= build/reports
BENCH_SRC     := bench/ttrpc-bench.c bench/load.c bench/hist.c bench/request.c bench/codec.c
BENCH_HDR     := $(wildcard bench/*.h)

$(B)/bin/ttrpc-bench: $(BENCH_SRC) $(BENCH_HDR) $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ibench $(CFLAGS) $(SAN) $(BENCH_SRC) $(LIB) -o $@ $(LDLIBS)

$(B)/bin/raw-echo: bench/raw-echo.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) $< -o $@ -lpthread

.PHONY: bench bench-build
bench-build: $(B)/bin/ttrpc-bench $(B)/bin/raw-echo $(B)/bin/ttrpc-ref-server peers

bench:
	@$(MAKE) --no-print-directory SAN= CFLAGS='$(BENCH_CFLAGS)' B=$(BENCH_B) bench-build
	python3 bench/run-bench.py --bin $(BENCH_B)/bin --seconds $(BENCH_SECONDS) \
	    --out $(BENCH_REPORTS) $(BENCH_ARGS)
