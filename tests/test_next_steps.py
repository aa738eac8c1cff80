"""What learners do next: walk the noise space, train on a folder of their own pictures, and
watch a run in TensorBoard. Each in all three scripts, with the bad inputs of each."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import dcgan_fashion
import mlp_gan_keras
import wgan_gp
from common import datasets, latent
from common.errors import UserError
from conftest import TrainedRuns, copy_run, run_main

pytestmark = pytest.mark.usefixtures("without_xla")  # conftest: the tests are about files


SCRIPTS = [dcgan_fashion, mlp_gan_keras, wgan_gp]
ids = [script.MODEL_NAME for script in SCRIPTS]


# ----- walk -------------------------------------------------------------------------------
def test_slerp_keeps_gaussian_noise_at_its_usual_norm_where_a_line_does_not():
    rng = np.random.default_rng(0)
    start, end = rng.normal(size=100), rng.normal(size=100)
    path = latent.slerp(start, end, np.linspace(0, 1, 11))
    np.testing.assert_allclose(path[0], start, atol=1e-9)
    np.testing.assert_allclose(path[-1], end, atol=1e-9)
    norms = np.linalg.norm(path, axis=1)
    low, high = sorted([np.linalg.norm(start), np.linalg.norm(end)])
    assert np.all(norms >= low - 1e-6) and np.all(norms <= high + 1e-6)  # no dip in the middle
    assert (
        np.linalg.norm((start + end) / 2) < 0.8 * low
    )  # the straight line's midpoint: the dip slerp avoids
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    np.testing.assert_allclose(steps, steps.mean(), rtol=0.01)  # even steps along the arc


def test_a_closed_walk_visits_every_point_and_returns():
    points = np.random.default_rng(1).normal(size=(3, 8))
    path = latent.loop_through(points, 4)
    assert path.shape == (12, 8) and path.dtype == np.float32
    for index in range(3):
        np.testing.assert_allclose(path[index * 4], points[index], atol=1e-5)
    last_leg = latent.slerp(points[2], points[0], [0.75])[0]
    np.testing.assert_allclose(
        path[-1], last_leg, atol=1e-5
    )  # the last leg heads back to the first point


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_walk_writes_a_gif_and_a_strip_of_the_generators_images(
    script, trained_runs, capsys, tmp_path
):
    import keras

    out = trained_runs[script.MODEL_NAME]
    gif = str(tmp_path / "walk.gif")
    status, stdout, _ = run_main(
        script,
        ["walk", "--out-dir", out, "--points", "3", "--steps", "4", "--seed", "5", "--output", gif],
        capsys,
    )
    assert status == 0 and gif in stdout and "--seed 5" in stdout
    with Image.open(gif) as animation:
        assert animation.n_frames == 12
    strip = np.asarray(Image.open(str(tmp_path / "walk.png")))
    assert strip.shape == (
        (3 * 30 + 2) * 4,
        (4 * 30 + 2) * 4,
    )  # 3 legs of 4 frames: 28-pixel images, padded, at 4x
    # The strip's first image is the generator's image of the first noise vector.
    generator = keras.models.load_model(os.path.join(out, "generator.keras"))
    first_point = tf.random.Generator.from_seed(5).normal([3, script.NOISE_DIM])[:1]
    expected = np.clip(
        np.rint(generator(first_point, training=False).numpy()[0, :, :, 0] * 127.5 + 127.5), 0, 255
    )
    np.testing.assert_allclose(strip[8 : 8 + 112 : 4, 8 : 8 + 112 : 4], expected, atol=1)

    status, _, stderr = run_main(
        script, ["walk", "--out-dir", out, "--output", str(tmp_path / "walk.png")], capsys
    )
    assert status == 2 and "must end in .gif" in stderr
    status, _, stderr = run_main(script, ["walk", "--out-dir", str(tmp_path / "none")], capsys)
    assert status == 2 and "train first" in stderr
    status, _, stderr = run_main(script, ["walk", "--out-dir", out, "--points", "1"], capsys)
    assert status == 2 and "must be 2 or more" in stderr


# ----- a folder of pictures ----------------------------------------------------------------
def write_pictures(folder, count=24):
    """`count` small pictures of many sizes, colours and formats, some in a sub-folder, plus a
    file that is not a picture, one that only pretends, one cut short and one too large."""
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(folder, "more", "deeper"), exist_ok=True)
    formats = ["png", "jpg", "bmp", "gif", "jpeg", "PNG"]
    for index in range(count):
        width, height = rng.integers(20, 90, size=2)
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        picture = Image.new("RGB" if index % 3 else "RGBA", (int(width), int(height)), colour)
        place = ["", "more", os.path.join("more", "deeper")][index % 3]
        picture.save(
            os.path.join(folder, place, f"picture_{index}.{formats[index % len(formats)]}")
        )
    with open(os.path.join(folder, "notes.txt"), "w") as file:
        file.write("not a picture, and not named like one")
    with open(os.path.join(folder, "fake.png"), "wb") as file:
        file.write(b"this is not a PNG")
    whole = open(os.path.join(folder, "picture_0.png"), "rb").read()
    with open(os.path.join(folder, "cut.png"), "wb") as file:
        file.write(whole[: len(whole) // 2])
    return folder


@pytest.fixture(scope="module")
def picture_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("pictures"))
    write_pictures(folder)
    Image.new("L", (7000, 6000)).save(
        os.path.join(folder, "huge.png")
    )  # 42 million pixels, a small file
    return folder


def test_a_folder_of_pictures_becomes_28x28_grey_and_broken_files_are_counted(picture_dir, capsys):
    images, source = datasets.load("folder", "train", picture_dir)
    assert images.shape == (24, 28, 28) and images.dtype == np.uint8
    assert "2 unreadable files skipped" in source and "1 too large" in source
    printed = capsys.readouterr().out
    assert "fake.png" in printed and "cut.png" in printed and "huge.png" in printed


def test_a_picture_is_centre_cropped_and_made_grey(tmp_path):
    wide = np.zeros((20, 60, 3), np.uint8)
    wide[:, 20:40] = (255, 0, 0)  # a red centre square between black bands
    Image.fromarray(wide).save(tmp_path / "wide.png")
    grey = datasets.read_picture(str(tmp_path / "wide.png"))
    assert grey.shape == (28, 28)
    assert (
        abs(int(grey.mean()) - 76) <= 2
    )  # only the centre square is kept; red is grey level 76 (ITU-R 601)


def test_bad_folders_get_clear_errors(tmp_path, picture_dir):
    with pytest.raises(UserError, match="--data-dir DIR"):
        datasets.load("folder", "train", None)
    with pytest.raises(UserError, match="no such folder"):
        datasets.load("folder", "train", str(tmp_path / "missing"))
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "readme.txt").write_text("no pictures here")
    with pytest.raises(UserError, match="No pictures in"):
        datasets.load("folder", "train", str(empty))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(UserError, match="None of the 1 picture files"):
        datasets.load("folder", "train", str(broken))
    with pytest.raises(UserError, match="labelled dataset"):
        datasets.load("folder", "test", picture_dir, labels=True)


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_every_script_trains_on_a_folder_and_checks_a_small_one_for_copies_alone(
    script, picture_dir, tmp_path, capsys
):
    out = str(tmp_path / "run")
    batch = ["--batch-size", "4"]
    own = TrainedRuns.OWN_FLAGS.get(script.MODEL_NAME, [])  # WGAN-GP: two critic steps
    common = ["--dataset", "folder", "--data-dir", picture_dir, "--out-dir", out, *own, *batch]
    status, stdout, stderr = run_main(
        script, ["train", "--epochs", "1", "--steps-per-epoch", "1", *common], capsys
    )
    assert status == 0, stderr
    assert "24 images, " in stdout and "2 unreadable files skipped" in stdout
    assert os.path.exists(os.path.join(out, "images", "epoch_0001.png"))
    # 24 pictures: too few for a distance from the folder; the memorisation check alone.
    status, stdout, stderr = run_main(script, ["evaluate", "--out-dir", out], capsys)
    assert status == 0 and "the memorisation check alone" in stdout, stderr
    # Too few samples asked for during training: refused before any training, not after an
    # epoch. (Epoch 2 would be the next: its progress bar writes "epoch 2/2" to stderr, the line
    # that closes it to stdout.)
    status, stdout, stderr = run_main(
        script, ["train", "--epochs", "2", "--eval-every", "1", "--eval-samples", "20", *common],
        capsys)
    assert status == 2 and "too few samples" in stderr and "epoch 2/2" not in stdout + stderr
    # Fewer pictures than one batch.
    status, _, stderr = run_main(
        script, ["train", "--epochs", "1", *common[:-2], "--batch-size", "64"], capsys
    )
    assert status == 2 and "more than the 24 training images" in stderr


# ----- TensorBoard -------------------------------------------------------------------------
def read_board(folder):
    from tensorboard.backend.event_processing import event_accumulator

    board = event_accumulator.EventAccumulator(folder, size_guidance={event_accumulator.TENSORS: 0})
    board.Reload()
    return {tag: board.Tensors(tag) for tag in board.Tags()["tensors"]}


@pytest.mark.parametrize("script", SCRIPTS, ids=ids)
def test_every_log_column_and_the_epoch_grid_go_to_tensorboard(
    script, trained_runs, tmp_path, capsys
):
    from common.runs import grid_path, read_log

    out = copy_run(trained_runs, script, tmp_path)
    summaries = read_board(os.path.join(out, "tensorboard"))
    log = read_log(os.path.join(out, "log.csv"))
    for column in log[0]:
        if column != "epoch":
            events = summaries[column]
            assert [event.step for event in events] == [1, 2]
            values = [float(tf.make_ndarray(event.tensor_proto)) for event in events]
            np.testing.assert_allclose(values, [row[column] for row in log], rtol=1e-5)
    grids = summaries["epoch grid (fixed noise)"]
    assert [event.step for event in grids] == [1, 2]
    width, height, encoded = tf.make_ndarray(grids[-1].tensor_proto)[:3]
    picture = tf.io.decode_png(encoded).numpy()[..., 0]
    np.testing.assert_array_equal(picture, np.asarray(Image.open(grid_path(out, 2))))


def test_without_the_tensorboard_package_a_run_says_so_and_goes_on(tmp_path, monkeypatch, capsys):
    import importlib.util

    from common import board, images

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *rest: None if name == "tensorboard" else real_find_spec(name, *rest),
    )
    summaries = board.Board(str(tmp_path))
    grid = images.save_grid(np.zeros((4, 28, 28, 1), np.float32), str(tmp_path / "grid.png"))
    summaries.add(dict(epoch=1, d_loss=0.5), grid)  # no error: nothing to write to
    assert "pip install tensorboard" in capsys.readouterr().out
    assert not os.path.exists(tmp_path / "tensorboard")
