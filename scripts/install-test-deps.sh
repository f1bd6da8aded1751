#!/usr/bin/env bash
# Install the real MCP peers used by mcp-gateway's tests into target/test-deps/.
#
#   target/test-deps/npm/      `npm ci` of tests/peers/package{,-lock}.json
#                              (MCP servers, inspector, conformance suite, Node 22)
#   target/test-deps/venv/     Python venv with tests/peers/requirements.txt
#                              (MCP Python SDK 1.x, mcp-server-time, mcp-server-fetch)
#   target/test-deps/bin/      one entry per tool (listed at the end); `conformance` there is
#                              a wrapper that runs the suite on Node 22, `mcp-client` runs
#                              tests/peers/mcp_client.py with the venv's python
#   target/test-deps/env.sh    `source` it: PATH, NODE22, MCP_PY, MCP_CLIENT, ...
#
# PATH gets target/test-deps/bin only, not node_modules/.bin or venv/bin wholesale: those
# hold `node` (= Node 22) and `python`/`pip`, which would shadow the system ones, and the
# servers and the inspector are meant to run on the system Node 20.
#
# Idempotent: a stamp keyed on the hash of the lock files (and of this script) skips all
# work when nothing changed. FORCE=1 reinstalls. PYTHON=... picks the interpreter for the venv.
# Needs only the system node/npm (Node 20 is fine) and python3 (>= 3.10) with venv + pip.
set -euo pipefail

die() { echo "install-test-deps: ERROR: $*" >&2; exit 1; }
log() { echo "install-test-deps: $*" >&2; }

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
PEERS="$ROOT/tests/peers"
DEPS="$ROOT/target/test-deps"
NPM_DIR="$DEPS/npm"
VENV="$DEPS/venv"
BIN="$DEPS/bin"
STAMP="$DEPS/.stamp"
ENV_SH="$DEPS/env.sh"

NODE22="$NPM_DIR/node_modules/node/bin/node"
NPM_BIN="$NPM_DIR/node_modules/.bin"
MCP_PY="$VENV/bin/python"

for f in package.json package-lock.json requirements.txt mcp_client.py; do
  [[ -f "$PEERS/$f" ]] || die "missing $PEERS/$f"
done
command -v npm >/dev/null || die "npm not found on PATH"
command -v node >/dev/null || die "node not found on PATH"
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found on PATH"

WANT="$(cat "$PEERS/package.json" "$PEERS/package-lock.json" "$PEERS/requirements.txt" \
          "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

# "name target": each gets an entry in $BIN, is checked by the fast path and listed at the end.
tools() {
  cat <<EOF
node22 $NODE22
mcp-server-everything $NPM_BIN/mcp-server-everything
mcp-server-filesystem $NPM_BIN/mcp-server-filesystem
mcp-server-memory $NPM_BIN/mcp-server-memory
mcp-inspector $NPM_BIN/mcp-inspector
conformance $NPM_BIN/conformance
mcp-python $MCP_PY
mcp-server-time $VENV/bin/mcp-server-time
mcp-server-fetch $VENV/bin/mcp-server-fetch
mcp-client $PEERS/mcp_client.py
EOF
}

print_tools() {
  local name path
  while read -r name path; do
    printf '%-22s %s\n' "$name" "$BIN/$name"
  done < <(tools)
  printf '%-22s %s\n' "env.sh" "$ENV_SH"
}

all_present() {
  local name path
  while read -r name path; do
    [[ -e "$path" && -e "$BIN/$name" ]] || return 1
  done < <(tools)
  [[ -f "$ENV_SH" ]]
}

if [[ "${FORCE:-0}" != 1 && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && all_present; then
  print_tools
  exit 0
fi

mkdir -p "$DEPS"
rm -f "$STAMP"

# ------------------------------------------------------------------------------ npm
log "npm ci -> $NPM_DIR"
mkdir -p "$NPM_DIR"
cp "$PEERS/package.json" "$PEERS/package-lock.json" "$NPM_DIR/"
npm_log="$DEPS/npm-ci.log"
if ! (cd "$NPM_DIR" && npm ci --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1); then
  cat "$npm_log" >&2
  die "npm ci failed (log: $npm_log)"
fi
[[ -x "$NODE22" ]] || die "Node 22 binary missing at $NODE22 (did the 'node' package's preinstall run?)"
n22v="$("$NODE22" --version)" || die "$NODE22 does not run"
[[ "$n22v" == v22.* ]] || die "$NODE22 is $n22v, expected v22.x"

# ------------------------------------------------------------------------------ python
log "pip install -r requirements.txt -> $VENV"
if ! "$MCP_PY" -c 'import sys' 2>/dev/null; then
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || die "venv creation failed (Debian: apt-get install python3-venv)"
fi
pip_log="$DEPS/pip.log"
if ! "$MCP_PY" -m pip install --quiet --disable-pip-version-check \
      -r "$PEERS/requirements.txt" >"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  die "pip install failed (log: $pip_log)"
fi
"$MCP_PY" -c 'import mcp.client.streamable_http, mcp.client.sse, mcp.client.stdio' \
  || die "the mcp SDK does not import in $VENV"

# mcp-server-fetch uses readabilipy, which on its first HTML page runs `npm install` in its
# own javascript/ folder, printing npm's output onto the server's stdout (the MCP channel).
# Give it the JS deps pinned in our package.json instead (link its node_modules to ours).
rjs="$("$MCP_PY" -c 'import os, readabilipy; print(os.path.join(os.path.dirname(readabilipy.__file__), "javascript"))' 2>/dev/null || true)"
if [[ -n "$rjs" && -f "$rjs/package.json" ]]; then
  for m in @mozilla/readability jsdom minimist; do
    [[ -d "$NPM_DIR/node_modules/$m" ]] || die "$m missing from $NPM_DIR (needed by readabilipy)"
  done
  rm -rf "$rjs/node_modules"
  ln -s "$NPM_DIR/node_modules" "$rjs/node_modules"
fi

# ------------------------------------------------------------------------------ bin/
rm -rf "$BIN"
mkdir -p "$BIN"
while read -r name path; do
  case "$name" in
    conformance) # needs Node >= 22, but its shebang is `env node`
      printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$NODE22" "$(readlink -f "$path")" >"$BIN/$name"
      chmod +x "$BIN/$name" ;;
    mcp-client)
      printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$MCP_PY" "$path" >"$BIN/$name"
      chmod +x "$BIN/$name" ;;
    *) ln -s "$path" "$BIN/$name" ;;
  esac
done < <(tools)

# ------------------------------------------------------------------------------ env.sh
cat >"$ENV_SH" <<EOF
# Generated by scripts/install-test-deps.sh -- source it.
export TEST_DEPS="$DEPS"
export PATH="$BIN:\$PATH"
export NODE22="$NODE22"
export MCP_PY="$MCP_PY"
export MCP_CLIENT="$PEERS/mcp_client.py"
export MCP_SERVER_EVERYTHING="$BIN/mcp-server-everything"
export MCP_SERVER_FILESYSTEM="$BIN/mcp-server-filesystem"
export MCP_SERVER_MEMORY="$BIN/mcp-server-memory"
export MCP_INSPECTOR="$BIN/mcp-inspector"
export MCP_CONFORMANCE="$BIN/conformance"
export MCP_SERVER_TIME="$BIN/mcp-server-time"
export MCP_SERVER_FETCH="$BIN/mcp-server-fetch"
EOF

if ! all_present; then
  while read -r name path; do
    [[ -e "$path" ]] || echo "missing: $name -> $path" >&2
  done < <(tools)
  die "some tools are missing after install"
fi
echo "$WANT" >"$STAMP"
print_tools
