#!/usr/bin/env python3
"""Redo the seeded split of the benchmark queries into queries.json and queries-holdout.json.

    python3 bench/search/split_queries.py [--seed 20261125]

Reads both files, orders all queries by id, and for each category shuffles that category's
queries with random.Random(f"{seed}:{category}") and puts the first third (rounded) into the
holdout set: a stratified random third, so the holdout has the same mix of natural / keyword /
typo / terse queries. Both files are written back sorted by id. The same seed and the same set
of queries always give the same split; adding queries can move others between the files.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 20261125
CATEGORIES = ("natural", "keyword", "typo", "terse")


def dump(path: Path, queries: list[dict]) -> None:
    lines = ["["]
    for i, q in enumerate(queries):
        obj = {"id": q["id"], "category": q["category"], "query": q["query"], "expected": q["expected"]}
        lines.append("  " + json.dumps(obj, ensure_ascii=False) + ("," if i + 1 < len(queries) else ""))
    lines.append("]")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=SEED)
    a = ap.parse_args()
    queries = []
    for name in ("queries.json", "queries-holdout.json"):
        p = HERE / name
        if p.exists():
            queries += json.loads(p.read_text(encoding="utf-8"))
    queries.sort(key=lambda q: q["id"])
    holdout_ids = set()
    for cat in CATEGORIES:
        ids = [q["id"] for q in queries if q["category"] == cat]
        random.Random(f"{a.seed}:{cat}").shuffle(ids)
        holdout_ids.update(ids[: round(len(ids) / 3)])
    dump(HERE / "queries.json", [q for q in queries if q["id"] not in holdout_ids])
    dump(HERE / "queries-holdout.json", [q for q in queries if q["id"] in holdout_ids])
    print(f"seed {a.seed}: {len(queries) - len(holdout_ids)} tuning, {len(holdout_ids)} holdout")


if __name__ == "__main__":
    main()
