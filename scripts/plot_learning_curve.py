#!/usr/bin/python3
"""The learning curve of a pre-training run: held-out perplexity against tokens seen, from the run's
metrics.jsonl (one line per evaluation, written by `elsa pretrain`), as a PNG.

    scripts/plot_learning_curve.py models/elsa-base/metrics.jsonl models/elsa-base/learning_curve.png

Needs Debian's matplotlib (python3-matplotlib, installed by scripts/setup.sh). Uses /usr/bin/python3, the interpreter Debian's package is for.
"""
import json
import sys


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: plot_learning_curve.py METRICS.jsonl OUT.png\n")
        return 2
    metrics, out = argv[1], argv[2]
    try:
        import matplotlib
    except ImportError:
        sys.stderr.write("plot_learning_curve: matplotlib is missing: apt-get install python3-matplotlib\n")
        return 1
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tokens, ppl = [], []
    try:
        with open(metrics) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if "heldout_ppl" in row:
                        tokens.append(row["tokens_seen"] / 1e6)
                        ppl.append(row["heldout_ppl"])
                except (ValueError, KeyError) as e:
                    sys.stderr.write(f"plot_learning_curve: {metrics}:{n}: not a metrics line ({e})\n")
                    return 1
    except OSError as e:
        sys.stderr.write(f"plot_learning_curve: cannot read {metrics}: {e.strerror}\n")
        return 1
    if not ppl:
        sys.stderr.write(f"plot_learning_curve: {metrics} has no heldout_ppl lines\n")
        return 1

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    ax.plot(tokens, ppl, marker="o", markersize=3)
    ax.set_yscale("log")
    ax.set_xlabel("tokens seen (millions)")
    ax.set_ylabel("held-out perplexity (log scale)")
    ax.set_title(f"pre-training: held-out perplexity {ppl[0]:.0f} -> {ppl[-1]:.1f}")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out)
    print(f"wrote {out}: {len(ppl)} points, {tokens[-1]:.2f} M tokens, last held-out perplexity {ppl[-1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
