# Fuzz targets (fuzz/fuzz_*.c), included from the Makefile. Three builds of the same sources,
# as style.md section 8 asks:
#   make fuzz-replay                      every target with $(CC), $(SAN) and fuzz/replay.c, run
#                                         over corpus/<target>/ and fuzz/regressions/<target>/
#   make fuzz TARGET=name SECONDS=n       libFuzzer (clang, ASan, UBSan) on corpus/<target>/;
#                                         new inputs go to $(B)/fuzz-corpus/<target>/, crashes
#                                         to $(B)/fuzz-artifacts/; FUZZ_FLAGS adds libFuzzer
#                                         options (FUZZ_FLAGS=-jobs=2 for two processes)
#   make fuzz-merge TARGET=name           adds the new coverage of $(B)/fuzz-corpus/<target>/
#                                         to corpus/<target>/ (libFuzzer -merge=1)
#   make fuzz-smoke                       every target under libFuzzer for FUZZ_SMOKE_SECONDS
#   make fuzz-coverage                    llvm-cov report of impl/src reached by the corpora
#   make fuzz-afl TARGET=name SECONDS=n   AFL++ (afl-clang-fast, persistent mode through the
#                                         libFuzzer driver AFL++ ships): fuzz/afl-campaign.sh
#                                         runs a CmpLog main instance and secondaries on the
#                                         other cores (AFL_INSTANCES=n to choose)
# The engine builds go through fuzz/build.sh, the script OSS-Fuzz would run, so it stays tested.

FUZZ_TARGETS := $(sort $(basename $(notdir $(wildcard fuzz/fuzz_*.c))))
FUZZ_REPLAY  := $(addprefix $(B)/fuzz/replay/,$(FUZZ_TARGETS))
FUZZ_HDR     := $(wildcard fuzz/*.h)
FUZZ_CLANG   ?= clang
FUZZ_SAN     ?= -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  ?= -std=c11 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror
TARGET       ?= fuzz_frame_decoder
SECONDS      ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_FLAGS   ?=
AFL_CC       ?= afl-clang-fast

.PHONY: fuzz fuzz-replay fuzz-smoke fuzz-coverage fuzz-merge fuzz-afl fuzz-build fuzz-build-afl \
        fuzz-build-afl-cmplog

$(B)/fuzz/replay/%: fuzz/%.c fuzz/replay.c $(FUZZ_HDR) $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ifuzz $(CFLAGS) $(SAN) fuzz/$*.c fuzz/replay.c $(LIB) -o $@ $(LDLIBS)

# The canary that must fail (fuzz/canary/leak_canary.c), built like the replay targets.
FUZZ_CANARY := $(B)/fuzz/canary/leak_canary
$(FUZZ_CANARY): fuzz/canary/leak_canary.c fuzz/replay.c $(FUZZ_HDR) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Ifuzz $(CFLAGS) $(SAN) fuzz/canary/leak_canary.c fuzz/replay.c -o $@

fuzz-replay: $(FUZZ_REPLAY) $(FUZZ_CANARY)
	@fuzz/check-replay.sh $(B)/fuzz/replay

# The libFuzzer build: the library itself is compiled with coverage instrumentation too.
$(B)/fuzz/libfuzzer/.built: $(wildcard fuzz/*.c) $(FUZZ_HDR) fuzz/build.sh $(LIB_SRC) \
                            $(wildcard impl/include/ttrpc/*.h impl/src/*.h) $(PROTOS) | $(DEPS_OK)
	CC=$(FUZZ_CLANG) CFLAGS="$(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	    LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=$(B)/fuzz/libfuzzer WORK=$(B)/fuzz/libfuzzer-work \
	    fuzz/build.sh
	@touch $@

fuzz-build: $(B)/fuzz/libfuzzer/.built

fuzz: $(B)/fuzz/libfuzzer/.built
	@mkdir -p $(B)/fuzz-corpus/$(TARGET) $(B)/fuzz-artifacts
	$(B)/fuzz/libfuzzer/$(TARGET) -max_total_time=$(SECONDS) -timeout=10 \
	    -dict=fuzz/$(TARGET).dict -print_final_stats=1 \
	    -artifact_prefix=$(B)/fuzz-artifacts/$(TARGET)- $(FUZZ_FLAGS) \
	    $(B)/fuzz-corpus/$(TARGET) corpus/$(TARGET)

# Adds what `make fuzz` found that the seed corpus does not cover, minimised, to corpus/.
fuzz-merge: $(B)/fuzz/libfuzzer/.built
	@fuzz/merge.sh $(B)/fuzz/libfuzzer $(TARGET) $(B)/fuzz-corpus/$(TARGET)

# One line per target in the ok/not ok format, with libFuzzer's exec/s and coverage.
fuzz-smoke: $(B)/fuzz/libfuzzer/.built
	@fuzz/smoke.sh $(B)/fuzz/libfuzzer $(FUZZ_SMOKE_SECONDS) $(B)/fuzz-smoke

# Line and branch coverage of impl/src reached by the corpora (llvm-cov; HTML under
# $(B)/fuzz/coverage/html).
fuzz-coverage: | $(DEPS_OK)
	@fuzz/coverage.sh $(B)/fuzz/coverage

# AFL++: same build script, afl-clang-fast, and AFL++'s libFuzzer-compatible driver (its
# -fsanitize=fuzzer gives persistent mode and shared-memory test cases).
$(B)/fuzz/afl/.built: $(wildcard fuzz/*.c) $(FUZZ_HDR) fuzz/build.sh $(LIB_SRC) | $(DEPS_OK)
	CC=$(AFL_CC) CFLAGS="$(FUZZ_CFLAGS)" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
	    OUT=$(B)/fuzz/afl WORK=$(B)/fuzz/afl-work AFL_USE_ASAN=1 AFL_USE_UBSAN=1 fuzz/build.sh
	@touch $@

fuzz-build-afl: $(B)/fuzz/afl/.built

# The CmpLog build of the same sources: AFL++ runs it beside the main instance to learn which
# input bytes reach which comparisons.
$(B)/fuzz/afl-cmplog/.built: $(wildcard fuzz/*.c) $(FUZZ_HDR) fuzz/build.sh $(LIB_SRC) | $(DEPS_OK)
	AFL_LLVM_CMPLOG=1 CC=$(AFL_CC) CFLAGS="$(FUZZ_CFLAGS)" LIB_FUZZING_ENGINE=-fsanitize=fuzzer \
	    OUT=$(B)/fuzz/afl-cmplog WORK=$(B)/fuzz/afl-cmplog-work fuzz/build.sh
	@touch $@

fuzz-build-afl-cmplog: $(B)/fuzz/afl-cmplog/.built

# One main instance (with CmpLog) and AFL_INSTANCES-1 secondaries (default: one per CPU).
AFL_INSTANCES ?= $(shell nproc)
fuzz-afl: $(B)/fuzz/afl/.built $(B)/fuzz/afl-cmplog/.built
	fuzz/afl-campaign.sh $(B)/fuzz/afl $(B)/fuzz/afl-cmplog $(TARGET) $(SECONDS) \
	    $(B)/fuzz-afl/$(TARGET) $(AFL_INSTANCES)

# `make check` replays every corpus too (the recipe of check is the Makefile's; this only adds
# prerequisites); ci/run-tests runs fuzz/check-replay.sh with the other scripts.
check: $(FUZZ_REPLAY) $(FUZZ_CANARY)
