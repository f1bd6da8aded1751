#!/usr/bin/env bash
# Run every test: formatting, lints, unit tests, and the integration tests that
# drive the real mcp-gateway binary against real MCP servers and clients.
# Installs the pinned test peers (npm, PyPI) into target/test-deps first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== test peers"
bash scripts/install-test-deps.sh >/dev/null

echo "== cargo fmt"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== cargo build (binaries the integration tests run)"
cargo build --workspace --quiet

echo "== cargo test"
cargo test --workspace

echo "== search quality (bench/search: real tool definitions, agent-style queries)"
cargo run --release --quiet -p mcp-gateway --example search_quality

echo "== benchmark smoke (scripts/bench.sh --quick: every point runs, numbers are not compared)"
bash scripts/bench.sh --quick

echo "== A/B smoke (scripts/bench-ab.sh: one short round, one worker against two)"
bash scripts/bench-ab.sh --rounds 1 --duration 0.5s --conc 1 \
  one=target/release/mcp-gateway@1 two=target/release/mcp-gateway@2
