"""A training run's folder: where each file goes, the per-epoch log, and resuming.

    OUT_DIR/images/epoch_NNNN.png  the fixed noise drawn as a grid after each epoch (0: untrained)
    OUT_DIR/log.csv                one row per finished epoch: mean losses, seconds, scores
    OUT_DIR/losses.png             the log drawn as curves
    OUT_DIR/checkpoints/           the state of the last three epochs, and run.json with the
                                   settings that wrote them (common/checkpoints.py)
    OUT_DIR/tensorboard/           the same rows and grids for TensorBoard (common/board.py)
    OUT_DIR/metrics.jsonl          one line per scoring: `evaluate`, `train --eval-every`
    OUT_DIR/training.gif           the epoch grids in order, written at the end of `train`
    OUT_DIR/generator.keras        the generator in float32, written at the end of `train`
    OUT_DIR/samples.png            `sample`'s pictures (or --output)
    OUT_DIR/walk.gif, walk.png     `walk`'s frames as an animation and as a strip (or --output)
    OUT_DIR/nearest.png            a folder run's scoring: samples beside their nearest folder
                                   pictures (common/folder_scores.py)
    OUT_DIR/pictures_*px_*.npy     a folder's decoded pictures and their .json key, kept by
                                   dcgan_color.py's training and by any folder run's scoring
                                   (common/datasets.py's picture cache; with --classes,
                                   under OUT_DIR/classes/NAME/)
    OUT_DIR/.lock                  locked by the `train` running in the folder (only_writer)

The scripts write grids and log rows *before* the epoch's checkpoint. A run that stops in
between has files from an epoch its checkpoint does not hold; `resume` removes them, so the
log and the GIF tell one story.
"""

import contextlib
import csv
import datetime
import io
import json
import os

try:
    import fcntl  # Linux and macOS; Windows has no flock, and runs there go unlocked
except ImportError:
    fcntl = None

from common.errors import UserError
from common.files import PARTIAL_NAME, write_text
from common import images


def ensure_writable(folder):
    """Create `folder` and prove that files can be written there, or explain why not."""
    try:
        os.makedirs(folder, exist_ok=True)
        probe = os.path.join(folder, ".write-test")
        with open(probe, "w") as file:
            file.write("ok")
        os.remove(probe)
    except OSError as error:
        raise UserError(
            f"Cannot write to the output folder {folder} ({error.strerror or error}). "
            "Choose a folder you can write to with --out-dir."
        ) from None


@contextlib.contextmanager
def only_writer(folder):
    """Hold OUT_DIR/.lock while the body runs: a second `train` on the folder is refused.

    Two runs writing one folder would interleave their checkpoints, log rows and grids. The
    lock is an flock, which the operating system drops when its process ends in any way, so a
    run killed with SIGKILL or by a power cut never leaves the folder locked, as a lock that
    is only a file's existence would. The file itself stays behind, empty and harmless.
    """
    if fcntl is None:
        yield
        return
    lock_path = os.path.join(folder, ".lock")
    with open(lock_path, "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"Another `train` is writing to {folder} right now (it holds {lock_path}). Two "
                "runs in one folder would mix their checkpoints and logs. Wait for it to finish or "
                "stop it (Ctrl-C; it resumes later), or train in another folder with --out-dir."
            ) from None
        # Leaving this `with`, on an error too, closes the file, and closing it releases the lock.
        yield


def grid_path(run_dir, epoch):
    return os.path.join(run_dir, "images", f"epoch_{epoch:04d}.png")


def grid_paths(run_dir):
    """The run's epoch grids as {epoch: path}, in epoch order."""
    return images.epoch_grids(os.path.join(run_dir, "images"))


def log_path(run_dir):
    return os.path.join(run_dir, "log.csv")


def read_log(path):
    """The per-epoch log as a list of dicts of floats (epoch as int); [] if there is none.

    A row that cannot be read (a file cut short, edited by hand) is left out with a note:
    losing one row of a log is better than losing the run.
    """
    if not os.path.exists(path):
        return []
    rows, damaged = [], 0
    try:
        with open(path, newline="") as file:
            for row in csv.DictReader(file):
                try:
                    values = {key: float(value) for key, value in row.items()
                              if key and value not in ("", None)}
                    values["epoch"] = int(values["epoch"])
                    rows.append(values)
                except (KeyError, TypeError, ValueError):
                    damaged += 1
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        print(f"note: {path} could not be read ({error}); starting its rows again from here.")
        return []
    if damaged:
        print(f"note: {damaged} damaged row(s) of {path} left out.")
    return rows


def write_log(path, rows):
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, text.getvalue())


def append_log(run_dir, row):
    """Add one epoch's row to log.csv (rewritten whole, atomically); returns all rows."""
    rows = [old for old in read_log(log_path(run_dir)) if old["epoch"] < row["epoch"]] + [row]
    write_log(log_path(run_dir), rows)
    return rows


def append_metrics(run_dir, record):
    """Add one evaluation's record, stamped with the time, as a line of metrics.jsonl."""
    path = os.path.join(run_dir, "metrics.jsonl")
    earlier = ""
    if os.path.exists(path):
        with open(path) as file:
            earlier = file.read()
    if earlier and not earlier.endswith("\n"):
        earlier += "\n"  # a line cut short by a crash stays a line of its own
    stamped = dict(record, time=datetime.datetime.now().isoformat(timespec="seconds"))
    write_text(path, earlier + json.dumps(stamped) + "\n")


def resume(run_dir, finished, epochs):
    """Forget log rows and grids after epoch `finished` (the checkpoint's); say what comes next."""
    for folder in (run_dir, os.path.join(run_dir, "images")):
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            if PARTIAL_NAME.fullmatch(name):  # left by a run killed while writing
                os.remove(os.path.join(folder, name))
    rows = read_log(log_path(run_dir))
    kept = [row for row in rows if row["epoch"] <= finished]
    if kept != rows:
        write_log(log_path(run_dir), kept)
    for epoch, path in grid_paths(run_dir).items():
        if epoch > finished:
            os.remove(path)
    if finished == 0:
        print(f"Starting a new run in {run_dir}/ (epoch 0 grid: the untrained generator).")
    elif finished >= epochs:
        print(f"The run in {run_dir}/ already finished {finished} epochs (asked for {epochs}); "
              "nothing to train. Raise --epochs to go on.")
    else:
        print(f"Resuming {run_dir}/ from its checkpoint at epoch {finished}: "
              f"training epochs {finished + 1} to {epochs}.")


def rebuild_gif(run_dir):
    """The `gif` command: join the run's epoch grids into training.gif again."""
    frames = list(grid_paths(run_dir).values())
    if not frames:
        raise UserError(f"No epoch grids in {run_dir}/images/: train first, or pass --out-dir.")
    return f"Wrote {images.write_gif(frames, os.path.join(run_dir, 'training.gif'))}"
