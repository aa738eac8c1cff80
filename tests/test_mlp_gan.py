"""mlp_gan_keras.py: the two generator losses on known outputs, the models, the commands."""

import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import mlp_gan_keras as mlp
from common.runs import read_log
from conftest import run_main, steps_as_python

TINY = ["--batch-size", "16", "--steps-per-epoch", "2"]


def logit(probability):
    return math.log(probability / (1 - probability))


def test_models_as_the_article():
    generator, discriminator = mlp.build_generator(), mlp.build_discriminator()
    assert discriminator(generator(tf.zeros([3, mlp.NOISE_DIM]))).shape == (3, 1)
    momenta = [
        layer.momentum
        for layer in generator.layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert momenta == [0.8, 0.8, 0.8]
    slopes = [
        layer.negative_slope
        for layer in generator.layers + discriminator.layers
        if isinstance(layer, keras.layers.LeakyReLU)
    ]
    assert slopes == [0.2] * 5
    assert [
        layer.units for layer in discriminator.layers if isinstance(layer, keras.layers.Dense)
    ] == [512, 256, 1]


@pytest.mark.parametrize("d_real, d_fake", [(0.9, 0.2), (0.5, 0.5), (0.99, 0.01)])
def test_losses_against_hand_computed_values(d_real, d_fake):
    real, fake = tf.constant([[logit(d_real)]]), tf.constant([[logit(d_fake)]])
    assert math.isclose(
        float(mlp.discriminator_loss(real, fake)),
        -math.log(d_real) - math.log(1 - d_fake),
        rel_tol=1e-5,
    )
    assert math.isclose(
        float(mlp.generator_loss_non_saturating(fake)), -math.log(d_fake), rel_tol=1e-5
    )
    assert math.isclose(float(mlp.generator_loss_minimax(fake)), math.log(1 - d_fake), rel_tol=1e-5)


def test_minimax_saturates_where_non_saturating_does_not():
    """When D rejects a fake (D(G(z)) ~ 0.0025), the minimax gradient is ~400x smaller."""
    fake = tf.Variable([[-6.0]])
    slopes = {}
    for name, loss in mlp.GENERATOR_LOSSES.items():
        with tf.GradientTape() as tape:
            value = loss(fake)
        slopes[name] = abs(float(tape.gradient(value, fake)[0, 0]))
    assert slopes["non-saturating"] > 0.99 and slopes["minimax"] < 0.003


def test_losses_stay_finite_for_extreme_logits():
    extreme = tf.constant([[200.0], [-200.0]])
    for value in (
        mlp.discriminator_loss(extreme, extreme),
        mlp.generator_loss_minimax(extreme),
        mlp.generator_loss_non_saturating(extreme),
    ):
        assert math.isfinite(float(value))


def test_the_generators_update_leaves_the_discriminator_alone():
    """The step updates D, then G through D: G's update must not move D's weights. With D's
    learning rate 0 its own update changes nothing, so any change to D comes from G's."""
    keras.utils.set_random_seed(0)
    generator, discriminator = mlp.build_generator(), mlp.build_discriminator()
    generator_optimizer, discriminator_optimizer = keras.optimizers.Adam(
        2e-4
    ), keras.optimizers.Adam(0.0)
    step = mlp.make_train_step(
        generator,
        discriminator,
        generator_optimizer,
        discriminator_optimizer,
        mlp.generator_loss_non_saturating,
    )
    d_before = [weight.numpy().copy() for weight in discriminator.weights]
    g_before = [weight.numpy().copy() for weight in generator.trainable_weights]
    with steps_as_python():  # the same code as plain Python: no seconds of compiling
        step(tf.random.uniform([16, 28, 28, 1], -1, 1))
    assert int(discriminator_optimizer.iterations) == 1 and int(generator_optimizer.iterations) == 1
    for old, new in zip(d_before, discriminator.weights):
        np.testing.assert_array_equal(new.numpy(), old)
    assert all(
        not np.array_equal(old, new.numpy())
        for old, new in zip(g_before, generator.trainable_weights)
    )


def test_train_sample_resume(idx_dir, tmp_path, capsys, eagerly):
    """Train, resume and sample on MNIST's IDX files. The steps as Python: the files are under
    test here; the XLA step learns in test_scripts.py."""
    data_dir = idx_dir
    out = str(tmp_path / "run")
    argv = ["train", "--data-dir", data_dir, "--out-dir", out, *TINY]
    status, stdout, stderr = run_main(mlp, argv + ["--loss", "minimax", "--epochs", "1"], capsys)
    assert status == 0, stderr
    assert "mnist" in stdout and "loss minimax" in stdout
    # Without --loss, a resumed run goes on with the loss it started with.
    status, stdout, _ = run_main(mlp, argv + ["--epochs", "2"], capsys)
    assert "Resuming" in stdout and "loss minimax" in stdout
    assert [row["epoch"] for row in read_log(os.path.join(out, "log.csv"))] == [1, 2]
    assert sorted(os.listdir(os.path.join(out, "images")))[-1] == "epoch_0002.png"
    status, stdout, _ = run_main(mlp, ["--out-dir", out], capsys)
    assert status == 0 and os.path.exists(os.path.join(out, "samples.png"))
    # Resuming with the other loss would mix two experiments in one log: refused.
    status, _, stderr = run_main(mlp, argv + ["--loss", "non-saturating"], capsys)
    message = " ".join(stderr.split())
    assert status == 2 and "--loss minimax" in message and "asks for non-saturating" in message
