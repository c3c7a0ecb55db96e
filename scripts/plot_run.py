#!/usr/bin/python3
"""One run's plots and report: validation accuracy, loss, bytes per tier, trust and clusters over the rounds,
from RUN/metrics.jsonl and RUN/summary.json (as `elsa run` writes them). Writes RUN/plots/*.png and
RUN/report.html, one self-contained page (tables and the plots embedded; nothing is fetched) to open in a
browser.

    scripts/plot_run.py runs/quickstart

Needs Debian's matplotlib (python3-matplotlib, installed by scripts/setup.sh); uses /usr/bin/python3, the
interpreter Debian's package is for.
"""
import base64
import html
import json
import os
import sys


def fail(text):
    sys.stderr.write("plot_run: " + text + "\n")
    return 1


def read_lines(path):
    lines = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                raise ValueError("%s:%d: not a JSON line (%s)" % (path, n, e))
            if not isinstance(obj, dict) or "round" not in obj:
                raise ValueError("%s:%d: not a metrics line of elsa run (no round)" % (path, n))
            lines.append(obj)
    return lines


def plots(lines, out_dir, plt):
    """Each plot as (file name, title); only those the run has data for."""
    made = []
    rounds = [l["round"] + 1 for l in lines]

    def save(name, title, fig):
        fig.tight_layout()
        fig.savefig(os.path.join(out_dir, name), dpi=100)
        plt.close(fig)
        made.append((name, title))

    # Validation accuracy per task (cloud rounds), and train loss.
    tasks = sorted({t for l in lines if isinstance(l.get("accuracy"), dict) for t in l["accuracy"]})
    if tasks:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for t in tasks:
            xs = [l["round"] + 1 for l in lines if isinstance(l.get("accuracy"), dict) and t in l["accuracy"]]
            ys = [l["accuracy"][t] for l in lines if isinstance(l.get("accuracy"), dict) and t in l["accuracy"]]
            ax.plot(xs, ys, marker="o", label=t)
        ax.set_xlabel("edge round")
        ax.set_ylabel("validation accuracy")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.legend()
        save("accuracy.png", "Validation accuracy after each cloud round", fig)
    losses = [(l["round"] + 1, l["train_loss"]) for l in lines if isinstance(l.get("train_loss"), (int, float))]
    if losses:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot([r for r, _ in losses], [v for _, v in losses], marker="o", label="train (all clients)")
        for t in tasks:
            ev = [(l["round"] + 1, l["eval_loss"][t]) for l in lines
                  if isinstance(l.get("eval_loss"), dict) and t in l["eval_loss"]]
            if ev:
                ax.plot([r for r, _ in ev], [v for _, v in ev], marker="s", label="validation " + t)
        ax.set_xlabel("edge round")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend()
        save("loss.png", "Loss", fig)
    # Bytes per tier and round.
    tiers = ["client_to_edge", "edge_to_client", "edge_to_cloud", "cloud_to_edge", "control"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bottom = [0.0] * len(lines)
    for tier in tiers:
        ys = [l.get("bytes", {}).get(tier, 0) / 1e6 for l in lines]
        ax.bar(rounds, ys, bottom=bottom, label=tier.replace("_", " "))
        bottom = [b + y for b, y in zip(bottom, ys)]
    ax.set_xlabel("edge round")
    ax.set_ylabel("MB")
    ax.legend(fontsize=8)
    save("bytes.png", "Bytes per tier and round", fig)
    # Trust per client (when the coordinator scored it).
    clients = sorted({c for l in lines if isinstance(l.get("trust"), dict) for c in l["trust"]}, key=int)
    if clients:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        for c in clients:
            pts = [(l["round"] + 1, l["trust"][c]) for l in lines if isinstance(l.get("trust"), dict) and c in l["trust"]]
            ax.plot([r for r, _ in pts], [v for _, v in pts], marker=".", label="client " + c)
        ax.set_xlabel("edge round")
        ax.set_ylabel("trust")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
        if len(clients) <= 12:
            ax.legend(fontsize=7, ncol=2)
        save("trust.png", "Trust per client", fig)
    # Cluster of each client over the rounds (behaviour clustering).
    clustered = [l for l in lines if isinstance(l.get("clusters"), dict) and l["clusters"]]
    if clustered:
        ids = sorted({c for l in clustered for c in l["clusters"]}, key=int)
        grid = [[l["clusters"].get(c, -1) for l in clustered] for c in ids]
        fig, ax = plt.subplots(figsize=(6, max(2.0, 0.25 * len(ids) + 1)))
        im = ax.imshow(grid, aspect="auto", interpolation="nearest", cmap="tab10", vmin=0, vmax=9)
        ax.set_xticks(range(len(clustered)))
        ax.set_xticklabels([str(l["round"] + 1) for l in clustered])
        if len(ids) <= 40:
            ax.set_yticks(range(len(ids)))
            ax.set_yticklabels(ids, fontsize=7)
        ax.set_xlabel("edge round")
        ax.set_ylabel("client")
        fig.colorbar(im, ax=ax, label="cluster")
        save("clusters.png", "Cluster of each client (colour) after each clustering", fig)
    return made


def table(rows, header):
    out = ["<table><tr>" + "".join("<th>%s</th>" % html.escape(h) for h in header) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join("<td>%s</td>" % html.escape(str(v)) for v in r) + "</tr>")
    return "\n".join(out) + "</table>"


def report(run, lines, summary, made):
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>ELSA run %s</title>" % html.escape(run),
             "<style>body{font-family:sans-serif;max-width:960px;margin:2em auto}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}img{max-width:100%}</style>"
             "</head><body>",
             "<h1>ELSA run %s</h1>" % html.escape(run)]
    finished = summary.get("finished", False)
    parts.append("<p>%d of %s edge rounds recorded; %s; wall time %.1f s.</p>" % (
        len(lines), summary.get("rounds", "?"), "finished" if finished else "not finished",
        float(summary.get("wall_seconds", 0.0))))
    tasks = summary.get("tasks", {})
    if tasks:
        rows = [(t, "%.4f" % v.get("test_accuracy", 0.0) if "test_accuracy" in v else "-",
                 "%.4f" % v.get("test_macro_f1", 0.0) if "test_macro_f1" in v else "-",
                 "%.4f" % v.get("majority_accuracy", 0.0)) for t, v in sorted(tasks.items())]
        parts.append("<h2>Test scores</h2>" + table(rows, ["task", "accuracy", "macro-F1", "majority class"]))
    b = summary.get("bytes", {})
    if b:
        parts.append("<h2>Bytes</h2>" + table([(k, "%.2f" % (v / 1e6)) for k, v in b.items()], ["tier", "MB"]))
    rows = []
    for l in lines:
        acc = l.get("accuracy")
        acc_text = ", ".join("%s %.3f" % (t, a) for t, a in sorted(acc.items())) if isinstance(acc, dict) else ""
        loss = l.get("train_loss")
        rows.append((l["round"] + 1, "%.4f" % loss if isinstance(loss, (int, float)) else "-", acc_text,
                     "%s/%s" % (l.get("clients_reported", "?"), l.get("clients_expected", "?")),
                     "%.2f" % (sum(l.get("bytes", {}).values()) / 1e6), "%.1f" % l.get("elapsed_s", 0.0)))
    parts.append("<h2>Rounds</h2>" + table(rows, ["round", "train loss", "validation accuracy", "reported",
                                                  "MB", "elapsed s"]))
    for name, title in made:
        with open(os.path.join(run, "plots", name), "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        parts.append("<h2>%s</h2><img alt='%s' src='data:image/png;base64,%s'>" % (
            html.escape(title), html.escape(title), data))
    parts.append("<p>Made by <code>scripts/plot_run.py %s</code> from metrics.jsonl and summary.json.</p>"
                 % html.escape(run))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: plot_run.py RUN   (a run directory of elsa run)\n")
        return 2
    run = argv[1]
    metrics = os.path.join(run, "metrics.jsonl")
    if not os.path.isfile(metrics):
        return fail("%s: no metrics.jsonl; not a run directory of elsa run" % run)
    try:
        import matplotlib
    except ImportError:
        return fail("matplotlib is missing: apt-get install python3-matplotlib (scripts/setup.sh installs it)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        lines = read_lines(metrics)
    except (OSError, ValueError) as e:
        return fail(str(e))
    if not lines:
        return fail("%s: no rounds recorded yet" % metrics)
    summary = {}
    summary_file = os.path.join(run, "summary.json")
    if os.path.isfile(summary_file):
        try:
            with open(summary_file) as f:
                summary = json.load(f)
        except ValueError as e:
            return fail("%s: not JSON (%s)" % (summary_file, e))
    out_dir = os.path.join(run, "plots")
    os.makedirs(out_dir, exist_ok=True)
    made = plots(lines, out_dir, plt)
    page = os.path.join(run, "report.html")
    with open(page, "w") as f:
        f.write(report(run, lines, summary, made))
    for name, _ in made:
        print(os.path.join(out_dir, name))
    print(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
