#!/bin/bash -eu
# ClusterFuzzLite (and OSS-Fuzz) build: the builder image sets CC, CXX, CFLAGS,
# LIB_FUZZING_ENGINE and OUT; fuzz/build.sh builds every target, its dictionary and its
# seed-corpus zip. protobuf-c is linked statically because the runner image lacks it.
cd "$SRC/ttrpc-conformance"
PROTOBUF_C_LIB=-l:libprotobuf-c.a fuzz/build.sh
