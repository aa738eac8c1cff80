"""TensorBoard summaries of a run, under OUT_DIR/tensorboard/.

    tensorboard --logdir runs        # then open http://localhost:6006

shows every run in runs/ side by side: each log column as a curve over the epochs, and
each epoch's grid of the fixed noise as an image with a slider. log.csv, losses.png and
the grids in images/ hold the same numbers and pictures without TensorBoard.
"""

import importlib.util
import os

import imageio.v3 as imageio
import numpy as np
import tensorflow as tf


class Board:
    def __init__(self, run_dir):
        # tf.summary needs the tensorboard package; TensorFlow 2.21 does not bring it.
        if importlib.util.find_spec("tensorboard") is None:
            print(
                "TensorBoard is not installed (pip install tensorboard), so this run writes no "
                "summaries for it; log.csv, losses.png and the grids are written as always."
            )
            self.writer = None
            return
        folder = os.path.join(run_dir, "tensorboard")
        try:
            self.writer = tf.summary.create_file_writer(folder)
        except tf.errors.OpError as error:
            # A file named tensorboard where the folder goes, or a folder we may not write in.
            # The summaries are a view of what log.csv and the grids hold already: a learner
            # would rather keep the run's epochs than lose them to a side view, so we say what
            # is wrong and go on, as when the tensorboard package is missing.
            # TensorFlow wraps the operating system's words ("Not a directory") in its own.
            reason = error.message.split("}}")[-1].split("[Op:")[0].strip() or type(error).__name__
            print(
                f"note: TensorBoard summaries are off for this run: cannot write them to {folder} "
                f"({reason}). log.csv, losses.png and the grids are written as always. To get "
                f"them, move whatever is at {folder} away; the next `train` on this folder writes "
                "them from then on."
            )
            self.writer = None

    def add(self, row, grid_path):
        """One epoch: every number of its log row as a scalar, its grid picture as an image."""
        if self.writer is None:
            return
        with self.writer.as_default(step=int(row["epoch"])):
            for name, value in row.items():
                if name != "epoch":
                    tf.summary.scalar(name, float(value))
            picture = imageio.imread(grid_path)  # (H, W) uint8 grey, or (H, W, 3) colour
            if picture.ndim == 2:
                picture = picture[:, :, np.newaxis]
            tf.summary.image("epoch grid (fixed noise)", picture[np.newaxis])
        self.writer.flush()  # on disk now: TensorBoard shows the epoch as soon as it ends
