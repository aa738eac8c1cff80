"""--devices N: the DCGANs on several devices with tf.distribute.MirroredStrategy.

conftest.py splits the CPU into two logical devices before TensorFlow starts, so these
tests run two replicas on any machine.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import dcgan_color
import dcgan_fashion
from common import checkpoints, devices
from common.runs import read_log
from conftest import TRAINED_FLAGS, built, copy_run, run_main

BATCH = 8
# One step on two replicas against one step on one device, in float32 from the same weights,
# data and noise. The sums run in another order, so they agree closely, not bit for bit.
# SGD(0.01): the change of each weight is its gradient times 0.01, so a gradient twice too
# large moves it twice as far (Adam's first step would hide it: it divides by the gradient's
# size). With SGD(0.1), dcgan_color's three updates amplified round-off: on one start in six
# the two runs differed by 3% of the change (its initial weights, drawn anew in each process
# until they followed the seed, made that a flaky test). Measured with 0.01 on seeds 0-11:
# losses within 5e-7 relative; each weight array within 3% of the tolerance below.
LOSS_RTOL = 1e-5
LEARNING_RATE = 0.01
ARRAY_TOLERANCE = 1e-3  # of that array's own change ...
FLOOR_TOLERANCE = 1e-5  # ... plus this share of the largest change of any array


def models(script):
    if script is dcgan_fashion:
        generator = dcgan_fashion.build_generator()
        discriminator = dcgan_fashion.build_discriminator()
        for layer in discriminator.layers:
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0  # dropout masks are random on each replica: off, to compare
        return generator, discriminator
    return (dcgan_color.build_generator(64, 8), dcgan_color.build_discriminator(64, 8))


def one_step(script, strategy, weights, real_images, noise, monkeypatch):
    """One train step under `strategy` from `weights`; returns its outputs and the new weights.

    The noise comes from a table: call k of replica r gets rows [r * share, (r + 1) * share)
    of noise[k], so the replicas together draw what one device draws for the whole batch.
    """
    calls = {}

    def draw_noise(count):
        replica = int(
            tf.get_static_value(tf.distribute.get_replica_context().replica_id_in_sync_group)
        )
        call = calls.get(replica, 0)
        calls[replica] = call + 1
        return noise[call % len(noise)][replica * count : (replica + 1) * count]

    monkeypatch.setattr(script, "draw_noise", draw_noise)
    with strategy.scope():
        generator, discriminator = models(script)
        generator.set_weights(weights[0])
        discriminator.set_weights(weights[1])
        # Plain gradient descent (see LEARNING_RATE).
        generator_optimizer, discriminator_optimizer = built(
            (keras.optimizers.SGD(LEARNING_RATE), keras.optimizers.SGD(LEARNING_RATE)),
            generator,
            discriminator,
        )
        # As common/training.py does for a run: the step as the lesson writes it, wrapped.
        for optimizer in (generator_optimizer, discriminator_optimizer):
            devices.average_gradients(optimizer, strategy.num_replicas_in_sync)
        step = devices.replicated(
            strategy,
            script.make_train_step(
                generator, discriminator, generator_optimizer, discriminator_optimizer
            ),
        )
    # The batch cut into one share per replica, as `train` cuts each batch of its dataset.
    batch = next(iter(devices.distribute(strategy, tf.data.Dataset.from_tensors(real_images))))
    outputs = step(batch)
    return (
        {name: float(value) for name, value in outputs.items()},
        [generator.get_weights(), discriminator.get_weights()],
    )


@pytest.mark.parametrize(
    "script", [dcgan_fashion, dcgan_color], ids=["dcgan_fashion", "dcgan_color"]
)
def test_one_step_on_two_replicas_is_one_step_on_one_device(script, monkeypatch, eagerly):
    """Run eagerly (tracing the step under two replicas took most of the test's 20 s); the
    step's code and the replicas' exchange are the same, and plant_bugs.py's devices bugs
    are caught this way too."""
    keras.utils.set_random_seed(0)
    shape = (28, 28, 1) if script is dcgan_fashion else (64, 64, 3)
    real_images = tf.constant(
        np.random.default_rng(0).uniform(-1, 1, (BATCH, *shape)).astype(np.float32)
    )
    calls_per_step = 1 if script is dcgan_fashion else 1 + dcgan_color.Settings.generator_steps
    noise = tf.random.normal([calls_per_step, BATCH, script.NOISE_DIM])
    generator, discriminator = models(script)
    start = [generator.get_weights(), discriminator.get_weights()]

    two = devices.strategy(2)
    assert two.num_replicas_in_sync == 2
    alone_outputs, alone_weights = one_step(
        script, tf.distribute.get_strategy(), start, real_images, noise, monkeypatch
    )
    split = one_step(script, two, start, real_images, noise, monkeypatch)
    check_same_step(start, (alone_outputs, alone_weights), split)


def check_same_step(start, alone, split):
    """The outputs and new weights of a split step equal the one-device step's, within the
    bounds above (test_workers.py checks two workers with it too)."""
    (alone_outputs, alone_weights), (split_outputs, split_weights) = alone, split
    for name, value in alone_outputs.items():
        assert split_outputs[name] == pytest.approx(value, rel=LOSS_RTOL), name
    starts, alones, splits = (
        weights[0] + weights[1] for weights in (start, alone_weights, split_weights)
    )
    moved = max(float(np.abs(alone - before).max()) for before, alone in zip(starts, alones))
    assert (
        moved > 1e-3
    )  # the step did change the weights: the comparison is not of two copies of the start
    for before, alone, split in zip(starts, alones, splits):  # batch-norm statistics too
        change = float(np.abs(alone - before).max())
        tolerance = ARRAY_TOLERANCE * change + FLOOR_TOLERANCE * moved
        np.testing.assert_allclose(split, alone, atol=tolerance, rtol=0)


def test_a_batch_that_does_not_split_evenly_is_refused(tmp_path, idx_dir, capsys):
    status, _, stderr = run_main(
        dcgan_fashion,
        [
            "train",
            "--devices",
            "2",
            "--batch-size",
            "15",
            "--data-dir",
            idx_dir,
            "--out-dir",
            str(tmp_path / "run"),
        ],
        capsys,
    )
    assert status == 2
    assert "multiple of 2" in stderr


def test_more_devices_than_this_process_was_split_into_is_refused_with_what_to_do(
    tmp_path, idx_dir, capsys
):
    # conftest.py split the CPU in two before TensorFlow started; three cannot be had once it
    # has. Listing the devices starts it, should this test be the first of its process.
    assert len(tf.config.list_logical_devices("CPU")) == 2
    status, _, stderr = run_main(
        dcgan_fashion,
        [
            "train",
            "--devices",
            "3",
            "--batch-size",
            "6",
            "--data-dir",
            idx_dir,
            "--out-dir",
            str(tmp_path / "run"),
        ],
        capsys,
    )
    assert status == 2
    assert "in a new Python process" in " ".join(stderr.split())


def test_a_run_moves_between_two_devices_and_one(
    trained_runs, tmp_path, idx_dir, capsys, monkeypatch, eagerly
):
    out = copy_run(trained_runs, dcgan_fashion, tmp_path)  # two epochs on one device
    flags = ["--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    built = []  # the strategy under which train() builds each generator
    build = dcgan_fashion.build_generator
    monkeypatch.setattr(
        dcgan_fashion,
        "build_generator",
        lambda: built.append(tf.distribute.get_strategy().num_replicas_in_sync) or build(),
    )
    status, stdout, stderr = run_main(
        dcgan_fashion, ["train", "--devices", "2", "--epochs", "3", *flags], capsys
    )
    assert status == 0, stderr
    assert "2 replicas on CPU:0, CPU:1" in stdout
    assert built[0] == 2  # the trained generator is mirrored on both replicas
    assert all(
        layer.synchronized
        for layer in build().layers  # its batch norm spans them
        if isinstance(layer, keras.layers.BatchNormalization)
    )
    trained = keras.models.load_model(os.path.join(out, "generator.keras")).get_weights()

    # The checkpoint of two replicas restores on one device, as `sample` does, to the same weights.
    generator = dcgan_fashion.build_generator()
    epoch = tf.Variable(0, dtype=tf.int64)
    checkpoint = tf.train.Checkpoint(shown_generator=generator, epoch=epoch)
    assert checkpoints.restore_for_sampling(checkpoint, out, "dcgan_fashion", "") == 3
    for saved, restored in zip(trained, generator.get_weights()):
        np.testing.assert_array_equal(restored, saved)

    status, stdout, stderr = run_main(dcgan_fashion, ["train", "--epochs", "4", *flags], capsys)
    assert status == 0, stderr
    assert "Resuming" in stdout and "replicas" not in stdout
    assert [row["epoch"] for row in read_log(os.path.join(out, "log.csv"))] == [1, 2, 3, 4]
    status, stdout, _ = run_main(dcgan_fashion, ["sample", "--out-dir", out, "--n", "4"], capsys)
    assert status == 0 and "epoch 4" in stdout


def test_every_lessons_batch_norm_spans_all_devices():
    """The one line a lesson keeps for --devices N: each batch norm is synchronized=True."""
    import mlp_gan_keras

    networks = [
        mlp_gan_keras.build_generator(), dcgan_fashion.build_generator(),
        dcgan_color.build_generator(64, 8), dcgan_color.build_discriminator(64, 8),
    ]
    norms = [layer for network in networks for layer in network.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 3 + 3 + 4 + 3 and all(norm.synchronized for norm in norms)
