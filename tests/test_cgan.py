"""cgan_fashion.py: the label in each network, the step's pairings, the class grid, and the
commands that ask for classes by name."""

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import cgan_fashion as cgan
from common import datasets, metrics, training
from conftest import Spy, run_main, toy_images

TINY = ["--batch-size", "16", "--steps-per-epoch", "2"]


def test_each_network_reads_the_label():
    generator, discriminator = cgan.build_generator(), cgan.build_discriminator()
    noise, labels = tf.random.normal([4, cgan.NOISE_DIM]), tf.constant([0, 3, 7, 9])
    fakes = generator(cgan.generator_input(noise, labels), training=False)
    assert fakes.shape == (4, 28, 28, 1)
    assert discriminator([fakes, labels]).shape == (4, 1)
    # One noise asked for two classes gives two pictures: the label reaches the generator.
    same_noise = tf.tile(noise[:1], [2, 1])
    two = generator(cgan.generator_input(same_noise, tf.constant([1, 8])), training=False)
    assert float(tf.reduce_max(tf.abs(two[0] - two[1]))) > 1e-3
    # One picture shown with two labels gets two verdicts: the label reaches the discriminator.
    verdicts = discriminator([tf.tile(fakes[:1], [2, 1, 1, 1]), tf.constant([1, 8])])
    assert abs(float(verdicts[0, 0] - verdicts[1, 0])) > 1e-4


def test_the_step_pairs_each_picture_with_its_own_label(eagerly):
    """D sees the real images with their own labels, and the fakes with the labels G was asked
    for; those are drawn at random, not copied from the real batch."""
    tf.random.set_seed(0)
    generator, discriminator = Spy(cgan.build_generator()), Spy(cgan.build_discriminator())
    optimizers = [tf.keras.optimizers.Adam(1e-4), tf.keras.optimizers.Adam(1e-4)]
    step = cgan.make_train_step(generator, discriminator, *optimizers)
    real_images = tf.random.uniform([64, 28, 28, 1], -1.0, 1.0)
    real_labels = tf.constant(np.arange(64) % 3, tf.int32)  # classes 0, 1, 2 only
    step((real_images, real_labels))
    asked = generator.inputs[0][:, cgan.NOISE_DIM:].argmax(axis=1)  # G's one-hot part
    (real_seen, real_seen_labels), (_, fake_seen_labels) = discriminator.inputs
    np.testing.assert_array_equal(real_seen, real_images)
    np.testing.assert_array_equal(real_seen_labels, real_labels)
    np.testing.assert_array_equal(fake_seen_labels, asked)
    assert len(set(asked)) >= 8  # drawn from all ten classes, not the batch's three


def test_the_grid_has_one_row_per_class_in_order():
    fixed_noise = tf.random.normal([cgan.PER_CLASS, cgan.NOISE_DIM])
    inputs = cgan.grid_input(fixed_noise).numpy()
    rows = inputs.reshape(cgan.NUM_CLASSES, cgan.PER_CLASS, -1)
    for label, row in enumerate(rows):
        np.testing.assert_array_equal(row[:, cgan.NOISE_DIM:].argmax(axis=1), label)
        np.testing.assert_allclose(row[:, :cgan.NOISE_DIM], fixed_noise)  # the same noise


def test_the_sampler_asks_for_what_it_is_told():
    spy = Spy(cgan.build_generator())
    draw = training.sampler(spy, seed=1, classes=cgan.NUM_CLASSES)
    draw(12)
    draw(3, [7, 7, 2])
    asked = [inputs[:, cgan.NOISE_DIM:].argmax(axis=1).tolist() for inputs in spy.inputs]
    assert asked == [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1], [7, 7, 2]]


def test_asked_for_accuracy_tells_a_listening_generator_from_a_deaf_one(idx_dir, tmp_path,
                                                                        capsys):
    """Pictures of the class asked for score near the classifier's own accuracy; pictures that
    ignore the label score near chance."""
    pictures, labels = toy_images(1000, seed=5)
    by_class = [metrics.to_model_range(pictures[labels == k]) for k in range(10)]

    def listening(count, asked=None):  # the i-th picture of class i mod 10, as the sampler asks
        return np.stack([by_class[i % 10][i // 10 % 100] for i in range(count)])

    def deaf(count, asked=None):
        return np.stack([by_class[(3 * i + 1) % 7][i // 10 % 100] for i in range(count)])

    run_dir = str(tmp_path)
    names = datasets.CLASS_NAMES["mnist"]
    good = metrics.evaluate(listening, "mnist", idx_dir, 500, run_dir, 1, class_names=names)
    bad = metrics.evaluate(deaf, "mnist", idx_dir, 500, run_dir, 1, class_names=names)
    printed = capsys.readouterr().out
    assert good["asked_for_accuracy"] > 0.9 and bad["asked_for_accuracy"] < 0.3
    assert "asked-for accuracy" in printed and "t-shirt" not in printed  # mnist's names: digits


def test_train_sample_walk_evaluate(tmp_path, idx_dir, capsys, eagerly):
    out = str(tmp_path / "run")
    flags = ["--data-dir", idx_dir, "--out-dir", out]
    status, stdout, stderr = run_main(cgan, ["train", "--epochs", "1", "--dataset", "mnist",
                                             *flags, *TINY], capsys)
    assert status == 0, stderr
    grid = Image.open(os.path.join(out, "images", "epoch_0001.png"))
    assert grid.size[1] > grid.size[0]  # 10 rows of classes, 8 columns of noise
    out_flag = ["--out-dir", out]
    status, stdout, stderr = run_main(cgan, ["sample", "--label", "7,2", "--n", "3", *out_flag,
                                             "--output", str(tmp_path / "s.npy")], capsys)
    assert status == 0 and "3 of each of 7, 2" in stdout, stderr
    assert np.load(tmp_path / "s.npy").shape == (6, 28, 28, 1)
    status, _, stderr = run_main(cgan, ["sample", "--label", "sneaker", *out_flag], capsys)
    assert status == 2 and "'sneaker' is not a class of this run" in stderr  # an mnist run
    status, stdout, stderr = run_main(cgan, ["walk", "--labels", "1,2", "--steps", "3",
                                             *out_flag], capsys)
    assert status == 0 and "the classes 1, 2 at one noise vector" in stdout, stderr
    assert Image.open(os.path.join(out, "walk.gif")).n_frames == 6
    status, stdout, stderr = run_main(cgan, ["evaluate", "--n", "200", *flags], capsys)
    assert status == 0 and "asked-for accuracy" in stdout, stderr
    status, stdout, stderr = run_main(cgan, ["train", "--epochs", "2", *flags, *TINY], capsys)
    assert status == 0 and "Resuming" in stdout and "cgan_fashion on mnist" in stdout, stderr
    assert os.path.isfile(os.path.join(out, "images", "epoch_0002.png"))


def test_class_names_of_fashion_mnist():
    names = datasets.CLASS_NAMES["fashion_mnist"]
    assert len(names) == 10 and names[7] == "sneaker" and names[9] == "ankle-boot"


@pytest.mark.parametrize("dataset", ["folder"])
def test_a_folder_is_no_choice_for_the_conditional_lesson(dataset, tmp_path, capsys):
    status, _, stderr = run_main(cgan, ["train", "--dataset", dataset,
                                        "--out-dir", str(tmp_path)], capsys)
    assert status == 2 and "invalid choice" in stderr
