#!/usr/bin/env bash
# Where the gateway's instructions go on one tools/call: the gateway under valgrind's callgrind,
# gateway_invoke to an echo backend at concurrency 1. Uses the release binaries already built
# (cargo build --release --workspace) and valgrind (apt-get install valgrind).
#
#   scripts/profile.sh [PAYLOAD_BYTES] [GATEWAY_BINARY] [BACKEND]
#
# Defaults: 16384, target/release/mcp-gateway, echo-stdio. BACKEND echo-http calls a Streamable
# HTTP echo backend instead (started here, outside valgrind).
#
# Prints the calls counted, the instructions per call, the inclusive cost per call of the parts
# BENCHMARKS.md names (copies, the JSON check, UTF-8), then the 15 costliest functions (their
# own instructions per call). The callgrind file is kept for callgrind_annotate.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=target/release
PAYLOAD=${1:-16384}
GATEWAY=${2:-$BIN/mcp-gateway}
BACKEND=${3:-echo-stdio}
[[ $BACKEND == echo-stdio || $BACKEND == echo-http ]] ||
  { echo "profile.sh: BACKEND is echo-stdio or echo-http, not $BACKEND" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "profile.sh: valgrind is not installed" >&2; exit 1; }
WORK=$(mktemp -d)
GW=
ECHO=
cleanup() {
  [[ -n $GW ]] && kill "$GW" 2>/dev/null || true
  [[ -n $ECHO ]] && kill "$ECHO" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

GW_PORT=$("$BIN/mcp-bench" free-port)
if [[ $BACKEND == echo-http ]]; then
  ECHO_PORT=$("$BIN/mcp-bench" free-port)
  "$BIN/mcp-echo" --http --port "$ECHO_PORT" 2>"$WORK/echo.log" &
  ECHO=$!
  "$BIN/mcp-bench" wait --timeout 10s "http://127.0.0.1:$ECHO_PORT/mcp" >/dev/null
  TARGET="http_url: http://127.0.0.1:$ECHO_PORT/mcp"
else
  TARGET="command: $(pwd)/$BIN/mcp-echo"
fi
cat > "$WORK/gateway.yaml" <<EOF
server:
  host: 127.0.0.1
  port: $GW_PORT
backends:
  $BACKEND:
    $TARGET
EOF
valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.%p" \
  "$GATEWAY" --config "$WORK/gateway.yaml" 2>"$WORK/gateway.log" &
GW=$!
URL="http://127.0.0.1:$GW_PORT/mcp"
"$BIN/mcp-bench" wait --health --timeout 120s "$URL" >/dev/null
"$BIN/mcp-bench" calls -c 1 --payload-bytes "$PAYLOAD" --duration 2s --warmup 1s --json \
  --url "$URL" --invoke "$BACKEND" --callgrind "$GW=$WORK/cg.$GW" >"$WORK/run.json"
PROFILE="$WORK/cg.$GW.1"
CALLS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$WORK/run.json")

TOTAL=$(callgrind_annotate --auto=no "$PROFILE" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')

# Per function, per call, costliest first; the thread roots that hold the whole run are left
# out. callgrind lists a function once per source file its code comes from (inlining): its own
# instructions are summed over those, its inclusive cost is the largest (the others are in it).
per_call() {
  local inclusive=$1
  callgrind_annotate --auto=no --threshold=100 --inclusive="$inclusive" "$PROFILE" 2>/dev/null |
    awk -v n="$CALLS" -v total="$TOTAL" -v inclusive="$([[ $inclusive == yes ]] && echo 1 || echo 0)" '$1 ~ /^[0-9,]+$/ && $2 ~ /^\(/ && $0 !~ /PROGRAM TOTALS/ {
        ir = $1; gsub(",", "", ir); ir += 0; name = $0
        sub(/^ *[^ ]+ +\([^)]*\) +/, "", name); sub(/ \[[^]]*\]$/, "", name); sub(/^[^:]*:/, "", name)
        if (ir >= 0.99 * total) next
        if (inclusive) { if (ir > cost[name]) cost[name] = ir } else cost[name] += ir }
      END { for (f in cost) printf "%10.0f  %s\n", cost[f] / n, f }' | sort -rn
}

echo "gateway_invoke -> $BACKEND, $PAYLOAD B, concurrency 1: $CALLS calls"
awk -v t="$TOTAL" -v n="$CALLS" 'BEGIN { printf "instructions per call: %.0f\n", t / n }'
echo
echo "inclusive, per call:"
per_call yes |
  grep -E '  (__memcpy_avx_unaligned_erms|mcp_wire::json::value_end|core::str::converts::from_utf8|mcp_wire::message::Message::parse_text)$'
echo
echo "own instructions, per call (the 15 costliest functions):"
# sed, not head: head would stop reading, and pipefail turn sort's SIGPIPE into an exit.
per_call no | sed -n '1,15p'
echo
echo "callgrind file: $PROFILE"
