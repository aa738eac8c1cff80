"""The pictures of docs/colour.md and the README's GIF, from a run of benchmarks/color_average.py.

    python benchmarks/color_pictures.py runs/color_average/seed_0 --data-dir runs/shapes_color

Writes into docs/: color_real.png (16 of the training pictures, as the script sees them),
color_trained_vs_averaged.png (the fixed noise drawn by the trained generator and by its
running average, from the newest checkpoint), color_losses.png (the run's curves), and
training.gif (the run's epoch grids, shrunk to 400 pixels so that the README loads quickly).
"""

import argparse
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import imageio.v3 as imageio  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run")
    parser.add_argument("--data-dir", default=os.path.join("runs", "shapes_color"))
    parser.add_argument("--docs", default=os.path.join(ROOT, "docs"))
    args = parser.parse_args()

    import tensorflow as tf

    import dcgan_color
    from common import datasets, images, runs
    from common.checkpoints import saved_setting

    size, width = saved_setting(args.run, "image_size", 64), saved_setting(args.run, "width", 64)
    real, _ = datasets.load_folder(args.data_dir, size, colour=True, cache_dir=args.run)
    picked = real[np.random.default_rng(0).choice(len(real), 16, replace=False)]
    images.save_grid(
        picked.astype(np.float32) / 127.5 - 1.0, os.path.join(args.docs, "color_real.png")
    )

    trained, averaged = dcgan_color.build_generator(size, width), dcgan_color.build_generator(
        size, width
    )
    fixed_noise = tf.Variable(tf.zeros([dcgan_color.NUM_FIXED, dcgan_color.NOISE_DIM]))
    checkpoint = tf.train.Checkpoint(
        generator=trained, shown_generator=averaged, fixed_noise=fixed_noise
    )
    checkpoint.restore(
        tf.train.latest_checkpoint(os.path.join(args.run, "checkpoints"))
    ).expect_partial()
    left = images.grid(trained(fixed_noise, training=False))
    right = images.grid(averaged(fixed_noise, training=False))
    gap = np.full((left.shape[0], 24, 3), 255, np.uint8)
    imageio.imwrite(
        os.path.join(args.docs, "color_trained_vs_averaged.png"),
        np.concatenate([left, gap, right], axis=1),
    )

    shutil.copyfile(
        os.path.join(args.run, "losses.png"), os.path.join(args.docs, "color_losses.png")
    )
    frames = [
        np.asarray(Image.open(path).convert("RGB").resize((400, 400), Image.Resampling.LANCZOS))
        for path in runs.grid_paths(args.run).values()
    ]
    durations = [300] * (len(frames) - 1) + [1500]
    imageio.imwrite(os.path.join(args.docs, "training.gif"), frames, duration=durations, loop=0)
    print(
        "Wrote color_real.png, color_trained_vs_averaged.png, color_losses.png and "
        f"training.gif in {args.docs}/"
    )


if __name__ == "__main__":
    main()
