"""What the three scripts share, checked in each: the data range, every generator stage in
order, the tanh, a train step that learns in the right direction, and a checkpoint that
holds both optimizers."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import dcgan_fashion
import mlp_gan_keras
import wgan_gp
from conftest import TRAINED_FLAGS, copy_run, run_main, toy_images

SCRIPTS = [dcgan_fashion, mlp_gan_keras, wgan_gp]
ids = [script.MODEL_NAME for script in SCRIPTS]

# Each generator stage's output shape, in order, as the articles build them.
GENERATOR_STAGES = {
    "dcgan_fashion": [(12544,), (12544,), (12544,), (7, 7, 256), (7, 7, 128), (7, 7, 128), (7, 7, 128),
                      (14, 14, 64), (14, 14, 64), (14, 14, 64), (28, 28, 1)],
    "mlp_gan": [(256,), (256,), (256,), (512,), (512,), (512,), (1024,), (1024,), (1024,), (784,), (28, 28, 1)],
    "wgan_gp": [(4096,), (4096,), (4, 4, 256), (8, 8, 128), (8, 8, 128), (7, 7, 128), (14, 14, 64),
                (14, 14, 64), (28, 28, 1)],
}


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_real_images_are_scaled_to_the_range_of_tanh(script, idx_dir):
    real_images, batches, _ = script.load_real_images("fashion_mnist", idx_dir, 16, seed=0)
    raw, _ = toy_images(200, 1)
    assert real_images.shape == (200, 28, 28, 1) and real_images.dtype == np.float32
    np.testing.assert_allclose(real_images[..., 0], raw / 127.5 - 1.0, atol=1e-6)  # 0 -> -1, 255 -> 1
    shapes = [tuple(batch.shape) for batch in batches]
    assert shapes == [(16, 28, 28, 1)] * 12  # 200 images: 12 full batches, the 8 left over dropped
    first = next(iter(batches)).numpy()
    assert not np.array_equal(first, real_images[:16])  # shuffled


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_generator_stages_in_order(script):
    generator = script.build_generator()
    shapes = [tuple(layer.output.shape[1:]) for layer in generator.layers]
    assert shapes == GENERATOR_STAGES[script.MODEL_NAME]
    assert generator(tf.zeros([2, script.NOISE_DIM])).shape == (2, 28, 28, 1)


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_generator_output_is_squashed_by_tanh(script):
    """With its last weights blown up, the generator's images still lie in [-1, 1] and reach
    the ends: only a tanh does that (an untrained generator's small outputs prove nothing)."""
    keras.utils.set_random_seed(0)
    generator = script.build_generator()
    last = [layer for layer in generator.layers if getattr(layer, "kernel", None) is not None][-1]
    last.kernel.assign(last.kernel * 1000.0)
    fakes = generator(tf.random.normal([8, script.NOISE_DIM]), training=False).numpy()
    assert fakes.min() >= -1.0 and fakes.max() <= 1.0
    assert np.abs(fakes).max() > 0.99


def toy_batch(count):
    """Real images that are easy to tell from an untrained generator's: bright bars, in [-1, 1]."""
    raw, _ = toy_images(count, 5)
    return tf.constant(raw[..., np.newaxis] / 127.5 - 1.0, tf.float32)


def learned_separation(script):
    """Train a few steps on a fixed real batch; return how much higher D rates real than fake."""
    keras.utils.set_random_seed(3)
    if script is wgan_gp:
        generator, critic = wgan_gp.build_generator(), wgan_gp.build_critic()
        step = wgan_gp.make_train_step(generator, critic, *wgan_gp.make_optimizers("wgan-gp"), "wgan-gp", 5)
        for _ in range(3):
            outputs = step(toy_batch(5 * 8))
        return float(outputs["wasserstein"])
    generator, discriminator = script.build_generator(), script.build_discriminator()
    optimizers = keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)
    if script is mlp_gan_keras:
        step = script.make_train_step(generator, discriminator, *optimizers, script.generator_loss_non_saturating)
    else:
        step = script.make_train_step(generator, discriminator, *optimizers)
    before = [weight.numpy().copy() for weight in generator.trainable_weights + discriminator.trainable_weights]
    for _ in range(15):
        outputs = step(toy_batch(16))
    assert int(optimizers[0].iterations) == 15 and int(optimizers[1].iterations) == 15
    after = generator.trainable_weights + discriminator.trainable_weights
    assert all(not np.array_equal(old, new.numpy()) for old, new in zip(before, after))  # every weight learns
    assert set(outputs) == {"d_loss", "g_loss", "D(x)", "D(G(z))"}
    return float(outputs["D(x)"]) - float(outputs["D(G(z))"])


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_a_few_steps_teach_the_discriminator_which_is_real(script):
    """A label or sign error in the step makes D (or the critic) prefer the fakes."""
    assert learned_separation(script) > 0.1


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_checkpoint_holds_both_optimizers_and_resume_restores_them(script, trained_runs, tmp_path, idx_dir, capsys):
    out = copy_run(trained_runs, script, tmp_path)  # two epochs of two steps
    argv = ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    assert run_main(script, argv, capsys)[0] == 0
    reader = tf.train.load_checkpoint(os.path.join(out, "checkpoints", "ckpt-3"))
    counts = {name.split("/")[0]: int(reader.get_tensor(name))
              for name in reader.get_variable_to_shape_map() if name.endswith("_iterations/.ATTRIBUTES/VARIABLE_VALUE")}
    # Two steps an epoch, three epochs: a resumed optimizer counts on from 4 (a fresh one from 0).
    critic_updates = 5 if script is wgan_gp else 1
    other = "critic_optimizer" if script is wgan_gp else "discriminator_optimizer"
    assert counts == {"generator_optimizer": 6, other: 6 * critic_updates}

    # `sample` restores the trained generator: the one exported as generator.keras.
    samples = str(tmp_path / "samples.npy")
    assert run_main(script, ["sample", "--out-dir", out, "--n", "4", "--seed", "7", "--output", samples], capsys)[0] == 0
    exported = keras.models.load_model(os.path.join(out, "generator.keras"))
    expected = exported(tf.random.Generator.from_seed(7).normal([4, script.NOISE_DIM]), training=False)
    np.testing.assert_allclose(np.load(samples), expected.numpy(), atol=1e-5)
