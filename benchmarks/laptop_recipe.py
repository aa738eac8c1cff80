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

The score against time at 100, 150 and 250 pictures (docs/colour.md, "Along the run"), with
the floor band:

    python benchmarks/laptop_recipe.py --data-dir runs/emoji100 --minutes 8 --eval-every 15 \
        --out runs/curve100 --plot runs/curve100/curve.png       # and 150 (10), 250 (8)

The ablation of the laptop recipe (docs/colour.md, "Which of the laptop recipe's flags"):
each flag changed on its own, on the emoji and on Debian's gnome-icon-theme icons:

    python benchmarks/laptop_recipe.py --data-dir runs/emoji500 --recipes all --minutes 6 \
        --eval-every 0 --out runs/ablation-emoji --plot runs/ablation-emoji/curve.png
    python benchmarks/laptop_recipe.py --data-dir /usr/share/icons/gnome/256x256 --recipes all \
        --minutes 6 --eval-every 0 --out runs/ablation-icons --plot runs/ablation-icons/curve.png

The runs train side by side, one per core, each pinned to its core (so they compete for
nothing but memory), and each is stopped with SIGKILL when its own CPU time reaches --minutes,
start-up included, its scoring of itself not: alone on a core, that is the wall time a learner
who trains without --eval-every gets; a program running beside it takes nothing from its
budget. Each run scores itself every --eval-every epochs on 250 samples (the curve, against
the minutes of its steps; a recipe with shorter epochs gets more points, not less training);
after the stop, `evaluate` scores its last checkpoint with the same samples and pictures (the
table). (The hour's figures in docs/colour.md were taken when the scoring counted too.)
A run on one core is slower than the same run alone on a 2-core laptop, so what one core
reaches in an hour, a 2-core laptop reaches in an hour or less.

  article: `dcgan_color.py train` as it comes (width 64, the article's network and updates)
  laptop:  `--width 32 --recipe fast --augment` (a quarter of the arithmetic per step, the
           averaged generator, DiffAugment; each measured on its own in docs/colour.md)

No test asserts these numbers: GAN scores swing from seed to seed; read the two seeds.
"""

import json
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

RECIPES = {
    "article": [],
    "laptop": ["--width", "32", "--recipe", "fast", "--augment"],
    # The ablation (--recipes all): the laptop recipe with one thing changed.
    "laptop-width64": ["--recipe", "fast", "--augment"],  # the article's width
    "laptop-width48": ["--width", "48", "--recipe", "fast", "--augment"],
    "laptop-no-average": ["--width", "32", "--augment"],  # the generator itself drawn
    "laptop-no-augment": ["--width", "32", "--recipe", "fast"],
    "laptop-gsteps1": ["--width", "32", "--recipe", "fast", "--augment",
                       "--generator-steps", "1"],  # one G update per D update (article: 2)
}
SAMPLES = 250
PLOT = os.path.join(ROOT, "docs", "emoji_laptop.png")
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """The CPU time (user + system, all threads) a running process has had so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14, 15 of stat


def scoring_seconds(folder):
    """The seconds the run has spent scoring itself so far (--eval-every): the `seconds` of its
    metrics.jsonl."""
    path = os.path.join(folder, "metrics.jsonl")
    if not os.path.exists(path):
        return 0.0
    with open(path) as lines:
        return sum(json.loads(line).get("seconds", 0.0) for line in lines if line.strip())


def train_all(args):
    """Every (seed, recipe) run, one per core at a time, each pinned to its core: train until
    its own CPU time, less the time it spent scoring itself, reaches --minutes (what the core
    gave it, so a program running beside it takes nothing from its budget, and a recipe whose
    epochs are shorter is not charged for being scored more often), SIGKILL, then `evaluate`
    its last checkpoint there."""
    queue = [(seed, recipe) for seed in args.seeds for recipe in args.recipes]
    for seed, recipe in queue:
        if os.path.exists(run_folder(args.out, recipe, seed)):
            sys.exit(f"{run_folder(args.out, recipe, seed)} exists: remove it to train again, "
                     "or pass --report-only.")
    free, running = sorted(os.sched_getaffinity(0)), []
    while queue or running:
        while queue and free:
            core, (seed, recipe) = free.pop(0), queue.pop(0)
            running.append([core, seed, recipe, start_training(seed, recipe, core, args),
                            time.monotonic()])
        time.sleep(5)
        for run in list(running):
            core, seed, recipe, process, started = run
            used = (cpu_seconds(process.pid) - scoring_seconds(run_folder(args.out, recipe, seed))
                    if process.poll() is None else None)
            overdue = time.monotonic() - started > 3 * 60 * args.minutes + 300  # a bound
            if used is None or used >= 60 * args.minutes or overdue:
                process.kill()  # TensorFlow catches SIGTERM; a kill is the stop nothing delays
                process.wait(timeout=60)
                evaluate(run_folder(args.out, recipe, seed), core)
                running.remove(run)
                free.append(core)


def start_training(seed, recipe, core, args):
    folder = run_folder(args.out, recipe, seed)
    os.makedirs(folder)
    command = [sys.executable, "dcgan_color.py", "train", "--data-dir", args.data_dir,
               "--out-dir", folder, "--seed", str(seed), "--epochs", "100000",
               "--eval-every", str(args.eval_every), "--eval-samples", str(SAMPLES),
               *RECIPES[recipe]]
    print(f"core {core}: {' '.join(command[1:])}", flush=True)
    with open(os.path.join(folder, "output.txt"), "w") as output:
        return subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: os.sched_setaffinity(0, {core}))


def evaluate(folder, core=None):
    """Score the run's last checkpoint on SAMPLES samples (on `core` alone, when given); its
    output kept in evaluate.txt, which marks the run scored (a run stopped before its first
    checkpoint is answered there with evaluate's message)."""
    with open(os.path.join(folder, "evaluate.txt"), "w") as output:
        subprocess.run([sys.executable, "dcgan_color.py", "evaluate", "--out-dir", folder,
                        "--n", str(SAMPLES)], cwd=ROOT, stdout=output,
                       stderr=subprocess.STDOUT, timeout=1800,
                       preexec_fn=None if core is None else
                       (lambda: os.sched_setaffinity(0, {core})))


def report(args):
    print_machine("\n")
    print(f"SWD x1e3 (mean of the levels; lower is better) of up to {SAMPLES} samples against "
          f"as many pictures of {args.data_dir} (half the folder at most), after "
          f"{args.minutes:g} min of CPU time on one core each; the floor's SD and each score "
          "in floor deviations (SWD dev, KID dev) where evaluate gave them")
    print(f"{'run':<26}{'epochs':>8}{'train min':>11}{'SWD':>9}{'floor':>8}{'SD':>7}"
          f"{'SWD dev':>9}{'KID dev':>9}{'memorisation':>14}")
    curves, finals = {}, {}
    for seed in args.seeds:
        for recipe in args.recipes:
            folder = run_folder(args.out, recipe, seed)
            if not os.path.exists(os.path.join(folder, "log.csv")):
                continue
            curves[recipe, seed] = curve(folder, "swd")
            if not os.path.exists(os.path.join(folder, "evaluate.txt")):
                evaluate(folder)
            if not os.path.exists(os.path.join(folder, "metrics.jsonl")):
                print(f"{recipe + ' seed ' + str(seed):<26}no checkpoint: see its evaluate.txt")
                continue
            record = finals[recipe, seed] = last_score(folder)
            sd = record.get("floor_sd", {}).get("mean", float("nan"))
            kid_sd = record.get("kid_floor_sd", float("nan"))
            swd_dev = deviations(record["swd"]["mean"], record["floor"]["mean"], sd)
            kid_dev = deviations(record.get("kid", float("nan")), record.get("kid_floor", 0.0),
                                 kid_sd)
            print(f"{recipe + ' seed ' + str(seed):<26}{record['epoch']:>8}"
                  f"{curves[recipe, seed][1]:>11.1f}{record['swd']['mean']:>9.1f}"
                  f"{record['floor']['mean']:>8.1f}{sd:>7.1f}{swd_dev:>9.1f}{kid_dev:>9.1f}"
                  f"{record['memorisation']:>14.2f}")

    figure, axis, colours = plot_curves(
        {key: points for key, (points, _) in curves.items()}, args.recipes, args.seeds)
    for (recipe, seed), (_, minutes) in curves.items():
        axis.plot([minutes], [finals[recipe, seed]["swd"]["mean"]], marker="*", markersize=10,
                  color=colours[recipe])
    floor = [(record["floor"]["mean"], record["floor_sd"]["mean"]) for record in finals.values()
             if "floor_sd" in record]
    if floor:  # the runs share the folder: their floors differ only by the random splits
        mean, sd = (sum(values) / len(floor) for values in zip(*floor))
        axis.axhspan(mean - sd, mean + sd, color="grey", alpha=0.25, label="floor +- 1 SD")
        axis.axhline(mean, color="grey", linestyle=":")
    axis.set_xlabel("minutes of training, one core each (star: the last checkpoint)")
    samples = sorted({record["samples"] for record in finals.values()})
    axis.set_ylabel(f"SWD x1e3, {'/'.join(map(str, samples)) or SAMPLES} samples")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    axis.set_title(f"dcgan_color on {os.path.basename(args.data_dir.rstrip('/'))}: "
                   "the score against time", fontsize=10)
    save_figure(figure, args.plot, 80)
    grids(finals, args)


def grids(finals, args):
    """The fixed-noise grid of each run's last epoch: one row per seed, one column per recipe;
    and the README's picture, the laptop recipe's grid of the last seed."""
    laptop = None
    figure, axes = pyplot().subplots(len(args.seeds), len(args.recipes), squeeze=False,
                                     figsize=(3.2 * len(args.recipes), 3.5 * len(args.seeds)))
    for row, seed in zip(axes, args.seeds):
        for axis, recipe in zip(row, args.recipes):
            axis.axis("off")
            record = finals.get((recipe, seed))
            grid = record and grid_paths(run_folder(args.out, recipe, seed)).get(record["epoch"])
            if grid:
                axis.imshow(iio.imread(grid))
                laptop = grid if recipe == "laptop" else laptop
            if record:
                axis.set_title(f"{recipe}, seed {seed}: epoch {record['epoch']}\n"
                               f"SWD {record['swd']['mean']:.1f}", fontsize=9)
    save_figure(figure, args.plot.replace(".png", "_grids.png"), 90)
    if laptop:  # the laptop recipe's grid of the last seed
        shutil.copyfile(laptop, args.plot.replace(".png", "_1h.png"))
        print(f"Wrote {args.plot.replace('.png', '_1h.png')}")


def main():
    options = parser(__doc__)
    options.add_argument("--data-dir", required=True)
    options.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    options.add_argument("--minutes", type=float, default=60,
                         help="each run's CPU time on its core, start-up included, "
                         "its scoring of itself (--eval-every) not")
    options.add_argument("--recipes", nargs="+", default=["article", "laptop"],
                         choices=[*RECIPES, "all"], help="which of RECIPES; all: the ablation")
    options.add_argument("--eval-every", type=int, default=10,
                         help="epochs between scores; 0: none, the last checkpoint's alone (a "
                         "folder of 100 pictures makes one step an epoch)")
    options.add_argument("--out", default=os.path.join(ROOT, "runs", "laptop"))
    options.add_argument("--report-only", action="store_true")
    options.add_argument("--plot", default=PLOT, help="the curve's file; its _grids.png and "
                         "_1h.png beside it (default: the docs' pictures)")
    args = options.parse_args()
    print_machine()
    if args.recipes == ["all"]:
        args.recipes = list(RECIPES)
    if not args.report_only:
        train_all(args)
    report(args)


if __name__ == "__main__":
    main()
