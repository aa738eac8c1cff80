"""dcgan_fashion.py: the math, the models, and the commands a user runs."""

import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import dcgan_fashion as dcgan
from common import datasets
from common.runs import read_log
from conftest import TRAINED_FLAGS, copy_run, real_fashion_mnist, run_main, run_script

TINY = ["--batch-size", "16", "--steps-per-epoch", "2"]


def test_model_shapes():
    generator, discriminator = dcgan.build_generator(), dcgan.build_discriminator()
    fakes = generator(tf.random.normal([4, dcgan.NOISE_DIM]), training=False)
    assert fakes.shape == (4, 28, 28, 1)
    assert discriminator(fakes).shape == (4, 1)
    assert (
        discriminator.layers[-1].activation.__name__ == "linear"
    )  # logits: the loss applies the sigmoid


def test_losses_on_known_logits():
    undecided = tf.zeros([8, 1])  # sigmoid(0) = 0.5: the discriminator cannot tell
    assert math.isclose(
        float(dcgan.discriminator_loss(undecided, undecided)), 2 * math.log(2), rel_tol=1e-5
    )
    assert math.isclose(float(dcgan.generator_loss(undecided)), math.log(2), rel_tol=1e-5)
    confident = tf.fill([8, 1], 20.0)  # sure that everything is real
    assert float(dcgan.discriminator_loss(confident, -confident)) < 1e-6
    assert math.isclose(float(dcgan.generator_loss(-confident)), 20.0, rel_tol=1e-4)
    # A mixed case by hand: D(x) = sigmoid(1), D(G(z)) = sigmoid(-2).
    expected = -math.log(1 / (1 + math.exp(-1))) - math.log(1 - 1 / (1 + math.exp(2)))
    value = dcgan.discriminator_loss(tf.constant([[1.0]]), tf.constant([[-2.0]]))
    assert math.isclose(float(value), expected, rel_tol=1e-5)


def test_train_then_sample_then_resume(trained_runs, tmp_path, idx_dir, capsys, eagerly):
    # The first two epochs: the session's shared run (conftest's TrainedRuns), trained as here.
    stdout = trained_runs.output(dcgan.MODEL_NAME)
    out = copy_run(trained_runs, dcgan, tmp_path)
    assert "Starting a new run" in stdout and "epoch 2/2" in stdout
    assert sorted(os.listdir(os.path.join(out, "images"))) == [
        f"epoch_{i:04d}.png" for i in range(3)
    ]
    log = read_log(os.path.join(out, "log.csv"))
    assert [row["epoch"] for row in log] == [1, 2]
    assert {"d_loss", "g_loss", "D(x)", "D(G(z))", "seconds"} <= set(log[0])
    assert Image.open(os.path.join(out, "losses.png")).size[0] > 300
    assert Image.open(os.path.join(out, "training.gif")).n_frames == 3
    assert json.load(open(os.path.join(out, "checkpoints", "run.json")))["model"] == "dcgan_fashion"
    exported = keras.models.load_model(os.path.join(out, "generator.keras"))
    assert exported(tf.zeros([1, 100])).shape == (1, 28, 28, 1)

    # Plain `python dcgan_fashion.py` samples.
    status, stdout, _ = run_main(dcgan, ["--out-dir", out], capsys)
    assert status == 0 and "epoch 2" in stdout and "mean decision" in stdout
    assert os.path.exists(os.path.join(out, "samples.png"))
    status, stdout, _ = run_main(
        dcgan,
        ["sample", "--out-dir", out, "--n", "5", "--output", str(tmp_path / "five.npy")],
        capsys,
    )
    raw = np.load(tmp_path / "five.npy")
    assert raw.shape == (5, 28, 28, 1) and raw.dtype == np.float32 and np.abs(raw).max() <= 1

    # Training again with more epochs resumes and runs only the missing one.
    status, stdout, _ = run_main(
        dcgan,
        ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS],
        capsys,
    )
    assert status == 0
    assert "Resuming" in stdout and "epoch 3/3" in stdout and "epoch 1/3" not in stdout
    assert [row["epoch"] for row in read_log(os.path.join(out, "log.csv"))] == [1, 2, 3]
    assert Image.open(os.path.join(out, "training.gif")).n_frames == 4

    # The gif command rebuilds the GIF.
    os.remove(os.path.join(out, "training.gif"))
    status, stdout, _ = run_main(dcgan, ["gif", "--out-dir", out], capsys)
    assert status == 0 and os.path.exists(os.path.join(out, "training.gif"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "must be 1 or more"),
        (["train", "--epochs", "-2"], "must be 1 or more"),
        (["train", "--batch-size", "many"], "expected a whole number"),
        (["sample", "--n", "0"], "must be 1 or more"),
    ],
)
def test_impossible_flag_values(argv, message, capsys):
    status, _, stderr = run_main(dcgan, argv, capsys)
    assert status == 2 and message in stderr


def test_sample_without_checkpoint_says_train_first(tmp_path, capsys):
    status, _, stderr = run_main(dcgan, ["sample", "--out-dir", str(tmp_path)], capsys)
    message = " ".join(stderr.split())
    assert status == 2 and "train first" in message and "python dcgan_fashion.py train" in message


def test_dataset_nowhere_and_unwritable_out_dir(tmp_path, idx_dir, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    status, _, stderr = run_main(
        dcgan, ["train", "--data-dir", str(empty), "--out-dir", str(tmp_path / "r")], capsys
    )
    assert status == 2 and "Could not find the fashion_mnist dataset" in stderr
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    status, _, stderr = run_main(
        dcgan, ["train", "--data-dir", idx_dir, "--out-dir", str(blocker / "run")], capsys
    )
    assert status == 2 and "Cannot write to the output folder" in stderr


def test_checkpoint_of_another_model_is_refused(trained_runs, tmp_path, idx_dir, capsys):
    import mlp_gan_keras

    out = copy_run(trained_runs, mlp_gan_keras, tmp_path)
    status, _, stderr = run_main(
        dcgan, ["train", "--data-dir", idx_dir, "--out-dir", out, *TINY], capsys
    )
    # Before anything else is printed: whose folder it is, and what to do.
    message = " ".join(stderr.split())
    assert (
        status == 2
        and _ == ""
        and "a run of mlp_gan_keras.py" in message
        and "--out-dir" in message
    )
    status, _, stderr = run_main(dcgan, ["sample", "--out-dir", out], capsys)
    assert status == 2 and "a run of mlp_gan_keras.py" in " ".join(stderr.split())


def test_a_user_error_in_a_real_process_is_one_paragraph(tmp_path):
    """As a user types it: exit status 2 and the message, without a traceback."""
    result = run_script("dcgan_fashion.py", "--out-dir", str(tmp_path / "nothing"))
    assert (
        result.returncode == 2
        and "Traceback" not in result.stderr
        and "train first" in result.stderr
    )


def test_trains_on_the_real_fashion_mnist(tmp_path, capsys, eagerly):
    """The real files, found where `datasets.load` looks (Debian's dataset-fashion-mnist in CI)."""
    folder = real_fashion_mnist()
    (pixels, labels), _ = datasets.load("fashion_mnist", "train", folder, labels=True)
    assert pixels.shape == (60000, 28, 28) and sorted(set(labels.tolist())) == list(range(10))
    status, stdout, _ = run_main(
        dcgan,
        [
            "train",
            "--epochs",
            "1",
            "--data-dir",
            folder,
            "--batch-size",
            "32",
            "--steps-per-epoch",
            "3",
            "--out-dir",
            str(tmp_path),
        ],
        capsys,
    )
    assert status == 0 and "60,000 images" in stdout and "3 of 1875 steps" in stdout


def test_real_ctrl_c_keeps_the_finished_epochs(tmp_path, idx_dir, capsys):
    """SIGINT, as Ctrl-C sends it, in the middle of training: the finished epochs are kept."""
    import signal
    import subprocess
    import sys
    import time

    out = str(tmp_path / "run")
    flags = [
        "--data-dir",
        idx_dir,
        "--out-dir",
        out,
        "--batch-size",
        "16",
        "--steps-per-epoch",
        "1",
    ]
    command = [sys.executable, "dcgan_fashion.py", "train", "--epochs", "500", *flags]
    process = subprocess.Popen(
        command,
        cwd=os.path.dirname(dcgan.__file__),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = os.path.join(out, "log.csv")
    deadline = time.time() + 120
    # Two epochs logged: epoch 1's checkpoint is surely written (each row comes before its
    # checkpoint).
    while time.time() < deadline and not (os.path.exists(log) and len(open(log).readlines()) >= 3):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Interrupted during epoch" in stderr and "Traceback" not in stderr
    finished = int(
        " ".join(stderr.split()).split("The newest checkpoint holds epoch ")[1].split(".")[0]
    )
    assert finished >= 1 and os.path.exists(
        os.path.join(out, "checkpoints", f"ckpt-{finished}.index")
    )
    # What was kept restores. (Resuming from it, the log row of the lost epoch removed, is the
    # case of test_damaged_runs.py's fallback: the same code.)
    status, stdout, stderr = run_main(dcgan, ["sample", "--out-dir", out, "--n", "2"], capsys)
    assert status == 0 and f"generator of epoch {finished}" in stdout, stderr


def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(
    tmp_path, idx_dir, capsys, monkeypatch
):
    make_real_step = dcgan.make_train_step

    def make_diverging_step(*models):
        step, calls = make_real_step(*models), []

        def diverging_step(real_images):
            calls.append(1)
            outputs = step(real_images)
            if len(calls) > 2:  # epoch 1's two steps are fine; epoch 2 diverges
                outputs = dict(outputs, d_loss=tf.constant(float("nan")))
            return outputs

        return diverging_step

    monkeypatch.setattr(dcgan, "make_train_step", make_diverging_step)
    out = str(tmp_path / "run")
    status, _, stderr = run_main(
        dcgan,
        [
            "train",
            "--epochs",
            "3",
            "--data-dir",
            idx_dir,
            "--out-dir",
            out,
            *TINY,
        ],
        capsys,
    )
    assert status == 2 and "diverged: d_loss became nan at step 1" in stderr
    names = os.listdir(os.path.join(out, "checkpoints"))
    assert "ckpt-1.index" in names and "ckpt-2.index" not in names
    assert [row["epoch"] for row in read_log(os.path.join(out, "log.csv"))] == [1]
