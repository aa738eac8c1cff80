"""The plumbing around a lesson's training loop, as functions of TensorFlow's own objects.

A lesson's `train()` builds its tf.data pipeline, its models, its `tf.train.Checkpoint` and
`tf.train.CheckpointManager` itself, and saves the grids, the checkpoints, the GIF and the
generator in lines of its own. These functions do the rest, which teaches nothing about GANs:

    out_dir = training.start(settings)                   # the seed, number format and devices
    train_step = training.on_devices(step, optimizers)   # the step on each of --devices N
    training.banner(settings, MODEL_NAME, models, batches, data)   # what trains on what
    finished = training.resume(checkpoint, out_dir, settings, MODEL_NAME)  # newest good one
    for batch in training.epoch_batches(batches, epoch, means, settings): ...  # progress bar
    training.log_epoch(out_dir, epoch, means, generator, settings, PLOT_PANELS)  # log, curves

On several machines (TF_CONFIG) worker 0, the chief, writes the run folder; `start` gives the
other workers a temporary folder of their own for what they write (TensorFlow needs every
worker to save each checkpoint), and `cleanup` removes it. `start` also sets --precision as
Keras's global number format (common/precision.py: the lessons keep their last layer and
losses in float32), and `on_devices` spreads the step, written for one device, over
--devices N (common/devices.py). `build`, `sampler` and `class_names` serve the commands
after training (common/commands.py).
"""

import inspect
import os
import shutil
import tempfile
import time
import weakref

import keras
import tensorflow as tf

from common import checkpoints, datasets, devices, images, metrics, precision, progress, runs
from common.board import Board


def start(settings):
    """Set the seed, the number format and the devices for a `train` of `settings`; return the
    folder this process writes: settings.out_dir, or a temporary one on a worker other than
    the chief (several machines)."""
    if settings.seed is not None:  # the same weights, noise and order each time
        # On several machines each worker draws its own noise (worker 0's weights go to all).
        keras.utils.set_random_seed(settings.seed + devices.worker()[0])
    # First, before TensorFlow runs anything: without N GPUs it splits the CPU into N devices;
    # with TF_CONFIG set, it joins the other workers.
    strategy = devices.strategy(settings.devices, settings.worker_wait)
    precision.set_policy(settings.precision)
    devices.use(strategy)  # the models built from now on are mirrored on every device
    if devices.is_chief():
        return settings.out_dir
    WORKER_FOLDERS.append(tempfile.mkdtemp(prefix="gan-worker-"))
    return WORKER_FOLDERS[-1]


WORKER_FOLDERS = []  # what `start` made for a worker other than the chief


def cleanup():
    """At the end of a command, however it ended: draw the curves a stopped run had not drawn
    yet (see PLOT_EVERY), and remove the temporary folders of the workers other than the chief
    (see `start`)."""
    while UNDRAWN:
        try:
            images.plot_log(*UNDRAWN.popitem()[1])
        except OSError:  # a full disk: log.csv holds the rows, and the message says the rest
            pass
    while WORKER_FOLDERS:
        shutil.rmtree(WORKER_FOLDERS.pop(), ignore_errors=True)


def on_devices(train_step, optimizers):
    """The lesson's step as it runs here: as written on one device; with --devices N, on
    every device with its share of the batch, each device's gradients divided by N before
    they are added up, the outputs averaged (common/devices.py)."""
    strategy = tf.distribute.get_strategy()
    for optimizer in optimizers:
        devices.average_gradients(optimizer, strategy.num_replicas_in_sync)
    return devices.replicated(strategy, train_step)


def identity(settings, model_name):
    """What run.json records: the model, and the settings a resumed run keeps."""
    kept = {name: getattr(settings, name) for name in settings.KEPT_ON_RESUME
            if name != "precision"}
    kept.setdefault("dataset", getattr(settings, "dataset", datasets.FOLDER))
    if kept["dataset"] == datasets.FOLDER:  # where `evaluate` finds the pictures again
        kept["data_dir"] = os.path.abspath(settings.data_dir or "")
    if getattr(settings, "classes", False):  # dcgan_color.py --classes: what G can be asked for
        kept["class_names"] = datasets.folder_classes(settings.data_dir)[0]
    # The number format `auto` chose on this machine.
    return dict(model=model_name, **kept, precision=keras.mixed_precision.global_policy().name)


def count_steps(batches, settings):
    """(steps in a full pass over the batches, steps in an epoch: fewer with --steps-per-epoch)."""
    full = int(batches.cardinality())
    return full, min(full, settings.steps_per_epoch or full)


def banner(settings, model_name, models, batches, data):
    """Print what is trained on what, how big, how long, on which devices, and where it goes."""
    full, steps = count_steps(batches, settings)
    strategy = tf.distribute.get_strategy()
    if not devices.is_chief():
        print(f"{model_name}: {devices.describe(strategy)}; {steps} steps an epoch; its own "
              f"files go to {(WORKER_FOLDERS or [settings.out_dir])[-1]} (removed at the end)")
        return
    kept = ", ".join(f"{name} {getattr(settings, name)}" for name in settings.KEPT_ON_RESUME
                     if name not in ("precision", "dataset"))  # both said on their own
    title = f"{model_name} on {getattr(settings, 'dataset', 'your pictures')}"
    progress.banner(
        f"{title} ({kept})" if kept else title, models, data, epochs=settings.epochs,
        steps=steps, full_steps=full, batch=len_of_batch(batches) * devices.worker()[1],
        precision=keras.mixed_precision.global_policy().name, seed=settings.seed,
        out_dir=settings.out_dir,
        devices=devices.describe(strategy) if strategy.num_replicas_in_sync > 1 else None)


def len_of_batch(batches):
    """Images in one of the pipeline's batches (of images, or of (image, label) pairs)."""
    return tf.nest.flatten(batches.element_spec)[0].shape[0]


def resume(checkpoint, out_dir, settings, model_name):
    """Restore into `checkpoint` the newest checkpoint of the run in settings.out_dir that
    restores (common/checkpoints.py: past damaged files, never another script's); remove the
    grids and log rows written after it (a run stopped between an epoch's files and its
    checkpoint); say what comes next. Returns its epoch: 0 for a new run.

    Each optimizer the checkpoint holds as NAME_optimizer is built first for the weights of
    NAME: Keras 3 makes an optimizer's moment estimates at its first step, and a checkpoint
    restores only into estimates that exist.
    """
    for name, value in vars(checkpoint).items():
        if name.endswith("_optimizer"):
            value.build(getattr(checkpoint, name[: -len("_optimizer")]).trainable_variables)
    kept = identity(settings, model_name)
    finished = checkpoints.restore_newest(checkpoint, settings.out_dir, kept)
    if devices.is_chief():
        checkpoints.write_identity(settings.out_dir, kept)
        runs.resume(out_dir, finished, settings.epochs)
    return finished


DISTRIBUTED = weakref.WeakKeyDictionary()  # batches -> the same, cut into one share per device


def epoch_batches(batches, epoch, means, settings):
    """The epoch's batches (at most --steps-per-epoch) behind a progress bar that shows `means`
    as they grow; with --devices N, each batch cut into one share per device."""
    _, steps = count_steps(batches, settings)
    if batches not in DISTRIBUTED:
        DISTRIBUTED[batches] = devices.distribute(tf.distribute.get_strategy(),
                                                  batches.take(steps))
    if not devices.is_chief():
        return DISTRIBUTED[batches]  # the chief shows the progress
    return progress.bar(DISTRIBUTED[batches], steps, f"epoch {epoch}/{settings.epochs}", means)


BOARDS = {}  # run folder -> its TensorBoard writer, made at the first epoch a process logs
# Drawing losses.png takes about 0.2 s: on a folder of a hundred pictures, whose epochs are a
# step of about a second, drawing it every epoch cost a sixth of the run's time
# (docs/performance.md). Short epochs redraw it at most every PLOT_EVERY seconds, and always at
# the last epoch; a run stopped before then (Ctrl-C, a NaN) draws it as it stops (cleanup).
PLOT_EVERY = 10
DRAWN = {}  # run folder -> when this process last drew its losses.png (time.monotonic)
UNDRAWN = {}  # run folder -> the curves skipped since then: plot_log's arguments


def log_epoch(out_dir, epoch, means, generator, settings, plot_panels):
    """After an epoch's steps and its grid: its log row (the step's means, the seconds, the
    scores every --eval-every epochs), the curves in losses.png (see PLOT_EVERY), TensorBoard's
    summaries, and the line that closes the epoch. The chief's alone: the other workers log
    nothing."""
    if not devices.is_chief():
        return
    row = dict(epoch=epoch, **means.means(), seconds=round(means.seconds(), 2))
    with devices.this_worker_only():  # what only the chief computes and writes (several machines)
        if settings.eval_every and epoch % settings.eval_every == 0:
            names = class_names(settings)  # () but for a conditional lesson
            row.update(metrics.evaluate(  # on a folder: common/folder_scores.py's scores
                sampler(generator, 0, len(names)), getattr(settings, "dataset", datasets.FOLDER),
                settings.data_dir, settings.eval_samples, out_dir, epoch, class_names=names))
        log = runs.append_log(out_dir, row)
        if out_dir not in BOARDS:
            BOARDS[out_dir] = Board(out_dir)  # TensorBoard summaries in OUT_DIR/tensorboard/
        BOARDS[out_dir].add(row, runs.grid_path(out_dir, epoch))
    title = f"{os.path.basename(os.path.normpath(settings.out_dir))} on " + (
        getattr(settings, "dataset", None) or settings.data_dir)
    curves = (log, os.path.join(out_dir, "losses.png"), title, plot_panels)
    drawn = DRAWN.get(out_dir)  # None: not yet in this process
    if epoch == settings.epochs or drawn is None or time.monotonic() >= drawn + PLOT_EVERY:
        images.plot_log(*curves)
        DRAWN[out_dir] = time.monotonic()
        UNDRAWN.pop(out_dir, None)
    else:
        UNDRAWN[out_dir] = curves  # drawn by a later epoch, or by cleanup as the run stops
    progress.epoch_done(row, settings.epochs)


def build(builder, settings):
    """builder(...) with each of its parameters taken from the setting of the same name
    (dcgan_color's build_generator(image_size, width)); a builder without any: builder()."""
    settings = settings if isinstance(settings, dict) else vars(settings)
    return builder(**{name: settings[name] for name in inspect.signature(builder).parameters
                      if name in settings})  # one a run did not record: the builder's default


def sampler(generator, seed=None, classes=0):
    """A function (count, labels=None) -> `count` new images from fresh Gaussian noise (seeded:
    repeatable), drawn from the generator's own stream: the run's random streams are left alone.

    A conditional generator (`classes` > 0, cgan_fashion.py) reads [noise | one-hot label]: it
    is asked for `labels`, or, without them, for class i mod `classes` for the i-th image."""
    noise = (tf.random.Generator.from_seed(seed) if seed is not None
             else tf.random.Generator.from_non_deterministic_state())
    noise_size = generator.input_shape[-1] - classes

    def draw(count, labels=None):
        inputs = noise.normal([count, noise_size])
        if classes:
            labels = tf.range(count) % classes if labels is None else labels
            inputs = tf.concat([inputs, tf.one_hot(labels, classes)], axis=1)
        return generator(inputs, training=False)

    return draw


def class_names(settings):
    """The class names a conditional generator is asked for: a built-in dataset's
    (cgan_fashion.py), a folder run's sub-folders (dcgan_color.py --classes, in run.json); ()
    for the others."""
    get = settings.get if isinstance(settings, dict) else lambda name: getattr(settings, name, None)
    if get("class_names"):  # the commands after training: run.json's
        return tuple(get("class_names"))
    if get("classes"):  # training: the folder's
        return tuple(datasets.folder_classes(get("data_dir"))[0])
    return datasets.CLASS_NAMES[get("dataset")] if get("CONDITIONAL") else ()
