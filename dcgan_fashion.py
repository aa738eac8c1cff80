"""DCGAN on Fashion-MNIST: a convolutional generator learns to draw clothes from noise.

Two networks play a game. The generator turns 100 random numbers into a 28x28 image; the
discriminator scores an image as real (a Fashion-MNIST photo) or fake (the generator's).
Each step trains the discriminator to tell them apart and the generator to fool it.

Follows article 003 ("TensorFlow 1 to 2 (12): GANs and image generation"), which is the
TensorFlow DCGAN tutorial; the architecture is Radford et al. 2015 (arXiv 1511.06434).

Usage:
    python dcgan_fashion.py train                 # 100 epochs as the article; resumes if stopped
    python dcgan_fashion.py train --epochs 5      # a short run (an epoch: ~4.5 min on 2 CPU cores)
    python dcgan_fashion.py                       # 16 samples from the latest checkpoint
    python dcgan_fashion.py sample --n 64 --output samples.npy
    python dcgan_fashion.py evaluate              # FCD, KID and class coverage of the samples
    python dcgan_fashion.py --help

Where this departs from the article, and why:
- Every batch is full: the article's last batch of each epoch pairs 96 real images with
  256 fake ones and makes TensorFlow trace the step a second time.
- The batch size comes from the batch inside the train step, not from a global.
- The checkpoint also holds the epoch counter and the fixed noise, so a resumed run goes on
  with the same pictures; the article restarts at epoch 1 with new noise.
- `--precision` can compute the layers in bfloat16 (faster on CPUs with AMX); the logits
  and the losses stay float32.
"""

import os

from common import quiet_tensorflow  # noqa: F401  (must come before TensorFlow)
import keras
import tensorflow as tf
from keras import layers

from common import cli, datasets, metrics, precision
from common.checkpoints import Checkpoints
from common.training import TrainingRun, banner

# ----------------------------------------------------------------------------------------
# Settings: the article's values
# ----------------------------------------------------------------------------------------
MODEL_NAME = "dcgan_fashion"
NOISE_DIM = 100  # article: a noise vector of 100 numbers
LEARNING_RATE = 1e-4  # article: Adam(1e-4) for each network
NUM_FIXED = 16  # article: 16 fixed noise vectors, drawn as a 4x4 grid every epoch
DEFAULTS = dict(
    epochs=100,  # article: EPOCHS = 100
    batch_size=256,  # article: BATCH_SIZE = 256
    dataset="fashion_mnist",  # article: keras.datasets.fashion_mnist
    out_dir=os.path.join("runs", MODEL_NAME),
    save_every=20,  # article: a checkpoint every 20 epochs
    precision="float32",  # the article's numbers; see the README's performance section
)


# ----------------------------------------------------------------------------------------
# Data: Fashion-MNIST (the article's data) scaled to [-1, 1], fed as shuffled full batches (common/datasets.py)
# ----------------------------------------------------------------------------------------
def load_data(args):
    """The training images, shape (N, 28, 28, 1), where they came from, and the batches."""
    real_images, source = datasets.load(args.dataset, "train", args.data_dir)
    return real_images, source, datasets.batches(real_images, args.batch_size, seed=args.seed)


# ----------------------------------------------------------------------------------------
# Generator: noise (100) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------
def build_generator():
    """Project the noise to a 7x7 feature map, then upsample twice with transposed convs."""
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM,)),
            layers.Dense(7 * 7 * 256, use_bias=False),  # (B, 12544)
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),  # (B, 7, 7, 256)
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),  # (B, 7, 7, 128)
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),  # (B, 14, 14, 64)
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            # tanh matches the data's [-1, 1]; float32 keeps the image exact under mixed precision.
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                   activation="tanh", dtype="float32"),  # (B, 28, 28, 1)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------
# Discriminator: image (28, 28, 1) -> one logit (> 0 means "real")
# ----------------------------------------------------------------------------------------
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
            layers.Dense(1, dtype="float32"),  # (B, 1) logits, kept in float32 for the loss
        ],
        name="discriminator",
    )


# ----------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------
# The discriminator outputs logits, and the loss applies the sigmoid itself: that is
# numerically safer than a sigmoid layer followed by log().
cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True)


def discriminator_loss(real_logits, fake_logits):
    """L_D = -mean(log D(x)) - mean(log(1 - D(G(z)))): call real images 1 and fakes 0."""
    real_loss = cross_entropy(tf.ones_like(real_logits), real_logits)
    fake_loss = cross_entropy(tf.zeros_like(fake_logits), fake_logits)
    return real_loss + fake_loss


def generator_loss(fake_logits):
    """L_G = -mean(log D(G(z))): make the discriminator call the fakes real (non-saturating)."""
    return cross_entropy(tf.ones_like(fake_logits), fake_logits)


# ----------------------------------------------------------------------------------------
# Train step: one batch, both networks updated, as the article does
# ----------------------------------------------------------------------------------------
def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer):
    @tf.function
    def train_step(real_images):
        batch_size = tf.shape(real_images)[0]
        noise = tf.random.normal([batch_size, NOISE_DIM])
        # Two tapes record the same forward pass; each network takes the gradient of its loss.
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            g_loss = generator_loss(fake_logits)
            d_loss = discriminator_loss(real_logits, fake_logits)
        # scale_loss is the identity in float32; with float16 it scales the loss up so that
        # small gradients do not underflow (apply_gradients scales them back).
        generator_gradients = generator_tape.gradient(
            generator_optimizer.scale_loss(g_loss), generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(
            discriminator_optimizer.scale_loss(d_loss), discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, discriminator.trainable_variables))
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "D(x)": tf.reduce_mean(tf.sigmoid(real_logits)),  # near 1: D believes the real ones
            "D(G(z))": tf.reduce_mean(tf.sigmoid(fake_logits)),  # near 0: D sees through fakes
        }

    return train_step


# ----------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------
def train(args):
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    args.precision = precision.set_policy(args.precision)
    real_images, source, dataset = load_data(args)

    generator, discriminator = build_generator(), build_discriminator()
    generator_optimizer = precision.optimizer(keras.optimizers.Adam(LEARNING_RATE), args.precision)
    discriminator_optimizer = precision.optimizer(keras.optimizers.Adam(LEARNING_RATE), args.precision)
    # Keras 3 creates optimizer slots lazily; build them now so a restore can fill them.
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    # The same 16 noise vectors every epoch, so the GIF shows one set of images improving.
    fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    checkpoints = Checkpoints(
        args.out_dir, dict(model=MODEL_NAME, dataset=args.dataset), "python dcgan_fashion.py",
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, fixed_noise=fixed_noise,
    )
    train_step = make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer)
    run = TrainingRun(
        args, checkpoints, [generator, discriminator], [generator_optimizer, discriminator_optimizer],
        plot_panels=[("loss", ["d_loss", "g_loss"]), ("D output", ["D(x)", "D(G(z))"]),
                     ("quality", ["fcd"])],
        steps=len(real_images) // args.batch_size,
        title="DCGAN on " + args.dataset,
    )
    run.start(lambda: generator(fixed_noise, training=False),
              banner(MODEL_NAME, args, source, len(real_images), run.full_steps, [generator, discriminator]))

    with run.saving_on_interrupt():
        for epoch in run.epochs():
            for real_batch in run.progress(dataset):
                run.record(train_step(real_batch))
            run.end_epoch(generator(fixed_noise, training=False),
                          extra=metrics.during_training(args, epoch, generator, NOISE_DIM))
    run.finish(generator)


# ----------------------------------------------------------------------------------------
# Sampling: restore the latest checkpoint and draw new images
# ----------------------------------------------------------------------------------------
def sample(args):
    generator, discriminator = build_generator(), build_discriminator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), "python dcgan_fashion.py",
                              generator=generator, discriminator=discriminator)
    epoch = checkpoints.require()
    noise = tf.random.normal([args.n, NOISE_DIM], seed=args.seed)
    fake_images = generator(noise, training=False)
    # As the article does: ask the trained discriminator what it makes of the new samples.
    decision = tf.reduce_mean(tf.sigmoid(discriminator(fake_images, training=False)))
    cli.report_samples(args, fake_images.numpy(), epoch,
                       f"Discriminator's mean decision on them: {float(decision):.3f} (1 = real, 0 = fake)")


def evaluate(args):
    generator = build_generator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), "python dcgan_fashion.py", generator=generator)
    metrics.evaluate_checkpoint(checkpoints, generator, NOISE_DIM, args)


def main(argv=None):
    cli.main(argv, "dcgan_fashion.py", __doc__, DEFAULTS, train=train, sample=sample, evaluate=evaluate)


if __name__ == "__main__":
    cli.run(main)
