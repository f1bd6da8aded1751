#!/usr/bin/env bash
# System calls the gateway makes per tools/call at concurrency 1, 16 B, by strace -c: for
# gateway_invoke to a stdio and to a Streamable HTTP echo backend. Uses the release binaries
# already built (cargo build --release --workspace) and strace (apt-get install strace).
#
#   scripts/syscalls.sh [GATEWAY_BINARY]     # default: target/release/mcp-gateway
#
# Prints, per path, the calls made and each system call's count divided by them. strace slows
# every system call down, so the calls/s here are not the benchmark's; only the counts matter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=target/release
GATEWAY=${1:-$BIN/mcp-gateway}
command -v strace >/dev/null || { echo "syscalls.sh: strace is not installed" >&2; exit 1; }
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ECHO_PORT=$("$BIN/mcp-bench" free-port)
"$BIN/mcp-echo" --http --port "$ECHO_PORT" 2>"$WORK/echo.log" &
PIDS+=($!)
"$BIN/mcp-bench" wait "http://127.0.0.1:$ECHO_PORT/mcp" >/dev/null

GW_PORT=$("$BIN/mcp-bench" free-port)
cat > "$WORK/gateway.yaml" <<EOF
server:
  host: 127.0.0.1
  port: $GW_PORT
backends:
  echo-stdio:
    command: $(pwd)/$BIN/mcp-echo
  echo-http:
    http_url: http://127.0.0.1:$ECHO_PORT/mcp
EOF
"$GATEWAY" --config "$WORK/gateway.yaml" 2>"$WORK/gateway.log" &
GW=$!
PIDS+=("$GW")
URL="http://127.0.0.1:$GW_PORT/mcp"
"$BIN/mcp-bench" wait "$URL" >/dev/null
# Both backends ready before counting.
"$BIN/mcp-bench" calls --url "$URL" --invoke echo-stdio,echo-http --duration 1s --warmup 200ms >/dev/null

for path in stdio http; do
  strace -c -f -p "$GW" -o "$WORK/strace-$path.txt" 2>/dev/null &
  STRACE=$!
  sleep 0.5
  ok=$("$BIN/mcp-bench" calls --url "$URL" --invoke "echo-$path" -c 1 --payload-bytes 16 \
        --duration 4s --warmup 0s --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["ok"])')
  kill -INT "$STRACE"
  wait "$STRACE" 2>/dev/null || true
  echo "gateway_invoke -> $path backend: $ok calls; system calls per call:"
  # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall.
  awk -v n="$ok" '$1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ && $NF != "total" {
      if ($4 / n >= 0.01) printf "  %-14s %.2f\n", $NF, $4 / n; sum += $4
    } END { printf "  %-14s %.2f\n", "total", sum / n }' "$WORK/strace-$path.txt"
done
