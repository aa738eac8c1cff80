"""dcgan_color.py --classes: the sub-folders as classes, the class in each network, the step's
pairings, the class grid, asking for a class by folder name, and the asked-for accuracy."""

import contextlib
import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import dcgan_color as color
from common import datasets, folder_scores
from common.errors import UserError
from conftest import Spy, run_main, steps_as_python

TINY = ["--batch-size", "6", "--steps-per-epoch", "2", "--width", "8"]
COLOURS = {"Blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}  # sorted: the labels


def class_folder(folder, per_class=(4, 6, 8), loose=1):
    """A sub-folder of plain pictures for each colour (Blue/ with 4, green/ 6, red/ 8), each
    picture a shade of its own (no two alike: the scores leave out identical copies), and
    `loose` pictures in the folder itself, in no class."""
    for (name, rgb), count in zip(COLOURS.items(), per_class):
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        for index in range(count):
            shade = tuple(max(value - 8 * index, 0) for value in rgb)
            Image.new("RGB", (40 + index, 40), shade).save(os.path.join(folder, name,
                                                                        f"{index}.png"))
    for index in range(loose):
        Image.new("RGB", (40, 40), (255, 255, 0)).save(os.path.join(folder, f"loose{index}.png"))
    return folder


@pytest.fixture(scope="module")
def classes_dir(tmp_path_factory):
    return class_folder(str(tmp_path_factory.mktemp("classes")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, classes_dir):
    """Two epochs with --classes at width 8, trained once for this module."""
    from common import cli

    out = str(tmp_path_factory.mktemp("color_classes") / "run")
    printed = io.StringIO()
    with steps_as_python(), contextlib.redirect_stdout(printed):
        cli.run(color.main, ["train", "--epochs", "2", "--data-dir", classes_dir, "--classes",
                             "--out-dir", out, "--seed", "1", *TINY])
    with open(out + ".output", "w") as output:
        output.write(printed.getvalue())
    return out


def test_the_banner_names_each_class_once(trained):
    banner = open(trained + ".output").read().splitlines()[0]
    assert "3 classes (Blue 4, green 6, red 8)" in banner and banner.count("Blue") == 1, banner


def test_the_classes_are_the_sub_folders_each_picture_labelled_by_its_own(classes_dir, tmp_path):
    pictures, labels, names, source = color.load_pictures(classes_dir, 64, None, classes=True)
    assert names == ["Blue", "green", "red"]  # sorted by name; the loose picture in no class
    assert pictures.shape == (18, 64, 64, 3) and np.bincount(labels).tolist() == [4, 6, 8]
    for label, rgb in enumerate(COLOURS.values()):  # each picture is its folder's colour
        np.testing.assert_array_equal(pictures[labels == label][:, 32, 32].argmax(axis=1),
                                      np.argmax(rgb))
    assert "1 pictures in no sub-folder left out" in source
    os.makedirs(tmp_path / "one" / "cats")
    Image.new("RGB", (40, 40)).save(tmp_path / "one" / "cats" / "a.png")
    with pytest.raises(UserError, match="1 sub-folder of pictures: cats"):
        datasets.folder_classes(str(tmp_path / "one"))


def test_each_network_reads_the_class():
    names = tuple(COLOURS)
    generator = color.build_generator(64, 8, names)
    discriminator = color.build_discriminator(64, 8, names)
    noise = tf.tile(tf.random.normal([1, color.NOISE_DIM]), [2, 1])
    two = generator(color.generator_input(noise, tf.constant([0, 2]), len(names)), training=False)
    assert float(tf.reduce_max(tf.abs(two[0] - two[1]))) > 1e-6  # one noise, two classes
    # One picture with two labels gets two verdicts: the label reaches the discriminator.
    picture = tf.random.uniform([1, 64, 64, 3], -1.0, 1.0)
    verdicts = discriminator([tf.tile(picture, [2, 1, 1, 1]), tf.constant([0, 2])]).numpy()
    assert verdicts.shape == (2, 1) and abs(verdicts[0, 0] - verdicts[1, 0]) > 1e-9
    # Without classes, the article's networks: noise alone in, one Sequential D.
    assert color.build_generator(64, 8).input_shape == (None, color.NOISE_DIM)
    assert color.build_discriminator(64, 8).__class__.__name__ == "Sequential"


def test_the_step_pairs_each_picture_with_its_own_class(eagerly):
    """D sees the real pictures with their own labels and the fakes with the labels G was asked
    for; those are the batch's own labels (as many fakes of each class as real pictures)."""
    tf.random.set_seed(0)
    names = tuple(COLOURS)
    generator = Spy(color.build_generator(64, 8, names))
    discriminator = Spy(color.build_discriminator(64, 8, names))
    step = color.make_train_step(generator, discriminator, *color.make_optimizers(),
                                 generator_steps=1)
    real_images = tf.random.uniform([12, 64, 64, 3], -1.0, 1.0)
    real_labels = tf.constant([0] * 2 + [1] * 3 + [2] * 7, tf.int32)
    step((real_images, real_labels))
    asked = generator.inputs[0][:, color.NOISE_DIM:].argmax(axis=1)  # G's one-hot part
    (real_seen, real_seen_labels), (_, fake_seen_labels) = discriminator.inputs[:2]
    np.testing.assert_array_equal(real_seen, real_images)
    np.testing.assert_array_equal(real_seen_labels, real_labels)
    np.testing.assert_array_equal(fake_seen_labels, asked)
    np.testing.assert_array_equal(asked, real_labels)  # the batch's own: the folder's shares
    _, g_step_labels = discriminator.inputs[2]  # G's update: D judges with what G was asked
    np.testing.assert_array_equal(g_step_labels, generator.inputs[1][:, color.NOISE_DIM:]
                                  .argmax(axis=1))


def test_the_grid_has_one_row_per_class_in_order(tmp_path):
    names = tuple(COLOURS)
    spy = Spy(color.build_generator(64, 8, names))
    fixed_noise = tf.random.normal([color.NUM_FIXED, color.NOISE_DIM])
    path = color.save_epoch_grid(spy, fixed_noise, names, str(tmp_path / "grid.png"))
    rows = spy.inputs[0].reshape(len(names), color.PER_CLASS, -1)
    for label, row in enumerate(rows):
        np.testing.assert_array_equal(row[:, color.NOISE_DIM:].argmax(axis=1), label)
        np.testing.assert_allclose(row[:, :color.NOISE_DIM], fixed_noise[:color.PER_CLASS])
    height, width = np.asarray(Image.open(path)).shape[:2]  # 3 rows of 8 pictures
    assert width / height == pytest.approx(color.PER_CLASS / len(names), rel=0.05)


def solid(labels):
    """Pictures of the colour of each class (COLOURS' order), in [-1, 1]."""
    rgb = np.array(list(COLOURS.values()), np.float32)[np.asarray(labels)] / 127.5 - 1.0
    return np.broadcast_to(rgb[:, None, None, :], (len(rgb), 64, 64, 3)).copy()


def test_the_asked_for_accuracy_tells_a_listening_generator_from_a_deaf_one(classes_dir,
                                                                            tmp_path, capsys):
    names = tuple(COLOURS)

    def listening(count, labels=None):  # draws the class it is asked for
        return solid(np.arange(count) % 3 if labels is None else labels)

    def deaf(count, labels=None):  # draws red whatever it is asked for
        return solid([2] * count)

    good = folder_scores.evaluate(listening, classes_dir, 60, str(tmp_path), 1, 0, names)
    bad = folder_scores.evaluate(deaf, classes_dir, 60, str(tmp_path), 1, 0, names)
    assert good["asked_for_accuracy"] == 1.0
    assert bad["asked_for_accuracy"] == pytest.approx(1 / 3, abs=0.05)  # those asked for red
    said = capsys.readouterr().out
    assert "the ceiling" in said and "red 100%" in said
    assert "cache" not in said  # the second read the classes' caches: no line for each of them
    record = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")][-1]
    assert record["asked_for_ceiling"] == 1.0 and record["asked_for_per_class"]["Blue"] == 0.0


def test_sample_asks_for_a_class_by_folder_name(trained, classes_dir, tmp_path, capsys):
    with open(os.path.join(trained, "checkpoints", "run.json")) as file:
        assert json.load(file)["class_names"] == ["Blue", "green", "red"]
    status, stdout, stderr = run_main(color, [
        "sample", "--out-dir", trained, "--label", "blue,Red", "--n", "3", "--seed", "2",
        "--output", str(tmp_path / "two.npy")], capsys)
    assert status == 0 and "3 of each of Blue, red" in stdout, stderr
    assert np.load(tmp_path / "two.npy").shape == (6, 64, 64, 3)
    status, _, stderr = run_main(color, ["sample", "--out-dir", trained, "--label", "cats"],
                                 capsys)
    assert status != 0 and "Ask for one of: Blue, green, red" in stderr
    status, stdout, stderr = run_main(color, [
        "walk", "--out-dir", trained, "--labels", "green,red", "--steps", "2",
        "--output", str(tmp_path / "walk.gif")], capsys)
    assert status == 0 and "the classes green, red" in stdout, stderr
    with Image.open(tmp_path / "walk.gif") as animation:
        assert animation.n_frames == 4  # green -> red -> green, 2 frames each


def test_a_changed_set_of_sub_folders_is_refused_on_resume(trained, classes_dir, tmp_path,
                                                           capsys):
    changed = class_folder(str(tmp_path / "changed"), per_class=(2, 2, 2), loose=0)
    os.makedirs(os.path.join(changed, "yellow"))
    Image.new("RGB", (40, 40), (255, 255, 0)).save(os.path.join(changed, "yellow", "0.png"))
    status, _, stderr = run_main(color, ["train", "--epochs", "3", "--data-dir", changed,
                                         "--out-dir", trained, *TINY], capsys)
    assert status != 0 and "class_names" in stderr and "yellow" in stderr


def test_a_run_without_classes_cannot_be_asked_for_one():
    from common import commands

    commands.no_classes(None, "--label", ())  # nothing asked: nothing to refuse
    with pytest.raises(UserError, match="trained without classes"):
        commands.no_classes("cats", "--label", ())
