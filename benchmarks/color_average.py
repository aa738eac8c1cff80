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

import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


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
    cut = np.stack(
        [
            pictures[index, r : r + patch, c : c + patch]
            for index in range(count)
            for r, c in zip(rows[index], cols[index])
        ]
    ).reshape(-1, patch * patch * 3)
    return small, cut - cut.mean(axis=1, keepdims=True)


def scores(real, fake):
    rng = np.random.default_rng(0)
    real_small, real_patches = views(real, rng)
    fake_small, fake_patches = views(fake, rng)
    return dict(
        swd_small=1000 * sliced_wasserstein(real_small, fake_small),
        swd_patches=1000 * sliced_wasserstein(real_patches, fake_patches),
    )


def restore_generators(run):
    """The trained generator, its running average and the fixed noise of run's newest checkpoint."""
    import tensorflow as tf

    import dcgan_color
    from common.checkpoints import saved_setting

    size, width = saved_setting(run, "image_size", 64), saved_setting(run, "width", 64)
    trained = dcgan_color.build_generator(size, width)
    averaged = dcgan_color.build_generator(size, width)
    fixed_noise = tf.Variable(tf.zeros([dcgan_color.NUM_FIXED, dcgan_color.NOISE_DIM]))
    checkpoint = tf.train.Checkpoint(
        generator=trained, shown_generator=averaged, fixed_noise=fixed_noise
    )
    newest = tf.train.latest_checkpoint(os.path.join(run, "checkpoints"))
    checkpoint.restore(newest).expect_partial()
    return trained, averaged, fixed_noise


def score_epoch(out_dir, real, count):
    """Both generators' scores against `real`, from the same `count` noise vectors."""
    import tensorflow as tf

    import dcgan_color

    trained, averaged, _ = restore_generators(out_dir)
    noise = tf.random.Generator.from_seed(0).normal([count, dcgan_color.NOISE_DIM])
    result = {}
    for name, generator in (("trained", trained), ("averaged", averaged)):
        fake = np.concatenate(
            [generator(noise[i : i + 250], training=False).numpy() for i in range(0, count, 250)]
        )
        result.update({f"{name} {key}": value for key, value in scores(real, fake).items()})
    return result


def floor(data_dir, size, count):
    """SWD between two disjoint sets of real pictures: the best a generator can hope for."""
    from common import datasets

    real, _ = datasets.load_folder(data_dir, size, colour=True)
    order = np.random.default_rng(5).permutation(len(real))
    count = min(count, len(real) // 2)
    first, second = (
        real[np.sort(order[i * count : (i + 1) * count])].astype(np.float32) / 127.5 - 1.0
        for i in range(2)
    )
    return scores(first, second)


def report(results, real_floor=None):
    print("SWD x1000, lower is better (small: 16x16 thumbnails; patches: 7x7 patches)")
    if real_floor:
        print(
            f"floor, real against real: small {real_floor['swd_small']:.1f}, patches "
            f"{real_floor['swd_patches']:.1f}"
        )
    print("| seed | epoch | trained small | averaged small | trained patches | averaged patches |")
    print("|---|---|---|---|---|---|")
    for seed, rows in sorted(results.items()):
        for row in rows:
            print(
                f"| {seed} | {row['epoch']} | {row['trained swd_small']:.1f} | "
                f"{row['averaged swd_small']:.1f} | "
                f"{row['trained swd_patches']:.1f} | {row['averaged swd_patches']:.1f} |"
            )


def train_and_score(seed, args, rows, save):
    """Train seed's run one epoch further at a time, scoring both generators after each."""
    from common import datasets

    out_dir = os.path.join(args.out, f"seed_{seed}")
    done = {row["epoch"] for row in rows}
    for epoch in range(1, args.epochs + 1):
        if epoch in done:
            continue
        command = [sys.executable, os.path.join(ROOT, "dcgan_color.py"), "train", "--recipe",
                   "fast", "--data-dir", args.data_dir, "--out-dir", out_dir,
                   "--epochs", str(epoch), "--seed", str(seed), *args.extra]
        finished = subprocess.run(command, capture_output=True, text=True)
        if finished.returncode != 0:
            sys.exit(finished.stderr[-2000:])
        print(finished.stdout.strip().splitlines()[-2])  # the epoch's line
        size = json.load(open(os.path.join(out_dir, "checkpoints", "run.json")))["image_size"]
        real, _ = datasets.load_folder(args.data_dir, size, colour=True, cache_dir=out_dir)
        picked = np.random.default_rng(0).choice(
            len(real), min(args.samples, len(real)), replace=False
        )
        real = real[np.sort(picked)].astype(np.float32) / 127.5 - 1.0
        row = dict(epoch=epoch, **score_epoch(out_dir, real, len(real)))
        rows.append(row)
        save()
        print({key: round(value, 1) for key, value in row.items()})


def draw_pictures(run, data_dir, docs):
    """docs/colour.md's pictures and the README's GIF, from one run: 16 training pictures as
    the script sees them, the fixed noise drawn by the trained generator and by its average
    (newest checkpoint), the run's curves, and its epoch grids as a GIF of 400 pixels."""
    import imageio.v3 as imageio
    from PIL import Image

    from common import datasets, images, runs
    from common.checkpoints import saved_setting

    trained, averaged, fixed_noise = restore_generators(run)
    size = saved_setting(run, "image_size", 64)
    real, _ = datasets.load_folder(data_dir, size, colour=True, cache_dir=run)
    picked = real[np.random.default_rng(0).choice(len(real), 16, replace=False)]
    images.save_grid(picked.astype(np.float32) / 127.5 - 1.0, os.path.join(docs, "color_real.png"))
    left = images.grid(trained(fixed_noise, training=False))
    right = images.grid(averaged(fixed_noise, training=False))
    gap = np.full((left.shape[0], 24, 3), 255, np.uint8)
    imageio.imwrite(
        os.path.join(docs, "color_trained_vs_averaged.png"), np.concatenate([left, gap, right], 1)
    )
    shutil.copyfile(os.path.join(run, "losses.png"), os.path.join(docs, "color_losses.png"))
    frames = [
        np.asarray(Image.open(path).convert("RGB").resize((400, 400), Image.Resampling.LANCZOS))
        for path in runs.grid_paths(run).values()
    ]
    durations = [300] * (len(frames) - 1) + [1500]
    imageio.imwrite(os.path.join(docs, "training.gif"), frames, duration=durations, loop=0)
    print(f"Wrote color_real.png, color_trained_vs_averaged.png, color_losses.png and "
          f"training.gif in {docs}/, from {run}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", default=os.path.join("runs", "shapes_color"))
    parser.add_argument("--out", default=os.path.join("runs", "color_average"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--report-only", action="store_true", help="no training: the table")
    parser.add_argument("--pictures", action="store_true",
                        help="also draw docs/'s pictures from the first seed's run")
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs"), help="where --pictures go")
    parser.add_argument("extra", nargs="*",
                        help="more train flags after --, e.g. -- --precision mixed_bfloat16")
    args = parser.parse_args()

    from common import precision

    print(f"Machine: {precision.describe_cpu()}")
    results_path = os.path.join(args.out, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}

    def save():
        os.makedirs(args.out, exist_ok=True)
        with open(results_path, "w") as file:
            json.dump(results, file, indent=1)

    if not args.report_only:
        for seed in args.seeds:
            train_and_score(seed, args, results.setdefault(str(seed), []), save)
    report(results, floor(args.data_dir, 64, args.samples))
    if args.pictures:
        draw_pictures(os.path.join(args.out, f"seed_{args.seeds[0]}"), args.data_dir, args.docs)


if __name__ == "__main__":
    main()
