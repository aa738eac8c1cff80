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

import os
import subprocess
import sys

import imageio.v3 as iio

from _shared import ROOT, curve, parser, plot_curves, print_machine, pyplot, run_folder
from _shared import save_figure
from common.runs import grid_paths

MILESTONES = (1, 2, 3, 5, 10)
PLOT = os.path.join(ROOT, "docs", "recipes_fcd.png")
GRID_MINUTES = (3, 15)


def mean_at(runs, epoch, field):
    """The mean over runs of one field of their points at `epoch` (0: minutes, 1: FCD)."""
    return sum(next(p[field] for p in points if p[2] == epoch) for points in runs) / len(runs)


def report(recipes, seeds, out):
    curves = {(recipe, seed): curve(run_folder(out, recipe, seed), "fcd")[0]
              for recipe in recipes for seed in seeds
              if os.path.exists(os.path.join(run_folder(out, recipe, seed), "log.csv"))}
    print_machine("\n")
    print("FCD (classes covered) at epoch; minutes of training in brackets")
    epochs = sorted({point[2] for points in curves.values() for point in points})
    shown = [epoch for epoch in epochs if epoch in MILESTONES] or epochs
    print(f"{'run':<26}" + "".join(f"{'epoch ' + str(e):>22}" for e in shown))
    for (recipe, seed), points in curves.items():
        by_epoch = {p[2]: f"{p[1]:7.2f} ({int(p[3]['classes_covered']):>2}) [{p[0]:5.1f}]"
                    for p in points}
        print(f"{recipe + ' seed ' + str(seed):<26}"
              + "".join(f"{by_epoch.get(e, '-'):>22}" for e in shown))
    for recipe in recipes:
        runs = [curves[recipe, seed] for seed in seeds if (recipe, seed) in curves]
        common = set.intersection(*({p[2] for p in points} for points in runs)) if runs else set()
        for epoch in sorted(common & set(MILESTONES)):
            print(f"  {recipe}: mean of {len(runs)} seeds at epoch {epoch}: FCD "
                  f"{mean_at(runs, epoch, 1):.2f} after {mean_at(runs, epoch, 0):.1f} min")
    # The README's figure: when each run first scores as well as the article's recipe after
    # 10 epochs, as a share of the article's time to get there.
    target = None
    article = [curves["article", seed] for seed in seeds if ("article", seed) in curves]
    if article and all(points and points[-1][2] >= 10 for points in article):
        target, budget = mean_at(article, 10, 1), mean_at(article, 10, 0)
        print(f"\nThe article's recipe after 10 epochs: FCD {target:.2f} (mean of seeds) in "
              f"{budget:.1f} min.")
        for (recipe, seed), points in curves.items():
            reached = next((p for p in points if p[1] <= target), None)
            print(f"  {recipe} seed {seed}: " + (
                f"reached at epoch {reached[2]}, {reached[0]:.1f} min = "
                f"{reached[0] / budget:.2f} of the article's time" if reached else "not reached"))

    figure, axis, _ = plot_curves(curves, recipes, seeds)
    if target:
        axis.axhline(target, color="grey", linestyle=":", label="article after 10 epochs (mean)")
    axis.set_yscale("log")
    axis.set_xlabel("minutes of training (2-core CPU)")
    axis.set_ylabel("FCD, 10,000 samples (lower is better)")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    axis.set_title("DCGAN on Fashion-MNIST: quality against time", fontsize=10)
    save_figure(figure, PLOT, 80)
    grids_at_minutes(curves, recipes, seeds[0], out)


def grids_at_minutes(curves, recipes, seed, out):
    """Each recipe's epoch grid of the last epoch finished by each minute: one row per minute."""
    figure, axes = pyplot().subplots(len(GRID_MINUTES), len(recipes), squeeze=False,
                                figsize=(2.6 * len(recipes), 2.8 * len(GRID_MINUTES)))
    for row, minute in zip(axes, GRID_MINUTES):
        for axis, recipe in zip(row, recipes):
            points = [p for p in curves.get((recipe, seed), []) if p[0] <= minute]
            epoch = points[-1][2] if points else 0
            grid = grid_paths(run_folder(out, recipe, seed)).get(epoch)
            if grid:
                axis.imshow(iio.imread(grid), cmap="gray", vmin=0, vmax=255)
            fcd = f", FCD {points[-1][1]:.1f}" if points else ""
            axis.set_title(f"{recipe} at {minute:g} min:\nepoch {epoch}{fcd}", fontsize=9)
            axis.axis("off")
    figure.suptitle(f"The fixed-noise grids after the same training time (seed {seed})",
                    fontsize=10)
    save_figure(figure, PLOT.replace(".png", "_grids.png"), 110)


def main():
    options = parser(__doc__)
    options.add_argument("--recipes", nargs="+", default=["article", "fast"],
                         choices=["article", "fast"])
    options.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    options.add_argument("--epochs", type=int, default=10)
    options.add_argument("--precision", default="auto", help="the fast recipe's (default: auto)")
    options.add_argument("--article-precision", default="float32")
    options.add_argument("--out", default=os.path.join(ROOT, "runs", "recipes"))
    options.add_argument("--report-only", action="store_true")
    args = options.parse_args()
    print_machine()
    for seed in [] if args.report_only else args.seeds:
        for recipe in args.recipes:
            command = [sys.executable, "dcgan_fashion.py", "train", "--recipe", recipe,
                       "--seed", str(seed), "--epochs", str(args.epochs), "--precision",
                       args.article_precision if recipe == "article" else args.precision,
                       "--out-dir", run_folder(args.out, recipe, seed),
                       "--eval-every", "1", "--eval-samples", "10000"]
            print(f"\n=== {recipe}, seed {seed}: {' '.join(command[1:])}", flush=True)
            subprocess.run(command, cwd=ROOT, check=True)
    report(args.recipes, args.seeds, args.out)


if __name__ == "__main__":
    main()
