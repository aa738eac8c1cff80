"""Does the averaged generator (dcgan_color.py --recipe fast) draw better pictures than the
generator itself? Measured on a folder of pictures, which has no labels and so no FCD: with
the sliced Wasserstein distance (SWD) between real and generated pictures instead.

Reproduces docs/colour.md, "A real run on colour shapes": the SWD table (thumbnails and
patches, trained and averaged, with the floor, real against real) and, with --pictures, its
pictures color_real.png, color_losses.png and color_trained_vs_averaged.png and the README's
training.gif. With `--out runs/color_bf16 --epochs 6 -- --precision mixed_bfloat16`, the
colour rows of docs/performance.md's table "bfloat16 by default".

    python benchmarks/shapes_folder.py runs/shapes_color --colour
    python benchmarks/color_average.py --epochs 10 --seeds 0 1   # about 25 min a seed, 2 cores
    python benchmarks/color_average.py --report-only --pictures  # the table and the pictures

Each seed trains one run with --recipe fast, one epoch at a time (`train --epochs k` resumes),
and after each epoch scores both generators the checkpoint holds: the trained one and its
running average. Both come from the same run, so the comparison costs no second training.

SWD (after Karras et al. 2018, "Progressive Growing of GANs", section 5): project both sets
of vectors on random directions, sort each projection, and average the gaps between the two
sorted lists; 0 means the same distribution. Two views: whole pictures shrunk to 16x16 (the
layout and the colours), and 7x7 patches of the full pictures (edges and texture). Lower is
better; the numbers are x1000. Scoring uses 2,000 pictures of each; the seed-to-seed spread
says what difference is real. (`evaluate` scores folders with common/folder_scores.py, a
multi-scale SWD that came later; this script keeps the measure its table was made with.)
"""

import json
import os
import shutil
import subprocess
import sys

from _shared import ROOT, parser, print_machine

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import imageio.v3 as imageio  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

import dcgan_color  # noqa: E402
from common import datasets, images, runs  # noqa: E402
from common.checkpoints import run_settings  # noqa: E402

SAMPLES = 2000  # real and generated pictures scored
DOCS = os.path.join(ROOT, "docs")  # where --pictures go


def sliced_wasserstein(first, second, directions=256, seed=0):
    """SWD between two sets of vectors (N, d) and (M, d), N == M: mean over random unit
    directions of the mean gap between the sorted projections."""
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(first.shape[1], directions))
    axes /= np.linalg.norm(axes, axis=0, keepdims=True)
    return float(np.mean(np.abs(np.sort(first @ axes, axis=0) - np.sort(second @ axes, axis=0))))


def views(pictures, rng, patches_per_picture=16, patch=7):
    """(small, patches): pictures (N, S, S, 3) in [-1, 1] as 16x16 thumbnails, flattened, and
    as random 7x7 patches, each patch centred on its own mean (texture, not colour)."""
    count, size = pictures.shape[:2]
    factor = size // 16
    small = pictures.reshape(count, 16, factor, 16, factor, 3).mean(axis=(2, 4)).reshape(count, -1)
    rows = rng.integers(0, size - patch + 1, size=(count, patches_per_picture))
    cols = rng.integers(0, size - patch + 1, size=(count, patches_per_picture))
    cut = np.stack([pictures[index, r : r + patch, c : c + patch]
                    for index in range(count) for r, c in zip(rows[index], cols[index])])
    cut = cut.reshape(-1, patch * patch * 3)
    return small, cut - cut.mean(axis=1, keepdims=True)


def scores(real, fake):
    rng = np.random.default_rng(0)
    (real_small, real_patches), (fake_small, fake_patches) = views(real, rng), views(fake, rng)
    return dict(swd_small=1000 * sliced_wasserstein(real_small, fake_small),
                swd_patches=1000 * sliced_wasserstein(real_patches, fake_patches))


def restore_generators(run):
    """The trained generator, its running average and the fixed noise of run's newest checkpoint."""
    size, width = run_settings(run).get("image_size", 64), run_settings(run).get("width", 64)
    trained, averaged = (dcgan_color.build_generator(size, width) for _ in range(2))
    fixed_noise = tf.Variable(tf.zeros([dcgan_color.NUM_FIXED, dcgan_color.NOISE_DIM]))
    checkpoint = tf.train.Checkpoint(generator=trained, shown_generator=averaged,
                                     fixed_noise=fixed_noise)
    newest = tf.train.latest_checkpoint(os.path.join(run, "checkpoints"))
    checkpoint.restore(newest).expect_partial()
    return trained, averaged, fixed_noise


def real_pictures(data_dir, size, count, cache_dir, in_order=True):
    """`count` of the folder's pictures (or all it has), chosen with seed 0, in [-1, 1]: in
    the folder's order, or in the order drawn."""
    real, _ = datasets.load_folder(data_dir, size, colour=True, cache_dir=cache_dir)
    picked = np.random.default_rng(0).choice(len(real), min(count, len(real)), replace=False)
    return real[np.sort(picked) if in_order else picked].astype(np.float32) / 127.5 - 1.0


def score_epoch(out_dir, real):
    """Both generators' scores against `real`, from as many noise vectors as real pictures."""
    trained, averaged, _ = restore_generators(out_dir)
    noise = tf.random.Generator.from_seed(0).normal([len(real), dcgan_color.NOISE_DIM])
    result = {}
    for name, generator in (("trained", trained), ("averaged", averaged)):
        fake = np.concatenate([generator(noise[i : i + 250], training=False).numpy()
                               for i in range(0, len(real), 250)])
        result.update({f"{name} {key}": value for key, value in scores(real, fake).items()})
    return result


def floor(data_dir, size, count):
    """SWD between two disjoint sets of real pictures: the best a generator can hope for."""
    real, _ = datasets.load_folder(data_dir, size, colour=True)
    order = np.random.default_rng(5).permutation(len(real))
    count = min(count, len(real) // 2)
    first, second = (real[np.sort(order[i * count : (i + 1) * count])].astype(np.float32)
                     / 127.5 - 1.0 for i in range(2))
    return scores(first, second)


def report(results, real_floor):
    print("SWD x1000, lower is better (small: 16x16 thumbnails; patches: 7x7 patches)")
    print(f"floor, real against real: small {real_floor['swd_small']:.1f}, patches "
          f"{real_floor['swd_patches']:.1f}")
    print("| seed | epoch | trained small | averaged small | trained patches | averaged patches |")
    print("|---|---|---|---|---|---|")
    for seed, rows in sorted(results.items()):
        for row in rows:
            print(f"| {seed} | {row['epoch']} | {row['trained swd_small']:.1f} | "
                  f"{row['averaged swd_small']:.1f} | "
                  f"{row['trained swd_patches']:.1f} | {row['averaged swd_patches']:.1f} |")


def train_and_score(seed, args, rows, save):
    """Train seed's run one epoch further at a time, scoring both generators after each."""
    out_dir = os.path.join(args.out, f"seed_{seed}")
    for epoch in sorted(set(range(1, args.epochs + 1)) - {row["epoch"] for row in rows}):
        command = [sys.executable, os.path.join(ROOT, "dcgan_color.py"), "train", "--recipe",
                   "fast", "--data-dir", args.data_dir, "--out-dir", out_dir,
                   "--epochs", str(epoch), "--seed", str(seed), *args.extra]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            sys.exit(finished.stderr[-2000:])
        print(finished.stdout.strip().splitlines()[-2])  # the epoch's line
        size = json.load(open(os.path.join(out_dir, "checkpoints", "run.json")))["image_size"]
        real = real_pictures(args.data_dir, size, SAMPLES, cache_dir=out_dir)
        rows.append(dict(epoch=epoch, **score_epoch(out_dir, real)))
        save()
        print({key: round(value, 1) for key, value in rows[-1].items()})


def draw_pictures(run, data_dir):
    """docs/colour.md's pictures and the README's GIF, from one run: 16 training pictures as
    the script sees them, the fixed noise drawn by the trained generator and by its average
    (newest checkpoint), the run's curves, and its epoch grids as a GIF of 400 pixels."""
    trained, averaged, fixed_noise = restore_generators(run)
    size = run_settings(run).get("image_size", 64)
    images.save_grid(real_pictures(data_dir, size, 16, cache_dir=run, in_order=False),
                     os.path.join(DOCS, "color_real.png"))
    left = images.grid(trained(fixed_noise, training=False))
    right = images.grid(averaged(fixed_noise, training=False))
    gap = np.full((left.shape[0], 24, 3), 255, np.uint8)
    imageio.imwrite(os.path.join(DOCS, "color_trained_vs_averaged.png"),
                    np.concatenate([left, gap, right], 1))
    shutil.copyfile(os.path.join(run, "losses.png"), os.path.join(DOCS, "color_losses.png"))
    frames = [np.asarray(Image.open(path).convert("RGB").resize((400, 400), Image.LANCZOS))
              for path in runs.grid_paths(run).values()]
    durations = [300] * (len(frames) - 1) + [1500]
    imageio.imwrite(os.path.join(DOCS, "training.gif"), frames, duration=durations, loop=0)
    print(f"Wrote color_real.png, color_trained_vs_averaged.png, color_losses.png and "
          f"training.gif in {DOCS}/, from {run}")


def main():
    options = parser(__doc__)
    options.add_argument("--data-dir", default=os.path.join("runs", "shapes_color"))
    options.add_argument("--out", default=os.path.join("runs", "color_average"))
    options.add_argument("--epochs", type=int, default=12)
    options.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    options.add_argument("--report-only", action="store_true", help="no training: the table")
    options.add_argument("--pictures", action="store_true",
                         help="also draw docs/'s pictures from the first seed's run")
    options.add_argument("extra", nargs="*",
                         help="more train flags after --, e.g. -- --precision mixed_bfloat16")
    args = options.parse_args()
    print_machine()
    results_path = os.path.join(args.out, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}

    def save():
        os.makedirs(args.out, exist_ok=True)
        with open(results_path, "w") as file:
            json.dump(results, file, indent=1)

    for seed in [] if args.report_only else args.seeds:
        train_and_score(seed, args, results.setdefault(str(seed), []), save)
    report(results, floor(args.data_dir, 64, SAMPLES))
    if args.pictures:
        draw_pictures(os.path.join(args.out, f"seed_{args.seeds[0]}"), args.data_dir)


if __name__ == "__main__":
    main()
