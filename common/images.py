"""Pictures of training: image grids, the loss plot, the GIF of the epoch grids, the walk's GIF
and strip, and sample files (.png or .npy), drawn in batches by `generate`.

Every file is written through `files.replacing`, so a kill while a picture is being
written leaves the previous picture, never half of one.
"""

import math
import os
import re

import imageio.v3 as imageio
import numpy as np

from common.errors import UserError
from common.files import replacing

# Small images are drawn enlarged, so that a 4x4 grid is a readable picture of about 500
# pixels: 28x28 images at 4x, 64x64 at 2x, 128x128 as they are.
DRAWN_SIZE = 128
PADDING = 2
GRID_NAME = re.compile(r"epoch_(\d+)\.png")  # a run's epoch grids, in OUT_DIR/images/


def to_uint8(images):
    """Map generator output in [-1, 1] to grey levels 0..255 (the inverse of the data scaling)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(np.rint(images * 127.5 + 127.5), 0, 255).astype(np.uint8)


def grid(images, columns=None):
    """Tile (N, H, W, C) images in [-1, 1] into one uint8 picture, N padded to a full grid.

    C = 1 gives a grey picture (H', W'), C = 3 a colour one (H', W', 3).
    """
    images = to_uint8(images)
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cell_h, cell_w = height + PADDING, width + PADDING
    canvas = np.full((rows * cell_h + PADDING, columns * cell_w + PADDING, channels), 255, np.uint8)
    for index, image in enumerate(images):
        top = PADDING + (index // columns) * cell_h
        left = PADDING + (index % columns) * cell_w
        canvas[top : top + height, left : left + width] = image
    scale = max(1, DRAWN_SIZE // height)  # 4 for 28 pixels, 2 for 64, 1 for 128
    canvas = canvas.repeat(scale, axis=0).repeat(scale, axis=1)
    return canvas[..., 0] if channels == 1 else canvas


def generate(draw_images, count, batch=500, labels=None):
    """`count` images from draw_images(n), asked for in batches so memory stays small; with
    labels, the i-th image of class labels[i] (draw_images(n, labels): a conditional sampler)."""
    parts = [np.asarray(draw_images(min(batch, count - start)) if labels is None else
                        draw_images(min(batch, count - start), labels[start : start + batch]))
             for start in range(0, count, batch)]
    return np.concatenate(parts)


def save_grid(images, path, columns=None):
    """Write images (N, H, W, 1 or 3) in [-1, 1] as one PNG grid; returns the path."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with replacing(path) as temporary:
        imageio.imwrite(temporary, grid(images, columns))
    return path


def epoch_grids(folder):
    """The epoch grids in `folder` (epoch_0000.png, epoch_0001.png, ...) as {epoch: path}, in
    epoch order; {} where there is no such folder."""
    names = os.listdir(folder) if os.path.isdir(folder) else []
    found = {int(match.group(1)): os.path.join(folder, name)
             for name in names if (match := GRID_NAME.fullmatch(name))}
    return dict(sorted(found.items()))


def write_gif(frames, path, seconds_per_frame=0.15, hold_last=1.5):
    """Join PNG pictures into one looping GIF; returns the path. frames: their paths in order,
    or a folder of epoch grids, taken in epoch order (see epoch_grids)."""
    if isinstance(frames, str):
        frames = epoch_grids(frames).values()
    frames = [imageio.imread(frame) for frame in frames]
    if not frames:  # a worker of several machines that trained no epoch of its own
        return None
    durations = [int(seconds_per_frame * 1000)] * len(frames)
    durations[-1] = int(hold_last * 1000)  # linger on the final result before looping
    with replacing(path) as temporary:
        imageio.imwrite(temporary, frames, duration=durations if len(frames) > 1 else durations[0],
                        loop=0)
    return path


def save_walk(frames, gif_path, steps, seconds_per_frame=0.12):
    """A latent walk: frames (N, H, W, C) in [-1, 1], each one GIF frame, and all of them as
    a PNG strip beside the GIF, NAME.gif -> NAME.png (one row per leg of `steps` frames).
    Returns both paths."""
    if not gif_path.lower().endswith(".gif"):
        raise UserError(f"--output {gif_path}: the name must end in .gif (the strip is written "
                        "beside it as .png).")
    frames = np.asarray(frames)
    strip_path = os.path.splitext(gif_path)[0] + ".png"
    try:
        os.makedirs(os.path.dirname(gif_path) or ".", exist_ok=True)
        pictures = [grid(frame[np.newaxis], columns=1) for frame in frames]
        with replacing(gif_path) as temporary:
            imageio.imwrite(temporary, pictures, duration=int(seconds_per_frame * 1000), loop=0)
        save_grid(frames, strip_path, columns=steps)
    except OSError as error:
        raise UserError(f"Cannot write {gif_path} ({error.strerror or error}). Choose another "
                        "--output.") from None
    return gif_path, strip_path


def plot_log(rows, path, title, panels):
    """Plot per-epoch columns of the training log, one panel per group of columns.

    rows: the log as a list of dicts (one per epoch). panels: a list of
    (panel title, [column names]); columns missing from the log are skipped.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, works on a server
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    panels = [(name, [column for column in columns if any(column in row for row in rows)])
              for name, columns in panels]
    panels = [(name, columns) for name, columns in panels if columns]
    figure, axes = plt.subplots(len(panels), 1, figsize=(7, 2.6 * len(panels)), sharex=True)
    axes = np.atleast_1d(axes)
    for axis, (name, columns) in zip(axes, panels):
        for column in columns:
            points = [(row["epoch"], row[column]) for row in rows if row.get(column) is not None]
            if points:
                epochs, values = zip(*points)
                axis.plot(epochs, values, marker="." if len(points) < 30 else None, label=column)
        axis.set_ylabel(name)
        axis.grid(alpha=0.3)
        axis.legend(loc="best", fontsize=8)
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes[0].set_title(title)
    figure.tight_layout()
    with replacing(path) as temporary:
        figure.savefig(temporary, dpi=90)
    plt.close(figure)
    return path


def save_samples(images, path, columns=None):
    """Write samples as a PNG grid (.png) or as raw float32 in [-1, 1] (.npy); return the path."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in (".png", ".npy"):
        raise UserError(f"--output {path}: the name must end in .png (a grid) or .npy (raw "
                        "images).")
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if extension == ".npy":
            with replacing(path) as temporary:
                np.save(temporary, np.asarray(images, dtype=np.float32))
        else:
            save_grid(images, path, columns)
    except OSError as error:
        raise UserError(f"Cannot write {path} ({error.strerror or error}). Choose another --output."
                        ) from None
    return path
