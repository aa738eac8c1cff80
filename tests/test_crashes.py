"""Commands that used to end in a traceback now end in a message: too few images to score, a
file where the TensorBoard folder goes, a walk of millions of frames, two `train`s on one
folder. And scoring during training leaves the run's random numbers as they were.

Each test runs the user's command for real (in this process, on the session's tiny runs)
and checks the message, the exit status and what is on disk afterwards.
"""

import argparse
import fcntl
import os
import random
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import dcgan_fashion
import mlp_gan_keras
from common import cli, metrics
from common.errors import UserError
from common.runs import read_log
from conftest import TRAINED_FLAGS, copy_run, run_main

pytestmark = pytest.mark.usefixtures("without_xla")  # conftest: the tests are about files


def epochs_in_log(out):
    return [row["epoch"] for row in read_log(os.path.join(out, "log.csv"))]


# ----- too few images to score ------------------------------------------------------------
def test_scoring_too_few_images_is_refused_with_the_number_that_works(
    trained_runs, tmp_path, idx_dir, capsys
):
    out = copy_run(trained_runs, dcgan_fashion, tmp_path)
    for count in ("1", "2", str(metrics.MIN_SAMPLES - 1)):  # 1 crashed in sqrtm; 2 printed nonsense
        status, _, stderr = run_main(
            dcgan_fashion,
            ["evaluate", "--out-dir", out, "--n", count, "--data-dir", idx_dir],
            capsys,
        )
        assert status == 2 and f"--n {count}: too few images to score" in stderr
        assert "129 at the very least" in stderr and "2,000" in stderr
    assert not os.path.exists(os.path.join(out, "metrics.jsonl"))

    # During training the flags are checked before the first epoch, not when the first score is due.
    status, stdout, stderr = run_main(
        dcgan_fashion,
        [
            "train",
            "--epochs",
            "3",
            "--eval-every",
            "1",
            "--eval-samples",
            "1",
            "--data-dir",
            idx_dir,
            "--out-dir",
            out,
            *TRAINED_FLAGS,
        ],
        capsys,
    )
    assert status == 2 and "--eval-samples 1: too few images to score" in stderr
    assert "epoch 3/3" not in stdout and epochs_in_log(out) == [1, 2]


def test_the_minimum_is_where_the_covariance_becomes_full_rank(tmp_path, idx_dir):
    features = np.random.default_rng(0).normal(size=(metrics.MIN_SAMPLES, metrics.FEATURES))
    assert np.linalg.matrix_rank(np.cov(features, rowvar=False)) == metrics.FEATURES
    assert np.isfinite(
        metrics.frechet_distance(*metrics.gaussian(features), *metrics.gaussian(features))
    )
    metrics.check_sample_count(metrics.MIN_SAMPLES)  # no error
    # The backstop in metrics.evaluate, for callers that do not come through common/cli.py:
    # it refuses before drawing a single image.
    drawn = []

    def draw_images(count):
        drawn.append(count)
        return np.zeros((count, 28, 28, 1), np.float32)

    with pytest.raises(UserError, match=r"Too few images to score \(2\)"):
        metrics.evaluate(draw_images, "mnist", idx_dir, 2, str(tmp_path), epoch=1)
    assert drawn == []


# ----- a file where the TensorBoard folder goes -------------------------------------------
def test_a_file_named_tensorboard_costs_the_summaries_not_the_run(
    trained_runs, tmp_path, idx_dir, capsys, eagerly
):
    out = copy_run(trained_runs, mlp_gan_keras, tmp_path)
    board = os.path.join(out, "tensorboard")
    shutil.rmtree(board)  # the folder the first two epochs wrote, replaced by a file
    with open(board, "w") as file:
        file.write("not a folder")
    status, stdout, stderr = run_main(
        mlp_gan_keras,
        ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS],
        capsys,
    )
    assert status == 0, stderr
    assert "TensorBoard summaries are off for this run" in stdout and "(Not a directory)" in stdout
    assert epochs_in_log(out) == [1, 2, 3] and os.path.isfile(board)


# ----- a walk too long to draw ------------------------------------------------------------
def test_a_walk_of_more_than_a_thousand_frames_is_refused(trained_runs, tmp_path, capsys):
    out = trained_runs[dcgan_fashion.MODEL_NAME]
    gif = str(tmp_path / "walk.gif")
    # Just over the limit first: with the check gone, this one is merely slow, not out of memory.
    for points, steps, frames in (("7", "143", "1,001"), ("3000", "3000", "9,000,000")):
        status, _, stderr = run_main(
            dcgan_fashion,
            ["walk", "--out-dir", out, "--points", points, "--steps", steps, "--output", gif],
            capsys,
        )
        assert status == 2 and f"a walk of {frames} frames" in stderr and "at most 1,000" in stderr
    assert not os.path.exists(gif)
    cli.check_command_flags(
        argparse.Namespace(command="walk", points=2, steps=500), dcgan_fashion.Settings
    )  # 1,000 exactly: allowed


# ----- two `train`s on one folder ---------------------------------------------------------
HOLD_THE_LOCK = """
import fcntl, sys, time
lock_file = open(sys.argv[1], "a")
fcntl.flock(lock_file, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(600)
"""


def lock_is_free(out):
    with open(os.path.join(out, ".lock"), "a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True  # closing the file releases it again


def test_a_second_train_on_a_busy_folder_is_refused_and_a_killed_one_leaves_no_lock(
    trained_runs, tmp_path, idx_dir, capsys, eagerly
):
    out = copy_run(trained_runs, mlp_gan_keras, tmp_path)
    command = ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    # Another process holds the folder, as a running `train` does.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, os.path.join(out, ".lock")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        status, stdout, stderr = run_main(mlp_gan_keras, command, capsys)
        assert status == 2 and "Another `train` is writing to" in stderr and "--out-dir" in stderr
        assert epochs_in_log(out) == [1, 2] and "epoch 3/3" not in stdout
    finally:
        holder.kill()  # SIGKILL: no chance to clean up, as when a run is killed
        holder.wait()
    status, stdout, stderr = run_main(mlp_gan_keras, command, capsys)
    assert status == 0, stderr
    assert epochs_in_log(out) == [1, 2, 3]
    assert lock_is_free(
        out
    )  # released when main() returned, so later commands in this process work

    # A run that stops with an error after taking the lock releases it too.
    status, _, stderr = run_main(
        mlp_gan_keras,
        ["train", "--epochs", "4", "--data-dir", idx_dir, "--out-dir", out, "--batch-size", "4096"],
        capsys,
    )
    assert status == 2 and "4096" in stderr
    assert lock_is_free(out)


# ----- scoring leaves the caller's random numbers alone -----------------------------------
def draw_from_every_global_stream():
    """One number from each random stream that a training run draws from,
    unseeded."""
    return [
        tf.random.normal([2]).numpy(),
        tf.random.uniform([2]).numpy(),
        np.random.random(2),
        random.random(),
        keras.random.normal([2]).numpy(),
    ]


def test_training_the_classifier_leaves_the_global_random_streams_as_they_were(
    idx_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(metrics, "CLASSIFIER_MIN_STEPS", 8)  # a poor classifier does here
    keras.utils.set_random_seed(11)
    expected = draw_from_every_global_stream()

    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "first"))
    keras.utils.set_random_seed(11)
    trained = metrics.Scorer("mnist", idx_dir, verbose=False)  # no cache yet: trains the classifier
    assert os.path.exists(tmp_path / "first" / "classifier-mnist.keras")
    for got, want in zip(draw_from_every_global_stream(), expected):
        np.testing.assert_array_equal(got, want)

    keras.utils.set_random_seed(11)
    metrics.Scorer("mnist", idx_dir, verbose=False)  # the cache now: loads it
    for got, want in zip(draw_from_every_global_stream(), expected):
        np.testing.assert_array_equal(got, want)

    # And the classifier does not depend on the caller's seed: the same data, the same classifier.
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path / "second"))
    keras.utils.set_random_seed(99)
    again = metrics.Scorer("mnist", idx_dir, verbose=False)
    for got, want in zip(again.classifier.get_weights(), trained.classifier.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_a_ctrl_c_that_something_swallowed_stops_training_at_the_next_batch():
    """A KeyboardInterrupt raised inside a destructor or a C++ callback is printed and lost;
    the press itself is remembered, and the progress bar raises it again before the next batch."""
    import signal

    from common import progress

    class NoMeans:
        def means(self):
            return {}

    progress.listen_for_ctrl_c()
    try:
        try:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C sends it
            signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a moment for Python to run the handler
        except KeyboardInterrupt:
            pass  # swallowed, as "Exception ignored in ..." does
        batches = progress.bar(iter([1, 2, 3]), 3, "epoch 1/1", NoMeans())
        with pytest.raises(KeyboardInterrupt):
            next(batches)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        progress.ctrl_c_pressed = False
