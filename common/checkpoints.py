"""Restoring the lessons' checkpoints: past damaged files, and never another script's.

A lesson saves its own `tf.train.Checkpoint` (both networks, both optimizers with their moment
estimates and step counts, the fixed noise of the epoch grids, the epoch counter, and the
`shown_generator` that `sample` restores: the averaged one under --recipe fast) with a
`tf.train.CheckpointManager` after every epoch, so a resumed run continues the same story.
(The random streams are not saved: a resumed run draws new noise and a new shuffle, which
changes nothing that matters to a GAN.) Beside the checkpoints, `run.json` records which script
and which settings wrote them, so a folder of another model, or a kept setting changed
(KEPT_ON_RESUME), gets a clear message instead of a shape error deep inside TensorFlow.

TensorFlow writes a checkpoint as `ckpt-N.index` and `ckpt-N.data-...` files. When the
newest one does not restore (a disk that filled up, a copy cut short), the next older one
is used and the message says so: a damaged file costs the epochs after the last good one.
"""

import json
import os
import re

from common.errors import UserError
from common.files import write_text


SCRIPTS = {"mlp_gan": "mlp_gan_keras.py", "dcgan_fashion": "dcgan_fashion.py",
           "wgan_gp": "wgan_gp.py", "dcgan_color": "dcgan_color.py",
           "cgan_fashion": "cgan_fashion.py"}  # model name -> script
# Recorded in run.json for the commands after training, but a resumed run may differ: a folder
# of pictures may move (`evaluate` on a folder run reads it from there unless given --data-dir).
NOT_CHECKED = ("data_dir",)


def folder_of(run_dir):
    return os.path.join(run_dir, "checkpoints")


def read_settings(run_dir):
    """The settings in the run's run.json, as today's scripts read them; raises OSError or
    ValueError where there is none. A run trained in mixed_float16, no longer offered, goes on
    in float32, whose weights it shares (common/precision.py)."""
    with open(os.path.join(folder_of(run_dir), "run.json")) as file:
        saved = json.load(file)
    if not isinstance(saved, dict):
        raise ValueError("not a JSON object")
    if saved.get("precision") != "mixed_float16":
        return saved
    if run_dir not in FLOAT16_NOTED:
        FLOAT16_NOTED.add(run_dir)
        print("This run trained in mixed_float16, which these scripts no longer offer (it needs "
              "loss scaling in every step); it goes on in float32, whose weights it shares.")
    return dict(saved, precision="float32")


FLOAT16_NOTED = set()  # the runs whose float16 read_settings has told of


def run_settings(run_dir):
    """The settings of the run in run_dir, or {} where it has no readable run.json or no
    checkpoint beside it (a run stopped before its first epoch's end keeps nothing)."""
    try:
        return read_settings(run_dir) if saved_in(folder_of(run_dir)) else {}
    except (OSError, ValueError):
        return {}


def newest_epoch(run_dir):
    """The epoch of the newest checkpoint in the run folder, 0 if none."""
    return next(iter(saved_in(folder_of(run_dir))), 0)


def refuse_other_model(folder, saved_model, model_name):
    """Say, as a UserError, that the run in `folder` belongs to another script, and which."""
    other = SCRIPTS.get(saved_model)
    this = SCRIPTS.get(model_name, model_name)
    go_on = f", or go on with that run with its own script: `python {other} ...`" if other else ""
    raise UserError(
        f"{folder} holds a run of {other or 'model ' + repr(saved_model)}, not of {this}, so "
        f"this script cannot use it. Choose another --out-dir{go_on}."
    )


def saved_in(folder):
    """The checkpoints in `folder` as {epoch: path prefix}, newest first.

    Read from the files themselves, not from TensorFlow's `checkpoint` list, so that a lost or
    garbled list still leaves every checkpoint usable.
    """
    names = os.listdir(folder) if os.path.isdir(folder) else []
    numbers = [int(match.group(1)) for name in names
               if (match := re.fullmatch(r"ckpt-(\d+)\.index", name))]
    return {number: os.path.join(folder, f"ckpt-{number}")
            for number in sorted(numbers, reverse=True)}


def write_identity(run_dir, identity):
    """Record in run.json which script and settings write the checkpoints of run_dir."""
    os.makedirs(folder_of(run_dir), exist_ok=True)
    write_text(os.path.join(folder_of(run_dir), "run.json"), json.dumps(identity, indent=2))


def saved_identity(folder, identity):
    """The settings in `folder`'s run.json, as the run that wrote the checkpoints recorded them."""
    try:
        return read_settings(os.path.dirname(folder))
    except FileNotFoundError:
        raise UserError(
            f"{folder} holds checkpoints but no run.json, so they were not written by this "
            f"collection's {identity['model']} script. Use another --out-dir or remove that "
            "folder.") from None
    except (OSError, ValueError) as error:
        raise UserError(
            f"{folder}/run.json is damaged ({error}), so it cannot say which model and settings "
            f"wrote these checkpoints. If they are this run's, write it again as "
            f"{json.dumps(identity)}; otherwise choose another --out-dir.") from None


def check_identity(folder, identity, keys):
    """Refuse, with a message, checkpoints of another model, or written with other `keys`.

    A setting that an older run.json does not hold is not checked: that run predates it. (It
    ran with the default of its day; a resume uses today's, which for precision may differ.)
    """
    saved = saved_identity(folder, identity)
    if saved.get("model") != identity.get("model"):
        refuse_other_model(folder, saved.get("model"), identity.get("model"))
    for key in keys:
        if key in NOT_CHECKED:
            continue
        if (key in saved or key == "model") and saved.get(key) != identity.get(key):
            raise UserError(
                f"The checkpoint in {folder} was written with {key}={saved.get(key)!r}, but "
                f"this run asks for {key}={identity.get(key)!r}. Pass the same settings to "
                "continue that run, or choose another --out-dir for a new one."
            )


def without_index(folder, newest):
    """Checkpoints newer than `newest` that left data files but no index (newest first)."""
    numbers = {int(match.group(1)) for name in os.listdir(folder)
               if (match := re.fullmatch(r"ckpt-(\d+)\.data-.*", name))}
    return [os.path.join(folder, f"ckpt-{number}")
            for number in sorted(numbers, reverse=True) if number > newest]


def restore_newest(checkpoint, run_dir, identity, for_training=True):
    """Restore into `checkpoint` (a tf.train.Checkpoint with an `epoch` variable) the newest
    checkpoint of run_dir that restores; return its epoch, 0 if there is none.

    A checkpoint that does not restore (a disk that filled up, a copy cut short) is passed
    over for the next older one, and the message says so: a damaged file costs the epochs
    after the last good one. identity: the settings that must match run.json ("model" and the
    script's KEPT_ON_RESUME); for sampling only "model" is checked. Optimizers must be built
    (`optimizer.build(model.trainable_variables)`) before, so that their slots exist to
    receive the saved values.
    """
    folder = folder_of(run_dir)
    saved = saved_in(folder)
    if not saved:
        return 0
    check_identity(folder, identity, identity if for_training else ["model"])
    failures = [(path, "its .index file is missing")
                for path in without_index(folder, next(iter(saved)))]
    for path in saved.values():
        try:
            status = checkpoint.restore(path)
            status.assert_existing_objects_matched()  # everything asked for is in the file
            if not for_training:
                status.expect_partial()  # sampling needs no optimizer state
        except Exception as error:  # damaged files fail in many ways: IndexError, OpError, ...
            first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
            failures.append((path, first_line))
            continue
        for damaged, reason in failures:
            print(f"Checkpoint {damaged} does not restore ({reason}); using {path} instead.")
        return int(checkpoint.epoch.numpy())
    raise UserError(
        f"None of the {len(saved)} checkpoint(s) in {folder} restores; the newest, "
        f"{failures[0][0]}, says: {failures[0][1]}. They do not fit this model or their files "
        f"are damaged. Nothing was deleted. Choose another --out-dir, or move {folder} away to "
        "start over."
    )


def restore_for_sampling(checkpoint, run_dir, model_name, script):
    """Restore the newest good checkpoint for `sample`, `evaluate` or `walk`, or say to train
    first; returns its epoch."""
    epoch = restore_newest(checkpoint, run_dir, dict(model=model_name), for_training=False)
    if epoch == 0:
        raise UserError(
            f"No checkpoint in {folder_of(run_dir)}: train first with `{script} train` (or "
            "point --out-dir at a folder that holds a trained run)."
        )
    return epoch
