# ttrpc-conformance: one Makefile, no recursion. Everything, generated code too, goes to $(B).
# Variants are variables: `make check SAN= B=build/plain` builds without sanitizers.

CC       ?= cc
B        ?= build
CFLAGS   ?= -std=c11 -O1 -g -Wall -Wextra -Werror -Wshadow -Wconversion -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla
SAN      ?= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
CPPFLAGS += -D_GNU_SOURCE -Iimpl/include -Iimpl/src -I$(B)/gen
# Generated protobuf-c code and test files are not held to -Wconversion.
RELAXED  := $(filter-out -Wconversion -Wmissing-prototypes -Wstrict-prototypes,$(CFLAGS))
LDLIBS   := -lprotobuf-c -lpthread

PROTOS     := $(wildcard impl/proto/*.proto) $(wildcard conformance/proto/*.proto)
PROTO_PATH := -Iimpl/proto -Iconformance/proto
GEN_SRC    := $(patsubst %.proto,$(B)/gen/%.pb-c.c,$(notdir $(PROTOS)))
GEN_HDR    := $(GEN_SRC:.c=.h)
GEN_OBJ    := $(GEN_SRC:$(B)/gen/%.c=$(B)/obj/gen/%.o)

LIB_SRC  := $(wildcard impl/src/*.c)
LIB_OBJ  := $(patsubst impl/src/%.c,$(B)/obj/%.o,$(LIB_SRC))
LIB      := $(B)/libttrpc.a

GO       ?= go
GO_PEER  := $(B)/bin/ttrpc-peer-go
GO_SRC   := $(wildcard conformance/peers/go/*.go) conformance/peers/go/go.mod conformance/peers/go/go.sum
TESTS    := $(patsubst impl/tests/%.c,$(B)/tests/%,$(wildcard impl/tests/test_*.c))
TOOLS    := $(patsubst impl/tools/%.c,$(B)/bin/%,$(wildcard impl/tools/*.c))
DEPS_OK  := $(B)/.deps-ok

.PHONY: all check valgrind clean peers conformance
.SECONDARY: $(GEN_SRC) $(GEN_HDR)
all: $(LIB) $(TOOLS)

# ci/install-deps is idempotent; the stamp only saves its few checks on every build.
$(DEPS_OK): ci/install-deps
	@mkdir -p $(@D)
	ci/install-deps
	@touch $@

$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: impl/proto/%.proto | $(DEPS_OK)
	@mkdir -p $(@D)
	protoc-c $(PROTO_PATH) --c_out=$(B)/gen $<
$(B)/gen/%.pb-c.c $(B)/gen/%.pb-c.h: conformance/proto/%.proto | $(DEPS_OK)
	@mkdir -p $(@D)
	protoc-c $(PROTO_PATH) --c_out=$(B)/gen $<

$(B)/obj/gen/%.o: $(B)/gen/%.c $(GEN_HDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(RELAXED) -Wno-unused-parameter $(SAN) -c $< -o $@

$(B)/obj/%.o: impl/src/%.c $(GEN_HDR) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ) $(GEN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/tests/%: impl/tests/%.c $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(RELAXED) $(SAN) -MMD -MP $< $(LIB) -o $@ -lcmocka $(LDLIBS)

$(B)/bin/%: impl/tools/%.c $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -MMD -MP $< $(LIB) -o $@ $(LDLIBS)

# The Go peer uses github.com/containerd/ttrpc pinned in go.mod/go.sum; GOTOOLCHAIN=local keeps
# the build on the installed Go instead of fetching another toolchain.
$(GO_PEER): $(GO_SRC)
	@mkdir -p $(@D)
	cd conformance/peers/go && GOTOOLCHAIN=local GOFLAGS=-mod=readonly $(GO) build -trimpath -o $(abspath $@) .

peers: $(GO_PEER)

# The main job: every conformance case against the C, Go and Rust (async, sync) servers,
# reports in $(B)/reports, a summary table at the end.
conformance: all peers
	@BUILD=$(B) REPORT_DIR=$(B)/reports conformance/run-matrix.sh $(CONFORM_FLAGS)

# Runs every unit test and interop test; the last line is "N passed, N failed".
check: $(TESTS) $(TOOLS) $(GO_PEER)
	@ci/run-tests $(B) $(TESTS)

valgrind:
	@$(MAKE) --no-print-directory SAN= B=build/plain build/plain/.tests-built
	@VALGRIND=1 ci/run-tests build/plain $(patsubst $(B)/%,build/plain/%,$(TESTS))

$(B)/.tests-built: $(TESTS) $(TOOLS)
	@touch $@

clean:
	rm -rf build

-include $(wildcard $(B)/obj/*.d $(B)/tests/*.d $(B)/bin/*.d)
include vectors/vectors.mk
include conformance/peers/rust/rust.mk
include fuzz/fuzz.mk
include conformance/harness/harness.mk
include bench/bench.mk
