# Golden vectors (vectors/README.md): the C checker, run against the reference library, and the
# generator that rewrites the committed JSON. Included from the top-level Makefile.

VECTOR_CHECK   := $(B)/bin/vector_check
# The comparisons and the session driver, shared by the checker, the runner and the C testee.
VECTOR_SHARED := vectors/checker/vector_compare.c vectors/checker/vector_session.c

$(VECTOR_CHECK): vectors/checker/vector_check.c $(VECTOR_SHARED) $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ivectors/checker $(CFLAGS) $(SAN) -MMD -MP $< $(VECTOR_SHARED) $(LIB) \
	    -o $@ -lcjson $(LDLIBS)

.PHONY: vectors vectors-gen
# Checks every vector file; one "ok - vectors/<id>" line per vector.
vectors: $(VECTOR_CHECK)
	@BUILD=$(B) vectors/check.sh

# Rewrites vectors/*.json from vectors/gen/gen.py; commit the result.
vectors-gen:
	python3 vectors/gen/gen.py

# ci/run-tests runs vectors/check.sh; it needs the checker built.
check: $(VECTOR_CHECK)

# The testee protocol (vectors/README.md, "Checking other implementations"):
# `ttrpc-conform vectors --exec CMD` is built into the harness program from vectors/runner/,
# and the C reference answers it through $(VECTOR_TESTEE). vectors/check-testee.sh, run by
# ci/run-tests, plays every vector to it, then to its --fault modes, which must be caught.
VECTOR_TESTEE := $(B)/bin/ttrpc-vectors-testee-c
HARNESS_EXTRA_SRC      := vectors/runner/vector_runner.c $(VECTOR_SHARED)
HARNESS_EXTRA_CPPFLAGS := -Ivectors/runner -Ivectors/checker
HARNESS_EXTRA_LDLIBS   := -lcjson
# harness.mk lists only its own headers as prerequisites.
$(B)/bin/ttrpc-conform: $(wildcard vectors/checker/*.h vectors/runner/*.h)

$(VECTOR_TESTEE): vectors/testee/ttrpc-vectors-testee-c.c $(VECTOR_SHARED) $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ivectors/checker $(CFLAGS) $(SAN) -MMD -MP $< $(VECTOR_SHARED) $(LIB) \
	    -o $@ -lcjson $(LDLIBS)

all: $(VECTOR_TESTEE)
check: $(VECTOR_TESTEE)

# Capture comparison (vectors/capture/README.md): the real Go, Rust and C peers make the
# canonical calls through `ttrpc-conform tap`; every captured frame is compared with its vector.
# Reports: $(B)/reports/capture.json and capture.md; traces in $(B)/capture.
.PHONY: capture
capture: all peers
	@vectors/capture/run.sh $(B)

# Unit tests for the checker's comparisons (vectors/checker/tests/test_<file>.c, cmocka), run
# with the library's tests by make check and make valgrind.
VECTOR_TESTS := $(B)/tests/test_vector_compare
TESTS += $(VECTOR_TESTS)
check: $(VECTOR_TESTS)
$(B)/.tests-built: $(VECTOR_TESTS)
$(VECTOR_TESTS): $(B)/tests/test_%: vectors/checker/tests/test_%.c vectors/checker/%.c $(LIB) \
    | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ivectors/checker $(RELAXED) $(SAN) -MMD -MP $< vectors/checker/$*.c \
	    $(LIB) -o $@ -lcmocka -lcjson $(LDLIBS)
