"""Checkpoints that resume a run where it stopped, survive damaged files, refuse others' folders.

A checkpoint holds what a script hands it: both networks, both optimizers (their moment
estimates and step counts), the fixed noise of the epoch grids, plus the epoch counter, so
a resumed run continues the same story. (The random streams are not saved: a resumed run
draws new noise and a new shuffle, which changes nothing that matters to a GAN.) Beside the
checkpoints, `run.json` records which
script and which settings wrote them, so a folder of another model gets a clear message
instead of a shape error deep inside TensorFlow.

TensorFlow writes a checkpoint as `ckpt-N.index` and `ckpt-N.data-...` files. When the
newest one does not restore (a disk that filled up, a copy cut short), the next older one
is used and the message says so: a damaged file costs the epochs after the last good one.
"""

import json
import os
import re
import shutil
import tempfile

import tensorflow as tf

from common.errors import UserError
from common.files import write_text


def read_settings(info_path):
    """The settings dict in a run.json; raises OSError or ValueError where there is none."""
    with open(info_path) as file:
        saved = json.load(file)
    if not isinstance(saved, dict):
        raise ValueError("not a JSON object")
    return saved


def settings_in_force(saved):
    """A run.json's settings as today's scripts read them: mixed_float16, no longer offered,
    goes on in float32, whose weights it shares (common/precision.py)."""
    if saved.get("precision") == "mixed_float16":
        return dict(saved, precision="float32")
    return saved


def refuse_other_model(folder, saved_model, model_name):
    """Say, as a UserError, that the run in `folder` belongs to another script, and which."""
    from common.cli import SCRIPTS

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


def saved_setting(run_dir, key, default):
    """One setting from the run.json of the run in run_dir, or `default` (no run, or no such key).

    A damaged run.json also gives the default here: the restore that follows reports it.
    """
    try:
        return read_settings(os.path.join(run_dir, "checkpoints", "run.json")).get(key, default)
    except (OSError, ValueError):
        return default


# Recorded in run.json for the commands after training, but a resumed run may differ: a folder
# of pictures may move (`evaluate` on a folder run reads it from there unless given --data-dir).
NOT_CHECKED = ("data_dir",)


class Checkpoints:
    """Saves and restores one run's state under `run_dir/checkpoints/`.

    run_dir:  the run's output folder.
    identity: the settings that must match to resume: "model" and the script's others
              (dataset, recipe, loss, mode, critic_steps, precision, image_size, width,
              generator_steps); sampling checks only "model". A setting that an older
              run.json does not hold is not checked: that run predates it. (It ran with
              the default of its day; a resume uses today's, which for precision may differ.)
    script:   the command that trains this model, for messages ("python x.py").
    tracked:  the objects to save: models, optimizers, variables (by name).
    Optimizers must be built (`optimizer.build(model.trainable_variables)`) before a
    restore, so that their slots exist to receive the saved values.
    """

    def __init__(self, run_dir, identity, script, keep=3, **tracked):
        self.folder = os.path.join(run_dir, "checkpoints")
        self.info_path = os.path.join(self.folder, "run.json")
        self.identity = identity
        self.script = script
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.checkpoint = tf.train.Checkpoint(epoch=self.epoch, **tracked)
        # Made now, not at the first save: on several machines every worker must make each
        # variable at the same point, and only the chief's first save would make this one.
        self.checkpoint.save_counter  # noqa: B018
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.folder, max_to_keep=keep)

    def saved(self):
        """The checkpoints on disk as {epoch: path prefix}, newest first (see saved_in)."""
        return saved_in(self.folder)

    def _without_index(self, newest):
        """Checkpoints newer than `newest` that left data files but no index (newest first)."""
        names = os.listdir(self.folder)
        numbers = {
            int(match.group(1))
            for name in names
            if (match := re.fullmatch(r"ckpt-(\d+)\.data-.*", name))
        }
        return [
            os.path.join(self.folder, f"ckpt-{number}")
            for number in sorted(numbers, reverse=True)
            if number > newest
        ]

    def saved_identity(self):
        """The settings in run.json, as the run that wrote the checkpoints recorded them."""
        try:
            return read_settings(self.info_path)
        except FileNotFoundError:
            raise UserError(
                f"{self.folder} holds checkpoints but no run.json, so they were not written "
                f"by this collection's {self.identity['model']} script. Use another --out-dir "
                "or remove that folder."
            ) from None
        except (OSError, ValueError) as error:
            raise UserError(
                f"{self.info_path} is damaged ({error}), so it cannot say which model and "
                f"settings wrote these checkpoints. If they are this run's, write it again as "
                f"{json.dumps(self.identity)}; otherwise choose another --out-dir."
            ) from None

    def _check_identity(self, keys):
        saved = settings_in_force(self.saved_identity())
        if saved.get("model") != self.identity.get("model"):
            refuse_other_model(self.folder, saved.get("model"), self.identity.get("model"))
        for key in keys:
            if key in NOT_CHECKED:
                continue
            if (key in saved or key == "model") and saved.get(key) != self.identity.get(key):
                raise UserError(
                    f"The checkpoint in {self.folder} was written with {key}="
                    f"{saved.get(key)!r}, but this run asks for {key}="
                    f"{self.identity.get(key)!r}. Pass the same settings to continue that "
                    "run, or choose another --out-dir for a new one."
                )

    def restore_newest(self, for_training=True):
        """Restore the newest checkpoint that restores; return its epoch, or 0 if there is none."""
        saved = self.saved()
        if not saved:
            return 0
        self._check_identity(self.identity if for_training else ["model"])
        failures = [
            (path, "its .index file is missing") for path in self._without_index(next(iter(saved)))
        ]
        for number, path in saved.items():
            try:
                status = self.checkpoint.restore(path)
                status.assert_existing_objects_matched()  # everything asked for is in the file
                if not for_training:
                    status.expect_partial()  # sampling needs no optimizer state
            except Exception as error:  # damaged files fail in many ways: IndexError, OpError, ...
                first_line = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
                failures.append((path, first_line))
                continue
            for damaged, reason in failures:
                print(f"Checkpoint {damaged} does not restore ({reason}); using {path} instead.")
            return int(self.epoch.numpy())
        raise UserError(
            f"None of the {len(saved)} checkpoint(s) in {self.folder} restores; the newest, "
            f"{failures[0][0]}, says: {failures[0][1]}. They do not fit this model or their "
            f"files are damaged. Nothing was deleted. Choose another --out-dir, or move "
            f"{self.folder} away to start over."
        )

    def restore_for_sampling(self):
        """Restore the newest good checkpoint for `sample` or `evaluate`, or say to train first."""
        epoch = self.restore_newest(for_training=False)
        if epoch == 0:
            raise UserError(
                f"No checkpoint in {self.folder}: train first with `{self.script} train` "
                "(or point --out-dir at a folder that holds a trained run)."
            )
        return epoch

    def save(self, epoch):
        """Save the state as of the end of `epoch`; returns the checkpoint path."""
        os.makedirs(self.folder, exist_ok=True)
        write_text(self.info_path, json.dumps(self.identity, indent=2))
        self.epoch.assign(epoch)
        return self.manager.save(checkpoint_number=epoch)

    def save_elsewhere(self, epoch):
        """Save as `save` does, into a temporary folder, then remove it: on several machines the
        workers other than the chief must take part in every save, and keep nothing."""
        folder = tempfile.mkdtemp(prefix="gan-worker-checkpoint-")
        try:
            self.epoch.assign(epoch)
            self.checkpoint.write(os.path.join(folder, "ckpt"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def newest_epoch(self):
        """The epoch of the newest checkpoint on disk (0 if none): where `train` would resume."""
        return next(iter(self.saved()), 0)
