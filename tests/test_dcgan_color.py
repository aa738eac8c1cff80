"""dcgan_color.py: the article's networks at 64 and 128 pixels, colour from file to grid, the
picture cache, the two generator updates, and the commands a user runs."""

import json
import math
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import dcgan_color as color
from common import board, datasets, images
from common.runs import read_log
from conftest import built, run_main, steps_as_python

# Tiny networks (width 8) keep the command tests fast; the shape tests use the article's width.
TINY = ["--batch-size", "4", "--steps-per-epoch", "2", "--width", "8"]


def colour_folder(folder, count=12):
    """`count` pictures of plain colours (red, green, blue in turn), assorted sizes and formats."""
    os.makedirs(folder, exist_ok=True)
    primaries = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    for index in range(count):
        size = (40 + 7 * index, 50 + 5 * index)
        extension = ["png", "bmp", "png", "gif"][index % 4]
        Image.new("RGB", size, primaries[index % 3]).save(
            os.path.join(folder, f"plain_{index:02d}.{extension}")
        )
    return folder


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    return colour_folder(str(tmp_path_factory.mktemp("colour")))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, pictures):
    """A run of two epochs of 2 steps at 64 pixels and width 8, trained once for this module,
    its steps run as plain Python (conftest's `eagerly`): the files are under test here."""
    from common import cli

    out = str(tmp_path_factory.mktemp("color") / "run")
    with steps_as_python():
        cli.run(color.main, ["train", "--epochs", "2", "--data-dir", pictures, "--out-dir", out,
                             "--seed", "1", *TINY])
    return out


# ----- the models ---------------------------------------------------------------------------
def stage_shapes(model, inputs):
    """The output shape of each Dense and convolution of `model`, in order."""
    shapes, values = [], inputs
    for layer in model.layers:
        values = layer(values, training=False)
        if isinstance(
            layer, (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)
        ):
            shapes.append(tuple(values.shape[1:]))
    return shapes


@pytest.mark.parametrize("size, start", [(64, 4), (128, 8)])
def test_every_stage_doubles_the_side_in_the_generator_and_halves_it_in_the_discriminator(
    size, start
):
    generator, discriminator = color.build_generator(size), color.build_discriminator(size)
    noise = tf.random.normal([2, color.NOISE_DIM])
    # The article: one linear layer, then four transposed convolutions (width 64 as the cited code).
    assert stage_shapes(generator, noise) == [
        (start * start * 512,),
        (2 * start, 2 * start, 256),
        (4 * start, 4 * start, 128),
        (8 * start, 8 * start, 64),
        (size, size, 3),
    ]
    assert [type(layer).__name__ for layer in generator.layers].count("Conv2DTranspose") == 4
    # The discriminator: four strided convolutions, then one linear output.
    pictures = tf.random.uniform([2, size, size, 3], -1, 1)
    assert stage_shapes(discriminator, pictures) == [
        (size // 2, size // 2, 64),
        (size // 4, size // 4, 128),
        (size // 8, size // 8, 256),
        (start, start, 512),
        (1,),
    ]


def test_the_layers_follow_the_article_and_the_dcgan_paper():
    generator, discriminator = color.build_generator(), color.build_discriminator()
    kinds = [type(layer).__name__ for layer in generator.layers]
    # Batch norm after every layer of the generator but the last, then ReLU; tanh at the end.
    assert kinds == ["Dense", "Reshape", "BatchNormalization", "ReLU"] + [
        "Conv2DTranspose",
        "BatchNormalization",
        "ReLU",
    ] * 3 + ["Conv2DTranspose"]
    assert generator.layers[-1].activation.__name__ == "tanh"
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    # No batch norm on the discriminator's first layer; LeakyReLU(0.2) after each convolution.
    assert kinds == ["Conv2D", "LeakyReLU"] + ["Conv2D", "BatchNormalization", "LeakyReLU"] * 3 + [
        "Flatten",
        "Dense",
    ]
    assert (
        discriminator.layers[-1].activation.__name__ == "linear"
    )  # logits: the loss applies the sigmoid
    for layer in generator.layers + discriminator.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            assert (
                layer.kernel_size == (5, 5) and layer.strides == (2, 2) and layer.padding == "same"
            )
        if isinstance(layer, keras.layers.BatchNormalization):
            assert layer.momentum == 0.9 and layer.epsilon == 1e-5  # the cited code's
        if isinstance(layer, keras.layers.LeakyReLU):
            assert layer.negative_slope == pytest.approx(0.2)
        if hasattr(layer, "kernel_initializer"):
            assert layer.kernel_initializer.stddev == 0.02  # the DCGAN paper's N(0, 0.02)
    # The weights really are drawn with that spread.
    assert float(tf.math.reduce_std(generator.layers[4].kernel)) == pytest.approx(0.02, rel=0.05)


def test_the_initial_weights_follow_the_seed_and_no_two_layers_share_them():
    def build(seed):
        keras.utils.set_random_seed(seed)
        weights = color.build_generator(width=8).get_weights()
        weights += color.build_discriminator(width=8).get_weights()
        return [w for w in weights if w.ndim > 1]

    first, again, other = build(0), build(0), build(1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)  # --seed repeats the start
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))
    # G's transposed kernels have the shapes of D's kernels: each drew numbers of its own.
    for index, kernel in enumerate(first):
        assert not any(
            kernel.shape == later.shape and np.array_equal(kernel, later)
            for later in first[index + 1 :]
        )


def test_the_generator_reaches_both_ends_of_tanh():
    generator = color.build_generator(width=8)
    last = generator.layers[-1]
    last.kernel.assign(last.kernel * 1000)  # saturate the output
    fakes = generator(
        tf.random.normal([8, color.NOISE_DIM]), training=True
    ).numpy()  # batch statistics
    assert fakes.min() < -0.99 and fakes.max() > 0.99 and np.abs(fakes).max() <= 1.0


# ----- the losses and the step --------------------------------------------------------------
def test_losses_on_known_logits():
    undecided = tf.zeros([8, 1])  # sigmoid(0) = 0.5
    real_loss, fake_loss = color.discriminator_losses(undecided, undecided)
    assert math.isclose(float(real_loss), math.log(2), rel_tol=1e-5)
    assert math.isclose(float(fake_loss), math.log(2), rel_tol=1e-5)
    # D(x) = sigmoid(1) on real pictures, D(G(z)) = sigmoid(-2) on fakes: each term by hand.
    real_loss, fake_loss = color.discriminator_losses(tf.constant([[1.0]]), tf.constant([[-2.0]]))
    assert math.isclose(float(real_loss), -math.log(1 / (1 + math.exp(-1))), rel_tol=1e-5)
    assert math.isclose(float(fake_loss), -math.log(1 - 1 / (1 + math.exp(2))), rel_tol=1e-5)
    assert math.isclose(
        float(color.generator_loss(tf.constant([[-2.0]]))),
        -math.log(1 / (1 + math.exp(2))),
        rel_tol=1e-5,
    )


@pytest.mark.parametrize("generator_steps", [2, 1])
def test_the_generator_is_updated_generator_steps_times_per_discriminator_update(
    generator_steps, eagerly
):
    """Eagerly, as the other tests of the step's arithmetic: the same code, no tracing."""
    generator, discriminator = color.build_generator(width=8), color.build_discriminator(width=8)
    generator_optimizer, discriminator_optimizer = built(
        (keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4)), generator, discriminator
    )
    step = color.make_train_step(
        generator, discriminator, generator_optimizer, discriminator_optimizer, generator_steps
    )
    before = [weight.numpy().copy() for weight in discriminator.trainable_weights]
    for _ in range(3):
        outputs = step(tf.random.uniform([4, 64, 64, 3], -1, 1))
    assert int(discriminator_optimizer.iterations) == 3
    assert int(generator_optimizer.iterations) == 3 * generator_steps
    assert any(
        not np.allclose(old, new) for old, new in zip(before, discriminator.trainable_weights)
    )
    # The four losses the article plots, and D's total is the sum of its two parts.
    assert float(outputs["d_loss"]) == pytest.approx(
        float(outputs["d_loss_real"] + outputs["d_loss_fake"]), rel=1e-5
    )
    assert {"g_loss", "D(x)", "D(G(z))"} <= set(outputs)


def test_the_fast_recipe_averages_the_generator_after_both_updates(eagerly):
    generator, discriminator = color.build_generator(width=8), color.build_discriminator(width=8)
    averaged = color.build_generator(width=8)
    averaged.set_weights(generator.get_weights())
    before = [weight.numpy().copy() for weight in generator.weights]
    generator_optimizer, discriminator_optimizer = built(
        (keras.optimizers.Adam(2e-4), keras.optimizers.Adam(2e-4)), generator, discriminator
    )
    step = color.make_train_step(
        generator, discriminator, generator_optimizer, discriminator_optimizer, 2
    )
    step(tf.random.uniform([4, 64, 64, 3], -1, 1))
    color.update_average(
        averaged, generator, 0.999, generator_optimizer.iterations
    )  # as train() does
    decay = (1 + 2) / (10 + 2)  # after the step's two generator updates, t = 2
    for average, old, new in zip(averaged.weights, before, generator.weights):
        np.testing.assert_allclose(
            average.numpy(), decay * old + (1 - decay) * new.numpy(), rtol=1e-4, atol=1e-6
        )


def test_a_fast_run_samples_from_its_averaged_generator(pictures, tmp_path, capsys, eagerly):
    out = str(tmp_path / "run")
    status, _, stderr = run_main(
        color,
        [
            "train",
            "--epochs",
            "1",
            "--recipe",
            "fast",
            "--data-dir",
            pictures,
            "--out-dir",
            out,
            "--seed",
            "4",
            *TINY,
        ],
        capsys,
    )
    assert status == 0, stderr
    status, _, _ = run_main(
        color,
        [
            "sample",
            "--out-dir",
            out,
            "--n",
            "3",
            "--seed",
            "1",
            "--output",
            str(tmp_path / "three.npy"),
        ],
        capsys,
    )
    drawn = np.load(tmp_path / "three.npy")
    noise = tf.random.Generator.from_seed(1).normal([3, color.NOISE_DIM])
    exported = keras.models.load_model(os.path.join(out, "generator.keras"))  # the averaged one
    # Two steps in, the pictures are faint (about 1e-3): compare against their own scale.
    scale = np.abs(drawn).max()
    np.testing.assert_allclose(drawn, exported(noise, training=False).numpy(), atol=1e-4 * scale)
    trained = color.build_generator(width=8)
    tf.train.Checkpoint(generator=trained).restore(
        tf.train.latest_checkpoint(os.path.join(out, "checkpoints"))
    ).expect_partial()
    assert (
        np.abs(drawn - trained(noise, training=False).numpy()).max() > 0.05 * scale
    )  # not the trained one


# ----- pictures: colour from the file to the grid, and the cache ----------------------------
def test_colour_survives_the_folder_loader_and_the_batches(pictures):
    loaded, _ = datasets.load_folder(pictures, 64, colour=True)
    assert loaded.shape == (12, 64, 64, 3) and loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded[0, 32, 32], [255, 0, 0])  # plain_00: red stays red
    np.testing.assert_array_equal(loaded[1, 10, 50], [0, 255, 0])  # plain_01 (a BMP): green
    np.testing.assert_array_equal(loaded[2, 60, 3], [0, 0, 255])  # plain_02: blue
    batch = next(iter(color.make_batches(loaded[:3], 3, 0))).numpy()
    assert batch.dtype == np.float32 and batch.shape == (3, 64, 64, 3)
    corners = sorted(map(tuple, batch[:, 5, 5]))  # in the shuffled order: sorted to compare
    np.testing.assert_allclose(corners, [(-1, -1, 1), (-1, 1, -1), (1, -1, -1)])  # blue, green, red
    scaled = color.scale(loaded[:3]).numpy()  # what the batches map every batch through
    np.testing.assert_allclose(scaled[0, 5, 5], [1, -1, -1])  # red stays red, in [-1, 1]
    np.testing.assert_allclose(scaled[2, 5, 5], [-1, -1, 1])  # blue stays blue


def test_transparency_lies_on_black_and_the_centre_square_is_kept(tmp_path):
    wide = np.zeros((20, 60, 4), np.uint8)
    wide[:, 20:40] = (0, 0, 255, 255)  # an opaque blue centre between transparent green bands
    wide[:, :20, 1] = wide[:, 40:, 1] = 255
    Image.fromarray(wide, "RGBA").save(tmp_path / "wide.png")
    picture = datasets.read_picture(str(tmp_path / "wide.png"), 64, colour=True)
    assert picture.shape == (64, 64, 3)
    np.testing.assert_array_equal(picture[32, 32], [0, 0, 255])
    assert picture[..., 1].max() == 0  # the transparent green never shows


def test_every_batch_is_full_and_every_picture_comes_once_per_epoch():
    pictures = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 3), np.uint8)
    epoch = [
        batch.numpy() for batch in color.make_batches(pictures, 3, 0)
    ]
    assert [len(batch) for batch in epoch] == [3, 3, 3]
    seen = np.concatenate([batch[:, 0, 0, 0] for batch in epoch]) * 127.5 + 127.5
    assert (
        len(set(np.rint(seen).astype(int))) == 9
    )  # nine different pictures, the tenth left for the next epoch
    again = np.concatenate(
        [
            batch.numpy()[:, 0, 0, 0]
            for batch in color.make_batches(pictures, 3, 1)
        ]
    )
    assert not np.array_equal(seen, again * 127.5 + 127.5)  # another seed, another order


def test_the_cache_is_read_while_the_folder_is_unchanged_and_rebuilt_when_it_changes(
    tmp_path, capsys
):
    folder = colour_folder(str(tmp_path / "pictures"), count=6)
    cache = str(tmp_path / "run")
    first, _ = datasets.load_folder(folder, 64, colour=True, cache_dir=cache)
    assert os.path.exists(os.path.join(cache, "pictures_64px_rgb.npy"))
    capsys.readouterr()

    # Unchanged: read from the cache, not decoded. A decoder that fails proves it.
    real_read = datasets.read_picture
    datasets.read_picture = lambda *args, **kwargs: (_ for _ in ()).throw(AssertionError("decoded"))
    try:
        second, source = datasets.load_folder(folder, 64, colour=True, cache_dir=cache)
    finally:
        datasets.read_picture = real_read
    np.testing.assert_array_equal(first, second)
    assert "read from the cache" in source and not capsys.readouterr().out  # said in the banner

    # A picture added: decoded again, and it is there.
    Image.new("RGB", (70, 70), (255, 255, 0)).save(os.path.join(folder, "yellow.png"))
    third, _ = datasets.load_folder(folder, 64, colour=True, cache_dir=cache)
    assert len(third) == 7 and "changed" in capsys.readouterr().out
    np.testing.assert_array_equal(third[-1, 5, 5], [255, 255, 0])

    # A picture replaced by another of the same name and the same number of bytes (an
    # uncompressed BMP of the same size in another colour): only the modification time tells.
    replaced = os.path.join(folder, "plain_01.bmp")
    size_before = os.path.getsize(replaced)
    Image.new("RGB", Image.open(replaced).size, (255, 255, 255)).save(replaced)
    assert os.path.getsize(replaced) == size_before
    os.utime(replaced, ns=(1, 1))  # an older time than before: still a change
    fourth, _ = datasets.load_folder(folder, 64, colour=True, cache_dir=cache)
    np.testing.assert_array_equal(fourth[1, 5, 5], [255, 255, 255])

    # Another size is another cache; a damaged cache is rebuilt with a note.
    datasets.load_folder(folder, 128, colour=True, cache_dir=cache)
    assert os.path.exists(os.path.join(cache, "pictures_128px_rgb.npy"))
    with open(os.path.join(cache, "pictures_64px_rgb.npy"), "r+b") as file:
        file.truncate(100)
    capsys.readouterr()
    fifth, _ = datasets.load_folder(folder, 64, colour=True, cache_dir=cache)
    np.testing.assert_array_equal(fifth, fourth)
    assert "damaged" in capsys.readouterr().out


def test_a_colour_grid_keeps_its_colours_and_goes_to_tensorboard(tmp_path):
    batch = np.full((4, 64, 64, 3), -1.0, np.float32)
    batch[1, ..., 0] = 1.0  # the second picture red
    path = images.save_grid(batch, str(tmp_path / "grid.png"))
    picture = np.asarray(Image.open(path))
    assert picture.shape == ((2 * 66 + 2) * 2, (2 * 66 + 2) * 2, 3)  # 64-pixel pictures drawn at 2x
    np.testing.assert_array_equal(
        picture[2 * (2 + 10), 2 * (2 + 66 + 10)], [255, 0, 0]
    )  # row 0, column 1
    np.testing.assert_array_equal(picture[2 * 12, 2 * 12], [0, 0, 0])
    summaries = board.Board(str(tmp_path / "run"))
    summaries.add(dict(epoch=1, d_loss=0.5), path)  # a colour picture is accepted as it is
    if summaries.writer is not None:
        from test_next_steps import read_board

        event = read_board(str(tmp_path / "run" / "tensorboard"))["epoch grid (fixed noise)"][0]
        decoded = tf.io.decode_png(tf.make_ndarray(event.tensor_proto)[2]).numpy()
        np.testing.assert_array_equal(decoded, picture)


# ----- the commands ---------------------------------------------------------------------------
def test_train_writes_the_run_folder_and_the_article_curves(trained):
    assert sorted(os.listdir(os.path.join(trained, "images"))) == [
        f"epoch_{i:04d}.png" for i in range(3)
    ]
    grid = np.asarray(Image.open(os.path.join(trained, "images", "epoch_0002.png")))
    assert grid.ndim == 3 and grid.shape[2] == 3  # the grids are in colour
    log = read_log(os.path.join(trained, "log.csv"))
    assert [row["epoch"] for row in log] == [1, 2]
    assert {"d_loss", "d_loss_real", "d_loss_fake", "g_loss", "D(x)", "D(G(z))", "seconds"} <= set(
        log[0]
    )
    assert Image.open(os.path.join(trained, "training.gif")).n_frames == 3
    saved = json.load(open(os.path.join(trained, "checkpoints", "run.json")))
    assert os.path.isabs(saved.pop("data_dir"))  # where `evaluate` finds the pictures again
    assert saved == dict(
        model="dcgan_color",
        dataset="folder",
        recipe="article",
        image_size=64,
        width=8,
        generator_steps=2,
        augment=False,
        precision="float32",
        classes=False,
    )
    assert os.path.exists(
        os.path.join(trained, "pictures_64px_rgb.npy")
    )  # the cache, in the run folder
    exported = keras.models.load_model(os.path.join(trained, "generator.keras"))
    assert exported(tf.zeros([1, 100])).shape == (1, 64, 64, 3)


def test_sample_and_walk_draw_colour_pictures_from_the_checkpoint(trained, tmp_path, capsys):
    status, stdout, stderr = run_main(
        color,
        [
            "sample",
            "--out-dir",
            trained,
            "--n",
            "5",
            "--seed",
            "2",
            "--output",
            str(tmp_path / "five.npy"),
        ],
        capsys,
    )
    assert status == 0 and "epoch 2" in stdout, stderr
    raw = np.load(tmp_path / "five.npy")
    assert raw.shape == (5, 64, 64, 3) and raw.dtype == np.float32 and np.abs(raw).max() <= 1
    # The checkpoint's generator is the one exported as generator.keras.
    exported = keras.models.load_model(os.path.join(trained, "generator.keras"))
    noise = tf.random.Generator.from_seed(2).normal([5, color.NOISE_DIM])
    np.testing.assert_allclose(
        raw, exported(noise, training=False).numpy(), atol=1e-4 * np.abs(raw).max()
    )
    status, stdout, _ = run_main(
        color, ["--out-dir", trained], capsys
    )  # plain `python dcgan_color.py`
    assert (
        status == 0 and np.asarray(Image.open(os.path.join(trained, "samples.png"))).shape[2] == 3
    )
    status, stdout, _ = run_main(
        color,
        [
            "walk",
            "--out-dir",
            trained,
            "--points",
            "2",
            "--steps",
            "3",
            "--output",
            str(tmp_path / "walk.gif"),
        ],
        capsys,
    )
    assert status == 0
    with Image.open(tmp_path / "walk.gif") as animation:
        assert animation.n_frames == 6


def test_resume_keeps_the_run_settings_and_counts_the_optimizers_on(
    trained, pictures, tmp_path, capsys, eagerly
):
    out = str(tmp_path / "run")
    shutil.copytree(trained, out)
    # No --width: the run's own (8) is used; the article's 64 would not restore.
    status, stdout, stderr = run_main(
        color,
        [
            "train",
            "--epochs",
            "3",
            "--data-dir",
            pictures,
            "--out-dir",
            out,
            "--batch-size",
            "4",
            "--steps-per-epoch",
            "2",
        ],
        capsys,
    )
    assert status == 0, stderr
    assert "Resuming" in stdout and "epoch 3/3" in stdout and "epoch 1/3" not in stdout
    assert "from the cache" in stdout  # the pictures were not decoded again
    assert [row["epoch"] for row in read_log(os.path.join(out, "log.csv"))] == [1, 2, 3]
    generator, discriminator = color.build_generator(width=8), color.build_discriminator(width=8)
    optimizers = keras.optimizers.Adam(), keras.optimizers.Adam()
    optimizers[0].build(generator.trainable_variables)
    optimizers[1].build(discriminator.trainable_variables)
    checkpoint = tf.train.Checkpoint(
        generator_optimizer=optimizers[0], discriminator_optimizer=optimizers[1]
    )
    checkpoint.restore(
        tf.train.latest_checkpoint(os.path.join(out, "checkpoints"))
    ).expect_partial()
    # 3 epochs of 2 steps: 6 discriminator updates and 12 generator updates, across the resume.
    assert (int(optimizers[0].iterations), int(optimizers[1].iterations)) == (12, 6)
    # Asking for another width, size or generator ratio on a resume is refused, with what to do.
    for flag, value in [
        ("--width", "16"),
        ("--image-size", "128"),
        ("--generator-steps", "1"),
        ("--precision", "mixed_bfloat16"),
        ("--recipe", "fast"),
    ]:
        status, _, stderr = run_main(
            color,
            [
                "train",
                "--epochs",
                "4",
                "--data-dir",
                pictures,
                "--out-dir",
                out,
                flag,
                value,
                "--batch-size",
                "4",
            ],
            capsys,
        )
        assert status == 2 and "another --out-dir" in stderr, (flag, stderr)
    # --augment too: a resume without the flag goes on as the run was trained.
    status, _, stderr = run_main(color, ["train", "--epochs", "4", "--data-dir", pictures,
                                         "--out-dir", out, "--augment", "--batch-size", "4"],
                                 capsys)
    said = " ".join(stderr.split())
    assert status == 2 and "trained with --no-augment, and this command asks for --augment" in said


def test_bad_input_gets_a_clear_message(trained, pictures, tmp_path, capsys):
    out = str(tmp_path / "run")
    status, _, stderr = run_main(
        color, ["train", "--image-size", "96", "--data-dir", pictures, "--out-dir", out], capsys
    )
    assert status == 2 and "choose from 64, 128" in stderr
    status, _, stderr = run_main(color, ["train", "--out-dir", out], capsys)
    assert status == 2 and "--data-dir" in stderr
    status, _, stderr = run_main(
        color, ["train", "--dataset", "fashion_mnist", "--out-dir", out], capsys
    )
    assert status == 2 and "unrecognized arguments: --dataset" in stderr
    status, _, stderr = run_main(color, ["evaluate", "--out-dir", trained, "--n", "20"], capsys)
    assert status == 2 and "--n 20: too few samples to score" in stderr
    status, _, stderr = run_main(color, ["sample", "--out-dir", str(tmp_path / "none")], capsys)
    assert status == 2 and "train first" in stderr
    status, _, stderr = run_main(
        color, ["train", "--data-dir", pictures, "--out-dir", out, "--batch-size", "64"], capsys
    )
    assert status == 2 and "more than the 12 training images" in stderr


# ----- --augment: DiffAugment ---------------------------------------------------------------
def test_the_augmentations_shift_cut_and_recolour_each_picture_differently():
    keras.utils.set_random_seed(0)
    dot = np.zeros((64, 16, 16, 1), np.float32)
    dot[:, 8, 8, 0] = 1.0
    moved = color.translation(tf.constant(dot)).numpy()
    places = {tuple(np.argwhere(picture[..., 0] == 1.0)[0]) for picture in moved}
    assert len(places) > 10  # each picture its own shift ...
    assert all(abs(row - 8) <= 2 and abs(column - 8) <= 2 for row, column in places)  # <= 16/8
    ones = tf.ones((64, 16, 16, 3))
    cut = color.cutout(ones).numpy()
    # A square of half the side: a quarter of the picture, less where it leaves the picture.
    zeros = (cut[..., 0] == 0).reshape(64, -1).sum(axis=1)
    assert zeros.max() == 64 and 16 <= zeros.min() and len(set(zeros)) > 3
    pictures = tf.random.uniform((64, 16, 16, 3), -1, 1)
    recoloured = color.colour(pictures).numpy()
    assert recoloured.shape == (64, 16, 16, 3)
    spread = recoloured.reshape(64, -1).mean(axis=1)  # brightness differs from picture to picture
    assert np.std(spread) > 0.1


def test_augment_passes_the_generators_gradient_and_changes_every_picture_d_sees(
    monkeypatch, eagerly
):
    generator, discriminator = color.build_generator(64, 8), color.build_discriminator(64, 8)
    noise = tf.random.normal([4, color.NOISE_DIM])
    with tf.GradientTape() as tape:
        fakes = color.diff_augment(generator(noise, training=True))
        total = tf.reduce_sum(discriminator(fakes, training=True))
    gradients = tape.gradient(total, generator.trainable_variables)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in gradients)
    # In the step: D sees the real pictures and the fakes of both networks' updates augmented.
    seen = []
    monkeypatch.setattr(color, "diff_augment", lambda images: seen.append(images) or images)
    def optimizers():
        return built(color.make_optimizers(), generator, discriminator)

    step = color.make_train_step(generator, discriminator, *optimizers(), generator_steps=2,
                                 augment=True)
    step(tf.zeros([4, 64, 64, 3]))
    assert len(seen) == 1 + 1 + 2  # real, fake for D; a fake for each of G's two updates
    seen.clear()
    step = color.make_train_step(generator, discriminator, *optimizers())
    step(tf.zeros([4, 64, 64, 3]))
    assert not seen  # off by default: the article's step
