#!/usr/bin/env bash
# The gateway's backend side as the client under test of the official suite's
# client scenarios: `conformance client --command "bash tests/conformance/gateway-as-client.sh"`
# appends the mock server's URL. We start mcp-gateway with that server as its one HTTP backend,
# wait until it is ready, call each of its tools once through gateway_invoke (numbers 1 and 2 for
# numeric parameters), and stop the gateway.
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
python3 - "$tools" <<'PY' | while read -r call; do rpc "$call" >/dev/null; done
import json, sys
text = sys.argv[1]
if not text.lstrip().startswith("{"):  # an SSE answer stream: the answer is the last message
    text = [l[6:] for l in text.splitlines() if l.startswith("data: ") and l[6:].strip()][-1]
body = json.loads(text)
for tool in body.get("result", {}).get("structuredContent", {}).get("tools", []):
    props = (tool.get("inputSchema") or {}).get("properties") or {}
    args = {k: (1 if i == 0 else 2) for i, (k, v) in enumerate(props.items()) if v.get("type") in ("number", "integer")}
    print(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "gateway_invoke", "arguments": {"server": "mock", "tool": tool["name"], "arguments": args}}}))
PY
