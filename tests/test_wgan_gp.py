"""wgan_gp.py: the gradient penalty by hand, the sign conventions, clipping, step counts."""

import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import wgan_gp
from common.runs import read_log
from conftest import built, copy_run, run_main

TINY = ["--batch-size", "8", "--steps-per-epoch", "2"]


def linear_critic(weights):
    """D(x) = w . x + b as a Keras model: its gradient is w at every point."""
    critic = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    critic.layers[-1].set_weights(
        [weights.reshape(784, 1).astype(np.float32), np.array([0.3], np.float32)]
    )
    return critic


@pytest.mark.parametrize("scale", [0.05, 1.0, 3.0])
def test_gradient_penalty_of_a_linear_critic(scale):
    rng = np.random.default_rng(0)
    weights = rng.normal(size=784)
    weights *= scale / np.linalg.norm(weights)  # |w| = scale
    real = tf.constant(rng.uniform(-1, 1, (6, 28, 28, 1)), tf.float32)
    fake = tf.constant(rng.uniform(-1, 1, (6, 28, 28, 1)), tf.float32)
    penalty = float(wgan_gp.gradient_penalty(linear_critic(weights), real, fake))
    assert math.isclose(penalty, (scale - 1.0) ** 2, rel_tol=1e-4, abs_tol=1e-6)
    scores = tf.constant([[1.0]])
    assert math.isclose(
        float(wgan_gp.critic_loss(scores, scores, penalty)), 10 * (scale - 1.0) ** 2, rel_tol=1e-4
    )


def test_interpolation_weight_is_uniform_per_sample():
    """With D(x) = |x|^2 / 2 the gradient at x_hat is x_hat itself. With fake = 0 and |real| = 3
    its norm is 3|a|, so the penalty is mean((3|a| - 1)^2): 9 E[a^2] - 6 E|a| + 1, which is
    1 for a ~ U[0, 1], 10 - 6 sqrt(2 / pi) (about 5.2) for a ~ N(0, 1), and 4 for one a = 1
    everywhere."""
    real = tf.fill([4000, 28, 28, 1], 3.0 / 28.0)  # |real| = 3
    fake = tf.zeros_like(real)

    def squared_norm_critic(images, training=False):
        return 0.5 * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])

    tf.random.set_seed(0)
    penalty = float(wgan_gp.gradient_penalty(squared_norm_critic, real, fake))
    assert math.isclose(penalty, 1.0, rel_tol=0.1)


def test_constant_critic_gives_no_nan():
    critic = linear_critic(np.zeros(784))  # every gradient is exactly zero
    real = tf.random.uniform([4, 28, 28, 1], -1, 1)
    with tf.GradientTape() as tape:
        penalty = wgan_gp.gradient_penalty(critic, real, -real)
    kernel_gradient = tape.gradient(penalty, critic.layers[-1].kernel)
    assert math.isclose(float(penalty), 1.0, rel_tol=1e-4)
    assert kernel_gradient is not None and np.isfinite(kernel_gradient.numpy()).all()


def test_sign_conventions_on_known_scores():
    real_scores, fake_scores = tf.constant([[3.0], [5.0]]), tf.constant([[-1.0], [1.0]])
    # The critic lowers mean(fake) - mean(real): here 0 - 4 = -4, so it is winning.
    assert float(wgan_gp.critic_loss(real_scores, fake_scores, 0.0)) == -4.0
    assert float(wgan_gp.critic_loss(real_scores, fake_scores, 0.5)) == 1.0
    assert float(wgan_gp.generator_loss(fake_scores)) == 0.0
    assert float(wgan_gp.generator_loss(tf.constant([[2.0]]))) == -2.0


def test_critic_has_no_sigmoid_and_no_batch_norm():
    critic = wgan_gp.build_critic()
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in critic.layers)
    assert critic.layers[-1].activation.__name__ == "linear"
    assert wgan_gp.build_generator()(tf.zeros([2, 128])).shape == (2, 28, 28, 1)


@pytest.mark.parametrize("mode", ["wgan-gp", "wgan"])
def test_five_critic_steps_per_generator_step(mode, eagerly):
    keras.utils.set_random_seed(2)
    generator, critic = wgan_gp.build_generator(), wgan_gp.build_critic()
    generator_optimizer, critic_optimizer = built(wgan_gp.make_optimizers(mode), generator, critic)
    step = wgan_gp.make_train_step(
        generator, critic, generator_optimizer, critic_optimizer, mode, 5
    )
    metrics = step(tf.random.uniform([5 * 4, 28, 28, 1], -1, 1))
    step(tf.random.uniform([5 * 4, 28, 28, 1], -1, 1))
    assert int(critic_optimizer.iterations) == 10 and int(generator_optimizer.iterations) == 2
    assert ("gradient_penalty" in metrics) == (mode == "wgan-gp")
    if mode == "wgan":
        # Arjovsky et al.'s bound, 0.01: every weight inside it, and the bound reached.
        largest = max(float(tf.reduce_max(tf.abs(w))) for w in critic.trainable_variables)
        assert math.isclose(largest, 0.01, rel_tol=1e-5)


def test_train_sample_resume(trained_runs, tmp_path, idx_dir, capsys, eagerly):
    out = copy_run(trained_runs, wgan_gp, tmp_path)  # two epochs with --critic-steps 2 (conftest)
    started = trained_runs.output(wgan_gp.MODEL_NAME)
    assert "critic_steps 2" in started and "2 of 12 steps of 16 images" in started
    argv = ["train", "--data-dir", idx_dir, "--out-dir", out, *TINY]
    # Without --critic-steps, a resumed run goes on with the ratio it started with.
    status, stdout, stderr = run_main(wgan_gp, argv + ["--epochs", "3"], capsys)
    assert status == 0, stderr
    log = read_log(os.path.join(out, "log.csv"))
    assert "Resuming" in stdout and "critic_steps 2" in stdout
    assert [row["epoch"] for row in log] == [1, 2, 3]
    assert {"wasserstein", "gradient_penalty", "critic_loss", "g_loss"} <= set(log[-1])
    reader = tf.train.load_checkpoint(os.path.join(out, "checkpoints", "ckpt-3"))
    updates = [
        int(reader.get_tensor(f"{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE"))
        for name in ("generator_optimizer", "critic_optimizer")
    ]
    assert updates == [6, 12]  # three epochs of two steps, each 2 critic updates and 1 of G
    status, stdout, _ = run_main(wgan_gp, ["--out-dir", out, "--n", "4"], capsys)
    assert status == 0 and "Critic's mean score" in stdout
    # Another mode or ratio would mix two experiments in one log: refused.
    for flags, saved in (
        (["--mode", "wgan"], "--mode wgan-gp"),
        (["--critic-steps", "5"], "--critic-steps 2"),
    ):
        status, _, stderr = run_main(wgan_gp, argv + ["--epochs", "4", *flags], capsys)
        assert status == 2 and saved in " ".join(stderr.split())


def test_mixed_precision_keeps_penalty_and_losses_in_float32(eagerly):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        generator, critic = wgan_gp.build_generator(), wgan_gp.build_critic()
        assert critic.layers[0].compute_dtype == "bfloat16"
        fakes = generator(tf.random.normal([4, wgan_gp.NOISE_DIM]))
        assert fakes.dtype == tf.float32  # the tanh layer stays float32
        penalty = wgan_gp.gradient_penalty(critic, tf.random.uniform([4, 28, 28, 1], -1, 1), fakes)
        assert penalty.dtype == tf.float32 and math.isfinite(float(penalty))
        generator_optimizer, critic_optimizer = built(
            wgan_gp.make_optimizers("wgan-gp"), generator, critic
        )
        step = wgan_gp.make_train_step(
            generator, critic, generator_optimizer, critic_optimizer, "wgan-gp", 2
        )
        metrics = step(tf.random.uniform([8, 28, 28, 1], -1, 1))
        assert all(
            value.dtype == tf.float32 and math.isfinite(float(value)) for value in metrics.values()
        )
        assert set(metrics) == {"critic_loss", "gradient_penalty", "wasserstein", "g_loss"}
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_the_penalty_and_its_double_backward_pass_in_bfloat16_match_float32():
    """The same critic weights, images and interpolation weights in both precisions.
    On Fashion-MNIST (docs/performance.md; benchmarks/penalty_bfloat16.py, removed after commit
    aeb37ab): GP within 0.35%, the gradient of GP with respect to the critic's weights at cosine
    0.9998 or more; the bounds here are looser."""
    rng = np.random.default_rng(0)
    real = tf.constant(rng.uniform(-1, 1, (16, 28, 28, 1)), tf.float32)
    fake = tf.constant(rng.uniform(-1, 1, (16, 28, 28, 1)), tf.float32)
    results = []
    for policy in ("float32", "mixed_bfloat16"):
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(5)  # the same weights and interpolation weights a
            critic = wgan_gp.build_critic()
            with tf.GradientTape() as tape:
                penalty = wgan_gp.gradient_penalty(critic, real, fake)
            gradients = tape.gradient(
                penalty, critic.trainable_variables[:-1]
            )  # the last bias has none
        finally:
            keras.mixed_precision.set_global_policy("float32")
        results.append(
            (
                float(penalty),
                np.concatenate([g.numpy().ravel() for g in gradients]).astype(np.float64),
            )
        )
    (penalty32, gradient32), (penalty16, gradient16) = results
    assert penalty16 == pytest.approx(penalty32, rel=0.01)
    cosine = gradient32 @ gradient16 / (np.linalg.norm(gradient32) * np.linalg.norm(gradient16))
    assert cosine > 0.999
    assert np.linalg.norm(gradient16) == pytest.approx(np.linalg.norm(gradient32), rel=0.05)
