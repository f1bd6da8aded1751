#!/usr/bin/env bash
# The benchmark suite in one command (see BENCHMARKS.md for what each number means).
#
#   scripts/bench.sh            full run (about 11 minutes): the tool-call matrix in 5 interleaved
#                               rounds of 0.5 s warm-up + 2 s per point, the rest 2 s + 10 s
#   scripts/bench.sh --quick    smoke run: 2 rounds of 0.2 s + 0.5 s, the rest 0.3 s + 1 s
#                               (about 2 minutes; for CI, not for comparison)
#   scripts/bench.sh --out DIR  where results go (default target/bench)
#   scripts/bench.sh --no-build use the release binaries already built
#   scripts/bench.sh --callgrind  also count instructions per call under valgrind (the full
#                               run does this whenever valgrind is installed)
#   scripts/bench.sh --stream-after D  the gateway's server.stream_after (default: its own,
#                               50ms; 0s answers every call on an SSE stream)
#
# Builds release, starts the echo backends and gateways on 127.0.0.1, measures, prints the
# markdown tables and writes them to DIR/results.md (raw records: DIR/results.jsonl).
# Every process it starts is stopped on exit, whatever the exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUICK=0
BUILD=1
CALLGRIND=auto
OUT=target/bench
STREAM_AFTER=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --callgrind) CALLGRIND=yes ;;
    --no-build) BUILD=0 ;;
    --out) OUT="$2"; shift ;;
    --stream-after) STREAM_AFTER="$2"; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [[ $QUICK == 1 ]]; then
  DUR=1s; WARM=0.3s; STARTUP_RUNS=2; CG_DUR=1s
  ROUNDS=2; ROUND_DUR=0.5s; ROUND_WARM=0.2s
  MODE="--quick (smoke: 2 rounds of 0.5 s per tool-call point, 1 s per other point; not for comparison)"
  [[ $CALLGRIND == auto ]] && CALLGRIND=no
else
  DUR=10s; WARM=2s; STARTUP_RUNS=5; CG_DUR=3s
  ROUNDS=5; ROUND_DUR=2s; ROUND_WARM=0.5s
  MODE="full: the tool-call matrix in $ROUNDS interleaved rounds of $ROUND_DUR per point (after $ROUND_WARM of warm-up), medians; other points $DUR after $WARM"
fi
if [[ $CALLGRIND != no ]] && ! command -v callgrind_control >/dev/null; then
  [[ $CALLGRIND == yes ]] && { echo "bench.sh: --callgrind needs valgrind (apt-get install valgrind)" >&2; exit 2; }
  echo "bench.sh: valgrind not installed: no instruction counts this run" >&2
  CALLGRIND=no
fi

if [[ $BUILD == 1 ]]; then
  echo "== cargo build --release --workspace" >&2
  cargo build --release --workspace --quiet
fi
BIN="${CARGO_TARGET_DIR:-target}/release"
BENCH="$BIN/mcp-bench"
ECHO="$(cd "$BIN" && pwd)/mcp-echo"
RELAY="$BIN/mcp-relay"
GATEWAY="$BIN/mcp-gateway"

mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcp-bench.XXXXXX")"
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 150); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [[ $alive == 0 ]] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stop one process we started (the gateway stops its stdio backends itself).
stop() {
  local pid keep=()
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do [[ "$pid" == "$1" ]] || keep+=("$pid"); done
  PIDS=("${keep[@]}")
}

# The first child process of PID (a gateway's stdio backend).
child_of() {
  local d ppid
  for d in /proc/[0-9]*; do
    ppid=$(awk '{print $4}' "$d/stat" 2>/dev/null) || continue
    if [[ "$ppid" == "$1" ]]; then echo "${d#/proc/}"; return 0; fi
  done
  return 1
}

# Progress goes to stderr; stdout is kept for the final tables.
bench() { timeout 600 "$BENCH" "$@" >&2; }
port() { "$BENCH" free-port; }

# gateway NAME CONFIG PORT: start a gateway, wait until every backend is ready; sets GW_PID.
gateway() {
  "$GATEWAY" --config "$2" --port "$3" 2>"$WORK/$1.log" &
  GW_PID=$!
  PIDS+=("$GW_PID")
  if ! bench wait --health --timeout 60s "http://127.0.0.1:$3/mcp" >/dev/null; then
    echo "bench.sh: gateway $1 did not become ready; its log:" >&2
    tail -n 30 "$WORK/$1.log" >&2
    exit 1
  fi
}

LOAD=(--duration "$DUR" --warmup "$WARM" --record "$RESULTS")

# ---------------------------------------------------------------- backends and the main gateway
# serve NAME COMMAND...: start COMMAND (its port given in it) in the background, wait until
# http://127.0.0.1:$SERVE_PORT/mcp answers; sets SERVED_PID and SERVED_URL.
serve() {
  local name=$1; shift
  "$@" 2>"$WORK/$name.log" &
  SERVED_PID=$!
  PIDS+=("$SERVED_PID")
  SERVED_URL="http://127.0.0.1:$SERVE_PORT/mcp"
  bench wait "$SERVED_URL" >/dev/null
}

SERVE_PORT=$(port); ECHO_PORT=$SERVE_PORT
serve echo-http "$ECHO" --http --port "$SERVE_PORT"
ECHO_PID=$SERVED_PID DIRECT=$SERVED_URL

# The reference rows: the thinnest proxies (no MCP, nothing parsed) in the gateway's seat, to the
# HTTP backend, and to a stdio child of their own (bodies as lines, answers matched by order).
SERVE_PORT=$(port)
serve relay "$RELAY" --port "$SERVE_PORT" --to "127.0.0.1:$ECHO_PORT"
RELAY_PID=$SERVED_PID RELAY_URL=$SERVED_URL
SERVE_PORT=$(port)
serve relay-stdio "$RELAY" --port "$SERVE_PORT" --stdio "$ECHO"
RELAY_STDIO_PID=$SERVED_PID RELAY_STDIO_URL=$SERVED_URL
RELAY_STDIO_CHILD=$(child_of "$RELAY_STDIO_PID")

GW_PORT=$(port)
cat > "$WORK/gateway.yaml" <<EOF
server:
  host: 127.0.0.1
  port: $GW_PORT
${STREAM_AFTER:+  stream_after: $STREAM_AFTER}
backends:
  echo-stdio:
    command: $ECHO
  echo-http:
    http_url: $DIRECT
EOF
gateway main "$WORK/gateway.yaml" "$GW_PORT"
GW=$GW_PID
STDIO_PID=$(child_of "$GW")
GW_URL="http://127.0.0.1:$GW_PORT/mcp"

# ---------------------------------------------------------------- tools/call matrix
# In rounds: each round measures every path once, so the paths and the direct baseline they are
# compared with see the same machine; the report pairs each round with its own baseline and takes
# medians over the rounds.
for payload in 16 16384; do
  for conc in 1 8; do
    for round in $(seq 1 "$ROUNDS"); do
      echo "== tools/call: concurrency $conc, $payload-byte argument, round $round of $ROUNDS" >&2
      common=(-c "$conc" --payload-bytes "$payload" --duration "$ROUND_DUR" --warmup "$ROUND_WARM"
        --record "$RESULTS" --round "$round")
      bench calls "${common[@]}" --url "$DIRECT" --watch "backend=$ECHO_PID" \
        --group direct --label "echo backend directly (HTTP)"
      bench calls "${common[@]}" --url "$RELAY_URL" --watch "gateway=$RELAY_PID" --watch "backend=$ECHO_PID" \
        --group relay --label "reference: mcp-relay (thinnest HTTP proxy) -> HTTP backend"
      bench calls "${common[@]}" --url "$RELAY_STDIO_URL" \
        --watch "gateway=$RELAY_STDIO_PID" --watch "backend=$RELAY_STDIO_CHILD" \
        --group relay-stdio --label "reference: mcp-relay --stdio (thinnest HTTP-to-stdio proxy) -> stdio backend"
      bench calls "${common[@]}" --url "$GW_URL" --invoke echo-stdio \
        --watch "gateway=$GW" --watch "backend=$STDIO_PID" \
        --group invoke-stdio --label "gateway_invoke -> stdio backend"
      bench calls "${common[@]}" --url "$GW_URL" --invoke echo-http \
        --watch "gateway=$GW" --watch "backend=$ECHO_PID" \
        --group invoke-http --label "gateway_invoke -> HTTP backend"
      bench calls "${common[@]}" --url "$GW_URL/echo-http" \
        --watch "gateway=$GW" --watch "backend=$ECHO_PID" \
        --group passthrough --label "/mcp/echo-http passthrough"
      bench calls "${common[@]}" --url "$GW_URL/echo-stdio" \
        --watch "gateway=$GW" --watch "backend=$STDIO_PID" \
        --group passthrough-stdio --label "/mcp/echo-stdio passthrough"
    done
  done
done

# ---------------------------------------------------------------- session setup
for conc in 1 8; do
  echo "== session setup: concurrency $conc" >&2
  bench setup -c "$conc" "${LOAD[@]}" --url "$DIRECT" --watch "backend=$ECHO_PID" \
    --group direct --label "echo backend directly"
  bench setup -c "$conc" "${LOAD[@]}" --url "$GW_URL" --watch "gateway=$GW" \
    --group gateway --label "gateway /mcp"
  bench setup -c "$conc" "${LOAD[@]}" --url "$GW_URL/echo-http" --watch "gateway=$GW" \
    --group passthrough --label "gateway /mcp/echo-http (pings the backend)"
done
stop "$GW"

# ---------------------------------------------------------------- 20 stdio backends
G20_PORT=$(port)
{
  echo "server: { host: 127.0.0.1, port: $G20_PORT }"
  echo "backends:"
  for i in $(seq -w 0 19); do
    echo "  echo-$i: { command: $ECHO }"
  done
} > "$WORK/gateway20.yaml"

echo "== startup with 20 stdio backends ($STARTUP_RUNS runs)" >&2
bench startup --runs "$STARTUP_RUNS" --url "http://127.0.0.1:$G20_PORT/mcp" --server echo-19 \
  --log "$WORK/startup.log" --record "$RESULTS" \
  --group startup-20 --label "20 stdio backends" \
  -- "$GATEWAY" --config "$WORK/gateway20.yaml" --port "$G20_PORT"

echo "== memory with 20 stdio backends" >&2
gateway g20 "$WORK/gateway20.yaml" "$G20_PORT"
G20=$GW_PID
G20_URL="http://127.0.0.1:$G20_PORT/mcp"
sleep 1
bench rss --pid "$G20" --record "$RESULTS" --group idle --label "idle, 20 stdio backends ready"
# On the fresh process, so the sessions cannot hide in memory freed after the load.
bench sessions --count 1000 -c 8 --url "$G20_URL" --pid "$G20" --record "$RESULTS" \
  --group sessions --label "with 1,000 open idle sessions (then closed)"
servers=$(seq -f 'echo-%02g' -s, 0 19)
bench calls -c 8 --payload-bytes 16384 "${LOAD[@]}" --url "$G20_URL" --invoke "$servers" \
  --watch "gateway=$G20" --group invoke-20 --label "gateway_invoke over 20 stdio backends, 16 KiB"
bench calls -c 8 --payload-bytes 16384 "${LOAD[@]}" --url "$G20_URL" --invoke echo-00 --progress-token \
  --watch "gateway=$G20" --group invoke-progress --label "gateway_invoke with _meta.progressToken, 16 KiB"
bench calls -c 1 --no-verify --tool gateway_list_tools --args '{}' "${LOAD[@]}" --url "$G20_URL" \
  --watch "gateway=$G20" --group list-20 --label "gateway_list_tools, 20 backends x 1 tool"
bench rss --pid "$G20" --record "$RESULTS" --group after-load --label "after load, 20 stdio backends"
stop "$G20"

# ---------------------------------------------------------------- search over 1k and 10k tools
for tools in 1000 10000; do
  echo "== search over $tools tools" >&2
  SP=$(port)
  cat > "$WORK/search$tools.yaml" <<EOF
server: { host: 127.0.0.1, port: $SP }
backends:
  tools: { command: $ECHO --tools $((tools - 1)) --page-size 1000 }
EOF
  gateway "search$tools" "$WORK/search$tools.yaml" "$SP"
  for conc in 1 8; do
    bench calls -c "$conc" --no-verify --tool gateway_search_tools \
      --args '{"query":"create an issue in github","limit":5}' "${LOAD[@]}" \
      --url "http://127.0.0.1:$SP/mcp" --watch "gateway=$GW_PID" \
      --group "search-$tools" --label "gateway_search_tools, $tools tools"
  done
  stop "$GW_PID"
done

# ---------------------------------------------------------------- instructions per call (callgrind)
if [[ $CALLGRIND != no ]]; then
  echo "== instructions per call under callgrind" >&2
  # under_callgrind NAME COMMAND...: start COMMAND under callgrind; sets CG_PID, CG_OUT.
  under_callgrind() {
    local name=$1; shift
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg-$name.%p" "$@" 2>"$WORK/cg-$name.log" &
    CG_PID=$!
    PIDS+=("$CG_PID")
    CG_OUT="$WORK/cg-$name.$CG_PID"
  }
  # count_alone NAME GROUP LABEL COMMAND...: COMMAND (listening on $CG_PORT) alone under callgrind,
  # one 16 B and one 16 KiB window of calls at concurrency 1.
  count_alone() {
    local name=$1 group=$2 label=$3; shift 3
    under_callgrind "$name" "$@"
    bench wait --timeout 120s "http://127.0.0.1:$CG_PORT/mcp" >/dev/null
    for payload in 16 16384; do
      bench calls -c 1 --payload-bytes "$payload" --duration "$CG_DUR" --warmup 1s --record "$RESULTS" \
        --url "http://127.0.0.1:$CG_PORT/mcp" --callgrind "$CG_PID=$CG_OUT" \
        --group "$group" --label "$label"
    done
    stop "$CG_PID"
  }
  CG_PORT=$(port)
  count_alone echo direct "echo backend directly (HTTP)" "$ECHO" --http --port "$CG_PORT"
  CG_PORT=$(port)
  count_alone relay relay "reference: mcp-relay (thinnest HTTP proxy) -> HTTP backend" \
    "$RELAY" --port "$CG_PORT" --to "127.0.0.1:$ECHO_PORT"
  CG_PORT=$(port)
  count_alone relay-stdio relay-stdio "reference: mcp-relay --stdio (thinnest HTTP-to-stdio proxy) -> stdio backend" \
    "$RELAY" --port "$CG_PORT" --stdio "$ECHO"
  CGG_PORT=$(port)
  sed "s/port: $GW_PORT/port: $CGG_PORT/" "$WORK/gateway.yaml" > "$WORK/gateway-cg.yaml"
  under_callgrind gateway "$GATEWAY" --config "$WORK/gateway-cg.yaml" --port "$CGG_PORT"
  bench wait --health --timeout 120s "http://127.0.0.1:$CGG_PORT/mcp" >/dev/null
  CGG_URL="http://127.0.0.1:$CGG_PORT/mcp"
  for payload in 16 16384; do
    cg=(-c 1 --payload-bytes "$payload" --duration "$CG_DUR" --warmup 1s --record "$RESULTS" --callgrind "$CG_PID=$CG_OUT")
    bench calls "${cg[@]}" --url "$CGG_URL" --invoke echo-stdio \
      --group invoke-stdio --label "gateway_invoke -> stdio backend"
    bench calls "${cg[@]}" --url "$CGG_URL" --invoke echo-http \
      --group invoke-http --label "gateway_invoke -> HTTP backend"
    bench calls "${cg[@]}" --url "$CGG_URL/echo-http" \
      --group passthrough --label "/mcp/echo-http passthrough"
    bench calls "${cg[@]}" --url "$CGG_URL/echo-stdio" \
      --group passthrough-stdio --label "/mcp/echo-stdio passthrough"
    bench calls "${cg[@]}" --url "$CGG_URL" --invoke echo-stdio --progress-token \
      --group invoke-stdio-progress --label "gateway_invoke -> stdio backend, with _meta.progressToken"
  done
  stop "$CG_PID"
fi

# ---------------------------------------------------------------- binary size
bench size "$GATEWAY" --record "$RESULTS" --group size --label "mcp-gateway (as built: line tables kept)" >/dev/null
if command -v strip >/dev/null; then
  strip -o "$WORK/mcp-gateway.stripped" "$GATEWAY"
  bench size "$WORK/mcp-gateway.stripped" --record "$RESULTS" --group size --label "mcp-gateway, stripped" >/dev/null
fi

# ---------------------------------------------------------------- report
{
  echo "## Results: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- mode: $MODE"
  echo "- command: \`scripts/bench.sh$([[ $QUICK == 1 ]] && echo ' --quick')\`"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)'), $(rustc --version)"
  echo "- load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  "$BENCH" report "$RESULTS"
} > "$OUT/results.md"
cat "$OUT/results.md"
echo "bench.sh: written to $OUT/results.md" >&2
