"""The DCGAN's --recipe fast: its averaged generator, and a resume that keeps it."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import dcgan_fashion as dcgan
from conftest import TRAINED_FLAGS, built, run_main, steps_as_python
from test_scripts import assert_resumed_from, record_first_step, saved_state


def test_the_averaged_generator_moves_a_fraction_towards_the_generator_each_step(eagerly):
    """After one step: average = d * (weights before) + (1 - d) * (weights after), with the
    warm-up decay d = min(0.999, (1 + t) / (10 + t)) at step t = 1."""
    keras.utils.set_random_seed(0)
    generator, discriminator, averaged = (
        dcgan.build_generator(),
        dcgan.build_discriminator(),
        dcgan.build_generator(),
    )
    averaged.set_weights(generator.get_weights())
    before = [weight.numpy().copy() for weight in generator.weights]
    optimizers = built(
        (keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)),
        generator,
        discriminator,
    )
    step = dcgan.make_train_step(generator, discriminator, *optimizers)
    step(tf.random.uniform([8, 28, 28, 1], -1, 1))
    dcgan.update_average(averaged, generator, 0.999, optimizers[0].iterations)  # as train() does
    decay = min(0.999, 2 / 11)
    changed = 0
    for old, new, average in zip(before, generator.weights, averaged.weights):
        np.testing.assert_allclose(
            average.numpy(), decay * old + (1 - decay) * new.numpy(), rtol=1e-4, atol=1e-6
        )
        changed += not np.allclose(average.numpy(), old)
    assert changed >= len(before) // 2  # the average did move, for the batch statistics too


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory, idx_dir):
    """A fast-recipe run of two epochs, its steps run as plain Python (conftest's `eagerly`):
    what it saved and restores is under test here."""
    from common import cli

    out = str(tmp_path_factory.mktemp("fast") / "run")
    with steps_as_python():
        cli.run(dcgan.main, ["train", "--recipe", "fast", "--epochs", "2", "--seed", "1",
                             "--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS])
    return out


def restored_generators(out):
    """(the trained generator, the averaged one) from the newest checkpoint of a fast run."""
    generator, averaged = dcgan.build_generator(), dcgan.build_generator()
    path = tf.train.latest_checkpoint(os.path.join(out, "checkpoints"))
    tf.train.Checkpoint(generator=generator, shown_generator=averaged).read(path).expect_partial()
    return generator, averaged


def test_sample_evaluate_and_the_export_use_the_averaged_generator(
    fast_run, tmp_path, capsys, monkeypatch
):
    generator, averaged = restored_generators(fast_run)
    noise = tf.random.Generator.from_seed(7).normal([4, dcgan.NOISE_DIM])
    from_average, from_generator = (
        averaged(noise, training=False).numpy(),
        generator(noise, training=False).numpy(),
    )
    assert np.abs(from_average - from_generator).max() > 1e-3  # two different generators

    samples = str(tmp_path / "samples.npy")
    assert (
        run_main(
            dcgan,
            ["sample", "--out-dir", fast_run, "--n", "4", "--seed", "7", "--output", samples],
            capsys,
        )[0]
        == 0
    )
    np.testing.assert_allclose(np.load(samples), from_average, atol=1e-5)
    exported = keras.models.load_model(os.path.join(fast_run, "generator.keras"))
    np.testing.assert_allclose(exported(noise, training=False).numpy(), from_average, atol=1e-5)
    # evaluate scores the images of sampler(<the restored generator>): the averaged one.
    # (The scoring itself is left out: which generator draws is the question here.)
    from common import commands

    drawn = []
    original = commands.sampler
    monkeypatch.setattr(
        commands,
        "sampler",
        lambda generator, seed=None, classes=0: drawn.append(generator)
        or original(generator, seed),
    )
    monkeypatch.setattr(commands.metrics, "evaluate",
                        lambda draw_images, *settings, **options: draw_images(4))
    assert run_main(dcgan, ["evaluate", "--out-dir", fast_run], capsys)[0] == 0
    np.testing.assert_allclose(drawn[0](noise, training=False).numpy(), from_average, atol=1e-5)


def test_a_resumed_run_keeps_its_recipe_and_refuses_another(
    fast_run, tmp_path, idx_dir, capsys, monkeypatch, eagerly
):
    import shutil

    out = str(tmp_path / "run")
    shutil.copytree(fast_run, out)
    assert json.load(open(os.path.join(out, "checkpoints", "run.json")))["recipe"] == "fast"
    common = ["--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    status, _, stderr = run_main(
        dcgan, ["train", "--epochs", "3", "--recipe", "article", *common], capsys
    )
    assert status == 2 and "--recipe fast" in stderr and "asks for article" in stderr

    noted = record_first_step(dcgan, monkeypatch)
    status, stdout, _ = run_main(
        dcgan, ["train", "--epochs", "3", *common], capsys
    )  # no --recipe: the run's own
    assert status == 0 and "recipe fast" in stdout and "Resuming" in stdout
    # The resumed run starts from epoch 2's checkpoint, the averaged generator included: an
    # average started over from the generator's weights would differ.
    assert_resumed_from(
        noted, saved_state(dcgan, os.path.join(out, "checkpoints", "ckpt-2"), averaged=True)
    )
    _, averaged = restored_generators(out)
    exported = keras.models.load_model(os.path.join(out, "generator.keras"))
    noise = tf.random.normal([2, dcgan.NOISE_DIM])
    np.testing.assert_allclose(
        exported(noise, training=False), averaged(noise, training=False), atol=1e-5
    )
    reader = tf.train.load_checkpoint(os.path.join(out, "checkpoints", "ckpt-3"))
    assert int(reader.get_tensor("generator_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")) == 6
