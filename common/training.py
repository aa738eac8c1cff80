"""The run around a lesson's training loop: what every script's `train()` does the same way.

The loop itself stays in the lesson. A `Run` offers the verbs around it, each named for what
it writes or changes:

    run = training.start(settings, MODEL_NAME, PLOT_PANELS)  # seed, precision, devices
    run.print_banner(models, batches, data)                  # what trains on what, how long
    finished = run.rewind_to_checkpoint(state)               # restore; drop later grids and rows
    run.save_grid(0, images)                                 # the untrained generator's grid
    for real_images in run.progress_bar(batches, epoch, means): ...
    run.save_epoch(epoch, means, grid_images, generator)     # grid, log row, curves, checkpoint
    run.write_gif_and_generator(generator, build_generator)  # training.gif, generator.keras

Several devices (--devices N) and mixed precision (--precision) are applied here, around the
lesson's step, so that the step reads as written for one device in float32 (common/devices.py).
"""

import inspect
import os
import time

import keras
import tensorflow as tf

from common import cli, datasets, devices, files, images, metrics, precision, progress, runs
from common.board import Board
from common.checkpoints import Checkpoints


def start(settings, model_name, plot_panels):
    """Set the seed, the number format and the devices for a `train` of `settings`."""
    if settings.seed is not None:  # the same weights, noise and order each time
        # On several machines each worker draws its own noise (worker 0's weights go to all).
        keras.utils.set_random_seed(settings.seed + devices.worker()[0])
    # First, before TensorFlow runs anything: without N GPUs it splits the CPU into N devices;
    # with TF_CONFIG set, it joins the other workers.
    strategy = devices.strategy(settings.devices, settings.worker_wait)
    policy = precision.set_policy(settings.precision)
    devices.use(strategy)  # the models built from now on are mirrored on every device
    return Run(settings, model_name, plot_panels, strategy, policy)


class Run:
    """One `train` of a script in settings.out_dir (see the module's docstring)."""

    def __init__(self, settings, model_name, plot_panels, strategy, policy):
        self.settings, self.model_name, self.plot_panels = settings, model_name, plot_panels
        self.strategy, self.policy = strategy, policy
        self.out_dir = settings.out_dir
        # On several machines only worker 0, the chief, writes what a learner reads.
        self.chief = devices.is_chief()
        self.board = None
        self.checkpoints = None
        self.distributed = {}  # id(batches) -> the same batches cut into one share per device
        self.epoch_started = None

    @property
    def replicas(self):
        return self.strategy.num_replicas_in_sync

    def identity(self):
        """What run.json records: the model and the settings a resumed run keeps."""
        kept = {
            name: getattr(self.settings, name)
            for name in self.settings.KEPT_ON_RESUME
            if name != "precision"
        }
        kept.setdefault("dataset", getattr(self.settings, "dataset", "folder"))
        if kept["dataset"] == datasets.FOLDER:  # where `evaluate` finds the pictures again
            kept["data_dir"] = os.path.abspath(self.settings.data_dir or "")
        return dict(model=self.model_name, **kept, precision=self.policy)  # what `auto` chose

    def steps(self, batches):
        """Steps in an epoch: the full batches of the data, or --steps-per-epoch if fewer."""
        full = int(batches.cardinality())
        return full, min(full, self.settings.steps_per_epoch or full)

    def print_banner(self, models, batches, data):
        full, steps = self.steps(batches)
        if not self.chief:
            print(f"{self.model_name}: {devices.describe(self.strategy)}; {steps} steps an epoch")
            return
        kept = ", ".join(
            f"{name} {value}"
            for name, value in self.identity().items()
            if name not in ("model", "precision", "dataset", "data_dir")
        )
        title = f"{self.model_name} on {getattr(self.settings, 'dataset', 'your pictures')}"
        progress.banner(
            f"{title} ({kept})" if kept else title,
            models,
            data,
            epochs=self.settings.epochs,
            steps=steps,
            full_steps=full,
            batch=batches.element_spec.shape[0] * devices.worker()[1],
            precision=self.policy,
            seed=self.settings.seed,
            out_dir=self.out_dir,
            devices=devices.describe(self.strategy) if self.replicas > 1 else None,
        )

    def on_devices(self, train_step):
        """The lesson's step as it runs here: as written on one device; with --devices N, on
        every device with its share of the batch, the outputs averaged (common/devices.py)."""
        return devices.replicated(self.strategy, train_step)

    def rewind_to_checkpoint(self, state):
        """Restore `state` from the newest checkpoint that restores and remove the grids and log
        rows written after it (a run stopped between an epoch's files and its checkpoint);
        return its epoch, 0 for a new run.

        state: what the checkpoints hold, by name. Each `NAME_optimizer` is built for the
        trainable weights of `NAME` first: Keras 3 makes an optimizer's slots at its first
        step, and a restore needs them now. With --devices N it also divides its gradients
        by N (common/devices.py).
        """
        for name, value in state.items():
            if name.endswith("_optimizer"):
                value.build(state[name[: -len("_optimizer")]].trainable_variables)
                devices.average_gradients(value, self.replicas)
        script = f"python {cli.SCRIPTS.get(self.model_name, self.model_name + '.py')}"
        self.checkpoints = Checkpoints(self.out_dir, self.identity(), script, **state)
        finished = self.checkpoints.restore_newest()
        if self.chief:
            runs.resume(self.out_dir, finished, self.settings.epochs)
            with devices.this_worker_only():
                self.board = Board(self.out_dir)  # TensorBoard summaries in OUT_DIR/tensorboard/
        return finished

    def save_grid(self, epoch, grid_images):
        """The grid of the fixed noise's images, OUT_DIR/images/epoch_NNNN.png; returns its path."""
        if self.chief:
            return images.save_grid(grid_images, runs.grid_path(self.out_dir, epoch))

    def progress_bar(self, batches, epoch, means):
        """The epoch's batches behind a progress bar that shows `means` as they grow; with
        --devices N, each batch comes cut into N shares, one per device."""
        full, steps = self.steps(batches)
        key = id(batches)
        if key not in self.distributed:
            self.distributed[key] = devices.distribute(self.strategy, batches.take(steps))
        self.epoch_started = time.perf_counter()
        description = f"epoch {epoch}/{self.settings.epochs}"
        if not self.chief:
            return self.distributed[key]  # the chief shows the progress
        return progress.bar(self.distributed[key], steps, description, means)

    def save_epoch(self, epoch, means, grid_images, generator):
        """Write the epoch's grid, its log row (the step's means, the seconds, the scores every
        --eval-every epochs), the curves, TensorBoard's summaries, then the checkpoint.

        The checkpoint comes last: a run stopped before it resumes from the previous epoch,
        and `rewind_to_checkpoint` removes this epoch's grid and row. On several machines the
        other workers only save their checkpoint, into a temporary folder they then remove.
        """
        if not self.chief:
            self.checkpoints.save_elsewhere(epoch)
            return
        with devices.this_worker_only():  # what only the chief writes (several machines)
            row = self.write_epoch_files(epoch, means, grid_images, generator)
        self.checkpoints.save(epoch)
        progress.epoch_done(row, self.settings.epochs)

    def write_epoch_files(self, epoch, means, grid_images, generator):
        """The grid, the log row (with the scores every --eval-every epochs), the curves and
        TensorBoard's summaries of `epoch`; returns the row."""
        grid = self.save_grid(epoch, grid_images)
        seconds = round(time.perf_counter() - (self.epoch_started or time.perf_counter()), 2)
        row = dict(epoch=epoch, **means.means(), seconds=seconds)
        settings = self.settings
        if settings.eval_every and epoch % settings.eval_every == 0:
            row.update(
                metrics.evaluate(  # on a folder: common/folder_scores.py's scores
                    sampler(generator, seed=0),
                    getattr(settings, "dataset", datasets.FOLDER),
                    settings.data_dir,
                    settings.eval_samples,
                    self.out_dir,
                    epoch,
                )
            )
        log = runs.append_log(self.out_dir, row)
        self.board.add(row, grid)
        title = f"{self.model_name} on {getattr(settings, 'dataset', settings.data_dir)}"
        images.plot_log(log, os.path.join(self.out_dir, "losses.png"), title, self.plot_panels)
        return row

    def write_gif_and_generator(self, generator, build_generator):
        """training.gif from the epoch grids, and generator.keras: the generator in float32
        (whatever the training precision, so that it draws what `sample` draws), in a file that
        keras.models.load_model reads without this code."""
        if not self.chief:
            return
        images.write_gif(
            list(runs.grid_paths(self.out_dir).values()), os.path.join(self.out_dir, "training.gif")
        )
        with files.replacing(os.path.join(self.out_dir, "generator.keras")) as path, \
                devices.this_worker_only():
            float32 = precision.float32_copy(
                generator, lambda: build(build_generator, self.settings)
            )
            float32.save(path)
        epochs = self.settings.epochs
        print(
            f"Done: {epochs} epoch{'s' if epochs > 1 else ''}. In {self.out_dir}/: training.gif, "
            "log.csv, losses.png, generator.keras (load it with keras.models.load_model) and "
            "the grids in images/."
        )


def build(builder, settings):
    """builder(...) with each of its parameters taken from the setting of the same name
    (dcgan_color's build_generator(image_size, width)); a builder without any: builder()."""
    names = inspect.signature(builder).parameters
    return builder(
        **{
            name: settings[name] if isinstance(settings, dict) else getattr(settings, name)
            for name in names
        }
    )


def sampler(generator, seed=None):
    """A function count -> `count` new images from fresh Gaussian noise (seeded: repeatable),
    drawn from the generator's own stream: the run's random streams are left alone."""
    noise = (
        tf.random.Generator.from_seed(seed)
        if seed is not None
        else tf.random.Generator.from_non_deterministic_state()
    )
    noise_size = generator.input_shape[-1]
    return lambda count: generator(noise.normal([count, noise_size]), training=False)
