#!/usr/bin/env python3
"""Validate the search benchmark data in bench/search/ and print a summary.

    python3 bench/search/check_data.py [--quiet]

Checks, failing (exit 1) on any error:
- catalog.json: the documented shape, unique server names, unique tool names per server, every
  tool with a name and an object inputSchema;
- queries.json, queries-holdout.json, queries-blind.json, queries-blind-2.json, queries-dev-2.json
  and queries-dev-3.json: lists of {id, category, query, expected}; ids and
  queries (compared case- and space-insensitively) unique across the files; category one of
  natural / keyword / typo / terse; every expected {server, tool} present in the catalog, no
  expected pair listed twice;
- "natural" queries share no word with the name of any of their expected tools, apart from the
  product word a server puts in all its tool names (jira_, slack_, browser_, ...) and stop words
  (words are split on case and punctuation; a trailing plural s is dropped);
- every "typo" query has at least one word that appears nowhere in the catalog's tool names,
  descriptions or server names/descriptions (so the misspelling is really out of vocabulary).

Standard library only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
CATEGORIES = ("natural", "keyword", "typo", "terse")
QUERY_FILES = (
    "queries.json",
    "queries-holdout.json",
    "queries-blind.json",
    "queries-blind-2.json",
    "queries-dev-2.json",
    "queries-dev-3.json",
)
STOP = {"a", "an", "the", "to", "from", "by", "in", "on", "at", "for", "with", "or", "and", "of", "is", "it",
        "my", "me", "all", "as", "be", "do", "i", "this", "that", "what", "s", "up"}
# Words that name the product in every tool of a server, beyond the server's own name.
PRODUCT_WORDS = {
    "atlassian": {"jira", "confluence"},
    "playwright": {"browser"},
    "google-maps": {"maps"},
    "kubernetes": {"kubectl"},
    "notion": {"api"},
    "brave-search": {"brave"},
}


def words(text: str) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    out = []
    for w in re.split(r"[^A-Za-z0-9]+", text.lower()):
        if not w:
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.append(w)
    return out


def product_words(server: str) -> set[str]:
    return set(words(server)) | PRODUCT_WORDS.get(server, set())


def load(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check_catalog(cat, errors: list[str]) -> dict[tuple[str, str], dict]:
    tools: dict[tuple[str, str], dict] = {}
    if not isinstance(cat, dict) or not isinstance(cat.get("servers"), list):
        errors.append("catalog.json: expected an object with a 'servers' list")
        return tools
    if not isinstance(cat.get("generated"), str):
        errors.append("catalog.json: 'generated' (a date string) missing")
    seen_servers = set()
    for s in cat["servers"]:
        name = s.get("name")
        for key in ("name", "package", "description"):
            if not isinstance(s.get(key), str) or not s.get(key):
                errors.append(f"catalog.json: server {name!r}: '{key}' missing or empty")
        if name in seen_servers:
            errors.append(f"catalog.json: server name {name!r} appears twice")
        seen_servers.add(name)
        if not isinstance(s.get("tools"), list) or not s["tools"]:
            errors.append(f"catalog.json: server {name!r} has no tools")
            continue
        for t in s["tools"]:
            tname = t.get("name")
            if not isinstance(tname, str) or not tname:
                errors.append(f"catalog.json: {name}: a tool without a name")
                continue
            if (name, tname) in tools:
                errors.append(f"catalog.json: {name}/{tname} listed twice")
            schema = t.get("inputSchema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                errors.append(f"catalog.json: {name}/{tname}: inputSchema is not an object schema")
            tools[(name, tname)] = t
    return tools


def vocabulary(cat) -> set[str]:
    vocab: set[str] = set()
    for s in cat["servers"]:
        vocab.update(words(s["name"]), words(s["description"]))
        for t in s["tools"]:
            vocab.update(words(t.get("name", "")), words(t.get("description") or ""), words(t.get("title") or ""))
            props = (t.get("inputSchema") or {}).get("properties") or {}
            for pname, p in props.items():
                vocab.update(words(pname))
                if isinstance(p, dict):
                    vocab.update(words(str(p.get("description") or "")))
    return vocab


def check_queries(files: dict[str, list], tools, vocab, errors: list[str]) -> None:
    seen_ids: dict[str, str] = {}
    seen_text: dict[str, str] = {}
    for fname, qs in files.items():
        if not isinstance(qs, list):
            errors.append(f"{fname}: expected a JSON list")
            continue
        for i, q in enumerate(qs):
            where = f"{fname}[{i}]"
            if not isinstance(q, dict):
                errors.append(f"{where}: not an object")
                continue
            qid, text, cat, exp = q.get("id"), q.get("query"), q.get("category"), q.get("expected")
            where = f"{fname} {qid or i}"
            if not isinstance(qid, str) or not qid:
                errors.append(f"{where}: 'id' missing")
            elif qid in seen_ids:
                errors.append(f"{where}: id also in {seen_ids[qid]}")
            else:
                seen_ids[qid] = fname
            if not isinstance(text, str) or not text.strip():
                errors.append(f"{where}: 'query' missing or empty")
                continue
            norm = " ".join(text.lower().split())
            if norm in seen_text:
                errors.append(f"{where}: duplicate query {text!r} (also {seen_text[norm]})")
            seen_text[norm] = f"{fname} {qid}"
            if cat not in CATEGORIES:
                errors.append(f"{where}: category {cat!r} not one of {CATEGORIES}")
            if not isinstance(exp, list) or not exp:
                errors.append(f"{where}: 'expected' must be a non-empty list")
                continue
            pairs = set()
            for e in exp:
                pair = (e.get("server"), e.get("tool")) if isinstance(e, dict) else (None, None)
                if pair in pairs:
                    errors.append(f"{where}: expected {pair[0]}/{pair[1]} listed twice")
                pairs.add(pair)
                if pair not in tools:
                    errors.append(f"{where}: expected {pair[0]}/{pair[1]} is not in the catalog")
            qwords = set(words(text)) - STOP
            if cat == "natural":
                for server, tool in sorted(p for p in pairs if p in tools):
                    shared = (qwords & set(words(tool))) - product_words(server)
                    if shared:
                        errors.append(f"{where}: natural query {text!r} shares {sorted(shared)} "
                                      f"with {server}/{tool}")
            if cat == "typo" and not any(w not in vocab for w in words(text) if not w.isdigit()):
                errors.append(f"{where}: typo query {text!r} has no out-of-vocabulary word")


def summary(cat, files, tools) -> None:
    servers = cat["servers"]
    n_tools = sum(len(s["tools"]) for s in servers)
    size = (HERE / "catalog.json").stat().st_size
    print(f"catalog.json: {len(servers)} servers, {n_tools} tools, {size / 1e6:.2f} MB, generated {cat['generated']}")
    for s in servers:
        print(f"  {s['name']:<20} {len(s['tools']):>4}  {s['package']}")
    print()
    all_q = [q for qs in files.values() for q in qs]
    print("| file | queries | " + " | ".join(CATEGORIES) + " | expected per query |")
    print("|---|---|" + "---|" * len(CATEGORIES) + "---|")
    for fname, qs in list(files.items()) + [("all", all_q)]:
        c = Counter(q["category"] for q in qs)
        avg = sum(len(q["expected"]) for q in qs) / max(len(qs), 1)
        print(f"| {fname} | {len(qs)} | " + " | ".join(f"{c[k]} ({c[k] / max(len(qs), 1):.0%})" for k in CATEGORIES)
              + f" | {avg:.2f} |")
    print()
    hit_servers = Counter()
    hit_tools = set()
    single = 0
    for q in all_q:
        pairs = {(e["server"], e["tool"]) for e in q["expected"]}
        hit_tools |= pairs
        for s in {p[0] for p in pairs}:
            hit_servers[s] += 1
        single += len(pairs) == 1
    unused = [s["name"] for s in servers if s["name"] not in hit_servers]
    print(f"queries with exactly one correct tool: {single} of {len(all_q)}")
    print(f"distinct expected tools: {len(hit_tools)}; servers covered: {len(hit_servers)} of {len(servers)}"
          + (f" (none for: {', '.join(unused)})" if unused else ""))
    print("queries per server: " + ", ".join(f"{s} {n}" for s, n in hit_servers.most_common()))


def main() -> int:
    ap = argparse.ArgumentParser(description="Validate bench/search data and print a summary.")
    ap.add_argument("--quiet", action="store_true", help="print errors only")
    a = ap.parse_args()
    errors: list[str] = []
    cat = load(HERE / "catalog.json")
    tools = check_catalog(cat, errors)
    files = {name: load(HERE / name) for name in QUERY_FILES}
    check_queries(files, tools, vocabulary(cat), errors)
    if not a.quiet and not errors:
        summary(cat, files, tools)
    for e in errors:
        print(f"ERROR: {e}", file=sys.stderr)
    print(f"\n{'FAILED' if errors else 'OK'}: {len(errors)} error(s)", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
