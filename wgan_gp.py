"""WGAN-GP: a critic estimates the Wasserstein distance, and its loss shows training progress.

The original GAN's discriminator saturates: once it separates real from fake perfectly, the
Jensen-Shannon divergence it estimates is stuck at log 2 and tells the generator nothing about
which way is closer (with the minimax loss the generator's gradient vanishes; the non-saturating
loss of the other lessons keeps one, but it need not point towards the data). A Wasserstein GAN
replaces it with a critic that scores images (no sigmoid) and estimates the earth-mover distance
between the real and the fake images; the generator lowers that distance. The estimate needs a
1-Lipschitz critic: WGAN clips the critic's weights, WGAN-GP penalises its gradient norm instead.
Follows the article "GAN collection (4): WGAN and WGAN-GP" (docs/articles.md); Gulrajani et al.
2017, "Improved Training of Wasserstein GANs" (arXiv 1704.00028) and its MNIST code; Arjovsky et
al. 2017 (arXiv 1701.07875) for `--mode wgan`. Where this departs from the paper's code:
docs/articles.md, its WGAN-GP section.

Usage:
    python wgan_gp.py train                          # WGAN-GP on MNIST (downloaded by Keras)
    python wgan_gp.py train --dataset fashion_mnist  # works offline with Debian's files
    python wgan_gp.py train --mode wgan              # the original WGAN: weight clipping
    python wgan_gp.py                                # 16 samples from the latest checkpoint
    python wgan_gp.py evaluate                       # how good: distances to real images
    python wgan_gp.py walk --seed 3                  # a walk through the noise space
    python wgan_gp.py train --help                   # every setting, from Settings below
"""

import common  # first: answers a mistyped command before TensorFlow's 15 s of loading
import dataclasses
import typing

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from common import cli, datasets, images, precision, progress, training

MODEL_NAME = "wgan_gp"  # its runs go to runs/wgan_gp


# ----------------------------------------------------------------------------------------------
# Settings: the paper's MNIST values
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings(cli.RunSettings):
    """This lesson's settings, each a flag of `train` (`critic_steps` -> `--critic-steps`); the
    run's own (--out-dir, --seed, ...) are in common/cli.py's RunSettings."""

    epochs: int = 20
    """epochs of the run in all, resumed ones included; an epoch is one pass of the critic over
    the data (our choice: about 3,700 generator steps, an afternoon on a CPU)"""
    batch_size: int = 64
    """images per critic step (our choice, the article gives none: WGAN's m = 64 and the WGAN-GP
    paper's CIFAR-10 and LSUN code; its MNIST code uses 50)"""
    dataset: typing.Literal["mnist", "fashion_mnist", "folder"] = "mnist"
    """a built-in set, or 'folder' for your own pictures in --data-dir (the article: MNIST)"""
    mode: typing.Literal["wgan-gp", "wgan"] = "wgan-gp"
    """'wgan-gp': the gradient penalty and Adam, the article's subject; 'wgan': the original WGAN
    it improves on, weight clipping and RMSprop(5e-5), to compare"""
    critic_steps: int = 5
    """critic updates per generator update (n_critic: the paper's 5)"""
    precision: typing.Literal[cli.PRECISIONS] = "auto"
    """number format of the layers. 'auto': bfloat16 where the hardware computes it fast
    (measured to train as well, and faster: docs/performance.md), else float32"""

    KEPT_ON_RESUME = ("dataset", "mode", "critic_steps", "precision")  # a resumed run keeps them


NOISE_DIM = 128  # the paper's MNIST code: 128
PENALTY_WEIGHT = 10.0  # lambda, the paper's value for every experiment
# WGAN-GP: Adam as the paper's MNIST code (the paper itself uses beta_1 = 0).
ADAM_SETTINGS = dict(learning_rate=1e-4, beta_1=0.5, beta_2=0.9)
# --mode wgan: RMSprop without momentum, as Arjovsky et al.: momentum misleads a clipped critic.
RMSPROP_LEARNING_RATE = 5e-5
CLIP_VALUE = 0.01  # --mode wgan: every critic weight clipped to [-0.01, 0.01]
NUM_FIXED = 16  # 16 fixed noise vectors, drawn as a 4x4 grid every epoch
# The curves of losses.png: one panel per list of log columns.
PLOT_PANELS = [("Wasserstein estimate", ["wasserstein"]), ("loss", ["critic_loss", "g_loss"]),
               ("gradient penalty", ["gradient_penalty"]), ("quality", ["fcd", "swd"])]


# ----------------------------------------------------------------------------------------------
# Data: MNIST or Fashion-MNIST scaled to [-1, 1], in shuffled full batches
# ----------------------------------------------------------------------------------------------
def load_real_images(dataset, data_dir):
    """The training images as float32 (N, 28, 28, 1) in [-1, 1], and what and where they are."""
    pixels, source = datasets.load(dataset, "train", data_dir)  # uint8 (N, 28, 28), 0 = black
    # [0, 255] -> [-1, 1]: the generator ends in tanh, so real and fake images share a range
    # (the paper's MNIST code uses [0, 1] and a sigmoid; here all four scripts share one range).
    real_images = (pixels.astype(np.float32) - 127.5) / 127.5
    # (N, 28, 28, 1): one colour channel.
    return real_images[..., np.newaxis], f"{len(real_images):,} images, {source}"


def make_batches(real_images, batch_size, critic_steps, seed=None):
    """The input pipeline: the images in a new random order every epoch, critic_steps batches
    at a time. One train step takes them at once, so that each critic step sees images of its
    own: an epoch is one pass of the critic over the data (60,000 / 320 = 187 steps)."""
    # On several machines (TF_CONFIG) each worker takes its own 1/N of the images and the batch.
    real_images, images_per_step = datasets.worker_share(real_images, batch_size * critic_steps)
    return (
        tf.data.Dataset.from_tensor_slices(real_images)
        .shuffle(len(real_images), seed=seed)
        .batch(images_per_step, drop_remainder=True)  # full: one shape, one trace of the step
        .prefetch(1)  # the next batch made ready while a step runs
        .with_options(datasets.untuned())  # tf.data's tuning made epochs end late (datasets.py)
    )


# ----------------------------------------------------------------------------------------------
# Generator: noise (128) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------------
def build_generator():
    """Dense to 4x4x256, then three transposed convolutions: 4 -> 8 (cropped to 7) -> 14 -> 28.

    28 is not a power of two, so the paper crops the 8x8 map to 7x7 before doubling twice.
    No BatchNormalization, as the paper's MNIST generator for WGAN-GP.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM,)),
            layers.Dense(4 * 4 * 256),  # (B, 4096)
            layers.ReLU(),
            layers.Reshape((4, 4, 256)),  # (B, 4, 4, 256)
            layers.Conv2DTranspose(128, 5, strides=2, padding="same"),  # (B, 8, 8, 128)
            layers.ReLU(),
            layers.Cropping2D(((0, 1), (0, 1))),  # (B, 7, 7, 128): drop the last row and column
            layers.Conv2DTranspose(64, 5, strides=2, padding="same"),  # (B, 14, 14, 64)
            layers.ReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="tanh",
                                   dtype="float32"),  # (B, 28, 28, 1)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------------
# Critic: image (28, 28, 1) -> one unbounded score (higher means "more real")
# ----------------------------------------------------------------------------------------------
def build_critic():
    """Three strided convolutions with LeakyReLU and a linear output.

    No sigmoid: the critic scores, it does not classify. No BatchNormalization: the
    penalty constrains the gradient of each sample's score with respect to that sample,
    and batch statistics would make each score depend on the whole batch.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),  # (B, 14, 14, 64)
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(128, 5, strides=2, padding="same"),  # (B, 7, 7, 128)
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(256, 5, strides=2, padding="same"),  # (B, 4, 4, 256)
            layers.LeakyReLU(negative_slope=0.2),
            layers.Flatten(),  # (B, 4096)
            layers.Dense(1, dtype="float32"),  # (B, 1) score
        ],
        name="critic",
    )


# ----------------------------------------------------------------------------------------------
# Losses and the gradient penalty
# ----------------------------------------------------------------------------------------------
def gradient_penalty(critic, real_images, fake_images):
    """GP = mean((|grad D(x_hat)| - 1)^2), x_hat = a * real + (1 - a) * fake, a ~ U[0, 1].

    One a per sample places each x_hat on the line between a real and a fake image, where
    the optimal critic has gradient norm 1. The interpolates, the gradient the critic hands
    back for them, its norm and the penalty are float32 under every policy; the critic's
    own pass, forward and backward through its layers, runs in the policy's compute dtype
    (bfloat16 under --precision mixed_bfloat16, all but its float32 last layer), as in the
    rest of the step.
    """
    real_images = tf.cast(real_images, tf.float32)
    fake_images = tf.cast(fake_images, tf.float32)
    batch_size = tf.shape(real_images)[0]
    alpha = tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)
    interpolates = alpha * real_images + (1.0 - alpha) * fake_images
    # An inner tape for the gradient of the critic's score with respect to its input. The
    # train step's own tape records this computation too, so the critic's update follows
    # the gradient of this gradient: the penalty shapes the critic's slope.
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        scores = critic(interpolates, training=True)
    gradients = tf.cast(tape.gradient(scores, interpolates), tf.float32)  # (B, 28, 28, 1)
    # The small epsilon keeps sqrt differentiable when a gradient is exactly zero
    # (d sqrt(s) / ds is infinite at s = 0, which would give NaN weights).
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]) + 1e-12)  # (B,)
    return tf.reduce_mean(tf.square(norms - 1.0))


def critic_loss(real_scores, fake_scores, penalty):
    """L_D = mean(D(fake)) - mean(D(real)) + lambda * GP: push real scores up, fake ones down."""
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores) + PENALTY_WEIGHT * penalty


def generator_loss(fake_scores):
    """L_G = -mean(D(G(z))): make the critic score the fakes as high as the real images."""
    return -tf.reduce_mean(fake_scores)


# ----------------------------------------------------------------------------------------------
# Train step: `critic_steps` critic updates, then one generator update
# ----------------------------------------------------------------------------------------------
def make_train_step(generator, critic, generator_optimizer, critic_optimizer, mode, critic_steps):
    use_penalty = mode == "wgan-gp"

    def critic_update(real_batch):
        """One critic step on a batch of its own; its loss, penalty and Wasserstein estimate."""
        noise = tf.random.normal([tf.shape(real_batch)[0], NOISE_DIM])  # z ~ N(0, 1)
        with tf.GradientTape() as tape:
            fake_images = generator(noise, training=True)
            real_scores = critic(real_batch, training=True)
            fake_scores = critic(fake_images, training=True)
            penalty = gradient_penalty(critic, real_batch, fake_images) if use_penalty else 0.0
            loss = critic_loss(real_scores, fake_scores, penalty)
        gradients = tape.gradient(loss, critic.trainable_variables)
        critic_optimizer.apply_gradients(zip(gradients, critic.trainable_variables))
        if not use_penalty:
            # WGAN keeps the critic Lipschitz by clipping every weight after each update.
            for weight in critic.trainable_variables:
                weight.assign(tf.clip_by_value(weight, -CLIP_VALUE, CLIP_VALUE))
        # The Wasserstein estimate: how much higher the critic scores real than fake.
        return loss, penalty, tf.reduce_mean(real_scores) - tf.reduce_mean(fake_scores)

    @tf.function
    def train_step(real_images):
        # One step takes critic_steps batches (make_batches hands it batch_size * critic_steps
        # images) and gives each critic update a batch of its own: an epoch is one pass of the
        # critic over the data, and the generator is updated once per critic_steps batches.
        real_batches = tf.split(real_images, critic_steps)
        losses, penalties, estimates = zip(*[critic_update(batch) for batch in real_batches])
        # Then one generator step, against the critic just trained.
        noise = tf.random.normal([tf.shape(real_batches[0])[0], NOISE_DIM])
        with tf.GradientTape() as tape:
            g_loss = generator_loss(critic(generator(noise, training=True), training=True))
        gradients = tape.gradient(g_loss, generator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
        outputs = {"critic_loss": tf.reduce_mean(losses)}  # the means over the critic steps
        if use_penalty:
            outputs["gradient_penalty"] = tf.reduce_mean(penalties)
        return dict(outputs, wasserstein=tf.reduce_mean(estimates), g_loss=g_loss)

    return train_step


def make_optimizers(mode):
    """Adam(1e-4, 0.5, 0.9) for WGAN-GP; RMSprop(5e-5) for the clipped WGAN."""
    if mode == "wgan":
        return (keras.optimizers.RMSprop(RMSPROP_LEARNING_RATE),
                keras.optimizers.RMSprop(RMSPROP_LEARNING_RATE))
    return keras.optimizers.Adam(**ADAM_SETTINGS), keras.optimizers.Adam(**ADAM_SETTINGS)


# ----------------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------------
def train(settings):
    """Train to settings.epochs epochs in all, resuming the run in settings.out_dir if any."""
    out_dir = training.start(settings)  # the seed, the number format, the devices; the folder
    real_images, source = load_real_images(settings.dataset, settings.data_dir)
    batches = make_batches(real_images, settings.batch_size, settings.critic_steps, settings.seed)
    generator, critic = build_generator(), build_critic()
    generator_optimizer, critic_optimizer = make_optimizers(settings.mode)
    # The same 16 noise vectors every epoch, so the grids and the GIF show one set of images.
    fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    step = make_train_step(generator, critic, generator_optimizer, critic_optimizer, settings.mode,
                           settings.critic_steps)
    # As written; with --devices N, a share of the batch on each device.
    train_step = training.on_devices(step, [generator_optimizer, critic_optimizer])
    # What a resumed run needs (and `sample`: shown_generator), saved every epoch; 3 are kept.
    checkpoint = tf.train.Checkpoint(
        generator=generator, critic=critic, generator_optimizer=generator_optimizer,
        critic_optimizer=critic_optimizer, fixed_noise=fixed_noise,
        shown_generator=generator,  # what `sample`, `evaluate`, `walk` restore
        epoch=tf.Variable(0, dtype=tf.int64, trainable=False))
    manager = tf.train.CheckpointManager(checkpoint, f"{out_dir}/checkpoints", max_to_keep=3)
    training.banner(settings, MODEL_NAME, [generator, critic], batches, source)
    # Restore the newest good checkpoint; forget grids and log rows after it; 0: a new run.
    finished = training.resume(checkpoint, out_dir, settings, MODEL_NAME)
    grid_path = out_dir + "/images/epoch_{:04d}.png"  # the grid of the fixed noise's images
    if finished == 0:  # the untrained generator's
        images.save_grid(generator(fixed_noise, training=False), grid_path.format(0))

    for epoch in range(finished + 1, settings.epochs + 1):
        means = progress.RunningMeans()  # of each number the step returns; stops on a NaN
        for real_batches in training.epoch_batches(batches, epoch, means, settings):
            means.add(train_step(real_batches))
        images.save_grid(generator(fixed_noise, training=False), grid_path.format(epoch))
        training.log_epoch(out_dir, epoch, means, generator, settings, PLOT_PANELS)
        checkpoint.epoch.assign(epoch)
        manager.save(checkpoint_number=epoch)  # last: a run stopped before it redoes the epoch
    images.write_gif(f"{out_dir}/images", f"{out_dir}/training.gif")
    precision.save_float32(generator, f"{out_dir}/generator.keras")


# ----------------------------------------------------------------------------------------------
# Sampling, scoring and walking: common/commands.py, with this script's generator
# ----------------------------------------------------------------------------------------------
def judge_samples(critic, fake_images):
    """A critic's score is not a probability: only differences between scores mean something."""
    score = tf.reduce_mean(critic(fake_images, training=False))
    return f"Critic's mean score on them: {float(score):.3f} (unbounded; higher = more real)"


def main(argv=None):
    cli.main(argv, __doc__, Settings, MODEL_NAME, train, build_generator,
             judge=(build_critic, judge_samples))


if __name__ == "__main__":
    cli.run(main)
