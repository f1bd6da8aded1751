#!/usr/bin/env bash
# Two gateways side by side, interleaved: round after round each point is measured on A, then on
# B, so both see the same machine. For judging one change (a setting, a build) where separate full
# runs of scripts/bench.sh differ by more than the change.
#
#   scripts/bench-ab.sh [--rounds N] [--duration D] [--conc "1 8"] [--sizes "16 16384"] A B
#
# A and B are LABEL=BINARY[@WORKERS]: a gateway binary and, optionally, its server.worker_threads.
# Both get the same two backends (mcp-echo over stdio and over HTTP, the HTTP one shared), as in
# scripts/bench.sh. Uses the release binaries already built (mcp-bench, mcp-echo). Examples:
#
#   scripts/bench-ab.sh one=target/release/mcp-gateway@1 two=target/release/mcp-gateway@2
#   scripts/bench-ab.sh glibc=/tmp/gw-old mimalloc=/tmp/gw-new
#
# Prints a markdown table: calls/s and p50 µs per round, for each path (gateway_invoke to the stdio
# and the HTTP backend, /mcp/echo-http passthrough), concurrency and size.
set -euo pipefail
ROUNDS=3 DUR=4s CONC="1 8" SIZES="16"
SIDES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift ;;
    --duration) DUR="$2"; shift ;;
    --conc) CONC="$2"; shift ;;
    --sizes) SIZES="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *=*) SIDES+=("$1") ;;
    *) echo "bench-ab.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
[[ ${#SIDES[@]} -eq 2 ]] || { echo "bench-ab.sh: give two sides, LABEL=BINARY[@WORKERS]" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/target/release"
BENCH="$BIN/mcp-bench" ECHO="$BIN/mcp-echo"
for b in "$BENCH" "$ECHO"; do
  [[ -x $b ]] || { echo "bench-ab.sh: $b missing (cargo build --release --workspace)" >&2; exit 2; }
done
WORK="$(mktemp -d)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
port() { "$BENCH" free-port; }

ECHO_PORT=$(port)
"$ECHO" --http --port "$ECHO_PORT" 2>/dev/null & PIDS+=($!)
"$BENCH" wait "http://127.0.0.1:$ECHO_PORT/mcp" >/dev/null

LABELS=() URLS=()
for side in "${SIDES[@]}"; do
  label="${side%%=*}" spec="${side#*=}"
  binary="${spec%@*}" workers=""
  [[ $spec == *@* ]] && workers="${spec##*@}"
  p=$(port)
  cat > "$WORK/$label.yaml" <<EOF
server:
  host: 127.0.0.1
${workers:+  worker_threads: $workers}
backends:
  echo-stdio:
    command: $ECHO
  echo-http:
    http_url: http://127.0.0.1:$ECHO_PORT/mcp
EOF
  "$binary" --config "$WORK/$label.yaml" --port "$p" --log-level warn 2>/dev/null & PIDS+=($!)
  "$BENCH" wait --health --timeout 30s "http://127.0.0.1:$p/mcp" >/dev/null
  LABELS+=("$label") URLS+=("http://127.0.0.1:$p/mcp")
done

# point PATH CONC SIZE URL -> "calls/s p50"; PATH is a backend for gateway_invoke, or
# "passthrough" for tools/call on /mcp/echo-http.
point() {
  local target=(--url "$4" --invoke "$1")
  [[ $1 == passthrough ]] && target=(--url "$4/echo-http")
  "$BENCH" calls -c "$2" --payload-bytes "$3" --duration "$DUR" --warmup 1s "${target[@]}" \
    --json 2>/dev/null |
    python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(round(d["throughput"]), round(d["p50_us"]))'
}

declare -A RESULT
for ((r = 1; r <= ROUNDS; r++)); do
  for path in echo-stdio echo-http passthrough; do
    for c in $CONC; do
      for size in $SIZES; do
        for i in 0 1; do
          RESULT[$path/$c/$size/$i]+="$(point "$path" "$c" "$size" "${URLS[$i]}");"
        done
      done
    done
  done
done

fmt() { # "calls p50;calls p50;" -> "calls / calls (p50 a / b)"
  python3 -c 'import sys
rows=[r.split() for r in sys.argv[1].split(";") if r]
print(" / ".join(r[0] for r in rows) + " (p50 " + " / ".join(r[1] for r in rows) + ")")' "$1"
}
echo "| path | conc | argument | ${LABELS[0]} calls/s | ${LABELS[1]} calls/s |"
echo "|---|---:|---:|---|---|"
for path in echo-stdio echo-http passthrough; do
  name="gateway_invoke -> $path"
  [[ $path == passthrough ]] && name="/mcp/echo-http passthrough"
  for c in $CONC; do
    for size in $SIZES; do
      echo "| $name | $c | $size B | $(fmt "${RESULT[$path/$c/$size/0]}") | $(fmt "${RESULT[$path/$c/$size/1]}") |"
    done
  done
done
