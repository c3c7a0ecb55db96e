#!/usr/bin/python3
"""The plots of an experiment suite (`elsa experiment SUITE --out DIR`): validation accuracy against the edge
round and against simulated time, one line per run; bytes per tier per method (mean over its runs); and
leakage (the inversion attack's token accuracy) against test accuracy when the suite ran the attack. Reads
DIR/results.csv and each run's metrics.jsonl (the run_dir column); writes DIR/plots/*.png.

    scripts/plot_suite.py runs/quick

Needs Debian's matplotlib (python3-matplotlib, installed by scripts/setup.sh).
"""
import csv
import json
import os
import sys


def fail(text):
    sys.stderr.write("plot_suite: " + text + "\n")
    return 1


def mean_accuracy(line):
    acc = line.get("accuracy")
    if not isinstance(acc, dict) or not acc:
        return None
    return sum(acc.values()) / len(acc)


def label_of(row, cells):
    # The method alone when it is the only thing that differs between the suite's runs.
    extra = [row[k] for k in ("tasks", "alpha", "faults", "seed") if len(cells[k]) > 1]
    return row["method"] + ("" if not extra else " (" + ", ".join(extra) + ")")


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: plot_suite.py DIR   (the --out folder of elsa experiment)\n")
        return 2
    out = argv[1]
    results = os.path.join(out, "results.csv")
    if not os.path.isfile(results):
        return fail("%s: no results.csv; not the folder of elsa experiment --out" % out)
    try:
        import matplotlib
    except ImportError:
        return fail("matplotlib is missing: apt-get install python3-matplotlib (scripts/setup.sh installs it)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(results, newline="") as f:
        rows = list(csv.DictReader(f))
    need = {"method", "tasks", "alpha", "seed", "faults", "test_accuracy", "run_dir"}
    if not rows:
        return fail("%s: no runs yet" % results)
    if not need.issubset(rows[0].keys()):
        return fail("%s: missing columns %s" % (results, ", ".join(sorted(need - set(rows[0].keys())))))
    cells = {k: {r[k] for r in rows} for k in ("tasks", "alpha", "faults", "seed")}
    plots_dir = os.path.join(out, "plots")
    os.makedirs(plots_dir, exist_ok=True)
    made = []

    curves = []
    for r in rows:
        run_dir = r["run_dir"] if os.path.isabs(r["run_dir"]) else os.path.join(out, r["run_dir"])
        metrics = os.path.join(run_dir, "metrics.jsonl")
        if not os.path.isfile(metrics):
            return fail("%s: the run of row %s has no metrics.jsonl" % (run_dir, r["method"]))
        pts = []
        with open(metrics) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    l = json.loads(line)
                except ValueError:
                    return fail("%s:%d: not a JSON line" % (metrics, n))
                a = mean_accuracy(l)
                if a is not None:
                    pts.append((l["round"] + 1, l.get("sim_time_s", 0.0), a))
        curves.append((label_of(r, cells), pts))

    for name, x_index, x_label in (("accuracy_vs_round.png", 0, "edge round"),
                                   ("accuracy_vs_sim_time.png", 1, "simulated time (s)")):
        fig, ax = plt.subplots(figsize=(7, 4))
        for label, pts in curves:
            ax.plot([p[x_index] for p in pts], [p[2] for p in pts], marker="o", markersize=3, label=label)
        ax.set_xlabel(x_label)
        ax.set_ylabel("validation accuracy (mean over tasks)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(plots_dir, name), dpi=100)
        plt.close(fig)
        made.append(name)

    tiers = ["client_to_edge", "edge_to_client", "edge_to_cloud", "cloud_to_edge"]
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(methods)), 4))
    width = 0.8 / len(tiers)
    for i, tier in enumerate(tiers):
        ys = []
        for m in methods:
            vals = [float(r["bytes_" + tier] or 0) / 1e6 for r in rows if r["method"] == m]
            ys.append(sum(vals) / len(vals))
        ax.bar([j + i * width for j in range(len(methods))], ys, width, label=tier.replace("_", " "))
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(methods))])
    ax.set_xticklabels(methods, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("MB per run (mean over its runs)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(plots_dir, "bytes_per_tier.png"), dpi=100)
    plt.close(fig)
    made.append("bytes_per_tier.png")

    leaks = [(float(r["inversion_token_accuracy"]), float(r["test_accuracy"]), r["method"])
             for r in rows if r.get("inversion_token_accuracy")]
    if leaks:
        fig, ax = plt.subplots(figsize=(6, 4))
        for m in methods:
            pts = [(x, y) for x, y, mm in leaks if mm == m]
            if pts:
                ax.scatter([p[0] for p in pts], [p[1] for p in pts], label=m)
        ax.set_xlabel("inversion attack token accuracy (lower: less leaked)")
        ax.set_ylabel("test accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(plots_dir, "leakage_vs_accuracy.png"), dpi=100)
        plt.close(fig)
        made.append("leakage_vs_accuracy.png")

    for name in made:
        print(os.path.join(plots_dir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
