"""The original GAN with fully connected networks: a generator learns to write digits.

The generator maps 100 random numbers through three hidden Dense layers to a 28x28 image; the
discriminator, two hidden Dense layers, scores how likely an image is real (a logit: its sigmoid
is the probability). They are trained in turn: the discriminator on real and fake images, then
the generator to make the discriminator call its fakes real. Follows the article "GAN and its
Keras implementation" (docs/articles.md), after Goodfellow et al. 2014, "Generative Adversarial
Nets" (arXiv 1406.2661), with the code of the Keras GAN collection that the article takes its
networks from. Where this departs from the article: docs/articles.md, its MLP GAN section.

Usage:
    python mlp_gan_keras.py train                          # MNIST (downloaded by Keras)
    python mlp_gan_keras.py train --dataset fashion_mnist  # works offline with Debian's files
    python mlp_gan_keras.py train --loss minimax           # Goodfellow's minimax generator loss
    python mlp_gan_keras.py                                # 16 samples from the latest checkpoint
    python mlp_gan_keras.py evaluate                       # how good: distances to real images
    python mlp_gan_keras.py walk --seed 3                  # a walk through the noise space
    python mlp_gan_keras.py train --help                   # every setting, from Settings below
"""

import common  # first: answers a mistyped command before TensorFlow's 15 s of loading
import dataclasses
import typing

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from common import cli, datasets, images, precision, progress, training

MODEL_NAME = "mlp_gan"  # its runs go to runs/mlp_gan


# ----------------------------------------------------------------------------------------------
# Settings: the article's values
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings(cli.RunSettings):
    """This lesson's settings, each a flag of `train` (`batch_size` -> `--batch-size`); the run's
    own (--out-dir, --seed, ...) are in common/cli.py's RunSettings."""

    epochs: int = 30
    """epochs of the run in all, resumed ones included (our choice: 1.8M images, about twice what
    the Keras GAN collection trains; docs/lessons.md, "Why 30")"""
    batch_size: int = 128
    """images per batch ("GAN in practice": 128; the article leaves it out)"""
    dataset: typing.Literal["mnist", "fashion_mnist", "folder"] = "mnist"
    """a built-in set, or 'folder' for your own pictures in --data-dir (the Keras GAN collection
    and "GAN in practice": MNIST)"""
    loss: typing.Literal["non-saturating", "minimax"] = "non-saturating"
    """the generator's loss: 'non-saturating' maximises log D(G(z)), as Goodfellow et al. advise in
    practice; 'minimax' minimises log(1 - D(G(z))), the game of their Algorithm 1"""
    precision: typing.Literal[cli.PRECISIONS] = "float32"
    """number format of the layers (float32, not 'auto': bfloat16 trains as well here but no
    faster, since this small network's step is too short for 16-bit arithmetic to pay)"""

    KEPT_ON_RESUME = ("dataset", "loss", "precision")  # a resumed run goes on with its own


NOISE_DIM = 100  # the Keras GAN collection: latent_dim = 100 ("GAN in practice": 100 too)
LEARNING_RATE = 2e-4  # Keras GAN collection: Adam(0.0002, 0.5); "GAN in practice": 2e-4
BETA_1 = 0.5  # a shorter momentum memory: the target moves as the other network learns
NUM_FIXED = 16  # 16 fixed noise vectors, drawn as a 4x4 grid every epoch
# The curves of losses.png: one panel per list of log columns.
PLOT_PANELS = [("loss", ["d_loss", "g_loss"]), ("D output", ["D(x)", "D(G(z))"]),
               ("quality", ["fcd", "swd"])]


# ----------------------------------------------------------------------------------------------
# Data: MNIST or Fashion-MNIST scaled to [-1, 1], in shuffled full batches
# ----------------------------------------------------------------------------------------------
def load_real_images(dataset, data_dir):
    """The training images as float32 (N, 28, 28, 1) in [-1, 1], and what and where they are."""
    pixels, source = datasets.load(dataset, "train", data_dir)  # uint8 (N, 28, 28), 0 = black
    # [0, 255] -> [-1, 1]: the generator ends in tanh, so real and fake images share a range.
    real_images = (pixels.astype(np.float32) - 127.5) / 127.5
    # (N, 28, 28, 1): one colour channel.
    return real_images[..., np.newaxis], f"{len(real_images):,} images, {source}"


def make_batches(real_images, batch_size, seed=None):
    """The input pipeline: the images in a new random order every epoch, in full batches."""
    # On several machines (TF_CONFIG) each worker takes its own 1/N of the images and the batch.
    real_images, batch_size = datasets.worker_share(real_images, batch_size)
    return (
        tf.data.Dataset.from_tensor_slices(real_images)
        .shuffle(len(real_images), seed=seed)
        .batch(batch_size, drop_remainder=True)  # full batches: one shape, one trace of the step
        .prefetch(1)  # the next batch made ready while a step runs
        .with_options(datasets.untuned())  # tf.data's tuning made epochs end late (datasets.py)
    )


# ----------------------------------------------------------------------------------------------
# Generator: noise (100) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------------
def build_generator():
    """Three widening Dense layers, each LeakyReLU(0.2) then BatchNormalization(momentum=0.8)."""
    # synchronized=True: with --devices N, batch norm's mean and variance span the images of
    # all devices, as one device's would; on one device it changes nothing.
    norm = dict(momentum=0.8, synchronized=True)
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM,)),
            layers.Dense(256),  # (B, 256)
            layers.LeakyReLU(negative_slope=0.2),
            layers.BatchNormalization(**norm),
            layers.Dense(512),  # (B, 512)
            layers.LeakyReLU(negative_slope=0.2),
            layers.BatchNormalization(**norm),
            layers.Dense(1024),  # (B, 1024)
            layers.LeakyReLU(negative_slope=0.2),
            layers.BatchNormalization(**norm),
            layers.Dense(28 * 28, activation="tanh", dtype="float32"),  # (B, 784) in [-1, 1]
            layers.Reshape((28, 28, 1)),  # (B, 28, 28, 1)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------------
# Discriminator: image (28, 28, 1) -> one logit; D(x) = sigmoid(logit)
# ----------------------------------------------------------------------------------------------
def build_discriminator():
    """Flatten, two narrowing Dense layers with LeakyReLU(0.2), one output.

    The article ends in Dense(1, activation="sigmoid"). We keep the logit and let the loss
    apply the sigmoid: the same D, computed without log(0) when D is very sure.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Flatten(),  # (B, 784)
            layers.Dense(512),  # (B, 512)
            layers.LeakyReLU(negative_slope=0.2),
            layers.Dense(256),  # (B, 256)
            layers.LeakyReLU(negative_slope=0.2),
            layers.Dense(1, dtype="float32"),  # (B, 1) logit
        ],
        name="discriminator",
    )


# ----------------------------------------------------------------------------------------------
# Losses, on logits: log D = -softplus(-logit), log(1 - D) = -softplus(logit)
# ----------------------------------------------------------------------------------------------
def discriminator_loss(real_logits, fake_logits):
    """L_D = -mean(log D(x)) - mean(log(1 - D(G(z)))): binary cross-entropy, real = 1, fake = 0."""
    real_loss = tf.reduce_mean(tf.nn.softplus(-real_logits))  # -mean(log D(x))
    fake_loss = tf.reduce_mean(tf.nn.softplus(fake_logits))  # -mean(log(1 - D(G(z))))
    return real_loss + fake_loss


def generator_loss_non_saturating(fake_logits):
    """L_G = -mean(log D(G(z))): strong gradients exactly when D rejects the fakes."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def generator_loss_minimax(fake_logits):
    """L_G = mean(log(1 - D(G(z)))), the minimax game itself.

    When D confidently rejects the fakes, D(G(z)) ~ 0 and this loss is flat (its gradient
    vanishes): the generator learns slowly just when it is worst. Goodfellow et al. 2014
    (section 3) say so, and advise the non-saturating loss in practice.
    """
    return -tf.reduce_mean(tf.nn.softplus(fake_logits))


GENERATOR_LOSSES = {"non-saturating": generator_loss_non_saturating,
                    "minimax": generator_loss_minimax}


# ----------------------------------------------------------------------------------------------
# Train step: the discriminator first, then the generator, as the article alternates them
# ----------------------------------------------------------------------------------------------
def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    generator_loss):
    # XLA fuses this step's many small ops, which makes it faster on a CPU; the DCGAN's step
    # gained nothing from it and WGAN-GP's lost, so they go without (docs/performance.md).
    @tf.function(jit_compile=True)
    def train_step(real_images):
        batch_size = tf.shape(real_images)[0]
        # A tape and an optimizer per network, where the article freezes D with
        # `discriminator.trainable = False` in a combined model: Keras 3 reads that flag when a
        # model's train step is first built, so the article's discriminator would not learn in
        # its own updates either (docs/articles.md). A tape's gradient names the weights it moves.

        # 1. The discriminator: real images should score 1, fresh fakes 0.
        noise = tf.random.normal([batch_size, NOISE_DIM])  # z ~ N(0, 1)
        with tf.GradientTape() as tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits)
        gradients = tape.gradient(d_loss, discriminator.trainable_variables)
        discriminator_optimizer.apply_gradients(zip(gradients, discriminator.trainable_variables))

        # 2. The generator: new fakes, judged by the discriminator just updated.
        noise = tf.random.normal([batch_size, NOISE_DIM])
        with tf.GradientTape() as tape:
            g_fake_logits = discriminator(generator(noise, training=True), training=True)
            g_loss = generator_loss(g_fake_logits)
        gradients = tape.gradient(g_loss, generator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))

        return {"d_loss": d_loss, "g_loss": g_loss, "D(x)": tf.reduce_mean(tf.sigmoid(real_logits)),
                "D(G(z))": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return train_step


def make_optimizers():
    """Adam(2e-4, beta_1=0.5) for the generator and for the discriminator: two optimizers,
    so that each keeps the moment estimates of its own network's weights."""
    return (keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
            keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))


# ----------------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------------
def train(settings):
    """Train to settings.epochs epochs in all, resuming the run in settings.out_dir if any."""
    out_dir = training.start(settings)  # the seed, the number format, the devices; the folder
    real_images, source = load_real_images(settings.dataset, settings.data_dir)
    batches = make_batches(real_images, settings.batch_size, settings.seed)
    generator, discriminator = build_generator(), build_discriminator()
    generator_optimizer, discriminator_optimizer = make_optimizers()
    # The same 16 noise vectors every epoch, so the grids and the GIF show one set of images.
    fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    generator_loss = GENERATOR_LOSSES[settings.loss]
    train_step = training.on_devices(  # as written; with --devices N, a share on each device
        make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                        generator_loss), [generator_optimizer, discriminator_optimizer])
    # What a resumed run needs (and `sample`: shown_generator), saved every epoch; 3 are kept.
    checkpoint = tf.train.Checkpoint(
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, fixed_noise=fixed_noise,
        shown_generator=generator,  # what `sample`, `evaluate`, `walk` restore
        epoch=tf.Variable(0, dtype=tf.int64, trainable=False))
    manager = tf.train.CheckpointManager(checkpoint, f"{out_dir}/checkpoints", max_to_keep=3)
    training.banner(settings, MODEL_NAME, [generator, discriminator], batches, source)
    # Restore the newest good checkpoint; forget grids and log rows after it; 0: a new run.
    finished = training.resume(checkpoint, out_dir, settings, MODEL_NAME)
    grid_path = out_dir + "/images/epoch_{:04d}.png"  # the grid of the fixed noise's images
    if finished == 0:  # the untrained generator's
        images.save_grid(generator(fixed_noise, training=False), grid_path.format(0))

    for epoch in range(finished + 1, settings.epochs + 1):
        means = progress.RunningMeans()  # of each number the step returns; stops on a NaN
        for real_batch in training.epoch_batches(batches, epoch, means, settings):
            means.add(train_step(real_batch))
        images.save_grid(generator(fixed_noise, training=False), grid_path.format(epoch))
        training.log_epoch(out_dir, epoch, means, generator, settings, PLOT_PANELS)
        checkpoint.epoch.assign(epoch)
        manager.save(checkpoint_number=epoch)  # last: a run stopped before it redoes the epoch
    images.write_gif(f"{out_dir}/images", f"{out_dir}/training.gif")
    precision.save_float32(generator, f"{out_dir}/generator.keras")


# ----------------------------------------------------------------------------------------------
# Sampling, scoring and walking: common/commands.py, with this script's generator
# ----------------------------------------------------------------------------------------------
def judge_samples(discriminator, fake_images):
    """Ask the trained discriminator what it makes of new samples."""
    decision = tf.reduce_mean(tf.sigmoid(discriminator(fake_images, training=False)))
    return f"Discriminator's mean decision on them: {float(decision):.3f} (1 = real, 0 = fake)"


def main(argv=None):
    cli.main(argv, __doc__, Settings, MODEL_NAME, train, build_generator,
             judge=(build_discriminator, judge_samples))


if __name__ == "__main__":
    cli.run(main)
