#!/usr/bin/env bash
# The gateway's backend side as the client under test of the official suite's
# client scenarios: `conformance client --command "bash tests/conformance/gateway-as-client.sh"`
# appends the mock server's URL. We start mcp-gateway with that server as its one HTTP backend,
# wait until it is ready, list its tools, and call each once through gateway_invoke from one
# session of the Python SDK 1.x client (tests/peers/mcp_client.py, $MCP_CLIENT_BIN), which
# accepts elicitations with {"confirmed": true}. Arguments: numbers 1 and 2 for numeric
# parameters, simple values for the other required ones, a non-ASCII padded string for optional
# ones mirrored into an Mcp-Param header, and json_schema_echo gets the schema of
# json_schema_2020_12_tool as the gateway listed it. Then we stop the gateway.
set -euo pipefail
url="${!#}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
gateway="${MCP_GATEWAY_BIN:-$root/target/debug/mcp-gateway}"
dir="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
printf 'backends:\n  mock:\n    http_url: "%s"\n    timeout: 10s\n' "$url" > "$dir/gateway.yaml"
"$gateway" --config "$dir/gateway.yaml" --port "$port" --log-level warn 2>"$dir/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -sf "$base/health" >/dev/null 2>&1 && break
  sleep 0.1
done
rpc() { # session-less helper: initialize, then one request; prints the response body
  local sid
  sid="$(curl -s -D - -o /dev/null "$base/mcp" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"conformance-wrapper","version":"1"}}}' \
    | tr -d '\r' | awk -F': ' 'tolower($1)=="mcp-session-id"{print $2}')"
  curl -s "$base/mcp" -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' -H "mcp-session-id: $sid" -d "$1"
}
tools="$(rpc '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"gateway_list_tools","arguments":{"server":"mock"}}}')"
# Then one real client session (the Python SDK 1.x, which answers elicitations) calls them all.
python3 - "$tools" "$base/mcp" "${MCP_CLIENT_BIN:-$root/target/test-deps/bin/mcp-client}" <<'PY'
import json, subprocess, sys
text, url, client = sys.argv[1:4]
if not text.lstrip().startswith("{"):  # an SSE answer stream: the answer is the last message
    text = [l[6:] for l in text.splitlines() if l.startswith("data: ") and l[6:].strip()][-1]
tools = json.loads(text).get("result", {}).get("structuredContent", {}).get("tools", [])
schemas = {t["name"]: t.get("inputSchema") or {} for t in tools}

def arguments(name, schema):
    if name == "json_schema_echo":  # json-schema-2020-12-preservation: echo what we were given
        return {"schema": schemas.get("json_schema_2020_12_tool", {})}
    props = schema.get("properties") or {}
    required = schema.get("required") or []
    args = {}
    for i, (k, v) in enumerate(props.items()):
        kind = v.get("type")
        if kind in ("number", "integer"):
            args[k] = 1 if i == 0 else 2
        elif k in required:
            args[k] = {"string": "test-value", "boolean": True, "object": {}, "array": []}.get(kind, "test-value")
        elif "x-mcp-header" in v and kind == "string":
            args[k] = " héllo wörld "  # mirrored into a header: only its base64 form can carry it
    return args

# --keep-going: a mock that implements no tools/call answers with an error, and the others still run.
argv = [client, "--transport", "http", "--url", url, "--timeout", "20", "--keep-going",
        "--elicitation-accept", json.dumps({"confirmed": True})]
for name, schema in schemas.items():
    call = {"server": "mock", "tool": name, "arguments": arguments(name, schema)}
    argv += ["--call", "gateway_invoke", json.dumps(call)]
sys.stdout.flush()
# 1: some call was answered with an error, which the scenario's checks judge; 2 and 3 (bad usage,
# no connection) are the harness failing.
code = subprocess.call(argv)
sys.exit(0 if code in (0, 1) else code)
PY
