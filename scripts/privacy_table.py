#!/usr/bin/env python3
"""The SS-OP table of docs/privacy.md from attacked runs (each with RUN/attack.json),
the first one the undefended run; with --plot, also a leakage-vs-accuracy SVG (no plotting library needed).

    python3 scripts/privacy_table.py [--plot OUT.svg] RUN_OFF RUN_SIGMA ...

scripts/privacy_sweep.sh makes the runs and calls this.
"""
import json
import sys


def load(run):
    with open(f"{run}/attack.json") as f:
        a = json.load(f)
    if a.get("test_accuracy") is None:
        sys.exit(f"privacy_table: {run}/attack.json has no test_accuracy (the run did not finish?)")
    a["task_accuracy"] = a["test_accuracy"]  # the run's test accuracy, mean over its tasks
    a["run"] = run
    return a


def svg(points, path):
    """points: (label, recovery, accuracy); x = token recovery, y = test accuracy."""
    w, h, m = 560, 360, 60
    xs = [p[1] for p in points]
    ys = [p[2] for p in points]
    x0, x1 = 0.0, max(1.0, max(xs))
    y0, y1 = min(ys) - 0.01, max(ys) + 0.01
    X = lambda v: m + (v - x0) / (x1 - x0) * (w - 2 * m)
    Y = lambda v: h - m - (v - y0) / (y1 - y0) * (h - 2 * m)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{m}" y1="{h-m}" x2="{w-m}" y2="{h-m}" stroke="black"/>',
           f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h-m}" stroke="black"/>',
           f'<text x="{w/2}" y="{h-15}" text-anchor="middle">tokens recovered by the inverter (token accuracy)</text>',
           f'<text x="15" y="{h/2}" transform="rotate(-90 15 {h/2})" text-anchor="middle">test accuracy</text>']
    for i in range(6):
        v = x0 + (x1 - x0) * i / 5
        out.append(f'<text x="{X(v)}" y="{h-m+16}" text-anchor="middle">{v:.1f}</text>')
        u = y0 + (y1 - y0) * i / 5
        out.append(f'<text x="{m-6}" y="{Y(u)+4}" text-anchor="end">{u:.3f}</text>')
    pts = " ".join(f"{X(p[1])},{Y(p[2])}" for p in points)
    out.append(f'<polyline points="{pts}" fill="none" stroke="steelblue"/>')
    for label, r, a in points:
        out.append(f'<circle cx="{X(r)}" cy="{Y(a)}" r="4" fill="steelblue"/>')
        out.append(f'<text x="{X(r)+6}" y="{Y(a)-6}">{label}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main(argv):
    plot = None
    if len(argv) > 2 and argv[1] == "--plot":
        plot, argv = argv[2], [argv[0]] + argv[3:]
    if len(argv) < 2:
        sys.exit(__doc__)
    rows = [load(r) for r in argv[1:]]
    base = rows[0]
    if base["token_accuracy"] <= 0:
        sys.exit(f"privacy_table: the undefended run {base['run']} recovered no tokens; nothing to compare with")
    print("| SS-OP | token recovery (best inverter) | ROUGE-L | linear | MLP | unigram guess | test accuracy | accuracy change |")
    print("|---|---|---|---|---|---|---|---|")
    points = []
    for r in rows:
        label = f"sigma {r['ssop_sigma']:g}, k {r['ssop_k']}" if r["ssop"] else "off"
        inv = r["inverters"]
        acc, d = r["task_accuracy"], r["task_accuracy"] - base["task_accuracy"]
        print(f"| {label} | {r['token_accuracy']:.4f} ({r['token_accuracy'] / base['token_accuracy']:.2f}x of off) "
              f"| {r['rouge_l']:.4f} | {inv['linear']['token_accuracy']:.4f} | {inv['mlp']['token_accuracy']:.4f} "
              f"| {r['unigram_token_accuracy']:.4f} | {acc:.4f} | {100 * d:+.2f} points |")
        tag = f"sigma {r['ssop_sigma']:g}" + (f" k {r['ssop_k']}" if r["ssop_k"] != 16 else "")
        points.append((tag if r["ssop"] else "off", r["token_accuracy"], acc))
    ok = [r for r in rows[1:] if r["token_accuracy"] <= 0.5 * base["token_accuracy"]
          and r["task_accuracy"] >= base["task_accuracy"] - 0.01]
    print()
    if ok:
        print("target met (recovery at most half of the undefended run's at <= 1 point accuracy cost) at: "
              + ", ".join(f"sigma {r['ssop_sigma']:g} (k {r['ssop_k']})" for r in ok))
    else:
        print("target not met: no sigma halves recovery at <= 1 point accuracy cost")
    if plot:
        svg(points, plot)
        print(f"wrote {plot}")


if __name__ == "__main__":
    main(sys.argv)
