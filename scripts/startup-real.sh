#!/usr/bin/env bash
# Time from exec to every backend ready, with N real stdio servers (server-memory on Node, from the
# pinned test peers): what a user with many npx servers waits for. Three runs per binary.
#
#   scripts/startup-real.sh [N] [BINARY...]     (default: 10, target/release/mcp-gateway)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
n="${1:-10}"
shift || true
binaries=("$@")
[[ ${#binaries[@]} -gt 0 ]] || binaries=(target/release/mcp-gateway)
bash scripts/install-test-deps.sh >/dev/null
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
{
  echo "backends:"
  for i in $(seq "$n"); do
    printf '  m%s:\n    command: %s\n    env:\n      MEMORY_FILE_PATH: %s/m%s.jsonl\n' \
      "$i" "$PWD/target/test-deps/bin/mcp-server-memory" "$dir" "$i"
  done
} >"$dir/gateway.yaml"
for bin in "${binaries[@]}"; do
  python3 - "$bin" "$dir/gateway.yaml" "$n" <<'PY'
import json, socket, subprocess, sys, time, urllib.request
binary, config, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
times = []
for _ in range(3):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    start = time.monotonic()
    p = subprocess.Popen([binary, "--config", config, "--port", str(port)], stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - start < 60:
            try:
                h = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1))
                if h["backends_ready"] == n:
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            sys.exit(f"{binary}: not all {n} backends ready in 60 s")
        times.append(time.monotonic() - start)
    finally:
        p.terminate(); p.wait()
    time.sleep(1)
print(f"{binary}: {n} real stdio servers ready after " + ", ".join(f"{t:.2f}" for t in times) + " s")
PY
done
