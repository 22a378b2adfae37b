# The Rust peer (conformance/peers/rust): the ttrpc crate pinned in Cargo.toml/Cargo.lock,
# built by cargo into one target directory shared by every $(B) variant (a cold build
# compiles tokio, protobuf and the crate's own protobuf codegen: minutes, not seconds), then
# copied to $(B)/bin. Included from the top-level Makefile.

CARGO            ?= cargo
RUST_PEER        := $(B)/bin/ttrpc-peer-rust
RUST_PEER_DIR    := conformance/peers/rust
RUST_TARGET_DIR  ?= build/rust-target
RUST_SRC         := $(wildcard $(RUST_PEER_DIR)/src/*.rs) $(RUST_PEER_DIR)/Cargo.toml \
                    $(RUST_PEER_DIR)/Cargo.lock

$(RUST_PEER): $(RUST_SRC)
	@mkdir -p $(@D)
	CARGO_TARGET_DIR=$(abspath $(RUST_TARGET_DIR)) $(CARGO) build --release --locked \
	    --manifest-path $(RUST_PEER_DIR)/Cargo.toml
	cp $(RUST_TARGET_DIR)/release/ttrpc-peer-rust $@

.PHONY: rust-peer
rust-peer: $(RUST_PEER)
peers: $(RUST_PEER)

# make check runs conformance/tests/interop_rust.sh, which needs the peer.
check: $(RUST_PEER)
