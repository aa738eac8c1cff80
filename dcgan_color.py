"""DCGAN on your own colour pictures: a convolutional generator learns to paint pictures like yours.

Point it at a folder of photos (PNG, JPEG, BMP, GIF). The generator turns 100 random numbers into
a 64x64 (or 128x128) colour picture; the discriminator scores a picture as one of yours or one of
the generator's. Each step trains the discriminator once, then the generator twice. Follows the
second half of the article "GANs: history and overview" (docs/articles.md), which trains a DCGAN
on ImageNet's plant pictures at 128x128 for 250 epochs after the code it cites
(carpedm20/DCGAN-tensorflow); the networks are Radford et al. 2015's DCGAN (arXiv 1511.06434).
Where this departs from the article: docs/articles.md, its colour DCGAN section.

Usage:
    python benchmarks/emoji_folder.py runs/emoji                    # 3,926 colour emoji, to try
    python dcgan_color.py train --data-dir runs/emoji --epochs 10   # resumes if stopped
    python dcgan_color.py train --data-dir DIR --augment            # a few hundred pictures
    python dcgan_color.py train --data-dir DIR --image-size 128     # the article's size
    python dcgan_color.py train --data-dir DIR --width 32 --recipe fast --augment  # a laptop's hour
    python dcgan_color.py                                           # 16 samples, newest checkpoint
    python dcgan_color.py evaluate                                  # SWD, KID; is it copying?
    python dcgan_color.py walk --seed 3                             # a walk through the noise space
    python benchmarks/emoji_folder.py runs/emoji4 --groups          # faces/ animals/ food/ flags/
    python dcgan_color.py train --data-dir runs/emoji4 --classes --out-dir runs/emoji4_classes
    python dcgan_color.py sample --out-dir runs/emoji4_classes --label faces  # ask for a class
    python dcgan_color.py train --help                              # every setting, from Settings
"""

import common  # first: answers a mistyped command before TensorFlow's 15 s of loading
import dataclasses
import typing

import keras
import tensorflow as tf
from keras import layers

from common import cli, datasets, images, precision, progress, training

MODEL_NAME = "dcgan_color"  # its runs go to runs/dcgan_color


# ----------------------------------------------------------------------------------------------
# Settings: the article's values
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings(cli.RunSettings):
    """This lesson's settings, each a flag of `train` (`image_size` -> `--image-size`); the run's
    own (--out-dir, --seed, --devices, ...) are in common/cli.py's RunSettings."""

    data_dir: typing.Optional[str] = None
    """the folder of your pictures: PNG, JPEG, BMP or GIF files, sub-folders included (needed)"""
    epochs: int = 250
    """epochs of the run in all, resumed ones included (the article: 250)"""
    batch_size: int = 64
    """pictures per batch (the cited code: batch_size = 64; the article does not say)"""
    image_size: typing.Literal[64, 128] = 64
    """side of the pictures in pixels (the article: 128; the cited code's usual example: 64, a
    quarter of the arithmetic)"""
    width: int = 64
    """channels of the layers next to the picture, doubled at each stage inwards (the cited code:
    gf_dim = df_dim = 64; 32 is a quarter of the arithmetic)"""
    generator_steps: int = 2
    """generator updates per discriminator update (the article: 2, "to keep the discriminator's
    loss from going to zero")"""
    augment: bool = False
    """DiffAugment: the discriminator sees every picture, real or fake alike, through random
    changes of colour, place and a cut-out square (see diff_augment; the article: none)"""
    classes: bool = False
    """the sub-folders of --data-dir are the classes (cats/, dogs/): the generator is asked for
    one and `sample --label cats` draws it (the add-on section "Classes"; the article: none)"""
    recipe: typing.Literal["article", "fast"] = "article"
    """'fast' draws the grids and samples from an averaged generator (see RECIPES)"""
    precision: typing.Literal[cli.PRECISIONS] = "float32"
    """number format of the layers (float32, not 'auto': in bfloat16 the averaged generator's
    pictures scored worse at every epoch measured, though faster: docs/performance.md)"""

    # A resumed run goes on with its own values of these (the networks' shapes among them).
    KEPT_ON_RESUME = ("image_size", "width", "generator_steps", "augment", "recipe", "precision",
                      "classes")


NOISE_DIM = 100  # the cited code: z_dim = 100
NUM_FIXED = 16  # 16 fixed noise vectors, drawn as a 4x4 grid every epoch, as the other scripts
PER_CLASS = 8  # with --classes, a grid row per class: the first 8 fixed noise vectors drawn as it
CHANNELS = 3  # red, green, blue
LEARNING_RATE = 2e-4  # the article: Adam with learning rate 0.0002 for both networks
# The DCGAN paper, section 4 (and the cited code): 0.9 "resulted in training oscillation".
BETA_1 = 0.5
LEAKY_SLOPE = 0.2  # the DCGAN paper: LeakyReLU with slope 0.2 in the discriminator
# The cited code's batch norm: momentum 0.9 and epsilon 1e-5 (Keras's defaults: 0.99, 1e-3).
# synchronized=True: with --devices N, its mean and variance span the pictures of all devices,
# as one device's would; on one device it changes nothing.
BATCH_NORM = dict(momentum=0.9, epsilon=1e-5, synchronized=True)
# --recipe article (the default) or --recipe fast: the same networks, losses and optimizers.
RECIPES = {
    "article": dict(average_decay=None),  # the grids and samples come from the generator itself
    # Yazici et al. 2019 (arXiv 1806.04498), as dcgan_fashion.py's fast recipe: pictures drawn
    # from a running average of the generator's weights (see update_average).
    "fast": dict(average_decay=0.999),
}
# The curves of losses.png: the article plots D's loss on real and on fake pictures, D's
# total and G's loss, four curves; and D's mean output, as the other scripts.
PLOT_PANELS = [
    ("discriminator loss", ["d_loss", "d_loss_real", "d_loss_fake"]),
    ("generator loss", ["g_loss"]),
    ("D output", ["D(x)", "D(G(z))"]),
    ("quality, SWD x1e3", ["swd"]),  # with --eval-every (common/folder_scores.py)
    ("quality, KID x1e3", ["kid"]),
]


# ----------------------------------------------------------------------------------------------
# Data: your pictures, kept as uint8, scaled to [-1, 1] one batch at a time
# ----------------------------------------------------------------------------------------------
def load_pictures(data_dir, image_size, out_dir, classes=False):
    """(pictures, labels, names, source). The pictures: every one under data_dir as uint8 (N,
    size, size, 3), RGB, the centre square, resized (with --classes, those in its sub-folders).
    Without --classes, labels is None and names (); with it, names are the sub-folders' (sorted)
    and labels each picture's class: int32 (N,), its sub-folder's place in names. The source
    says what and where they are, for the banner. The decoded pictures are cached in out_dir,
    and stay uint8 until a batch is taken: 50,000 pictures of 64x64 take 0.6 GB, where float32
    would take 2.4 GB."""
    if classes:
        return datasets.load_folder_classes(data_dir, image_size, colour=True, cache_dir=out_dir)
    pictures, source = datasets.load_folder(data_dir, image_size, colour=True, cache_dir=out_dir)
    return pictures, None, (), f"{len(pictures):,} pictures, {source}"


def make_batches(pictures, batch_size, seed=None, labels=None):
    """The input pipeline: the pictures in a new random order every epoch, in full batches,
    each scaled to [-1, 1] as it is taken; with --classes, each picture's label beside it."""
    # On several machines (TF_CONFIG) each worker takes its own 1/N of the pictures and batch.
    pictures, share = datasets.worker_share(pictures, batch_size)
    count = len(pictures)  # this worker's
    if labels is not None:  # --classes: pairs (picture, label), sliced as the pictures
        pictures = (pictures, datasets.worker_share(labels, batch_size)[0])
    return (
        tf.data.Dataset.from_tensor_slices(pictures)
        .shuffle(count, seed=seed)
        .batch(share, drop_remainder=True)  # full batches: one shape, one trace of the step
        .map(scale)
        .prefetch(1)  # the next batch made ready while a step runs
        .with_options(datasets.untuned())  # tf.data's tuning made epochs end late (datasets.py)
    )


def scale(batch, labels=None):
    """uint8 (B, size, size, 3) in [0, 255] -> float32 in [-1, 1]: the generator ends in tanh,
    so real and fake pictures share a range. (Labels, with --classes, pass unchanged.)"""
    batch = (tf.cast(batch, tf.float32) - 127.5) / 127.5
    return batch if labels is None else (batch, labels)


# ----------------------------------------------------------------------------------------------
# Generator: noise (100; with --classes, + the class's one-hot) -> picture (size, size, 3)
# ----------------------------------------------------------------------------------------------
def dcgan_init():
    """A layer's starting weights as the DCGAN paper draws them: "All weights were initialized
    from a zero-centered Normal distribution with standard deviation 0.02." A new initializer for
    each layer, made once --seed is set: one shared initializer would give layers of the same
    shape the same numbers (G's and D's 5x5 kernels), from a seed drawn when this file is
    imported, whatever --seed says."""
    return dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))


def build_generator(image_size=64, width=64, class_names=()):
    """One linear layer to a small stack of feature maps, then four transposed convolutions,
    each doubling the side: size/16 -> size (4 -> 64 pixels, or 8 -> 128). Batch norm on every
    layer but the last.

    In the shape comments B is the batch, size is --image-size and width is --width. At the
    defaults (64 pixels, width 64) the maps go from 4x4 with 512 channels to 32x32 with 64, then
    the 64x64 picture's 3; at 128 pixels each side is twice as long, with the same channels.
    With --classes it reads the one-hot of the class after the noise (generator_input, below).
    """
    first_side = image_size // 16  # four doublings reach the picture's side: 4 for 64, 8 for 128
    # 5x5 kernels, each doubling the side; no bias where batch norm follows (it would cancel it).
    up = dict(kernel_size=5, strides=2, padding="same", use_bias=False)
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM + len(class_names),)),  # (B, 100) without classes
            # (B, size/16 * size/16 * width*8): 8,192 numbers at the defaults
            layers.Dense(first_side * first_side * width * 8, use_bias=False, **dcgan_init()),
            layers.Reshape((first_side, first_side, width * 8)),  # (B, size/16, size/16, width*8)
            layers.BatchNormalization(**BATCH_NORM),
            layers.ReLU(),  # the DCGAN paper: ReLU in the generator, tanh at its output
            layers.Conv2DTranspose(width * 4, **up, **dcgan_init()),  # (B, size/8, size/8, width*4)
            layers.BatchNormalization(**BATCH_NORM),
            layers.ReLU(),
            layers.Conv2DTranspose(width * 2, **up, **dcgan_init()),  # (B, size/4, size/4, width*2)
            layers.BatchNormalization(**BATCH_NORM),
            layers.ReLU(),
            layers.Conv2DTranspose(width, **up, **dcgan_init()),  # (B, size/2, size/2, width)
            layers.BatchNormalization(**BATCH_NORM),
            layers.ReLU(),
            # tanh matches the data's [-1, 1]; in float32 even under --precision mixed_bfloat16.
            layers.Conv2DTranspose(CHANNELS, 5, strides=2, padding="same", activation="tanh",
                                   dtype="float32", **dcgan_init()),  # (B, size, size, 3)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------------
# Discriminator: picture (size, size, 3) (with --classes, and its label) -> one logit (> 0: real)
# ----------------------------------------------------------------------------------------------
def build_discriminator(image_size=64, width=64, class_names=()):
    """Four strided convolutions, each halving the side, with LeakyReLU, then one linear output.
    Batch norm on all but the first (the DCGAN paper leaves it off D's input layer).

    The shapes mirror the generator's (B the batch, size --image-size, width --width): at the
    defaults, 64x64 pictures with 3 channels to 32x32 with 64, then to 4x4 with 512. With
    --classes, the one logit also reads the picture's class (with_projection, below).
    """
    down = dict(kernel_size=5, strides=2, padding="same", use_bias=False)  # halves the side
    discriminator = keras.Sequential(
        [
            keras.Input(shape=(image_size, image_size, CHANNELS)),
            # (B, size/2, size/2, width); with a bias, as no batch norm follows
            layers.Conv2D(width, 5, strides=2, padding="same", **dcgan_init()),
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Conv2D(width * 2, **down, **dcgan_init()),  # (B, size/4, size/4, width*2)
            layers.BatchNormalization(**BATCH_NORM),
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Conv2D(width * 4, **down, **dcgan_init()),  # (B, size/8, size/8, width*4)
            layers.BatchNormalization(**BATCH_NORM),
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Conv2D(width * 8, **down, **dcgan_init()),  # (B, size/16, size/16, width*8)
            layers.BatchNormalization(**BATCH_NORM),
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Flatten(),  # (B, size/16 * size/16 * width*8): 8,192 at the defaults
            layers.Dense(1, dtype="float32", **dcgan_init()),  # (B, 1) logits, in float32
        ],
        name="discriminator",
    )
    return with_projection(discriminator, len(class_names)) if class_names else discriminator


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
def cross_entropy(labels, logits):
    """mean(-labels * log D - (1 - labels) * log(1 - D)) over the batch, with D = sigmoid(logits),
    computed from the logits: numerically safer than a sigmoid layer followed by log()."""
    return tf.reduce_mean(keras.losses.binary_crossentropy(labels, logits, from_logits=True))


def discriminator_losses(real_logits, fake_logits):
    """L_D = L_real + L_fake, with L_real = -mean(log D(x)) (call real pictures 1) and
    L_fake = -mean(log(1 - D(G(z)))) (call fakes 0). Returned apart: the article plots both."""
    real_loss = cross_entropy(tf.ones_like(real_logits), real_logits)
    fake_loss = cross_entropy(tf.zeros_like(fake_logits), fake_logits)
    return real_loss, fake_loss


def generator_loss(fake_logits):
    """L_G = -mean(log D(G(z))): make the discriminator call the fakes real (non-saturating)."""
    return cross_entropy(tf.ones_like(fake_logits), fake_logits)


# ----------------------------------------------------------------------------------------------
# Train step: one discriminator update, then `generator_steps` generator updates
# ----------------------------------------------------------------------------------------------
def draw_noise(count):
    """z ~ N(0, 1): `count` fresh noise vectors."""
    return tf.random.normal([count, NOISE_DIM])


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    generator_steps=2, augment=False):
    # What the discriminator sees of every picture, real or fake: the picture itself, or with
    # --augment a randomly changed copy (diff_augment, in the add-on section after the loop).
    discriminator_view = diff_augment if augment else tf.identity
    num_classes = generator.input_shape[-1] - NOISE_DIM  # 0 without --classes

    def judge(pictures, labels):  # D's logits: D(view(x)), or with --classes D(view(x), label)
        seen = discriminator_view(pictures)
        return discriminator(seen if labels is None else [seen, labels], training=True)

    @tf.function
    def train_step(batch):
        # Without --classes a batch is the pictures, the labels are None, generator_input is the
        # noise itself: the article's step. With it, a batch is (pictures, labels), and the
        # fakes are asked for the batch's own labels (their noise is fresh, so nothing pairs
        # them with the real pictures): as many fakes of each class as real pictures, even
        # where sub-folders hold unequal numbers. (cgan_fashion.py draws them uniformly.)
        real_images, real_labels = batch if num_classes else (batch, None)
        fake_labels = real_labels
        batch_size = tf.shape(real_images)[0]
        # A tape and an optimizer per network, as the cited code's two Adams with a var_list
        # each; not `discriminator.trainable = False` in a combined model (the MLP article's):
        # Keras 3 reads that flag when a model's train step is first built, so that
        # discriminator would not learn in its own updates either (docs/articles.md).

        # The discriminator: real pictures against the generator's fakes from fresh noise.
        with tf.GradientTape() as discriminator_tape:
            # The fakes are made inside this tape only so that the update reads as one forward
            # pass: its gradient is taken for D's weights alone, so none reaches the generator,
            # and fakes made before the tape would train D the same.
            noise = generator_input(draw_noise(batch_size), fake_labels, num_classes)
            fake_images = generator(noise, training=True)
            real_logits = judge(real_images, real_labels)
            fake_logits = judge(fake_images, fake_labels)
            d_loss_real, d_loss_fake = discriminator_losses(real_logits, fake_logits)
            d_loss = d_loss_real + d_loss_fake
        gradients = discriminator_tape.gradient(d_loss, discriminator.trainable_variables)
        discriminator_optimizer.apply_gradients(zip(gradients, discriminator.trainable_variables))
        # The generator, twice (the article): each update draws new noise and faces the
        # discriminator just updated. (The D(G(z)) logged is from the fakes of D's update.)
        g_loss = 0.0
        for _ in range(generator_steps):  # a Python loop: traced once, the updates in order
            with tf.GradientTape() as generator_tape:
                # Here the fakes must be made inside the tape: the gradient for G's weights runs
                # back through D (and diff_augment) into the generator; D's are not asked for.
                noise = generator_input(draw_noise(batch_size), fake_labels, num_classes)
                loss = generator_loss(judge(generator(noise, training=True), fake_labels))
            gradients = generator_tape.gradient(loss, generator.trainable_variables)
            generator_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
            g_loss += loss / generator_steps  # the mean over the generator's updates
        return {"d_loss": d_loss, "d_loss_real": d_loss_real, "d_loss_fake": d_loss_fake,
                "g_loss": g_loss, "D(x)": tf.reduce_mean(tf.sigmoid(real_logits)),
                "D(G(z))": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return train_step


def make_optimizers():
    """Adam(2e-4, beta_1=0.5) for each network: each keeps the moments of its own weights."""
    return (keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
            keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))


def build_averaged_generator(generator, image_size, width, class_names):
    """A second generator that starts as a copy of `generator` and follows the running average
    of its weights (the fast recipe)."""
    averaged_generator = build_generator(image_size, width, class_names)
    averaged_generator.set_weights(generator.get_weights())
    return averaged_generator


@tf.function
def update_average(averaged_generator, generator, decay, step):
    """average = d * average + (1 - d) * weights, for every weight (batch norm's statistics too),
    d = min(decay, (1 + t) / (10 + t)) after generator update t: short memory while young."""
    step = tf.cast(step, tf.float32)
    decay = tf.minimum(decay, (1.0 + step) / (10.0 + step))
    for average, weight in zip(averaged_generator.weights, generator.weights):
        average.assign(decay * average + (1.0 - decay) * weight)


# ----------------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------------
def save_epoch_grid(generator, fixed_noise, class_names, path):
    """The TensorFlow tutorial's generate_and_save_images: the fixed noise's pictures, a 4x4
    grid; with --classes one row per class, the first PER_CLASS noise vectors drawn as each."""
    if not class_names:
        return images.save_grid(generator(fixed_noise, training=False), path)
    classes = len(class_names)
    labels = tf.repeat(tf.range(classes), PER_CLASS)  # 0 x 8, then 1 x 8, ...: row k, class k
    noise = generator_input(tf.tile(fixed_noise[:PER_CLASS], [classes, 1]), labels, classes)
    return images.save_grid(generator(noise, training=False), path, columns=PER_CLASS)


def train(settings):
    """Train to settings.epochs epochs in all, resuming the run in settings.out_dir if any."""
    out_dir = training.start(settings)  # the seed, the number format, the devices; the folder
    pictures, labels, names, source = load_pictures(  # with --classes: labels, names; else None, ()
        settings.data_dir, settings.image_size, settings.out_dir, settings.classes)
    batches = make_batches(pictures, settings.batch_size, settings.seed, labels)
    network_args = (settings.image_size, settings.width, names)  # side, width, class names
    generator, discriminator = build_generator(*network_args), build_discriminator(*network_args)
    generator_optimizer, discriminator_optimizer = make_optimizers()
    decay = RECIPES[settings.recipe]["average_decay"]  # of the averaged generator, if any
    averaged_generator = build_averaged_generator(generator, *network_args) if decay else None
    shown_generator = averaged_generator or generator  # what the grids and `sample` draw
    fixed_noise = tf.Variable(draw_noise(NUM_FIXED), trainable=False)  # in the checkpoint too
    train_step = training.on_devices(make_train_step(  # as written; --devices N: a share on each
        generator, discriminator, generator_optimizer, discriminator_optimizer,
        settings.generator_steps, settings.augment), [generator_optimizer, discriminator_optimizer])
    # What a resumed run needs (and `sample`: shown_generator), saved every epoch; 3 are kept.
    checkpoint = tf.train.Checkpoint(
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, shown_generator=shown_generator,
        fixed_noise=fixed_noise, epoch=tf.Variable(0, dtype=tf.int64, trainable=False))
    manager = tf.train.CheckpointManager(checkpoint, f"{out_dir}/checkpoints", max_to_keep=3)
    training.banner(settings, MODEL_NAME, [generator, discriminator], batches, source)
    # Restore the newest good checkpoint; forget grids and log rows after it; 0: a new run.
    finished = training.resume(checkpoint, out_dir, settings, MODEL_NAME)
    grid_path = out_dir + "/images/epoch_{:04d}.png"  # the grid of the fixed noise's pictures
    if finished == 0:  # the untrained generator's
        save_epoch_grid(shown_generator, fixed_noise, names, grid_path.format(0))
    for epoch in range(finished + 1, settings.epochs + 1):
        means = progress.RunningMeans()  # of each number the step returns; stops on a NaN
        for batch in training.epoch_batches(batches, epoch, means, settings):
            means.add(train_step(batch))
            if averaged_generator:
                update_average(averaged_generator, generator, decay, generator_optimizer.iterations)
        save_epoch_grid(shown_generator, fixed_noise, names, grid_path.format(epoch))
        training.log_epoch(out_dir, epoch, means, shown_generator, settings, PLOT_PANELS)
        checkpoint.epoch.assign(epoch)
        manager.save(checkpoint_number=epoch)  # last: a run stopped before it redoes the epoch
    images.write_gif(f"{out_dir}/images", f"{out_dir}/training.gif")
    precision.save_float32(shown_generator, f"{out_dir}/generator.keras")


# ----------------------------------------------------------------------------------------------
# Add-on: DiffAugment (--augment), for folders of a few hundred pictures (the article has none);
# the train step applies it through `discriminator_view`
# ----------------------------------------------------------------------------------------------
def diff_augment(images):
    """Random changes of colour, place and a cut-out square, made of differentiable operations so
    that the generator's gradient passes through them (Zhao et al. 2020, arXiv 2006.10738).

    With few pictures the discriminator learns them by heart (D(x) -> 1, D(G(z)) -> 0) and the
    generator's gradient fades. A discriminator that sees each picture changed anew at every
    step cannot. The changes are made to the fakes too, in both updates: augment only the real
    pictures and the generator learns to draw the changes (shifted, cut-out pictures).
    """
    return cutout(translation(colour(images)))


def colour(images):
    """Per picture: brightness + [-0.5, 0.5], saturation x [0, 2], contrast x [0.5, 1.5]."""
    per_picture = [tf.shape(images)[0], 1, 1, 1]  # the shape of one random number per picture
    images = images + tf.random.uniform(per_picture, -0.5, 0.5)
    grey = tf.reduce_mean(images, axis=3, keepdims=True)  # each pixel's mean of red, green, blue
    images = (images - grey) * tf.random.uniform(per_picture, 0.0, 2.0) + grey
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * tf.random.uniform(per_picture, 0.5, 1.5) + mean


def translation(images, ratio=1 / 8):
    """Shift each picture by up to `ratio` of its side each way; what comes in is 0 (grey)."""
    size, batch_size = images.shape[1], tf.shape(images)[0]
    max_shift = round(size * ratio)  # in pixels: 8 at 64 px
    padded = tf.pad(images, [[0, 0], [max_shift, max_shift], [max_shift, max_shift], [0, 0]])
    # Where each picture's window starts in `padded`, row and column (max_shift: not moved).
    window_starts = tf.random.uniform([batch_size, 2], 0, 2 * max_shift + 1, dtype=tf.int32)
    rows = window_starts[:, :1] + tf.range(size)  # (B, size): the rows of `padded` it keeps
    columns = window_starts[:, 1:] + tf.range(size)
    images = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(images, columns, axis=2, batch_dims=1)


def cutout(images, ratio=1 / 2):
    """Set a square of `ratio` of the side, at a random place in each picture, to 0 (grey)."""
    size, batch_size = images.shape[1], tf.shape(images)[0]
    half_side = round(size * ratio) // 2  # of the square: 16 at 64 px
    centres = tf.random.uniform([batch_size, 2, 1], 0, size, dtype=tf.int32)  # row, column
    # (B, 2, size): which rows (0) and which columns (1) the square covers.
    covered = (tf.range(size) >= centres - half_side) & (tf.range(size) < centres + half_side)
    in_square = covered[:, 0, :, None] & covered[:, 1, None, :]  # (B, size, size)
    return images * (1.0 - tf.cast(in_square, images.dtype))[..., None]


# ----------------------------------------------------------------------------------------------
# Add-on: classes (--classes), the sub-folders of --data-dir (the article has none): a
# conditional GAN as cgan_fashion.py's, whose notes say more; the step gives the generator its
# input through generator_input, the discriminator its pair through `judge`
# ----------------------------------------------------------------------------------------------
def generator_input(noise, labels, classes):
    """[noise | one-hot label]: (B, 100 + classes), as cgan_fashion.py's; without labels (None),
    the noise alone."""
    if labels is None:
        return noise
    return tf.concat([noise, tf.one_hot(labels, classes)], axis=1)


def with_projection(discriminator, classes):
    """The discriminator made to judge a picture with its class: cgan_fashion.py's projection
    (Miyato and Koyama 2018, arXiv 1802.05637). Its layers but the last turn a picture into
    features f (8,192 at the defaults); the logit is the last layer's w.f + b ("does it look
    real?") plus e_y.f ("does it look like class y?"), e_y a vector learnt for each class."""
    features = keras.Model(discriminator.inputs, discriminator.layers[-2].output, name="features")
    pictures = keras.Input(shape=discriminator.input_shape[1:])
    labels = keras.Input(shape=(), dtype="int32")
    f = features(pictures)  # (B, size/16 * size/16 * width*8)
    looks_real = discriminator.layers[-1](f)  # (B, 1): the article's Dense, w.f + b
    class_vector = layers.Embedding(classes, f.shape[-1],  # e_y: Glorot-uniform, cgan_fashion's
                                    embeddings_initializer="glorot_uniform")(labels)
    looks_like_class = layers.Dot(axes=1, dtype="float32")([class_vector, f])  # (B, 1): e_y.f
    logits = layers.Add(dtype="float32")([looks_real, looks_like_class])
    return keras.Model([pictures, labels], logits, name="discriminator")


# ----------------------------------------------------------------------------------------------
# Sampling, scoring and walking: common/commands.py, with this script's generator (`evaluate`
# on a folder: SWD and KID beside their floor band, and the copy check: common/folder_scores.py)
# ----------------------------------------------------------------------------------------------
def main(argv=None):
    cli.main(argv, __doc__, Settings, MODEL_NAME, train, build_generator)


if __name__ == "__main__":
    cli.run(main)
