"""common/: datasets, pictures, checkpoints and the training run's bookkeeping."""

import argparse
import gzip
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from common import cli, datasets, images
from common.checkpoints import Checkpoints
from common.errors import UserError
from common.training import TrainingRun
from conftest import toy_images, write_idx


# ----- datasets ---------------------------------------------------------------------------
def test_load_idx_scales_to_minus_one_one(idx_dir):
    (train, labels), source = datasets.load("fashion_mnist", "train", idx_dir, labels=True)
    assert train.shape == (200, 28, 28, 1) and train.dtype == np.float32
    assert train.min() == -1.0 and train.max() == 1.0
    raw, raw_labels = toy_images(200, 1)
    np.testing.assert_allclose(train[..., 0], (raw - 127.5) / 127.5)
    assert labels.tolist() == raw_labels.tolist()
    assert source.endswith("train-images-idx3-ubyte.gz")


def test_load_test_split_and_npz_agree(idx_dir, npz_dir):
    from_idx, _ = datasets.load("mnist", "test", idx_dir)
    from_npz, source = datasets.load("mnist", "test", npz_dir)
    assert source.endswith("mnist.npz")
    assert from_idx.shape == (100, 28, 28, 1)
    np.testing.assert_array_equal(from_idx, from_npz)


def test_search_order_env_then_keras_cache(tmp_path, idx_dir, monkeypatch):
    keras_home = tmp_path / "keras"
    shutil.copytree(idx_dir, keras_home / "datasets" / "fashion-mnist")
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    _, source = datasets.load("fashion_mnist")
    assert source.startswith(str(keras_home))
    env_dir = tmp_path / "env"
    shutil.copytree(idx_dir, env_dir / "fashion_mnist")  # the sub-folder form
    monkeypatch.setenv("GAN_DATA_DIR", str(env_dir))
    _, source = datasets.load("fashion_mnist")
    assert source.startswith(str(env_dir))


def test_missing_dataset_lists_where_it_looked(tmp_path):
    with pytest.raises(UserError) as error:
        datasets.load("mnist", "train", str(tmp_path))
    message = str(error.value)
    assert str(tmp_path) in message and "--data-dir" in message and "mnist.npz" in message


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


def test_batches_are_full_and_shuffled(idx_dir):
    train, _ = datasets.load("fashion_mnist", "train", idx_dir)
    batches = list(datasets.batches(train, 64, seed=0))
    assert [len(batch) for batch in batches] == [64, 64, 64]  # 200 images: the 8 left over are dropped
    assert not np.array_equal(batches[0].numpy(), train[:64])
    with pytest.raises(UserError, match="larger than the 200"):
        datasets.batches(train, 500)


# ----- pictures ---------------------------------------------------------------------------
def test_grid_layout_and_grey_levels(tmp_path):
    batch = np.full((16, 28, 28, 1), -1.0, np.float32)
    batch[5] = 1.0  # the sixth image: white, at row 1, column 1 of the 4x4 grid
    path = images.save_grid(batch, str(tmp_path / "grid.png"))
    picture = np.asarray(Image.open(path))
    cell = (28 + images.PADDING) * images.SCALE
    assert picture.shape == ((4 * 30 + 2) * 4, (4 * 30 + 2) * 4)
    pad = images.PADDING * images.SCALE
    assert picture[pad + cell + 10, pad + cell + 10] == 255
    assert picture[pad + 10, pad + 10] == 0


def test_gif_has_one_frame_per_epoch(tmp_path):
    for epoch in range(3):
        images.save_grid(np.full((4, 28, 28, 1), epoch / 3, np.float32), str(tmp_path / f"epoch_{epoch:04d}.png"))
    gif = Image.open(images.write_gif(str(tmp_path), str(tmp_path / "run.gif")))
    assert gif.n_frames == 3


def test_save_samples_npy_and_bad_extension(tmp_path):
    batch = np.random.uniform(-1, 1, (5, 28, 28, 1)).astype(np.float32)
    path = images.save_samples(batch, str(tmp_path / "s.npy"))
    np.testing.assert_array_equal(np.load(path), batch)
    with pytest.raises(UserError, match=r"\.png.*\.npy"):
        images.save_samples(batch, str(tmp_path / "s.jpg"))


# ----- command line -----------------------------------------------------------------------
@pytest.mark.parametrize("value, message", [("0", "must be 1 or more"), ("-3", "must be 1 or more"),
                                            ("ten", "expected a whole number")])
def test_positive_int_rejects(value, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        cli.positive_int(value)


# ----- checkpoints and the training run ---------------------------------------------------
def small_state(tmp_path, model="toy"):
    import keras

    model_ = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="toy")
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build(model_.trainable_variables)
    checkpoints = Checkpoints(str(tmp_path), dict(model=model, dataset="mnist"), "python toy.py",
                              model=model_, optimizer=optimizer)
    return model_, optimizer, checkpoints


def fake_args(tmp_path, **overrides):
    values = dict(epochs=5, steps_per_epoch=None, save_every=10, out_dir=str(tmp_path))
    values.update(overrides)
    return argparse.Namespace(**values)


def test_checkpoint_round_trip_and_foreign_folder(tmp_path):
    model, optimizer, checkpoints = small_state(tmp_path)
    model.layers[0].kernel.assign(np.ones((3, 2)))
    checkpoints.save(7)
    restored_model, _, restored = small_state(tmp_path)
    assert restored.restore() == 7
    np.testing.assert_array_equal(restored_model.layers[0].kernel.numpy(), np.ones((3, 2)))
    _, _, other = small_state(tmp_path, model="wgan_gp")
    with pytest.raises(UserError, match="model='toy'"):
        other.restore()


def test_ctrl_c_saves_the_last_finished_epoch_exactly(tmp_path, capsys):
    model, optimizer, checkpoints = small_state(tmp_path)
    run = TrainingRun(fake_args(tmp_path), checkpoints, [model], [optimizer], [("loss", ["loss"])],
                      steps=2, title="toy")
    run.start(lambda: np.zeros((4, 28, 28, 1)), ["banner"])
    data = tf.data.Dataset.range(4)
    for _ in run.progress(data):
        run.record({"loss": tf.constant(1.0)})
    model.layers[0].kernel.assign(np.full((3, 2), 2.0))
    run.end_epoch(np.zeros((4, 28, 28, 1)))  # epoch 1 ends with kernel == 2, not saved (save_every 10)
    with pytest.raises(SystemExit) as exit_:
        with run.saving_on_interrupt():
            for _ in run.progress(data):
                model.layers[0].kernel.assign(np.full((3, 2), 99.0))  # half-way through epoch 2
                raise KeyboardInterrupt
    assert exit_.value.code == 130
    assert "Run the same train command again" in capsys.readouterr().err
    restored_model, _, restored = small_state(tmp_path)
    assert restored.restore() == 1
    np.testing.assert_array_equal(restored_model.layers[0].kernel.numpy(), np.full((3, 2), 2.0))


def test_nan_loss_stops_without_overwriting_checkpoint(tmp_path):
    model, optimizer, checkpoints = small_state(tmp_path)
    run = TrainingRun(fake_args(tmp_path, save_every=1), checkpoints, [model], [optimizer],
                      [("loss", ["loss"])], steps=2, title="toy")
    run.start(lambda: np.zeros((4, 28, 28, 1)), ["banner"])
    for _ in run.progress(tf.data.Dataset.range(2)):
        run.record({"loss": tf.constant(0.5)})
    run.end_epoch(np.zeros((4, 28, 28, 1)))
    saved = checkpoints.latest
    with pytest.raises(UserError, match="diverged.*epoch 1"):
        for _ in run.progress(tf.data.Dataset.range(2)):
            run.record({"loss": tf.constant(float("nan"))})
    assert checkpoints.latest == saved and saved.endswith("ckpt-1")
    assert os.listdir(os.path.join(str(tmp_path), "checkpoints")).count("ckpt-2.index") == 0
