"""Everything around the epoch loop that is not the GAN: files, progress, resume, Ctrl-C.

A script's loop reads:

    run = TrainingRun(args, checkpoints, models, optimizers, fixed_noise, ...)
    with run.saving_on_interrupt():
        for epoch in run.epochs():
            for real_images in run.progress(dataset):
                run.record(train_step(real_images))
            run.end_epoch(generator(fixed_noise, training=False))
    run.finish(generator)

The run folder gets `images/epoch_NNNN.png` (the fixed noise as a grid; epoch 0 is the
untrained generator), `log.csv` (one row of mean losses per epoch), `losses.png`,
`checkpoints/`, `training.gif` and, at the end, `generator.keras`.
"""

import contextlib
import csv
import math
import os
import re
import sys
import time

from tqdm import tqdm

from common import images as pictures
from common.errors import UserError


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


def read_log(path):
    """The per-epoch log as a list of dicts with float values (epoch as int)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return [
        {key: (int(value) if key == "epoch" else float(value)) for key, value in row.items() if value != ""}
        for row in rows
    ]


def write_log(path, rows):
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


class TrainingRun:
    """One training run's folder, progress display and bookkeeping.

    args:         the parsed command line (epochs, steps_per_epoch, save_every, out_dir).
    checkpoints:  a common.checkpoints.Checkpoints for this run.
    models, optimizers: lists of the Keras objects, for the exact Ctrl-C save.
    plot_panels:  [(panel title, [log columns])] for losses.png.
    steps:        full batches in one pass over the data.
    """

    def __init__(self, args, checkpoints, models, optimizers, plot_panels, steps, title):
        self.args = args
        self.checkpoints = checkpoints
        self.plot_panels = plot_panels
        self.title = title
        self.full_steps = steps
        self.steps = min(steps, args.steps_per_epoch or steps)
        self.dir = args.out_dir
        self.images_dir = os.path.join(self.dir, "images")
        self.log_path = os.path.join(self.dir, "log.csv")
        self.plot_path = os.path.join(self.dir, "losses.png")
        self.gif_path = os.path.join(self.dir, "training.gif")
        self.variables = [v for obj in models + optimizers for v in obj.variables]
        self.log = []
        self.epoch = 0  # the last finished epoch
        self.saved_epoch = None
        self.snapshot = None
        ensure_writable(self.images_dir)

    # ----- start or resume -------------------------------------------------------------
    def start(self, fixed_images_fn, banner_lines):
        """Restore the latest checkpoint if there is one; print the banner.

        fixed_images_fn() draws the fixed noise through the generator (for epoch 0).
        Returns nothing; iterate `epochs()` for the epochs still to go.
        """
        restored = self.checkpoints.restore(for_training=True)
        print("\n".join(banner_lines))
        if restored is None:
            self.log = []
            pictures.save_grid(fixed_images_fn(), self._image_path(0))
            print(f"Starting a new run in {self.dir}/ (epoch 0 grid: the untrained generator).")
        else:
            self.epoch = self.saved_epoch = restored
            # Drop what a previous, interrupted run wrote after its last checkpoint, so the
            # log and the GIF tell one story.
            self.log = [row for row in read_log(self.log_path) if row["epoch"] <= restored]
            for name in os.listdir(self.images_dir):
                match = re.fullmatch(r"epoch_(\d+)\.png", name)
                if match and int(match.group(1)) > restored:
                    os.remove(os.path.join(self.images_dir, name))
            if restored >= self.args.epochs:
                print(
                    f"The run in {self.dir}/ already finished {restored} epochs "
                    f"(asked for {self.args.epochs}); nothing to train. Raise --epochs to go on."
                )
            else:
                print(
                    f"Resuming {self.dir}/ from its checkpoint at epoch {restored}: "
                    f"training epochs {restored + 1} to {self.args.epochs}."
                )
        self._take_snapshot()

    def epochs(self):
        """The epoch numbers still to run (1-based, as in the image names)."""
        return range(self.epoch + 1, self.args.epochs + 1)

    # ----- one epoch --------------------------------------------------------------------
    def progress(self, dataset):
        """Iterate one epoch's batches behind a progress bar that shows the running losses."""
        self._sums, self._count = {}, 0
        self._started = time.perf_counter()
        self._bar = tqdm(
            dataset.take(self.steps),
            total=self.steps,
            desc=f"epoch {self.epoch + 1}/{self.args.epochs}",
            unit="step",
            leave=not sys.stderr.isatty(),  # in a log file, keep each bar on its own line
            dynamic_ncols=True,
            mininterval=0.5 if sys.stderr.isatty() else 30,
        )
        return self._bar

    def record(self, metrics):
        """Add one step's metrics (a dict of scalar tensors) to the epoch's running means."""
        values = {name: float(value) for name, value in metrics.items()}
        bad = [name for name, value in values.items() if not math.isfinite(value)]
        if bad:
            self._bar.close()
            raise UserError(
                f"Training diverged: {', '.join(bad)} became {values[bad[0]]} in epoch "
                f"{self.epoch + 1}, step {self._count + 1}. Stopped without saving, so the last "
                f"good checkpoint (epoch {self.saved_epoch or 'none'}) is kept in "
                f"{self.checkpoints.folder}. Try --precision float32, a smaller learning "
                "rate, or another --seed."
            )
        for name, value in values.items():
            self._sums[name] = self._sums.get(name, 0.0) + value
        self._count += 1
        self._bar.set_postfix({name: f"{total / self._count:.3f}" for name, total in self._sums.items()}, refresh=False)

    def end_epoch(self, fixed_images, extra=None):
        """Close an epoch: its grid, its log row, the plot and, when due, a checkpoint."""
        self._bar.close()
        self.epoch += 1
        seconds = time.perf_counter() - self._started
        row = {"epoch": self.epoch}
        row.update({name: total / max(self._count, 1) for name, total in self._sums.items()})
        row.update(extra or {})
        row["seconds"] = round(seconds, 2)
        self.log.append(row)
        pictures.save_grid(fixed_images, self._image_path(self.epoch))
        write_log(self.log_path, self.log)
        pictures.plot_history(self.log, self.plot_path, self.title, self.plot_panels)
        shown = "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k not in ("epoch", "seconds"))
        print(f"epoch {self.epoch}/{self.args.epochs}  {shown}  ({seconds:.1f} s, {self._count} steps)")
        if self.epoch % self.args.save_every == 0:
            self._save()
        self._take_snapshot()

    # ----- saving -------------------------------------------------------------------------
    def _save(self):
        path = self.checkpoints.save(self.epoch)
        self.saved_epoch = self.epoch
        print(f"  saved checkpoint {path}")

    def _take_snapshot(self):
        # A copy in memory of every weight and optimizer slot as of the last finished epoch
        # (a few MB), so that Ctrl-C in the middle of an epoch saves exactly that state.
        self.snapshot = [variable.numpy() for variable in self.variables]

    @contextlib.contextmanager
    def saving_on_interrupt(self):
        """On Ctrl-C, save the state of the last finished epoch and say how to resume."""
        try:
            yield
        except KeyboardInterrupt:
            if getattr(self, "_bar", None) is not None:
                self._bar.close()
            if self.epoch > 0 and self.saved_epoch != self.epoch:
                for variable, value in zip(self.variables, self.snapshot):
                    variable.assign(value)
                self._save()
            where = f"epoch {self.saved_epoch}" if self.saved_epoch else "nothing to save yet"
            print(
                f"\nInterrupted during epoch {self.epoch + 1}. Checkpoint: {where}. Run the "
                "same train command again to resume from there.",
                file=sys.stderr,
            )
            raise SystemExit(130) from None

    def finish(self, generator):
        """Final checkpoint, the GIF of all epoch grids, and the generator as a .keras file."""
        if self.epoch > 0 and self.saved_epoch != self.epoch:
            self._save()
        gif = pictures.write_gif(self.images_dir, self.gif_path)
        model_path = os.path.join(self.dir, "generator.keras")
        generator.save(model_path)
        print(f"Done: {self.epoch} epochs. Wrote {gif}, {self.log_path}, {self.plot_path},")
        print(f"      {model_path} (load it with keras.models.load_model) and the grids in {self.images_dir}/.")

    def _image_path(self, epoch):
        return os.path.join(self.images_dir, f"epoch_{epoch:04d}.png")


def banner(model_name, args, source, image_count, steps, models):
    """The start-up lines: what is trained on what, how big, how long, where it goes."""
    sizes = ", ".join(f"{model.name} {model.count_params():,}" for model in models)
    per_epoch = f"{steps} steps of {args.batch_size}"
    if args.steps_per_epoch and args.steps_per_epoch < steps:
        per_epoch = f"{args.steps_per_epoch} of {steps} steps of {args.batch_size} (--steps-per-epoch)"
    return [
        f"{model_name}: {args.epochs} epochs on {args.dataset}, {image_count:,} images from {source}",
        f"  parameters: {sizes}",
        f"  each epoch: {per_epoch}; precision {args.precision}; seed {args.seed}",
        f"  output: {args.out_dir}/ (checkpoint every {args.save_every} epochs, at the end and on Ctrl-C)",
    ]
