"""common/: datasets, pictures, the run folder, progress, checkpoints, the command line."""

import argparse
import gzip
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import checkpoints, cli, datasets, images, progress, runs
from common.errors import UserError
from conftest import toy_images, write_idx


# ----- datasets ---------------------------------------------------------------------------
def test_load_idx_as_the_files_hold_them(idx_dir):
    (train, labels), source = datasets.load("fashion_mnist", "train", idx_dir, labels=True)
    raw, raw_labels = toy_images(200, 1)
    assert train.shape == (200, 28, 28) and train.dtype == np.uint8
    np.testing.assert_array_equal(train, raw)
    assert labels.tolist() == raw_labels.tolist()
    assert source.endswith("train-images-idx3-ubyte.gz")


def test_search_order_env_then_keras(tmp_path, idx_dir, monkeypatch):
    import keras

    env_dir = tmp_path / "env"
    shutil.copytree(idx_dir, env_dir / "fashion_mnist")  # the sub-folder form
    monkeypatch.setenv("GAN_DATA_DIR", str(env_dir))
    _, source = datasets.load("fashion_mnist")
    assert source.startswith(str(env_dir))
    # MNIST is in no folder: Keras is asked (it keeps its own copy), unless $GAN_OFFLINE is set.
    toy = toy_images(200, 1), toy_images(100, 2)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", lambda: toy)
    with pytest.raises(UserError, match="Could not find the mnist dataset"):
        datasets.load("mnist", "test")
    monkeypatch.delenv("GAN_OFFLINE")
    test_images, source = datasets.load("mnist", "test")
    assert "Keras" in source
    np.testing.assert_array_equal(test_images, toy[1][0])


def test_missing_dataset_lists_where_it_looked(tmp_path):
    with pytest.raises(UserError) as error:
        datasets.load("mnist", "train", str(tmp_path))
    message = str(error.value)
    assert str(tmp_path) in message and "--data-dir" in message and "~/.keras/datasets" in message
    assert "--dataset fashion_mnist" in message  # MNIST cannot be had offline; Fashion-MNIST can


def test_corrupt_idx_files_are_named(tmp_path):
    images_, _ = toy_images(10, 0)
    wrong_magic = tmp_path / "magic.gz"
    with gzip.open(wrong_magic, "wb") as file:
        file.write(b"\x00\x00\x08\x01" + b"\x00" * 100)
    with pytest.raises(UserError, match="wrong magic number"):
        datasets.read_idx(str(wrong_magic), 3)
    truncated = tmp_path / "short.gz"
    write_idx(truncated, images_)
    with gzip.open(truncated) as file:
        data = file.read()
    with gzip.open(truncated, "wb") as file:
        file.write(data[:-50])
    with pytest.raises(UserError, match="truncated or corrupt"):
        datasets.read_idx(str(truncated), 3)
    not_gzip = tmp_path / "garbage.gz"
    not_gzip.write_bytes(b"this is not gzip")
    with pytest.raises(UserError, match="not a gzip"):
        datasets.read_idx(str(not_gzip), 3)


def test_a_batch_larger_than_the_data_is_refused():
    images = np.zeros((200, 28, 28), np.uint8)
    assert datasets.worker_share(images, 200)[1] == 200
    with pytest.raises(UserError, match="more than the 200"):
        datasets.worker_share(images, 201)


# ----- pictures ---------------------------------------------------------------------------
def test_the_lessons_batches_tune_nothing():
    """No tf.data tuning in a lesson's pipeline: the end of each epoch's iterator waited for
    the tuning thread, which sleeps up to a minute (docs/performance.md, sixth session)."""
    import dcgan_color
    import dcgan_fashion
    import mlp_gan_keras
    import wgan_gp

    grey, colour = np.zeros((100, 28, 28, 1), np.float32), np.zeros((100, 8, 8, 3), np.uint8)
    for dataset in (mlp_gan_keras.make_batches(grey, 10), dcgan_fashion.make_batches(grey, 10),
                    wgan_gp.make_batches(grey, 5, 2), dcgan_color.make_batches(colour, 10)):
        assert dataset.options().autotune.enabled is False
        sizes = []
        while dataset is not None:
            for name in ("_buffer_size", "_num_parallel_calls"):
                if getattr(dataset, name, None) is not None:
                    sizes.append(int(getattr(dataset, name)))
            dataset = getattr(dataset, "_input_dataset", None)
        assert 1 in sizes  # the prefetch of one batch (and the shuffle's 100) were seen
        assert tf.data.AUTOTUNE not in sizes


def test_grid_layout_and_grey_levels(tmp_path):
    batch = np.full((16, 28, 28, 1), -1.0, np.float32)
    batch[5] = 1.0  # the sixth image: white, at row 1, column 1 of the 4x4 grid
    path = images.save_grid(batch, str(tmp_path / "grid.png"))
    picture = np.asarray(Image.open(path))
    cell = (28 + images.PADDING) * 4
    assert picture.shape == ((4 * 30 + 2) * 4, (4 * 30 + 2) * 4)
    pad = images.PADDING * 4
    assert picture[pad + cell + 10, pad + cell + 10] == 255
    assert picture[pad + 10, pad + 10] == 0
    assert os.listdir(tmp_path) == ["grid.png"]  # no temporary file left behind


def test_gif_has_one_frame_per_grid_in_order(tmp_path):
    paths = []
    for epoch in range(3):
        paths.append(
            images.save_grid(
                np.full((4, 28, 28, 1), epoch / 3, np.float32), runs.grid_path(str(tmp_path), epoch)
            )
        )
    gif = Image.open(images.write_gif(paths, str(tmp_path / "run.gif")))
    assert gif.n_frames == 3
    levels = []
    for frame in range(3):
        gif.seek(frame)
        levels.append(np.asarray(gif.convert("L"))[20, 20])
    assert levels == sorted(levels) and levels[0] < levels[-1]


def test_save_samples_npy_and_bad_extension(tmp_path):
    batch = np.random.uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)
    path = images.save_samples(batch, str(tmp_path / "s.npy"))
    np.testing.assert_array_equal(np.load(path), batch)
    with pytest.raises(UserError, match=r"\.png.*\.npy"):
        images.save_samples(batch, str(tmp_path / "s.jpg"))


# ----- the run folder ---------------------------------------------------------------------
def test_log_rows_append_and_resume_cuts_back(tmp_path, capsys):
    run = str(tmp_path)
    for epoch in range(4):
        images.save_grid(np.zeros((4, 28, 28, 1)), runs.grid_path(run, epoch))
        if epoch:
            runs.append_log(run, dict(epoch=epoch, d_loss=epoch / 10, seconds=1.5))
    assert [row["epoch"] for row in runs.read_log(runs.log_path(run))] == [1, 2, 3]
    runs.resume(run, 2, epochs=5)  # the checkpoint holds epoch 2: epoch 3's files go
    assert "Resuming" in capsys.readouterr().out
    assert [row["epoch"] for row in runs.read_log(runs.log_path(run))] == [1, 2]
    assert list(runs.grid_paths(run)) == [0, 1, 2]
    # An epoch logged twice (a run stopped after its row but before its checkpoint) keeps one row.
    rows = runs.append_log(run, dict(epoch=2, d_loss=0.9, seconds=1.0))
    assert [(row["epoch"], row["d_loss"]) for row in rows] == [(1, 0.1), (2, 0.9)]


def test_a_damaged_log_row_is_left_out(tmp_path, capsys):
    path = tmp_path / "log.csv"
    path.write_text("epoch,d_loss,seconds\n1,0.5,2.0\n2,0.4,2.0\n3,0.")
    path.write_text(path.read_text() + "\x00\x00garbage\n")
    assert [row["epoch"] for row in runs.read_log(str(path))] == [1, 2]
    assert "damaged row" in capsys.readouterr().out


def test_running_means_and_the_nan_guard():
    means = progress.RunningMeans()
    means.add({"loss": tf.constant(1.0)})
    means.add({"loss": tf.constant(3.0)})
    assert means.means() == {"loss": 2.0}
    with pytest.raises(UserError, match="diverged: loss became nan at step 3"):
        means.add({"loss": tf.constant(float("nan"))})


def test_short_epochs_redraw_the_curves_every_few_seconds_at_the_last_and_when_stopped(
        tmp_path, monkeypatch, capsys):
    """A small folder's epochs take a second: losses.png (0.2 s to draw) is drawn at the first
    epoch this process logs in the run folder, then at most every PLOT_EVERY seconds, at the
    last epoch, and, for a run stopped before it (Ctrl-C, a NaN), as the command ends."""
    import types

    from common import training

    drawn, clock = [], [100.0]
    monkeypatch.setattr(images, "plot_log", lambda rows, *_: drawn.append(rows[-1]["epoch"]))
    monkeypatch.setattr(training.time, "monotonic", lambda: clock[0])
    monkeypatch.setitem(training.BOARDS, str(tmp_path), types.SimpleNamespace(add=print))
    settings = types.SimpleNamespace(epochs=6, eval_every=0, out_dir=str(tmp_path),
                                     dataset="mnist", data_dir=None)

    def log_epoch(epoch, seconds):
        clock[0] = 100.0 + seconds
        means = progress.RunningMeans()
        means.add({"loss": tf.constant(1.0)})
        training.log_epoch(str(tmp_path), epoch, means, None, settings, [])

    for epoch, seconds in zip(range(1, 6), [0, 5, 11, 12, 13]):
        log_epoch(epoch, seconds)
    assert drawn == [1, 3]
    training.cleanup()  # the run stops after epoch 5: its curves are drawn
    assert drawn == [1, 3, 5]
    log_epoch(6, 14)  # resumed: the last epoch is drawn, however soon
    assert drawn == [1, 3, 5, 6]
    training.cleanup()  # and nothing is left to draw
    assert drawn == [1, 3, 5, 6]


# ----- command line -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, message",
    [("0", "must be 1 or more"), ("-3", "must be 1 or more"), ("ten", "expected a whole number")],
)
def test_positive_int_rejects(value, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        cli.whole_number(1)(value)


# ----- checkpoints ------------------------------------------------------------------------
def small_state(tmp_path):
    """A toy model and optimizer in a tf.train.Checkpoint and its manager, as a lesson has."""
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="toy")
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build(model.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer,
                                     epoch=tf.Variable(0, dtype=tf.int64))
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path / "checkpoints"), 3)
    return model, checkpoint, manager


def save(checkpoint, manager, epoch, tmp_path, model="toy"):
    checkpoints.write_identity(str(tmp_path), dict(model=model, dataset="mnist"))
    checkpoint.epoch.assign(epoch)
    manager.save(checkpoint_number=epoch)


def test_checkpoint_round_trip_and_foreign_folder(tmp_path):
    identity = dict(model="toy", dataset="mnist")
    model, checkpoint, manager = small_state(tmp_path)
    assert checkpoints.restore_newest(checkpoint, str(tmp_path), identity) == 0
    model.layers[0].kernel.assign(np.ones((3, 2)))
    save(checkpoint, manager, 7, tmp_path)
    restored_model, restored, _ = small_state(tmp_path)
    assert checkpoints.restore_newest(restored, str(tmp_path), identity) == 7
    np.testing.assert_array_equal(restored_model.layers[0].kernel.numpy(), np.ones((3, 2)))
    with pytest.raises(UserError, match="model 'toy'"):
        checkpoints.restore_newest(restored, str(tmp_path), dict(identity, model="wgan_gp"))
    with pytest.raises(UserError, match="dataset='mnist'"):
        checkpoints.restore_newest(restored, str(tmp_path), dict(identity, dataset="fashion"))


def test_a_damaged_newest_checkpoint_falls_back_to_the_one_before(tmp_path, capsys):
    model, checkpoint, manager = small_state(tmp_path)
    for epoch in (1, 2):
        model.layers[0].kernel.assign(np.full((3, 2), float(epoch)))
        save(checkpoint, manager, epoch, tmp_path)
    folder = str(tmp_path / "checkpoints")
    data = next(name for name in os.listdir(folder) if name.startswith("ckpt-2.data"))
    with open(os.path.join(folder, data), "r+b") as file:
        file.truncate(10)  # a copy cut short
    restored_model, restored, _ = small_state(tmp_path)
    identity = dict(model="toy", dataset="mnist")
    assert checkpoints.restore_newest(restored, str(tmp_path), identity) == 1
    assert "ckpt-2 does not restore" in capsys.readouterr().out
    np.testing.assert_array_equal(restored_model.layers[0].kernel.numpy(), np.ones((3, 2)))
