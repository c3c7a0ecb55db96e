#!/usr/bin/env python3
"""The compression table of docs/privacy.md from two finished runs of the same seed.

    build/elsa run configs/quickstart.toml --out runs/quickstart
    build/elsa run configs/compressed.toml --out runs/compressed
    python3 scripts/compare_compression.py runs/quickstart runs/compressed

Prints, per tier and kind, the bytes each run sent (summary.json bytes_by_kind), their ratio, the uplink
adapter and activation ratios the issue's targets are about, and the test accuracy of both runs.
"""
import json
import sys


def load(run):
    with open(f"{run}/summary.json") as f:
        return json.load(f)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    base, comp = (load(r) for r in sys.argv[1:])
    bb, cb = base["bytes_by_kind"], comp["bytes_by_kind"]
    print(f"| tier | kind | {sys.argv[1]} MB | {sys.argv[2]} MB | fewer |")
    print("|---|---|---|---|---|")
    for tier in ["client_to_edge", "edge_to_client", "edge_to_cloud", "cloud_to_edge"]:
        for kind in ["activations", "gradients", "adapters", "control"]:
            b, c = bb[tier][kind], cb[tier][kind]
            if b == 0 and c == 0:
                continue
            print(f"| {tier} | {kind} | {b / 1e6:.2f} | {c / 1e6:.2f} | {b / c if c else float('inf'):.2f}x |")

    def uplink_adapters(b):
        return b["client_to_edge"]["adapters"] + b["edge_to_cloud"]["adapters"]

    def activations(b):
        return sum(b[t]["activations"] for t in b)

    print()
    print(f"uplink adapter bytes (client->edge + edge->cloud): {uplink_adapters(bb) / 1e6:.2f} MB -> "
          f"{uplink_adapters(cb) / 1e6:.2f} MB, {uplink_adapters(bb) / uplink_adapters(cb):.2f}x fewer")
    print(f"activation bytes (both directions): {activations(bb) / 1e6:.1f} MB -> {activations(cb) / 1e6:.1f} MB, "
          f"{activations(bb) / activations(cb):.2f}x fewer")
    for task, t in base["tasks"].items():
        a, c = t.get("test_accuracy"), comp["tasks"][task].get("test_accuracy")
        print(f"{task} test accuracy: {a:.4f} -> {c:.4f} ({(c - a) * 100:+.2f} points)")


if __name__ == "__main__":
    main()
