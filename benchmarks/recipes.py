"""How soon does each DCGAN recipe draw good clothes? FCD against minutes of training.

Reproduces docs/results.md, "What it buys, measured": the plot recipes_fcd.png, the table
"FCD (classes with at least 5% of the samples) and minutes of training" and the grids
recipes_fcd_grids.png; the README's "0.17 to 0.20 of the time" comes from its report. With
`--recipes article --epochs 5 --article-precision mixed_bfloat16 --out runs/recipes_bf16`,
the DCGAN's bfloat16 quality in docs/performance.md ("bfloat16 by default").

    python benchmarks/recipes.py                 # article and fast, 2 seeds, 10 epochs each
    python benchmarks/recipes.py --report-only   # redraw the plot and table from the runs on disk

Each (recipe, seed) trains `python dcgan_fashion.py train --recipe R --seed S` in its own
process, into runs/recipes/R-seedS/, scoring the generator on 10,000 samples after every
epoch (--eval-every 1 --eval-samples 10000, the method of `evaluate`). A folder that already
holds a run is resumed up to --epochs, so the command can be stopped and run again.

On a 2-core CPU the four runs train for about an hour, plus start-up and 40 scorings.
The minutes are the training time the program logs per epoch (the `seconds` column: the
steps of the epoch), summed; the scoring after each epoch is left out, as is start-up.
The article's recipe runs in float32, as the article does (--article-precision); the fast one
at --precision (default: auto, dcgan_fashion.py's default, bfloat16 on CPUs with bfloat16
instructions). The variants screened on the way to `fast` (paper-adam, smaller batches) ran
from this file until commit aeb37ab (`git show aeb37ab:benchmarks/recipes.py`).
No test asserts these numbers: GAN scores swing from seed to seed; read the two seeds.
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common import precision  # noqa: E402
from common.runs import grid_paths, read_log  # noqa: E402

MILESTONES = (1, 2, 3, 5, 10)


def run_folder(out, recipe, seed):
    return os.path.join(out, f"{recipe}-seed{seed}")


def train(recipe, seed, epochs, policy, out, eval_samples):
    """Train (or resume) one run in a fresh process, as a user would."""
    command = [
        sys.executable, "dcgan_fashion.py", "train", "--recipe", recipe, "--seed", str(seed),
        "--epochs", str(epochs), "--precision", policy,
        "--out-dir", run_folder(out, recipe, seed),
        "--eval-every", "1", "--eval-samples", str(eval_samples),
    ]
    print(f"\n=== {recipe}, seed {seed}: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def curve(run):
    """[(minutes, fcd, classes_covered, epoch)] of a run, from its log."""
    points, minutes = [], 0.0
    for row in read_log(os.path.join(run, "log.csv")):
        minutes += row["seconds"] / 60
        if "fcd" in row:
            points.append((minutes, row["fcd"], int(row["classes_covered"]), int(row["epoch"])))
    return points


def mean_at(runs, epoch, field):
    """The mean over runs of one field of their points at `epoch` (0: minutes, 1: FCD)."""
    return sum(next(p[field] for p in points if p[3] == epoch) for points in runs) / len(runs)


def report(recipes, seeds, out, plot_path, grid_minutes):
    curves = {
        (recipe, seed): curve(run_folder(out, recipe, seed))
        for recipe in recipes
        for seed in seeds
        if os.path.exists(os.path.join(run_folder(out, recipe, seed), "log.csv"))
    }
    print(f"\nMachine: {precision.describe_cpu()}")
    print("FCD (classes covered) at epoch; minutes of training in brackets")
    epochs = sorted({point[3] for points in curves.values() for point in points})
    shown = [epoch for epoch in epochs if epoch in MILESTONES] or epochs
    print(f"{'run':<26}" + "".join(f"{'epoch ' + str(e):>22}" for e in shown))
    for (recipe, seed), points in curves.items():
        by_epoch = {point[3]: point for point in points}
        cells = [
            "{1:7.2f} ({2:>2}) [{0:5.1f}]".format(*by_epoch[e]) if e in by_epoch else "-"
            for e in shown
        ]
        print(f"{recipe + ' seed ' + str(seed):<26}" + "".join(f"{cell:>22}" for cell in cells))
    for recipe in recipes:
        runs = [curves[(recipe, seed)] for seed in seeds if (recipe, seed) in curves]
        common = set.intersection(*({p[3] for p in points} for points in runs)) if runs else set()
        for epoch in sorted(common & set(MILESTONES)):
            print(f"  {recipe}: mean of {len(runs)} seeds at epoch {epoch}: FCD "
                  f"{mean_at(runs, epoch, 1):.2f} after {mean_at(runs, epoch, 0):.1f} min")
    # The README's figure: when each run first scores as well as the article's recipe after
    # 10 epochs, as a share of the article's time to get there.
    target = None
    article = [curves[("article", seed)] for seed in seeds if ("article", seed) in curves]
    if article and all(points and points[-1][3] >= 10 for points in article):
        target, budget = mean_at(article, 10, 1), mean_at(article, 10, 0)
        print(f"\nThe article's recipe after 10 epochs: FCD {target:.2f} (mean of seeds) in "
              f"{budget:.1f} min.")
        for (recipe, seed), points in curves.items():
            reached = next((p for p in points if p[1] <= target), None)
            if reached:
                print(f"  {recipe} seed {seed}: reached at epoch {reached[3]}, {reached[0]:.1f} "
                      f"min = {reached[0] / budget:.2f} of the article's time")
            else:
                print(f"  {recipe} seed {seed}: not reached")

    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    colours = dict(zip(recipes, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (recipe, seed), points in curves.items():
        if points:
            axis.plot([p[0] for p in points], [p[1] for p in points], marker=".",
                      color=colours[recipe], linestyle="-" if seed == seeds[0] else "--",
                      label=f"{recipe}, seed {seed}")
    if target:
        axis.axhline(target, color="grey", linestyle=":", label="article after 10 epochs (mean)")
    axis.set_yscale("log")
    axis.set_xlabel("minutes of training (2-core CPU)")
    axis.set_ylabel("FCD, 10,000 samples (lower is better)")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    axis.set_title("DCGAN on Fashion-MNIST: quality against time", fontsize=10)
    figure.tight_layout()
    os.makedirs(os.path.dirname(plot_path) or ".", exist_ok=True)
    figure.savefig(plot_path, dpi=80)
    plt.close(figure)
    print(f"Wrote {plot_path}")
    if grid_minutes:
        grids_at_minutes(
            curves, recipes, seeds[0], out, grid_minutes, plot_path.replace(".png", "_grids.png")
        )


def grids_at_minutes(curves, recipes, seed, out, minutes, path):
    """Each recipe's epoch grid of the last epoch finished by each minute: one row per minute."""
    import imageio.v3 as iio

    figure, axes = plt.subplots(
        len(minutes), len(recipes), figsize=(2.6 * len(recipes), 2.8 * len(minutes)), squeeze=False
    )
    for row, minute in zip(axes, minutes):
        for axis, recipe in zip(row, recipes):
            points = [p for p in curves.get((recipe, seed), []) if p[0] <= minute]
            epoch = points[-1][3] if points else 0
            grid = grid_paths(run_folder(out, recipe, seed)).get(epoch)
            if grid:
                axis.imshow(iio.imread(grid), cmap="gray", vmin=0, vmax=255)
            fcd = f", FCD {points[-1][1]:.1f}" if points else ""
            axis.set_title(f"{recipe} at {minute:g} min:\nepoch {epoch}{fcd}", fontsize=9)
            axis.axis("off")
    figure.suptitle(
        f"The fixed-noise grids after the same training time (seed {seed})", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    print(f"Wrote {path}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipes", nargs="+", default=["article", "fast"],
                        choices=["article", "fast"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--precision", default="auto",
                        help="for every recipe but the article's (default: auto)")
    parser.add_argument("--article-precision", default="float32")
    parser.add_argument("--eval-samples", type=int, default=10000)
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "recipes"))
    parser.add_argument("--plot", default=os.path.join(ROOT, "docs", "recipes_fcd.png"))
    parser.add_argument("--grid-minutes", type=float, nargs="*", default=[3, 15],
                        help="also draw each recipe's grid at these minutes (default: 3 15)")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    print(f"Machine: {precision.describe_cpu()}")
    if not args.report_only:
        for seed in args.seeds:
            for recipe in args.recipes:
                chosen = args.article_precision if recipe == "article" else args.precision
                train(recipe, seed, args.epochs, chosen, args.out, args.eval_samples)
    report(args.recipes, args.seeds, args.out, args.plot, args.grid_minutes)


if __name__ == "__main__":
    main()
