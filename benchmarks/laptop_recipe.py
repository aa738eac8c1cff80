"""The laptop recipe against the article's default: what one hour of a CPU buys on a folder.

Reproduces docs/colour.md, "An hour on a laptop": the table (epochs in the hour, SWD at the
end, memorisation), the curve emoji_laptop.png and the grids emoji_laptop_grids.png; and the
README's "Your own pictures in an hour": its figures and its picture emoji_laptop_1h.png (the
laptop recipe's last grid of the last seed).

    python benchmarks/emoji_folder.py runs/emoji500 --count 500
    python benchmarks/laptop_recipe.py --data-dir runs/emoji500            # 2 seeds, 60 min each
    python benchmarks/laptop_recipe.py --data-dir runs/emoji500 --report-only

For each seed, the two runs train side by side, each pinned to one core of its own (so the
two compete for nothing but memory), and each is stopped with SIGKILL after --minutes of wall
time, start-up and scoring included: what a learner who starts it and comes back in an hour
gets. Each run scores itself every --eval-every epochs (the curve); after the stop, `evaluate`
scores the last checkpoint of each with the same samples and pictures (the table). A run on
one core is slower than the same run alone on a 2-core laptop, so what one core reaches in an
hour, a 2-core laptop reaches in an hour or less.

  article: `dcgan_color.py train` as it comes (width 64, the article's network and updates)
  laptop:  `--width 32 --recipe fast --augment` (a quarter of the arithmetic per step, the
           averaged generator, DiffAugment; each measured on its own in docs/colour.md)

No test asserts these numbers: GAN scores swing from seed to seed; read the two seeds.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from common import precision  # noqa: E402
from common.runs import grid_paths, read_log  # noqa: E402

RECIPES = {
    "article": [],
    "laptop": ["--width", "32", "--recipe", "fast", "--augment"],
}


def run_folder(out, recipe, seed):
    return os.path.join(out, f"{recipe}-seed{seed}")


def train_side_by_side(recipes, seed, args):
    """Start one run per recipe, each pinned to its own core; SIGKILL them all after the time."""
    cores = sorted(os.sched_getaffinity(0))
    started, outputs = [], []
    for index, recipe in enumerate(recipes):
        folder = run_folder(args.out, recipe, seed)
        if os.path.exists(folder):
            sys.exit(f"{folder} exists: remove it to train again, or pass --report-only.")
        os.makedirs(folder)
        command = [sys.executable, "dcgan_color.py", "train", "--data-dir", args.data_dir,
                   "--out-dir", folder, "--seed", str(seed), "--epochs", "100000",
                   "--eval-every", str(args.eval_every), "--eval-samples", str(args.n),
                   *RECIPES[recipe]]
        core = cores[index % len(cores)]
        print(f"core {core}: {' '.join(command[1:])}", flush=True)
        outputs.append(open(os.path.join(folder, "output.txt"), "w"))
        started.append(subprocess.Popen(
            command, cwd=ROOT, stdout=outputs[-1], stderr=subprocess.STDOUT,
            preexec_fn=lambda core=core: os.sched_setaffinity(0, {core})))
    deadline = time.monotonic() + 60 * args.minutes
    while time.monotonic() < deadline and any(p.poll() is None for p in started):
        time.sleep(5)
    for process in started:
        process.kill()  # TensorFlow catches SIGTERM; a kill is the stop nothing can delay
        process.wait(timeout=60)
    for output in outputs:
        output.close()


def final_score(folder, args):
    """`evaluate` on the run's last checkpoint; its line of metrics.jsonl."""
    subprocess.run([sys.executable, "dcgan_color.py", "evaluate", "--out-dir", folder,
                    "--n", str(args.n)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(folder, "metrics.jsonl")) as lines:
        return json.loads(lines.readlines()[-1])


def curve(folder):
    """[(minutes of training, swd, epoch)] from the run's log: the steps' time, summed."""
    points, minutes = [], 0.0
    for row in read_log(os.path.join(folder, "log.csv")):
        minutes += row["seconds"] / 60
        if "swd" in row:
            points.append((minutes, row["swd"], int(row["epoch"])))
    return points, minutes


def report(recipes, seeds, args):
    print(f"\nMachine: {precision.describe_cpu()}")
    print(f"SWD x1e3 (mean of the levels; lower is better) of {args.n} samples against "
          f"{args.n} pictures of {args.data_dir}, after {args.minutes:g} min of wall time on one "
          f"core each")
    print(f"{'run':<18}{'epochs':>8}{'train min':>11}{'SWD':>9}{'floor':>8}{'memorisation':>14}")
    curves, finals = {}, {}
    for seed in seeds:
        for recipe in recipes:
            folder = run_folder(args.out, recipe, seed)
            if not os.path.exists(os.path.join(folder, "log.csv")):
                continue
            curves[recipe, seed] = curve(folder)
            record = finals[recipe, seed] = final_score(folder, args)
            print(f"{recipe + ' seed ' + str(seed):<18}{record['epoch']:>8}"
                  f"{curves[recipe, seed][1]:>11.1f}{record['swd']['mean']:>9.1f}"
                  f"{record['floor']['mean']:>8.1f}{record['memorisation']:>14.2f}")
    plot(curves, finals, recipes, seeds, args)
    grids(finals, recipes, seeds, args)


def plot(curves, finals, recipes, seeds, args):
    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    colours = dict(zip(recipes, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (recipe, seed), (points, minutes) in curves.items():
        style = "-" if seed == seeds[0] else "--"
        axis.plot([p[0] for p in points], [p[1] for p in points], marker=".", linestyle=style,
                  color=colours[recipe], label=f"{recipe}, seed {seed}")
        axis.plot([minutes], [finals[recipe, seed]["swd"]["mean"]], marker="*", markersize=10,
                  color=colours[recipe])
    floor = [record["floor"]["mean"] for record in finals.values()]
    if floor:
        axis.axhline(sum(floor) / len(floor), color="grey", linestyle=":", label="floor")
    axis.set_xlabel("minutes of training, one core each (star: the last checkpoint)")
    axis.set_ylabel(f"SWD x1e3, {args.n} samples")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(f"dcgan_color on {os.path.basename(args.data_dir.rstrip('/'))}: "
                   "the score against time", fontsize=10)
    figure.tight_layout()
    figure.savefig(args.plot, dpi=80)
    plt.close(figure)
    print(f"Wrote {args.plot}")


def grids(finals, recipes, seeds, args):
    """The fixed-noise grid of each run's last epoch: one row per seed, one column per recipe."""
    import imageio.v3 as iio

    figure, axes = plt.subplots(len(seeds), len(recipes), squeeze=False,
                                figsize=(3.2 * len(recipes), 3.5 * len(seeds)))
    for row, seed in zip(axes, seeds):
        for axis, recipe in zip(row, recipes):
            axis.axis("off")
            record = finals.get((recipe, seed))
            if not record:
                continue
            grid = grid_paths(run_folder(args.out, recipe, seed)).get(record["epoch"])
            if grid:
                axis.imshow(iio.imread(grid))
            axis.set_title(f"{recipe}, seed {seed}: epoch {record['epoch']}\n"
                           f"SWD {record['swd']['mean']:.1f}", fontsize=9)
    figure.tight_layout()
    path = args.plot.replace(".png", "_grids.png")
    figure.savefig(path, dpi=90)
    plt.close(figure)
    print(f"Wrote {path}")
    # The README's picture: the laptop recipe's grid at the end of the hour, the last seed.
    record = finals.get(("laptop", seeds[-1]))
    grid = record and grid_paths(run_folder(args.out, "laptop", seeds[-1])).get(record["epoch"])
    if grid:
        shutil.copyfile(grid, args.plot.replace(".png", "_1h.png"))
        print(f"Wrote {args.plot.replace('.png', '_1h.png')}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--n", type=int, default=250, help="samples scored (default 250)")
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "laptop"))
    parser.add_argument("--plot", default=os.path.join(ROOT, "docs", "emoji_laptop.png"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    print(f"Machine: {precision.describe_cpu()}", flush=True)
    if not args.report_only:
        for seed in args.seeds:
            train_side_by_side(args.recipes, seed, args)
    report(args.recipes, args.seeds, args)


if __name__ == "__main__":
    main()
