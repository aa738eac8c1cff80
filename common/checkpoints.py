"""Checkpoints that resume a run exactly, and refuse a folder that belongs to another model.

A checkpoint holds both networks, both optimizers (their moment estimates and step
counts), the epoch counter and the fixed noise vectors of the epoch grids, so a resumed run
continues the same story. Beside the checkpoints, `run.json` records which script and which
settings wrote them, so a folder of another model gets a clear message instead of a
shape error deep inside TensorFlow.
"""

import json
import os

import tensorflow as tf

from common.errors import UserError

class Checkpoints:
    """Saves and restores one run's state under `run_dir/checkpoints/`.

    run_dir:  the run's output folder.
    identity: the settings that must match to resume: "model" and the script's others
              (dataset, loss, mode); sampling checks only "model".
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
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.folder, max_to_keep=keep)

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def saved_identity(self):
        """The settings in run.json, as the run that wrote the checkpoints recorded them."""
        with open(self.info_path) as file:
            return json.load(file)

    def _check_identity(self, keys):
        try:
            with open(self.info_path) as file:
                saved = json.load(file)
        except FileNotFoundError:
            raise UserError(
                f"{self.folder} holds checkpoints but no run.json, so they were not written "
                f"by this collection's {self.identity['model']} script. Use another --out-dir "
                "or remove that folder."
            ) from None
        except (OSError, ValueError) as error:
            raise UserError(
                f"{self.info_path} is unreadable ({error}). Remove the run folder or choose "
                "another --out-dir."
            ) from None
        for key in keys:
            if saved.get(key) != self.identity.get(key):
                raise UserError(
                    f"The checkpoint in {self.folder} was written with {key}="
                    f"{saved.get(key)!r}, but this run asks for {key}="
                    f"{self.identity.get(key)!r}. Pass the same settings to continue that "
                    "run, or choose another --out-dir for a new one."
                )

    def restore(self, for_training=True):
        """Restore the latest checkpoint; return its epoch, or None if there is none."""
        if not self.latest:
            return None
        self._check_identity(self.identity if for_training else ["model"])
        try:
            status = self.checkpoint.restore(self.latest)
            if for_training:
                status.assert_existing_objects_matched()
            else:
                status.expect_partial()  # sampling needs no optimizer state
        except (ValueError, AssertionError, tf.errors.OpError) as error:
            first_line = str(error).strip().splitlines()[0][:300]
            raise UserError(
                f"Could not restore {self.latest}: {first_line}. The checkpoint does not fit "
                f"this model (or the files are damaged). Choose another --out-dir, or "
                f"remove {self.folder} to start over."
            ) from None
        return int(self.epoch.numpy())

    def require(self):
        """Restore for sampling, with a clear message when there is nothing to restore."""
        epoch = self.restore(for_training=False)
        if epoch is None:
            raise UserError(
                f"No checkpoint in {self.folder}: train first with `{self.script} train` "
                "(or point --out-dir at a folder that holds a trained run)."
            )
        return epoch

    def save(self, epoch):
        """Save the state as of the end of `epoch`; returns the checkpoint path."""
        os.makedirs(self.folder, exist_ok=True)
        with open(self.info_path, "w") as file:
            json.dump(self.identity, file, indent=2)
        self.epoch.assign(epoch)
        return self.manager.save(checkpoint_number=epoch)
