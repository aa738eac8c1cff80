"""What the three scripts share, checked in each: the data range, every generator stage in
order, the tanh, a train step that learns in the right direction and runs its networks in
training mode, pictures drawn in inference mode, and a checkpoint that a resumed run
restores whole, with the precision it was trained in."""

import json
import subprocess
import sys
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import dcgan_color
import dcgan_fashion
import mlp_gan_keras
import wgan_gp
from common import checkpoints, images, precision, runs, training
from conftest import ROOT, TRAINED_FLAGS, built, copy_run, run_main, toy_images

SCRIPTS = [dcgan_fashion, mlp_gan_keras, wgan_gp]
ids = [script.MODEL_NAME for script in SCRIPTS]

# Each generator stage's output shape, in order, as the articles build them.
GENERATOR_STAGES = {
    "dcgan_fashion": [
        (12544,),
        (12544,),
        (12544,),
        (7, 7, 256),
        (7, 7, 128),
        (7, 7, 128),
        (7, 7, 128),
        (14, 14, 64),
        (14, 14, 64),
        (14, 14, 64),
        (28, 28, 1),
    ],
    "mlp_gan": [
        (256,),
        (256,),
        (256,),
        (512,),
        (512,),
        (512,),
        (1024,),
        (1024,),
        (1024,),
        (784,),
        (28, 28, 1),
    ],
    "wgan_gp": [
        (4096,),
        (4096,),
        (4, 4, 256),
        (8, 8, 128),
        (8, 8, 128),
        (7, 7, 128),
        (14, 14, 64),
        (14, 14, 64),
        (28, 28, 1),
    ],
}


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_real_images_are_scaled_to_the_range_of_tanh(script, idx_dir):
    real_images, _ = script.load_real_images("fashion_mnist", idx_dir)
    batches = (script.make_batches(real_images, 8, 2, seed=0) if script is wgan_gp
               else script.make_batches(real_images, 16, seed=0))  # WGAN-GP: 2 critic steps
    raw, _ = toy_images(200, 1)
    assert real_images.shape == (200, 28, 28, 1) and real_images.dtype == np.float32
    np.testing.assert_allclose(
        real_images[..., 0], raw / 127.5 - 1.0, atol=1e-6
    )  # 0 -> -1, 255 -> 1
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
    """With its last weights blown up, the generator's images reach below -0.99 and above 0.99
    and never pass 1: only a tanh does that (a sigmoid stays above 0, a linear output passes
    1, and an untrained generator's small outputs prove nothing). In training mode, so that
    batch norm centres each feature on the batch and the outputs fall on both sides of 0."""
    keras.utils.set_random_seed(0)
    generator = script.build_generator()
    last = [layer for layer in generator.layers if getattr(layer, "kernel", None) is not None][-1]
    last.kernel.assign(last.kernel * 1000.0)
    fakes = generator(tf.random.normal([8, script.NOISE_DIM]), training=True).numpy()
    assert fakes.min() < -0.99 and fakes.max() > 0.99
    assert np.abs(fakes).max() <= 1.0


def toy_batch(count):
    """Real images that are easy to tell from an untrained generator's: bright bars, in [-1, 1]."""
    raw, _ = toy_images(count, 5)
    return tf.constant(raw[..., np.newaxis] / 127.5 - 1.0, tf.float32)


def learned_separation(script):
    """Train a few steps on a fixed real batch; return how much higher D rates real than fake."""
    keras.utils.set_random_seed(3)
    if script is wgan_gp:
        generator, critic = wgan_gp.build_generator(), wgan_gp.build_critic()
        optimizers = built(wgan_gp.make_optimizers("wgan-gp"), generator, critic)
        step = wgan_gp.make_train_step(generator, critic, *optimizers, "wgan-gp", 5)
        for _ in range(3):
            outputs = step(toy_batch(5 * 8))
        return float(outputs["wasserstein"])
    generator, discriminator = script.build_generator(), script.build_discriminator()
    optimizers = built(
        (keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5)),
        generator,
        discriminator,
    )
    if script is mlp_gan_keras:
        step = script.make_train_step(
            generator, discriminator, *optimizers, script.generator_loss_non_saturating
        )
    else:
        step = script.make_train_step(generator, discriminator, *optimizers)
    before = [
        weight.numpy().copy()
        for weight in generator.trainable_weights + discriminator.trainable_weights
    ]
    for _ in range(15):
        outputs = step(toy_batch(16))
    assert int(optimizers[0].iterations) == 15 and int(optimizers[1].iterations) == 15
    after = generator.trainable_weights + discriminator.trainable_weights
    assert all(
        not np.array_equal(old, new.numpy()) for old, new in zip(before, after)
    )  # every weight learns
    assert set(outputs) == {"d_loss", "g_loss", "D(x)", "D(G(z))"}
    return float(outputs["D(x)"]) - float(outputs["D(G(z))"])


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_a_few_steps_teach_the_discriminator_which_is_real(script, request):
    """A label or sign error in the step makes D (or the critic) prefer the fakes."""
    if script is wgan_gp:  # five critic updates a step: quicker run as Python than traced
        request.getfixturevalue("eagerly")
    assert learned_separation(script) > 0.1


# ----- the training= flag of every model call ---------------------------------------------

class CountsTrainingCalls(keras.layers.Layer):
    """Passes its input on unchanged and counts the calls made in training mode: like batch
    norm's moving statistics and dropout's mask, its state changes in training mode only."""

    def build(self, input_shape):
        self.count = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="training_calls"
        )

    def call(self, inputs, training=None):
        if training:
            self.count.assign_add(1.0)
        return inputs


def counting(model):
    """The model behind a CountsTrainingCalls layer, which sees every call's training flag."""
    return keras.Sequential([CountsTrainingCalls(), model], name=model.name)


def training_calls(model):
    return int(model.layers[0].count.numpy())


def make_step(script, generator, discriminator, critic_steps=5):
    """The script's train step with its own optimizers (WGAN-GP: the penalty)."""
    if script is wgan_gp:
        optimizers = built(wgan_gp.make_optimizers("wgan-gp"), generator, discriminator)
        return wgan_gp.make_train_step(
            generator, discriminator, *optimizers, "wgan-gp", critic_steps
        )
    if script is mlp_gan_keras:
        optimizers = built(mlp_gan_keras.make_optimizers(), generator, discriminator)
        return mlp_gan_keras.make_train_step(
            generator, discriminator, *optimizers, mlp_gan_keras.generator_loss_non_saturating
        )
    optimizers = dcgan_fashion.make_optimizers(dcgan_fashion.RECIPES["article"])
    return dcgan_fashion.make_train_step(
        generator, discriminator, *built(optimizers, generator, discriminator)
    )


# The calls of one step, every one in training mode: (generator, discriminator or critic).
STEP_CALLS = {
    # D's update: G, then D on the real and on the fake images; G's update: G and D once more.
    "mlp_gan": (2, 3),
    # One forward pass for both updates: G, then D on the real and on the fake images.
    "dcgan_fashion": (1, 2),
    # Two critic steps, each G and the critic on real, fake and interpolated images; then G's
    # update, G and the critic once.
    "wgan_gp": (2 + 1, 2 * 3 + 1),
}


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_the_step_runs_every_network_in_training_mode_and_drawing_does_not(script, eagerly):
    """Batch norm and dropout must see training=True at every call in the step (batch
    statistics, a fresh dropout mask) and training=False when pictures are drawn."""
    keras.utils.set_random_seed(4)
    generator = counting(script.build_generator())
    discriminator = counting(
        wgan_gp.build_critic() if script is wgan_gp else script.build_discriminator()
    )
    step = make_step(script, generator, discriminator, critic_steps=2)
    step(toy_batch(2 * 8))
    assert (training_calls(generator), training_calls(discriminator)) == STEP_CALLS[
        script.MODEL_NAME
    ]
    # What training mode changes in the real networks: each batch norm's moving statistics.
    batch_norms = [
        layer
        for layer in generator.layers[1].layers
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert all(np.abs(layer.moving_mean.numpy()).max() > 0 for layer in batch_norms)
    # Samples, scores and walks draw through common/training.py's sampler: inference mode.
    training.sampler(generator, seed=0)(4)
    assert training_calls(generator) == STEP_CALLS[script.MODEL_NAME][0]


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_the_epoch_grids_are_drawn_in_inference_mode(script, trained_runs):
    """An epoch's grid is the generator's picture of the fixed noise in inference mode, batch
    norm with its moving statistics, as generator.keras draws it. Training mode would
    normalise the 16 images by their own statistics: another picture. (The WGAN-GP
    generator has no batch norm, so both modes draw the same there.)"""
    out = trained_runs[script.MODEL_NAME]
    exported = keras.models.load_model(os.path.join(out, "generator.keras"))  # epoch 2's generator
    fixed_noise = tf.train.load_checkpoint(os.path.join(out, "checkpoints", "ckpt-2")).get_tensor(
        "fixed_noise/.ATTRIBUTES/VARIABLE_VALUE"
    )
    drawn = np.asarray(Image.open(runs.grid_path(out, 2)), np.float32)
    np.testing.assert_allclose(drawn, images.grid(exported(fixed_noise, training=False)), atol=1)


# ----- a checkpoint holds the whole state, and a resume restores it ---------------------------
def record_first_step(script, monkeypatch):
    """Make the next run of `script` note, as its first train step begins, every variable the
    step trains from: both networks' weights (batch-norm statistics too), both optimizers'
    variables (step count, learning rate, moment estimates), and the averaged generator's
    weights where there is one. Returns the dict it fills: {name: [numpy arrays]}."""
    noted, averaged = {}, []
    make_real_step = script.make_train_step

    def make_noting_step(
        generator, discriminator, generator_optimizer, discriminator_optimizer, *settings
    ):
        step = make_real_step(
            generator, discriminator, generator_optimizer, discriminator_optimizer, *settings
        )

        def noting_step(real_images):
            if not noted:  # the optimizers are built and restored by now
                variables = dict(
                    generator=generator.weights,
                    discriminator=discriminator.weights,
                    generator_optimizer=generator_optimizer.variables,
                    discriminator_optimizer=discriminator_optimizer.variables,
                )
                if averaged:
                    variables["averaged_generator"] = averaged[0].weights
                noted.update(
                    {
                        name: [value.numpy().copy() for value in values]
                        for name, values in variables.items()
                    }
                )
            return step(real_images)

        return noting_step

    monkeypatch.setattr(script, "make_train_step", make_noting_step)
    if hasattr(script, "build_averaged_generator"):
        build_averaged = script.build_averaged_generator
        monkeypatch.setattr(
            script,
            "build_averaged_generator",
            lambda *args: averaged.append(build_averaged(*args)) or averaged[-1],
        )
    return noted


def saved_state(script, path, averaged=False):
    """The same variables as `record_first_step` notes, read from the checkpoint at `path`
    into new networks and optimizers; every one of them must be in the file."""
    generator = script.build_generator()
    discriminator = wgan_gp.build_critic() if script is wgan_gp else script.build_discriminator()
    optimizers = (
        keras.optimizers.Adam(),
        keras.optimizers.Adam(),
    )  # the slots of every default run's Adam
    for optimizer, model in zip(optimizers, (generator, discriminator)):
        optimizer.build(model.trainable_variables)
    other = (
        "critic" if script is wgan_gp else "discriminator"
    )  # the script's names in the checkpoint
    tracked = {
        "generator": generator,
        other: discriminator,
        "generator_optimizer": optimizers[0],
        f"{other}_optimizer": optimizers[1],
    }
    if averaged:
        tracked["shown_generator"] = script.build_generator()
    tf.train.Checkpoint(**tracked).read(path).assert_existing_objects_matched()
    state = dict(
        generator=generator.weights,
        discriminator=discriminator.weights,
        generator_optimizer=optimizers[0].variables,
        discriminator_optimizer=optimizers[1].variables,
    )
    if averaged:
        state["averaged_generator"] = tracked["shown_generator"].weights
    return {name: [value.numpy() for value in values] for name, values in state.items()}


def assert_resumed_from(noted, saved):
    assert noted.keys() == saved.keys()
    for name in saved:
        assert len(noted[name]) == len(saved[name]), name
        for number, (resumed, stored) in enumerate(zip(noted[name], saved[name])):
            np.testing.assert_array_equal(resumed, stored, err_msg=f"{name}, variable {number}")


def fixed_noise_of(out, epoch):
    reader = tf.train.load_checkpoint(os.path.join(out, "checkpoints", f"ckpt-{epoch}"))
    return reader.get_tensor("fixed_noise/.ATTRIBUTES/VARIABLE_VALUE")


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_checkpoint_holds_both_optimizers_and_resume_restores_them(
    script, trained_runs, tmp_path, idx_dir, capsys, monkeypatch, eagerly
):
    out = copy_run(trained_runs, script, tmp_path)  # two epochs of two steps
    noted = record_first_step(script, monkeypatch)
    argv = ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    assert run_main(script, argv, capsys)[0] == 0
    # The resumed run's first step starts from epoch 2's checkpoint: every weight, every
    # optimizer's step count and moments as saved; and epoch 3 draws the same fixed noise.
    assert_resumed_from(noted, saved_state(script, os.path.join(out, "checkpoints", "ckpt-2")))
    np.testing.assert_array_equal(fixed_noise_of(out, 3), fixed_noise_of(out, 2))
    reader = tf.train.load_checkpoint(os.path.join(out, "checkpoints", "ckpt-3"))
    counts = {
        name.split("/")[0]: int(reader.get_tensor(name))
        for name in reader.get_variable_to_shape_map()
        if name.endswith("_iterations/.ATTRIBUTES/VARIABLE_VALUE")
    }
    # Two steps an epoch, three epochs: a resumed optimizer counts on from 4 (a fresh one from 0).
    critic_updates = 2 if script is wgan_gp else 1  # the shared WGAN run: --critic-steps 2
    other = "critic_optimizer" if script is wgan_gp else "discriminator_optimizer"
    assert counts == {"generator_optimizer": 6, other: 6 * critic_updates}

    # `sample` restores the trained generator: the one exported as generator.keras.
    samples = str(tmp_path / "samples.npy")
    assert (
        run_main(
            script,
            ["sample", "--out-dir", out, "--n", "4", "--seed", "7", "--output", samples],
            capsys,
        )[0]
        == 0
    )
    exported = keras.models.load_model(os.path.join(out, "generator.keras"))
    expected = exported(
        tf.random.Generator.from_seed(7).normal([4, script.NOISE_DIM]), training=False
    )
    np.testing.assert_allclose(np.load(samples), expected.numpy(), atol=1e-5)


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_a_resumed_run_keeps_its_precision_and_refuses_another(
    script, trained_runs, tmp_path, idx_dir, capsys
):
    out = copy_run(trained_runs, script, tmp_path)
    info_path = os.path.join(out, "checkpoints", "run.json")
    # The run says what it trained in: the script's default, resolved for this machine
    # (`auto` is bfloat16 on a CPU with bfloat16 instructions, float32 elsewhere).
    trained_in = json.load(open(info_path))["precision"]
    assert trained_in == precision.choose(script.Settings.precision)
    other = "mixed_bfloat16" if trained_in == "float32" else "float32"
    common = ["--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    try:
        status, _, stderr = run_main(
            script, ["train", "--epochs", "3", "--precision", other, *common], capsys
        )
        message = " ".join(stderr.split())
        assert (
            status == 2
            and f"--precision {trained_in}" in message
            and f"asks for {other}" in message
        )
        # The checkpoint is the same in either precision (mixed precision keeps the weights in
        # float32), so a run.json that names the other one makes the run go on in it without
        # --precision: here its epochs are all done, and the banner says which is in force.
        settings = json.load(open(info_path))
        with open(info_path, "w") as file:
            json.dump(dict(settings, precision=other), file)
        status, stdout, stderr = run_main(script, ["train", "--epochs", "2", *common], capsys)
        assert status == 0, stderr
        assert f"precision {other}" in stdout and "nothing to train" in stdout
    finally:
        keras.mixed_precision.set_global_policy("float32")


# Every script exports through the same precision.save_float32 (common/precision.py); the
# DCGAN stands for all four (in bfloat16 on a CPU without bfloat16 instructions, WGAN-GP's
# step alone took 22 s of the suite's time).
@pytest.mark.parametrize("script", [dcgan_fashion], ids=["dcgan_fashion"])
def test_a_generator_trained_in_bfloat16_is_exported_in_float32_and_draws_what_sample_draws(
    script, tmp_path, idx_dir, capsys, eagerly
):
    out = str(tmp_path / "run")
    status, _, stderr = run_main(
        script,
        [
            "train",
            "--epochs",
            "1",
            "--precision",
            "mixed_bfloat16",
            "--seed",
            "2",
            "--data-dir",
            idx_dir,
            "--out-dir",
            out,
            *TRAINED_FLAGS,
        ],
        capsys,
    )
    assert status == 0, stderr
    exported = keras.models.load_model(os.path.join(out, "generator.keras"))
    assert {layer.compute_dtype for layer in exported.layers} == {"float32"}
    samples = str(tmp_path / "samples.npy")
    assert (
        run_main(
            script,
            ["sample", "--out-dir", out, "--n", "4", "--seed", "7", "--output", samples],
            capsys,
        )[0]
        == 0
    )
    expected = exported(
        tf.random.Generator.from_seed(7).normal([4, script.NOISE_DIM]), training=False
    )
    # Both compute in float32 from the same weights: equal but for the order of the sums.
    np.testing.assert_allclose(np.load(samples), expected.numpy(), atol=1e-5)


def test_a_run_saved_before_the_shown_generator_key_still_samples(tmp_path, capsys):
    """Until the lessons shared one sample command, mlp_gan_keras.py and wgan_gp.py saved their
    generator only as `generator`, not also as `shown_generator`: such runs still sample."""
    out = str(tmp_path / "run")
    keras.utils.set_random_seed(5)
    generator, critic = wgan_gp.build_generator(), wgan_gp.build_critic()
    generator_optimizer, critic_optimizer = wgan_gp.make_optimizers("wgan-gp")
    generator_optimizer.build(generator.trainable_variables)
    critic_optimizer.build(critic.trainable_variables)
    identity = dict(model="wgan_gp", dataset="mnist", mode="wgan-gp", critic_steps=5,
                    precision="float32")
    checkpoint = tf.train.Checkpoint(generator=generator, critic=critic,
                                     generator_optimizer=generator_optimizer,
                                     critic_optimizer=critic_optimizer,
                                     epoch=tf.Variable(1, dtype=tf.int64))
    checkpoints.write_identity(out, identity)
    tf.train.CheckpointManager(checkpoint, f"{out}/checkpoints", 3).save(checkpoint_number=1)
    samples = str(tmp_path / "samples.npy")
    argv = ["sample", "--out-dir", out, "--n", "2", "--seed", "3", "--output", samples]
    status, stdout, stderr = run_main(wgan_gp, argv, capsys)
    assert status == 0 and "epoch 1" in stdout, stderr
    noise = tf.random.Generator.from_seed(3).normal([2, wgan_gp.NOISE_DIM])
    expected = generator(noise, training=False)
    np.testing.assert_allclose(np.load(samples), expected.numpy(), atol=1e-5)


def test_a_mistyped_command_is_answered_before_tensorflow_loads():
    """A usage error costs no 15 s of loading: the script stops before importing TensorFlow."""
    result = subprocess.run([sys.executable, "-X", "importtime", os.path.join(ROOT, "wgan_gp.py"),
                             "trian"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2 and "'trian' is not a command" in result.stderr
    imported = [line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line]
    assert "common.cli" in imported and "tensorflow" not in imported and "keras" not in imported


def test_a_run_trained_in_float16_goes_on_in_float32(
    trained_runs, tmp_path, idx_dir, capsys, eagerly
):
    """float16 (with its loss scaling) is no longer offered; such a run resumes in float32."""
    out = copy_run(trained_runs, mlp_gan_keras, tmp_path)
    info_path = os.path.join(out, "checkpoints", "run.json")
    settings = json.load(open(info_path))
    with open(info_path, "w") as file:
        json.dump(dict(settings, precision="mixed_float16"), file)
    argv = ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    status, stdout, stderr = run_main(mlp_gan_keras, argv, capsys)
    assert status == 0, stderr
    assert "goes on in float32" in stdout and "precision float32" in stdout and "Resuming" in stdout
    assert json.load(open(info_path))["precision"] == "float32"


@pytest.mark.parametrize("script", [*SCRIPTS, dcgan_color], ids=[*ids, "dcgan_color"])
def test_a_message_prints_a_long_path_whole_on_one_line(script, tmp_path, capsys):
    """The user copies the path out of the message: a line may not cut it, however long the
    temporary folder's name is (and a hyphen in it is no place to break either)."""
    from common import cli

    out = os.path.join(tmp_path, "a-run-folder", *["with_a_name_longer_than_most"] * 4)
    assert len(out) > 88  # longer than a line of a message
    try:
        cli.run(script.main, ["sample", "--out-dir", out])
        status = 0
    except SystemExit as exit_:
        status = exit_.code
    lines = capsys.readouterr().err.splitlines()
    assert status == 2 and any(line.startswith("error: ") for line in lines)
    assert any(out in line for line in lines), "\n".join(lines)
    assert all(len(line) <= 88 or out in line for line in lines)  # only the path may overflow
