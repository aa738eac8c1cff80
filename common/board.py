"""TensorBoard summaries of a run, under OUT_DIR/tensorboard/:

    tensorboard --logdir runs        # then open http://localhost:6006

shows every run in runs/ side by side: each log column as a curve over the epochs, each
epoch's grid of the fixed noise as an image. log.csv, losses.png and the grids hold the same
without TensorBoard: a run that lacks the package or cannot write the folder goes on, noted.
"""

import importlib.util
import os

import imageio.v3 as imageio
import tensorflow as tf

class Board:
    def __init__(self, run_dir):
        self.writer = None
        folder = os.path.join(run_dir, "tensorboard")
        if importlib.util.find_spec("tensorboard") is None:  # TensorFlow 2.21 does not bring it
            print("TensorBoard is not installed (pip install tensorboard), so this run writes no "
                  "summaries for it; log.csv, losses.png and the grids are written as always.")
            return
        try:
            self.writer = tf.summary.create_file_writer(folder)
        except tf.errors.OpError as error:  # a file named tensorboard, a folder not ours, ...
            # TensorFlow wraps the operating system's words ("Not a directory") in its own.
            reason = error.message.split("}}")[-1].split("[Op:")[0].strip() or type(error).__name__
            print(f"note: TensorBoard summaries are off for this run: cannot write them to "
                  f"{folder} ({reason}). log.csv, losses.png and the grids are written as "
                  f"always. To get them, move whatever is at {folder} away; the next `train` on "
                  "this folder writes them from then on.")

    def add(self, row, grid_path):
        """One epoch: every number of its log row as a scalar, its grid picture as an image."""
        if self.writer is None:
            return
        with self.writer.as_default(step=int(row["epoch"])):
            for name, value in row.items():
                if name != "epoch":
                    tf.summary.scalar(name, float(value))
            picture = imageio.imread(grid_path)  # (H, W) grey or (H, W, 3) colour: a batch of one
            tf.summary.image("epoch grid (fixed noise)", picture.reshape(1, *picture.shape[:2], -1))
        self.writer.flush()  # on disk now: TensorBoard shows the epoch as soon as it ends
