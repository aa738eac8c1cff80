"""Conditional DCGAN on Fashion-MNIST: ask the generator for the class you want.

The DCGAN of dcgan_fashion.py, made conditional as Mirza and Osindero 2014 propose
("Conditional Generative Adversarial Nets", arXiv 1411.1784): the generator gets a class label
with its noise, and the discriminator judges a picture together with the label it comes with.
D sees real pictures only with their true labels, so a fake that does not look like its label
is easy to catch, and the generator learns to draw the class it is asked for. The networks'
layers (D's last one with a second term that reads the label: the projection, below), the
losses, the optimizers and the loop are dcgan_fashion.py's, so the two files read side by
side; left out here: its --recipe fast (the averaged generator) and the folder dataset
(a folder has no labels).

Usage:
    python cgan_fashion.py train --epochs 5           # a short run (an epoch: 1 to 8 min)
    python cgan_fashion.py sample --label sneaker     # 8 sneakers from the latest checkpoint
    python cgan_fashion.py                            # 8 of every class, one row per class
    python cgan_fashion.py walk --labels shirt,dress  # one noise, the label turning: walk.gif
    python cgan_fashion.py evaluate                   # does it draw what was asked for?
    python cgan_fashion.py train --help               # every setting, from Settings below
"""

import common  # first: answers a mistyped command before TensorFlow's 15 s of loading
import dataclasses
import typing

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from common import cli, datasets, images, precision, progress, training

MODEL_NAME = "cgan_fashion"  # its runs go to runs/cgan_fashion


# ----------------------------------------------------------------------------------------------
# Settings: dcgan_fashion.py's article recipe
# ----------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Settings(cli.RunSettings):
    """This lesson's settings, each a flag of `train` (`batch_size` -> `--batch-size`); the run's
    own (--out-dir, --seed, --devices, ...) are in common/cli.py's RunSettings."""

    epochs: int = 100
    """epochs of the run in all, resumed ones included (dcgan_fashion.py's: the article's 100)"""
    batch_size: int = 256
    """images per batch (dcgan_fashion.py's: the article's BATCH_SIZE = 256)"""
    dataset: typing.Literal["fashion_mnist", "mnist"] = "fashion_mnist"
    """a built-in set: the labels are what the generator is asked for (a folder has none)"""
    precision: typing.Literal[cli.PRECISIONS] = "auto"
    """number format of the layers. 'auto': bfloat16 where the hardware computes it fast, else
    float32 (as dcgan_fashion.py)"""

    KEPT_ON_RESUME = ("dataset", "precision")  # a resumed run goes on with its own
    # sample, walk and evaluate ask for classes: common/training.sampler and commands.walk build
    # the same [noise | one-hot label] input as generator_input below.
    CONDITIONAL = True


NOISE_DIM = 100  # dcgan_fashion.py's noise vector of 100 numbers
NUM_CLASSES = 10  # both datasets have ten classes; their names: common/datasets.py CLASS_NAMES
PER_CLASS = 8  # the epoch grid: 8 fixed noise vectors, drawn once for each class (10 rows)
LEARNING_RATE = 1e-4  # dcgan_fashion.py's, the article's: Adam(1e-4) for each network
# The curves of losses.png: one panel per list of log columns.
PLOT_PANELS = [("loss", ["d_loss", "g_loss"]), ("D output", ["D(x)", "D(G(z))"]),
               ("asked-for accuracy", ["asked_for_accuracy"]), ("quality", ["fcd"])]


# ----------------------------------------------------------------------------------------------
# Data: Fashion-MNIST scaled to [-1, 1], each image with its label, in shuffled full batches
# ----------------------------------------------------------------------------------------------
def load_real_images(dataset, data_dir):
    """The training images as float32 (N, 28, 28, 1) in [-1, 1], their labels as int32 (N,) in
    0..9, and what and where they are."""
    (pixels, labels), source = datasets.load(dataset, "train", data_dir, labels=True)
    real_images = (pixels.astype(np.float32) - 127.5) / 127.5  # [0, 255] -> [-1, 1], as tanh
    return (real_images[..., np.newaxis], labels.astype(np.int32),
            f"{len(labels):,} images, {source}")


def make_batches(real_images, labels, batch_size, seed=None):
    """dcgan_fashion.py's pipeline, with each image's label travelling beside it."""
    # On several machines (TF_CONFIG) each worker takes every Nth image from its own index on:
    # the same slicing for the labels keeps each label with its image.
    real_images, share = datasets.worker_share(real_images, batch_size)
    labels, _ = datasets.worker_share(labels, batch_size)
    return (
        tf.data.Dataset.from_tensor_slices((real_images, labels))  # pairs (image, label)
        .shuffle(len(real_images), seed=seed)  # the tutorial's buffer: every image
        .batch(share, drop_remainder=True)  # full batches only: one traced step
        .prefetch(1)  # the next batch made ready while a step runs
        .with_options(datasets.untuned())  # tf.data's tuning made epochs end late (datasets.py)
    )


# ----------------------------------------------------------------------------------------------
# The label, given to the generator (the discriminator takes it as a second input, below)
# ----------------------------------------------------------------------------------------------
def generator_input(noise, labels):
    """[noise | one-hot label]: (B, 100 + 10). The generator reads the class from the last ten
    numbers, a 1 at the class's place. (Mirza and Osindero give z and the one-hot y a hidden
    layer each before joining them; joined at the input, as here, is the common simpler form.)"""
    return tf.concat([noise, tf.one_hot(labels, NUM_CLASSES)], axis=1)


# ----------------------------------------------------------------------------------------------
# Generator: noise (100) and label (10) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------------
def build_generator():
    """dcgan_fashion.py's generator, reading 110 numbers instead of 100."""
    up = dict(kernel_size=5, padding="same", use_bias=False)  # 5x5, no bias: batch norm follows
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM + NUM_CLASSES,)),
            layers.Dense(7 * 7 * 256, use_bias=False),  # (B, 12544)
            layers.BatchNormalization(synchronized=True),  # with --devices N: over all devices
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),  # (B, 7, 7, 256)
            layers.Conv2DTranspose(128, strides=1, **up),  # (B, 7, 7, 128)
            layers.BatchNormalization(synchronized=True),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, strides=2, **up),  # (B, 14, 14, 64)
            layers.BatchNormalization(synchronized=True),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                   activation="tanh", dtype="float32"),  # (B, 28, 28, 1)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------------
# Discriminator: image (28, 28, 1) and its label -> one logit (> 0: "a real picture of this class")
# ----------------------------------------------------------------------------------------------
def build_discriminator():
    """dcgan_fashion.py's discriminator with its last layer made two, as Miyato and Koyama 2018
    ("cGANs with Projection Discriminator", arXiv 1802.05637): the convolutions turn a picture
    into 6,272 features f; the logit is w.f ("does it look real?", dcgan_fashion.py's Dense)
    plus e_y.f ("does it look like class y?"), e_y a vector of 6,272 numbers learnt for each
    class. Two inputs, so a Model around dcgan_fashion.py's Sequential stack. Why not the
    simpler label maps (the label as ten extra input channels, a Sequential D): measured, seeds
    0 and 1, samples drawn as the class asked for after 5 epochs: label maps 31% and 25%, the
    projection 62% and 55%; after 10: 61% and 53% against 63% and 80% (docs/articles.md)."""
    features = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(64, 5, strides=2, padding="same"),  # (B, 14, 14, 64)
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),  # (B, 7, 7, 128)
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),  # (B, 6272): f
        ],
        name="features",
    )
    pictures, labels = keras.Input(shape=(28, 28, 1)), keras.Input(shape=(), dtype="int32")
    f = features(pictures)
    looks_real = layers.Dense(1, dtype="float32")(f)  # (B, 1): w.f + b
    # e_y: a vector of 6,272 numbers for each class, started as a Dense layer's weights are
    class_vector = layers.Embedding(NUM_CLASSES, 7 * 7 * 128,
                                    embeddings_initializer="glorot_uniform")(labels)  # (B, 6272)
    looks_like_class = layers.Dot(axes=1, dtype="float32")([class_vector, f])  # (B, 1): e_y.f
    logits = layers.Add(dtype="float32")([looks_real, looks_like_class])  # float32 for the loss
    return keras.Model([pictures, labels], logits, name="discriminator")


# ----------------------------------------------------------------------------------------------
# Losses: dcgan_fashion.py's, unchanged (real = 1, fake = 0)
# ----------------------------------------------------------------------------------------------
def cross_entropy(targets, logits):
    """mean(-t * log D - (1 - t) * log(1 - D)), D = sigmoid(logits), t the targets: 1 for
    "real", 0 for "fake" (not the classes)."""
    return tf.reduce_mean(keras.losses.binary_crossentropy(targets, logits, from_logits=True))


def discriminator_loss(real_logits, fake_logits):
    """L_D = -mean(log D(x, y)) - mean(log(1 - D(G(z, y'), y'))): real pairs 1, fake pairs 0."""
    real_loss = cross_entropy(tf.ones_like(real_logits), real_logits)
    fake_loss = cross_entropy(tf.zeros_like(fake_logits), fake_logits)
    return real_loss + fake_loss


def generator_loss(fake_logits):
    """L_G = -mean(log D(G(z, y'), y')): make D call the fake pairs real (non-saturating)."""
    return cross_entropy(tf.ones_like(fake_logits), fake_logits)


# ----------------------------------------------------------------------------------------------
# Train step: one batch, both networks updated at once, as dcgan_fashion.py
# ----------------------------------------------------------------------------------------------
def draw_noise(count):
    """z ~ N(0, 1): `count` fresh noise vectors."""
    return tf.random.normal([count, NOISE_DIM])


def draw_labels(count):
    """`count` classes drawn uniformly: what the generator is asked for in a step."""
    return tf.random.uniform([count], 0, NUM_CLASSES, dtype=tf.int32)


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer):
    @tf.function
    def train_step(batch):
        real_images, real_labels = batch
        count = tf.shape(real_images)[0]
        noise = draw_noise(count)
        # The fakes' labels are drawn at random, not copied from the real batch: the generator
        # is asked for every class equally, whatever classes this batch's real images hold.
        fake_labels = draw_labels(count)
        # Two tapes record the same forward pass; each network takes the gradient of its loss.
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = generator(generator_input(noise, fake_labels), training=True)
            # D judges each picture with the label it comes with: the real ones with their own,
            # the fakes with the label G was asked for.
            real_logits = discriminator([real_images, real_labels], training=True)
            fake_logits = discriminator([fake_images, fake_labels], training=True)
            g_loss = generator_loss(fake_logits)
            d_loss = discriminator_loss(real_logits, fake_logits)
        g_gradients = generator_tape.gradient(g_loss, generator.trainable_variables)
        d_gradients = discriminator_tape.gradient(d_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(zip(g_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(zip(d_gradients, discriminator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss,
                "D(x)": tf.reduce_mean(tf.sigmoid(real_logits)),
                "D(G(z))": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return train_step


def grid_input(fixed_noise):
    """The epoch grid's generator input: the fixed noise once for every class, class k on row k
    (labels 0 x 8, then 1 x 8, ...), so each column shows one noise drawn as every class."""
    labels = np.repeat(np.arange(NUM_CLASSES), fixed_noise.shape[0])
    return generator_input(tf.tile(fixed_noise, [NUM_CLASSES, 1]), labels)


# ----------------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------------
def train(settings):
    """Train to settings.epochs epochs in all, resuming the run in settings.out_dir if any."""
    out_dir = training.start(settings)  # the seed, the number format, the devices; the folder
    real_images, labels, source = load_real_images(settings.dataset, settings.data_dir)
    batches = make_batches(real_images, labels, settings.batch_size, settings.seed)
    generator, discriminator = build_generator(), build_discriminator()
    generator_optimizer = keras.optimizers.Adam(LEARNING_RATE)  # one Adam for each network
    discriminator_optimizer = keras.optimizers.Adam(LEARNING_RATE)
    fixed_noise = tf.Variable(draw_noise(PER_CLASS), trainable=False)  # in the checkpoint too
    train_step = training.on_devices(  # as written; with --devices N, a share on each device
        make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer),
        [generator_optimizer, discriminator_optimizer])
    checkpoint = tf.train.Checkpoint(
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer,
        shown_generator=generator,  # the name `sample` restores (no averaged generator here)
        fixed_noise=fixed_noise, epoch=tf.Variable(0, dtype=tf.int64, trainable=False))
    manager = tf.train.CheckpointManager(checkpoint, f"{out_dir}/checkpoints", max_to_keep=3)
    training.banner(settings, MODEL_NAME, [generator, discriminator], batches, source)
    finished = training.resume(checkpoint, out_dir, settings, MODEL_NAME)  # 0: a new run
    grid_path = out_dir + "/images/epoch_{:04d}.png"  # 10 rows: the classes; 8 columns: noise
    if finished == 0:  # the untrained generator's
        images.save_grid(generator(grid_input(fixed_noise), training=False), grid_path.format(0),
                         columns=PER_CLASS)
    for epoch in range(finished + 1, settings.epochs + 1):
        means = progress.RunningMeans()  # of each number the step returns; stops on a NaN
        for batch in training.epoch_batches(batches, epoch, means, settings):
            means.add(train_step(batch))
        images.save_grid(generator(grid_input(fixed_noise), training=False),
                         grid_path.format(epoch), columns=PER_CLASS)
        training.log_epoch(out_dir, epoch, means, generator, settings, PLOT_PANELS)  # log.csv
        checkpoint.epoch.assign(epoch)
        manager.save(checkpoint_number=epoch)  # last: a run stopped before it redoes the epoch
    images.write_gif(f"{out_dir}/images", f"{out_dir}/training.gif")
    precision.save_float32(generator, f"{out_dir}/generator.keras")


# ----------------------------------------------------------------------------------------------
# Sampling, walking and scoring: common/commands.py, asking for classes by name
# ----------------------------------------------------------------------------------------------
def main(argv=None):
    cli.main(argv, __doc__, Settings, MODEL_NAME, train, build_generator)


if __name__ == "__main__":
    cli.run(main)
