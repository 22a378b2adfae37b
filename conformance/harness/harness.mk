# The conformance harness (conformance/harness/), included from the Makefile:
#   $(B)/bin/ttrpc-conform       the harness program
#   $(B)/harness-tests/test_*    cmocka tests of its own logic, run by `make check`
# Same CFLAGS and sanitizers as the library; links $(LIB).

HARNESS_DIR   := conformance/harness
HARNESS_SRC   := $(filter-out $(HARNESS_DIR)/main.c,$(wildcard $(HARNESS_DIR)/*.c))
HARNESS_HDR   := $(wildcard $(HARNESS_DIR)/*.h)
HARNESS_BIN   := $(B)/bin/ttrpc-conform
HARNESS_TESTS := $(patsubst $(HARNESS_DIR)/tests/%.c,$(B)/harness-tests/%,\
                   $(wildcard $(HARNESS_DIR)/tests/test_*.c))

# HARNESS_EXTRA_* come from vectors/vectors.mk: the `vectors` command (vectors/runner/).
$(HARNESS_BIN): $(HARNESS_DIR)/main.c $(HARNESS_SRC) $(HARNESS_HDR) $(HARNESS_EXTRA_SRC) $(LIB) \
                | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(HARNESS_DIR) $(HARNESS_EXTRA_CPPFLAGS) $(CFLAGS) $(SAN) \
	    $(HARNESS_DIR)/main.c $(HARNESS_SRC) $(HARNESS_EXTRA_SRC) $(LIB) -o $@ $(LDLIBS) \
	    $(HARNESS_EXTRA_LDLIBS)

$(B)/harness-tests/%: $(HARNESS_DIR)/tests/%.c $(HARNESS_SRC) $(HARNESS_HDR) $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(HARNESS_DIR) $(RELAXED) $(SAN) $< $(HARNESS_SRC) $(LIB) -o $@ \
	    -lcmocka $(LDLIBS)

# The harness tests join the unit tests that `make check` and `make valgrind` run.
TESTS += $(HARNESS_TESTS)
all: $(HARNESS_BIN)
check: $(HARNESS_BIN) $(HARNESS_TESTS)
$(B)/.tests-built: $(HARNESS_BIN) $(HARNESS_TESTS)
