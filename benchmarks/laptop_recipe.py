"""The laptop recipe against the article's default: what one hour of a CPU buys on a folder.

Reproduces docs/colour.md, "An hour on a laptop": the table (epochs in the hour, SWD at the
end, memorisation), the curve emoji_laptop.png and the grids emoji_laptop_grids.png; and the
README's "Your own pictures in an hour": its figures and its picture emoji_laptop_1h.png (the
laptop recipe's last grid of the last seed).

    python benchmarks/emoji_folder.py runs/emoji500 --count 500
    python benchmarks/laptop_recipe.py --data-dir runs/emoji500            # 2 seeds, 60 min each
    python benchmarks/laptop_recipe.py --data-dir runs/emoji500 --report-only
    python benchmarks/emoji_folder.py runs/emoji100 --count 100 --seed 1   # docs/colour.md's 100
    python benchmarks/laptop_recipe.py --data-dir runs/emoji100 --minutes 12 --eval-every 0 \
        --out runs/laptop100 --plot runs/laptop100/curve.png  # scored once, at the end

For each seed, the two runs train side by side, each pinned to one core of its own (so the
two compete for nothing but memory), and each is stopped with SIGKILL after --minutes of wall
time, start-up and scoring included: what a learner who starts it and comes back in an hour
gets. Each run scores itself every 10 epochs on 250 samples (the curve); after the stop,
`evaluate` scores the last checkpoint of each with the same samples and pictures (the table).
A run on one core is slower than the same run alone on a 2-core laptop, so what one core
reaches in an hour, a 2-core laptop reaches in an hour or less.

  article: `dcgan_color.py train` as it comes (width 64, the article's network and updates)
  laptop:  `--width 32 --recipe fast --augment` (a quarter of the arithmetic per step, the
           averaged generator, DiffAugment; each measured on its own in docs/colour.md)

No test asserts these numbers: GAN scores swing from seed to seed; read the two seeds.
"""

import os
import shutil
import subprocess
import sys
import time

import imageio.v3 as iio

from _shared import ROOT, curve, last_score, parser, plot_curves, print_machine, pyplot
from _shared import run_folder, save_figure
from common.folder_scores import deviations
from common.runs import grid_paths

RECIPES = {"article": [], "laptop": ["--width", "32", "--recipe", "fast", "--augment"]}
SAMPLES = 250
PLOT = os.path.join(ROOT, "docs", "emoji_laptop.png")


def train_side_by_side(seed, args):
    """Start one run per recipe, each pinned to its own core; SIGKILL them all after the time."""
    cores = sorted(os.sched_getaffinity(0))
    started, outputs = [], []
    for index, recipe in enumerate(RECIPES):
        folder = run_folder(args.out, recipe, seed)
        if os.path.exists(folder):
            sys.exit(f"{folder} exists: remove it to train again, or pass --report-only.")
        os.makedirs(folder)
        command = [sys.executable, "dcgan_color.py", "train", "--data-dir", args.data_dir,
                   "--out-dir", folder, "--seed", str(seed), "--epochs", "100000",
                   "--eval-every", str(args.eval_every), "--eval-samples", str(SAMPLES),
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
    for process, output in zip(started, outputs):
        process.wait(timeout=60)
        output.close()


def report(args):
    print_machine("\n")
    print(f"SWD x1e3 (mean of the levels; lower is better) of up to {SAMPLES} samples against "
          f"as many pictures of {args.data_dir} (half the folder at most), after "
          f"{args.minutes:g} min of wall time on one core each; the floor's SD and each score "
          "in floor deviations (SWD dev, KID dev) where evaluate gave them")
    print(f"{'run':<18}{'epochs':>8}{'train min':>11}{'SWD':>9}{'floor':>8}{'SD':>7}"
          f"{'SWD dev':>9}{'KID dev':>9}{'memorisation':>14}")
    curves, finals = {}, {}
    for seed in args.seeds:
        for recipe in RECIPES:
            folder = run_folder(args.out, recipe, seed)
            if not os.path.exists(os.path.join(folder, "log.csv")):
                continue
            curves[recipe, seed] = curve(folder, "swd")
            subprocess.run([sys.executable, "dcgan_color.py", "evaluate", "--out-dir", folder,
                            "--n", str(SAMPLES)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            record = finals[recipe, seed] = last_score(folder)
            sd = record.get("floor_sd", {}).get("mean", float("nan"))
            kid_sd = record.get("kid_floor_sd", float("nan"))
            swd_dev = deviations(record["swd"]["mean"], record["floor"]["mean"], sd)
            kid_dev = deviations(record.get("kid", float("nan")), record.get("kid_floor", 0.0),
                                 kid_sd)
            print(f"{recipe + ' seed ' + str(seed):<18}{record['epoch']:>8}"
                  f"{curves[recipe, seed][1]:>11.1f}{record['swd']['mean']:>9.1f}"
                  f"{record['floor']['mean']:>8.1f}{sd:>7.1f}{swd_dev:>9.1f}{kid_dev:>9.1f}"
                  f"{record['memorisation']:>14.2f}")

    figure, axis, colours = plot_curves(
        {key: points for key, (points, _) in curves.items()}, list(RECIPES), args.seeds)
    for (recipe, seed), (_, minutes) in curves.items():
        axis.plot([minutes], [finals[recipe, seed]["swd"]["mean"]], marker="*", markersize=10,
                  color=colours[recipe])
    floor = [record["floor"]["mean"] for record in finals.values()]
    if floor:
        axis.axhline(sum(floor) / len(floor), color="grey", linestyle=":", label="floor")
    axis.set_xlabel("minutes of training, one core each (star: the last checkpoint)")
    axis.set_ylabel(f"SWD x1e3, {SAMPLES} samples")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(f"dcgan_color on {os.path.basename(args.data_dir.rstrip('/'))}: "
                   "the score against time", fontsize=10)
    save_figure(figure, args.plot, 80)
    grids(finals, args)


def grids(finals, args):
    """The fixed-noise grid of each run's last epoch: one row per seed, one column per recipe;
    and the README's picture, the laptop recipe's grid of the last seed."""
    figure, axes = pyplot().subplots(len(args.seeds), len(RECIPES), squeeze=False,
                                     figsize=(3.2 * len(RECIPES), 3.5 * len(args.seeds)))
    for row, seed in zip(axes, args.seeds):
        for axis, recipe in zip(row, RECIPES):
            axis.axis("off")
            record = finals.get((recipe, seed))
            grid = record and grid_paths(run_folder(args.out, recipe, seed)).get(record["epoch"])
            if grid:
                axis.imshow(iio.imread(grid))
            if record:
                axis.set_title(f"{recipe}, seed {seed}: epoch {record['epoch']}\n"
                               f"SWD {record['swd']['mean']:.1f}", fontsize=9)
    save_figure(figure, args.plot.replace(".png", "_grids.png"), 90)
    if grid:  # the last cell drawn: the laptop recipe, the last seed
        shutil.copyfile(grid, args.plot.replace(".png", "_1h.png"))
        print(f"Wrote {args.plot.replace('.png', '_1h.png')}")


def main():
    options = parser(__doc__)
    options.add_argument("--data-dir", required=True)
    options.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    options.add_argument("--minutes", type=float, default=60)
    options.add_argument("--eval-every", type=int, default=10,
                         help="epochs between scores; 0: none, the last checkpoint's alone (a "
                         "folder of 100 pictures makes one step an epoch)")
    options.add_argument("--out", default=os.path.join(ROOT, "runs", "laptop"))
    options.add_argument("--report-only", action="store_true")
    options.add_argument("--plot", default=PLOT, help="the curve's file; its _grids.png and "
                         "_1h.png beside it (default: the docs' pictures)")
    args = options.parse_args()
    print_machine()
    for seed in [] if args.report_only else args.seeds:
        train_side_by_side(seed, args)
    report(args)


if __name__ == "__main__":
    main()
