#!/usr/bin/env python3
"""Fixed vs dynamic splits on the simulated clock: the table of docs/mechanisms.md
section 2 from finished runs, and with --plot an SVG of validation accuracy against simulated time (no
plotting library needed).

    python3 scripts/compare_splits.py [--plot OUT.svg] [--target ACC] NAME=RUN NAME=RUN ...

Each RUN is an `elsa run` folder (metrics.jsonl, summary.json). The target accuracy is --target, else the
runs' [output] target_accuracy. "to target" is the simulated time of the first cloud round whose validation
accuracy reaches it on every task; the speed-up column divides the best fixed split's time (among the fixed
splits that fit every device's memory) by each run's.
"""
import json
import sys


def load(name, run):
    lines = []
    with open(f"{run}/metrics.jsonl") as f:
        for line in f:
            if line.strip():
                lines.append(json.loads(line))
    with open(f"{run}/summary.json") as f:
        summary = json.load(f)
    if not lines or "sim_time_s" not in lines[-1]:
        sys.exit(f"compare_splits: {run} has no simulated clock in metrics.jsonl")
    points = []  # (sim_time_s, mean validation accuracy) at each cloud round
    for l in lines:
        if l.get("cloud_round") and isinstance(l.get("accuracy"), dict) and l["accuracy"]:
            acc = l["accuracy"]
            points.append((l["sim_time_s"], sum(acc.values()) / len(acc), min(acc.values())))
    test = [t["test_accuracy"] for t in summary["tasks"].values() if "test_accuracy" in t]
    splits = sorted({tuple(c["split"]) for l in lines for c in l.get("sim_clients", {}).values()})
    over = sorted({int(k) for l in lines for k, c in l.get("sim_clients", {}).items() if not c.get("memory_ok", True)})
    return {"name": name, "run": run, "points": points, "total": lines[-1]["sim_time_s"],
            "test": sum(test) / len(test) if test else float("nan"), "summary": summary, "splits": splits, "over": over,
            "rounds": len(lines)}


def time_to(points, target):
    for t, _, worst in points:
        if worst >= target:
            return t
    return None


def svg(runs, path):
    w, h, m = 640, 400, 64
    pts = [p for r in runs for p in r["points"]]
    x1 = max(max(p[0] for p in pts) * 1.02, 1e-9)
    if not pts:
        sys.exit("compare_splits: no cloud round with an accuracy in any run; nothing to plot")
    y0 = min(p[1] for p in pts) - 0.01
    y1 = max(p[1] for p in pts) + 0.01
    X = lambda v: m + v / x1 * (w - 2 * m)
    Y = lambda v: h - m - (v - y0) / (y1 - y0) * (h - 2 * m)
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{m}" y1="{h-m}" x2="{w-m}" y2="{h-m}" stroke="black"/>',
           f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h-m}" stroke="black"/>',
           f'<text x="{w/2}" y="{h-18}" text-anchor="middle">simulated time (s)</text>',
           f'<text x="16" y="{h/2}" transform="rotate(-90 16 {h/2})" text-anchor="middle">validation accuracy</text>']
    for i in range(6):
        v = x1 * i / 5
        out.append(f'<text x="{X(v)}" y="{h-m+16}" text-anchor="middle">{v:.0f}</text>')
        a = y0 + (y1 - y0) * i / 5
        out.append(f'<text x="{m-6}" y="{Y(a)+4}" text-anchor="end">{a:.3f}</text>')
    for i, r in enumerate(runs):
        c = colours[i % len(colours)]
        path_d = " ".join(f"{'M' if j == 0 else 'L'}{X(t):.1f},{Y(a):.1f}" for j, (t, a, _) in enumerate(r["points"]))
        out.append(f'<path d="{path_d}" fill="none" stroke="{c}" stroke-width="2"/>')
        for t, a, _ in r["points"]:
            out.append(f'<circle cx="{X(t):.1f}" cy="{Y(a):.1f}" r="3" fill="{c}"/>')
        out.append(f'<text x="{w-m-150}" y="{m+16*i}" fill="{c}">{r["name"]}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main(argv):
    plot, target = None, None
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--plot":
            plot = argv[i + 1]
            i += 2
        elif argv[i] == "--target":
            target = float(argv[i + 1])
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if not args or any("=" not in a for a in args):
        sys.exit(__doc__)
    runs = [load(*a.split("=", 1)) for a in args]
    if target is None:
        target = runs[0]["summary"].get("target_accuracy") or 0.0
    for r in runs:
        r["to_target"] = time_to(r["points"], target) if target > 0 else None
    # The best fixed split that every device can hold (a split over a device's memory could not run there).
    fixed = [r["to_target"] for r in runs
             if r["summary"].get("split_mode") == "fixed" and r["to_target"] and not r["over"]]
    best_fixed = min(fixed) if fixed else None
    print(f"target: validation accuracy >= {target} on every task\n")
    print("| run | splits used | fits every device's memory | rounds | simulated time (s) | to target (s) | speed-up vs best fixed | final test accuracy |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        tt = r["to_target"]
        speed = f"{best_fixed / tt:.2f}x" if best_fixed and tt else "-"
        used = " ".join(f"({a},{b})" for a, b in r["splits"])
        fits = "yes" if not r["over"] else "no: clients " + ", ".join(map(str, r["over"]))
        print(f"| {r['name']} | {used} | {fits} | {r['rounds']} | {r['total']:.1f} | {tt:.1f} |" if tt else
              f"| {r['name']} | {used} | {fits} | {r['rounds']} | {r['total']:.1f} | not reached |", end="")
        print(f" {speed} | {r['test']:.4f} |")
    if plot:
        svg(runs, plot)
        print(f"\nplot: {plot}")


if __name__ == "__main__":
    main(sys.argv[1:])
