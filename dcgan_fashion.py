"""DCGAN on Fashion-MNIST: a convolutional generator learns to draw clothes from noise.

The generator turns 100 random numbers into a 28x28 image; the discriminator scores an image as
real (a Fashion-MNIST photo) or fake. Each step trains the discriminator to tell them apart and
the generator to fool it. Follows the TensorFlow DCGAN tutorial as the article "TensorFlow 1 to
2 (12): GANs and image generation" runs it on Fashion-MNIST (docs/articles.md). The networks are
the tutorial's, after Radford et al. 2015's DCGAN (arXiv 1511.06434): transposed convolutions
and batch norm in the generator as the paper, but LeakyReLU where the paper's generator has ReLU,
and dropout with no batch norm in the discriminator. Where this departs from the article: the
end of docs/articles.md's DCGAN section.

Usage:
    python dcgan_fashion.py train                 # 100 epochs as the article; resumes if stopped
    python dcgan_fashion.py train --epochs 5      # a short run (an epoch: 1 to 8 min on 2 cores)
    python dcgan_fashion.py train --recipe fast   # good samples sooner (see RECIPES)
    python dcgan_fashion.py                       # 16 samples from the latest checkpoint
    python dcgan_fashion.py evaluate              # how good: distances to real images
    python dcgan_fashion.py walk --seed 3         # a walk through the noise space: walk.gif
    python dcgan_fashion.py train --help          # every setting, from Settings below
"""

import common  # first: answers a mistyped command before TensorFlow's 15 s of loading
import dataclasses
import typing

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from common import cli, datasets, images, precision, progress, training

MODEL_NAME = "dcgan_fashion"  # its runs go to runs/dcgan_fashion


# ----------------------------------------------------------------------------------------------
# Settings: the article's values
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings(cli.RunSettings):
    """This lesson's settings, each a flag of `train` (`batch_size` -> `--batch-size`); the run's
    own (--out-dir, --seed, --devices, ...) are in common/cli.py's RunSettings."""

    epochs: int = 100
    """epochs of the run in all, resumed ones included (the article: EPOCHS = 100)"""
    batch_size: int = 256
    """images per batch (the article: BATCH_SIZE = 256)"""
    dataset: typing.Literal["fashion_mnist", "mnist", "folder"] = "fashion_mnist"
    """a built-in set, or 'folder' for your own pictures in --data-dir (the article:
    fashion_mnist)"""
    recipe: typing.Literal["article", "fast"] = "article"
    """'article': the article's optimizers; 'fast': the DCGAN paper's, and pictures from an averaged
    generator, for good samples sooner (see RECIPES)"""
    precision: typing.Literal[cli.PRECISIONS] = "auto"
    """number format of the layers. 'auto': bfloat16 where the hardware computes it fast (measured
    to train as well, and faster: docs/performance.md), else float32, the article's"""

    KEPT_ON_RESUME = ("dataset", "recipe", "precision")  # a resumed run goes on with its own


NOISE_DIM = 100  # the article: a noise vector of 100 numbers
NUM_FIXED = 16  # the article: 16 fixed noise vectors, drawn as a 4x4 grid every epoch
# --recipe: how the two networks are trained. The same networks and losses either way.
RECIPES = {
    "article": dict(
        learning_rate=1e-4,  # the article: Adam(1e-4) for each network,
        beta_1=0.9,  # with Keras's default momentum
        average_decay=None,  # the grids and samples come from the generator itself
    ),
    "fast": dict(
        # Radford et al. 2015, section 4: Adam(2e-4), and beta_1 = 0.5 because 0.9 "resulted in
        # training oscillation and instability".
        learning_rate=2e-4,
        beta_1=0.5,
        # Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training" (arXiv
        # 1806.04498): draw from a running average of the generator's weights, which smooths
        # the swings of the game (see update_average).
        average_decay=0.999,
    ),
}
# The curves of losses.png: one panel per list of log columns.
PLOT_PANELS = [("loss", ["d_loss", "g_loss"]), ("D output", ["D(x)", "D(G(z))"]),
               ("quality", ["fcd", "swd"])]


# ----------------------------------------------------------------------------------------------
# Data: Fashion-MNIST scaled to [-1, 1], in shuffled full batches
# ----------------------------------------------------------------------------------------------
def load_real_images(dataset, data_dir):
    """The training images as float32 (N, 28, 28, 1) in [-1, 1], and what and where they are."""
    pixels, source = datasets.load(dataset, "train", data_dir)  # uint8 (N, 28, 28), 0 = black
    # [0, 255] -> [-1, 1]: the generator ends in tanh, so real and fake images share a range.
    real_images = (pixels.astype(np.float32) - 127.5) / 127.5
    # (N, 28, 28, 1): one colour channel.
    return real_images[..., np.newaxis], f"{len(real_images):,} images, {source}"


def make_batches(real_images, batch_size, seed=None):
    """The tutorial's input pipeline: the images in a new random order every epoch, batched."""
    # On several machines (TF_CONFIG) each worker takes its own 1/N of the images and the batch.
    real_images, batch_size = datasets.worker_share(real_images, batch_size)
    return (
        tf.data.Dataset.from_tensor_slices(real_images)
        .shuffle(len(real_images), seed=seed)  # the tutorial's buffer: every image
        # Full batches only: the article's last batch of 96 real images against 256 fakes
        # would make TensorFlow trace the step a second time.
        .batch(batch_size, drop_remainder=True)
        .prefetch(1)  # the next batch made ready while a step runs
        .with_options(datasets.untuned())  # tf.data's tuning made epochs end late (datasets.py)
    )


# ----------------------------------------------------------------------------------------------
# Generator: noise (100) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------------
def build_generator():
    """Project the noise to a 7x7 feature map, then upsample twice with transposed convs."""
    # synchronized=True: with --devices N, batch norm's mean and variance span the images of
    # all devices, as one device's would; on one device it changes nothing.
    up = dict(kernel_size=5, padding="same", use_bias=False)  # 5x5, no bias: batch norm follows
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM,)),
            layers.Dense(7 * 7 * 256, use_bias=False),  # (B, 12544)
            layers.BatchNormalization(synchronized=True),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),  # (B, 7, 7, 256)
            layers.Conv2DTranspose(128, strides=1, **up),  # (B, 7, 7, 128)
            layers.BatchNormalization(synchronized=True),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, strides=2, **up),  # (B, 14, 14, 64)
            layers.BatchNormalization(synchronized=True),
            layers.LeakyReLU(),
            # tanh matches the data's [-1, 1]; in float32 even under --precision mixed_bfloat16.
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                   activation="tanh", dtype="float32"),  # (B, 28, 28, 1)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------------
# Discriminator: image (28, 28, 1) -> one logit (> 0 means "real")
# ----------------------------------------------------------------------------------------------
def build_discriminator():
    """Two strided convolutions with dropout, then a single linear output (no sigmoid)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),  # (B, 14, 14, 64)
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),  # (B, 7, 7, 128)
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),  # (B, 6272)
            layers.Dense(1, dtype="float32"),  # (B, 1) logits, float32 for the loss
        ],
        name="discriminator",
    )


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
def cross_entropy(labels, logits):
    """mean(-labels * log D - (1 - labels) * log(1 - D)) over the batch, with D = sigmoid(logits).

    From the logits, as the article's BinaryCrossentropy(from_logits=True): numerically safer
    than a sigmoid layer followed by log(). A plain mean (Keras's loss object would also divide
    by the number of devices; common/devices.py does that for every lesson alike).
    """
    return tf.reduce_mean(keras.losses.binary_crossentropy(labels, logits, from_logits=True))


def discriminator_loss(real_logits, fake_logits):
    """L_D = -mean(log D(x)) - mean(log(1 - D(G(z)))): call real images 1 and fakes 0."""
    real_loss = cross_entropy(tf.ones_like(real_logits), real_logits)
    fake_loss = cross_entropy(tf.zeros_like(fake_logits), fake_logits)
    return real_loss + fake_loss


def generator_loss(fake_logits):
    """L_G = -mean(log D(G(z))): make the discriminator call the fakes real (non-saturating)."""
    return cross_entropy(tf.ones_like(fake_logits), fake_logits)


# ----------------------------------------------------------------------------------------------
# Train step: one batch, both networks updated at once, as the article does
# ----------------------------------------------------------------------------------------------
def draw_noise(count):
    """z ~ N(0, 1): `count` fresh noise vectors."""
    return tf.random.normal([count, NOISE_DIM])


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer):
    @tf.function
    def train_step(real_images):
        noise = draw_noise(tf.shape(real_images)[0])  # fresh every step, one per real image
        # Two tapes record the same forward pass; each network takes the gradient of its loss.
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            g_loss = generator_loss(fake_logits)
            d_loss = discriminator_loss(real_logits, fake_logits)
        g_gradients = generator_tape.gradient(g_loss, generator.trainable_variables)
        d_gradients = discriminator_tape.gradient(d_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(g_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(d_gradients, discriminator.trainable_variables))
        # D's mean belief that an image is real, for the real images and for the fakes: both
        # drift towards 0.5 while neither network wins.
        return {"d_loss": d_loss, "g_loss": g_loss,
                "D(x)": tf.reduce_mean(tf.sigmoid(real_logits)),
                "D(G(z))": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return train_step


def make_optimizers(recipe):
    """One Adam for each network: each keeps the moment estimates of its own weights."""
    return (keras.optimizers.Adam(recipe["learning_rate"], beta_1=recipe["beta_1"]),
            keras.optimizers.Adam(recipe["learning_rate"], beta_1=recipe["beta_1"]))


def build_averaged_generator(generator):
    """A second generator that starts as a copy of `generator` and follows the running average
    of its weights (the fast recipe)."""
    averaged_generator = build_generator()
    averaged_generator.set_weights(generator.get_weights())
    return averaged_generator


@tf.function
def update_average(averaged_generator, generator, decay, step):
    """average = d * average + (1 - d) * weights, for every weight (batch norm's statistics too).

    d = min(decay, (1 + t) / (10 + t)) after generator update t, as TensorFlow's
    ExponentialMovingAverage with num_updates: a short memory while the weights are young
    (d = 0.99 at t = 890), so the average is not held back by the untrained generator.
    Keras's own optimizer EMA (use_ema=True) has no such warm-up and leaves batch norm's
    statistics out; it drew far worse pictures in the first epochs (docs/results.md).
    """
    step = tf.cast(step, tf.float32)
    decay = tf.minimum(decay, (1.0 + step) / (10.0 + step))
    for average, weight in zip(averaged_generator.weights, generator.weights):
        average.assign(decay * average + (1.0 - decay) * weight)


# ----------------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------------
def train(settings):
    """Train to settings.epochs epochs in all, resuming the run in settings.out_dir if any."""
    out_dir = training.start(settings)  # the seed, the number format, the devices; the folder
    recipe = RECIPES[settings.recipe]
    real_images, source = load_real_images(settings.dataset, settings.data_dir)
    batches = make_batches(real_images, settings.batch_size, settings.seed)
    generator, discriminator = build_generator(), build_discriminator()
    generator_optimizer, discriminator_optimizer = make_optimizers(recipe)
    averaged_generator = build_averaged_generator(generator) if recipe["average_decay"] else None
    shown_generator = averaged_generator or generator  # what the grids and `sample` draw
    fixed_noise = tf.Variable(draw_noise(NUM_FIXED), trainable=False)  # in the checkpoint too
    train_step = training.on_devices(  # as written; with --devices N, a share on each device
        make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer),
        [generator_optimizer, discriminator_optimizer])
    # What a resumed run needs (and `sample`: shown_generator), saved every epoch; 3 are kept.
    checkpoint = tf.train.Checkpoint(
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, shown_generator=shown_generator,
        fixed_noise=fixed_noise, epoch=tf.Variable(0, dtype=tf.int64, trainable=False))
    manager = tf.train.CheckpointManager(checkpoint, f"{out_dir}/checkpoints", max_to_keep=3)
    training.banner(settings, MODEL_NAME, [generator, discriminator], batches, source)
    # Restore the newest good checkpoint; forget grids and log rows after it; 0: a new run.
    finished = training.resume(checkpoint, out_dir, settings, MODEL_NAME)
    grid_path = out_dir + "/images/epoch_{:04d}.png"  # the grid of the fixed noise's images
    if finished == 0:  # the untrained generator's
        images.save_grid(shown_generator(fixed_noise, training=False), grid_path.format(0))

    for epoch in range(finished + 1, settings.epochs + 1):
        means = progress.RunningMeans()  # of each number the step returns; stops on a NaN
        for real_batch in training.epoch_batches(batches, epoch, means, settings):
            means.add(train_step(real_batch))
            if averaged_generator:
                update_average(averaged_generator, generator, recipe["average_decay"],
                               generator_optimizer.iterations)
        images.save_grid(shown_generator(fixed_noise, training=False), grid_path.format(epoch))
        training.log_epoch(out_dir, epoch, means, shown_generator, settings, PLOT_PANELS)  # log.csv
        checkpoint.epoch.assign(epoch)
        manager.save(checkpoint_number=epoch)  # last: a run stopped before it redoes the epoch
    images.write_gif(f"{out_dir}/images", f"{out_dir}/training.gif")
    precision.save_float32(shown_generator, f"{out_dir}/generator.keras")


# ----------------------------------------------------------------------------------------------
# Sampling, scoring and walking: common/commands.py, with this script's generator
# ----------------------------------------------------------------------------------------------
def judge_samples(discriminator, fake_images):
    """As the article does: ask the trained discriminator what it makes of new samples."""
    decision = tf.reduce_mean(tf.sigmoid(discriminator(fake_images, training=False)))
    return f"Discriminator's mean decision on them: {float(decision):.3f} (1 = real, 0 = fake)"


def main(argv=None):
    cli.main(argv, __doc__, Settings, MODEL_NAME, train, build_generator,
             judge=(build_discriminator, judge_samples))


if __name__ == "__main__":
    cli.run(main)
