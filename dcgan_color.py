"""DCGAN on your own colour pictures: a convolutional generator learns to paint pictures like yours.

Point it at a folder of photos (PNG, JPEG, BMP, GIF). The generator turns 100 random numbers
into a 64x64 (or 128x128) colour picture; the discriminator scores a picture as one of yours
or one of the generator's. Each step trains the discriminator once, then the generator twice.

Follows the second half of the article "GANs: history and overview" (in Chinese), which trains
a DCGAN in TensorFlow on ImageNet's plant pictures resized to 128x128, for 250 epochs, after
the code it cites (carpedm20/DCGAN-tensorflow); the architecture is Radford et al. 2015,
"Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks"
(arXiv 1511.06434).

Usage:
    python benchmarks/shapes_folder.py runs/shapes_color --colour   # 5,000 colour pictures to try
    python dcgan_color.py train --data-dir runs/shapes_color --epochs 10   # 64x64; resumes if stopped
    python dcgan_color.py train --data-dir DIR --image-size 128     # the article's size
    python dcgan_color.py train --data-dir DIR --width 32           # a quarter of the arithmetic
    python dcgan_color.py train --data-dir DIR --devices 2          # on 2 GPUs (without: the CPU split in 2)
    python dcgan_color.py                                           # 16 samples from the latest checkpoint
    python dcgan_color.py sample --n 64 --output samples.npy        # (64, 64, 64, 3) in [-1, 1]
    python dcgan_color.py walk --seed 3                             # a walk through the noise space
    python dcgan_color.py gif                                       # the GIF again from the epoch grids
(`evaluate` and `train --eval-every` explain why a folder of pictures gets no score.)
    python dcgan_color.py --help

Where this departs from the article, and why:
- The noise is z ~ N(0, 1), as in the collection's other scripts (the code the article cites
  draws U[-1, 1]); `walk` moves along great circles, which suit Gaussian noise.
- Each of the generator's two updates draws fresh noise (the cited code reuses the batch's).
- Every batch is full, and the batch size comes from the batch inside the train step.
- A checkpoint after every epoch, holding the epoch counter and the fixed noise too, so a
  resumed run goes on drawing its grid from the same 16 noise vectors.
- The decoded pictures are kept in the run folder (pictures_64px_rgb.npy) and read from
  there while the folder is unchanged: decoding thousands of JPEGs every run is slow.
- `--precision` can compute the layers in bfloat16; the logits and the losses stay float32.
- `--recipe fast` (the default stays `article`) draws the pictures from a running average of
  the generator's weights, as dcgan_fashion.py's fast recipe; see RECIPES.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read by TensorFlow at import: hide its C++ log lines
import argparse
import itertools

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from common import cli, datasets, devices, files, images, latent, precision, progress, runs
from common.board import Board
from common.checkpoints import Checkpoints, saved_setting
from common.errors import Interrupted, UserError

# ----------------------------------------------------------------------------------------
# Settings: the article's values
# ----------------------------------------------------------------------------------------
MODEL_NAME = "dcgan_color"
SCRIPT = "python dcgan_color.py"
NOISE_DIM = 100  # the cited code: z_dim = 100
NUM_FIXED = 16  # 16 fixed noise vectors, drawn as a 4x4 grid every epoch, as the other scripts
IMAGE_SIZES = (64, 128)  # the article: 128; the cited code's usual example: 64
IMAGE_SIZE = 64  # the default: four times less arithmetic per picture than 128
CHANNELS = 3  # red, green, blue
WIDTH = 64  # the cited code: gf_dim = df_dim = 64, the channels next to the picture
LEARNING_RATE = 2e-4  # the article: Adam with learning rate 0.0002 for both networks
BETA_1 = 0.5  # the DCGAN paper, section 4 (and the cited code): 0.9 "resulted in training oscillation"
GENERATOR_STEPS = 2  # the article: the generator is updated twice for each discriminator update
LEAKY_SLOPE = 0.2  # the DCGAN paper: LeakyReLU with slope 0.2 in the discriminator
# The cited code's batch norm: momentum 0.9 and epsilon 1e-5 (Keras's defaults: 0.99, 1e-3).
BATCH_NORM = dict(momentum=0.9, epsilon=1e-5)
# The DCGAN paper: "All weights were initialized from a zero-centered Normal distribution with
# standard deviation 0.02."
INIT = dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))
DEFAULTS = dict(
    epochs=250,  # the article: 250 epochs
    batch_size=64,  # the cited code: batch_size = 64 (the article does not say)
    dataset=datasets.FOLDER,  # the article: a folder of pictures (ImageNet's plants)
    datasets=(datasets.FOLDER,),  # no built-in set: they are 28x28 and grey
    out_dir=os.path.join("runs", MODEL_NAME),
    # float32, the article's, not `auto`: in bfloat16 the averaged generator's pictures scored
    # worse at every epoch measured (SWD of 16x16 thumbnails, epochs 3 to 6, two seeds; the
    # trained generator's were mixed): docs/performance.md. Yet it ran the step 1.65x faster there.
    precision="float32",
)
# --recipe article (the default) or --recipe fast: the same networks, losses and optimizers.
RECIPES = {
    "article": dict(average_decay=None),  # the grids and samples come from the generator itself
    # Yazici et al. 2019 (arXiv 1806.04498), as dcgan_fashion.py's fast recipe: pictures drawn
    # from a running average of the generator's weights, which smooths the swings of the game;
    # average = d * average + (1 - d) * weights, d = min(0.999, (1 + t) / (10 + t)) at step t.
    "fast": dict(average_decay=0.999),
}
# The curves of losses.png: the article plots D's loss on real and on fake pictures, D's
# total and G's loss, four curves; and D's mean output, as the other scripts.
PLOT_PANELS = [
    ("discriminator loss", ["d_loss", "d_loss_real", "d_loss_fake"]),
    ("generator loss", ["g_loss"]),
    ("D output", ["D(x)", "D(G(z))"]),
]


# ----------------------------------------------------------------------------------------
# Data: your pictures, kept as uint8, scaled to [-1, 1] one batch at a time
# ----------------------------------------------------------------------------------------
def load_pictures(data_dir, image_size, out_dir):
    """Every picture under data_dir as uint8 (N, size, size, 3): RGB, the centre square, resized;
    and a description of where they came from, for the banner.

    The decoded pictures are cached in out_dir. They stay uint8 (one byte a colour): 50,000
    pictures of 64x64 take 0.6 GB, where float32 would take 2.4 GB.
    """
    return datasets.load_folder(data_dir, image_size, colour=True, cache_dir=out_dir)


def batches(pictures, batch_size, rng):
    """One epoch: the pictures in a new random order, in full batches, scaled to [-1, 1]."""
    order = rng.permutation(len(pictures))
    for start in range(0, len(order) - batch_size + 1, batch_size):
        # Which pictures is random; their order inside the batch changes nothing, and reading
        # them in index order is faster.
        batch = pictures[np.sort(order[start : start + batch_size])]  # uint8 (B, size, size, 3)
        # [0, 255] -> [-1, 1]: the generator ends in tanh, so real and fake pictures share a range.
        yield (batch.astype(np.float32) - 127.5) / 127.5


# ----------------------------------------------------------------------------------------
# Generator: noise (100) -> picture (size, size, 3) in [-1, 1]
# ----------------------------------------------------------------------------------------
def build_generator(image_size=IMAGE_SIZE, width=WIDTH, synchronized=False):
    """One linear layer to a small stack of feature maps, then four transposed convolutions,
    each doubling the side: 4 -> 64 pixels (8 -> 128). Batch norm on every layer but the last.

    Shapes are given for 64 pixels and width 64; at 128 pixels each side is twice as long.
    synchronized=True (--devices N): batch norm takes its mean and variance over the pictures
    of all devices together, as one device would over the whole batch.
    """
    start = image_size // 16  # four doublings reach the picture's side: 4 for 64, 8 for 128
    # No bias where batch norm follows: its mean subtraction would cancel it.
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM,)),
            layers.Dense(start * start * width * 8, use_bias=False, **INIT),  # (B, 8192)
            layers.Reshape((start, start, width * 8)),  # (B, 4, 4, 512)
            layers.BatchNormalization(synchronized=synchronized, **BATCH_NORM),
            layers.ReLU(),  # the DCGAN paper: ReLU in the generator, tanh at its output
            layers.Conv2DTranspose(width * 4, 5, strides=2, padding="same", use_bias=False, **INIT),  # (B, 8, 8, 256)
            layers.BatchNormalization(synchronized=synchronized, **BATCH_NORM),
            layers.ReLU(),
            layers.Conv2DTranspose(width * 2, 5, strides=2, padding="same", use_bias=False, **INIT),  # (B, 16, 16, 128)
            layers.BatchNormalization(synchronized=synchronized, **BATCH_NORM),
            layers.ReLU(),
            layers.Conv2DTranspose(width, 5, strides=2, padding="same", use_bias=False, **INIT),  # (B, 32, 32, 64)
            layers.BatchNormalization(synchronized=synchronized, **BATCH_NORM),
            layers.ReLU(),
            # tanh matches the data's [-1, 1]; under mixed precision this last layer stays float32.
            layers.Conv2DTranspose(CHANNELS, 5, strides=2, padding="same", activation="tanh",
                                   dtype="float32", **INIT),  # (B, 64, 64, 3)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------
# Discriminator: picture (size, size, 3) -> one logit (> 0 means "real")
# ----------------------------------------------------------------------------------------
def build_discriminator(image_size=IMAGE_SIZE, width=WIDTH, synchronized=False):
    """Four strided convolutions, each halving the side, with LeakyReLU, then one linear output.
    Batch norm on all but the first (the DCGAN paper leaves it off D's input layer);
    synchronized as in build_generator."""
    return keras.Sequential(
        [
            keras.Input(shape=(image_size, image_size, CHANNELS)),
            layers.Conv2D(width, 5, strides=2, padding="same", **INIT),  # (B, 32, 32, 64)
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Conv2D(width * 2, 5, strides=2, padding="same", use_bias=False, **INIT),  # (B, 16, 16, 128)
            layers.BatchNormalization(synchronized=synchronized, **BATCH_NORM),
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Conv2D(width * 4, 5, strides=2, padding="same", use_bias=False, **INIT),  # (B, 8, 8, 256)
            layers.BatchNormalization(synchronized=synchronized, **BATCH_NORM),
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Conv2D(width * 8, 5, strides=2, padding="same", use_bias=False, **INIT),  # (B, 4, 4, 512)
            layers.BatchNormalization(synchronized=synchronized, **BATCH_NORM),
            layers.LeakyReLU(negative_slope=LEAKY_SLOPE),
            layers.Flatten(),  # (B, 8192)
            layers.Dense(1, dtype="float32", **INIT),  # (B, 1) logits, kept in float32 for the loss
        ],
        name="discriminator",
    )


# ----------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------
# The discriminator outputs logits, and the loss applies the sigmoid itself: that is
# numerically safer than a sigmoid layer followed by log(). reduction=None: one loss per
# picture, which global_mean averages.
cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)


def global_mean(per_picture):
    """The mean over the batch: on one device, just tf.reduce_mean. With --devices N, each
    device divides the sum of its share by the whole batch's size (common/devices.py: why)."""
    return tf.nn.compute_average_loss(per_picture)


def discriminator_losses(real_logits, fake_logits):
    """L_D = L_real + L_fake, with L_real = -mean(log D(x)) (call real pictures 1) and
    L_fake = -mean(log(1 - D(G(z)))) (call fakes 0). Returned apart: the article plots both."""
    real_loss = global_mean(cross_entropy(tf.ones_like(real_logits), real_logits))
    fake_loss = global_mean(cross_entropy(tf.zeros_like(fake_logits), fake_logits))
    return real_loss, fake_loss


def generator_loss(fake_logits):
    """L_G = -mean(log D(G(z))): make the discriminator call the fakes real (non-saturating)."""
    return global_mean(cross_entropy(tf.ones_like(fake_logits), fake_logits))


# ----------------------------------------------------------------------------------------
# Train step: one discriminator update, then `generator_steps` generator updates
# ----------------------------------------------------------------------------------------
def draw_noise(count):
    """z ~ N(0, 1): `count` fresh noise vectors."""
    return tf.random.normal([count, NOISE_DIM])


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    generator_steps=GENERATOR_STEPS, averaged_generator=None, average_decay=None,
                    strategy=None):
    # No strategy given: TensorFlow's default, which runs everything as plain one-device code.
    strategy = strategy or tf.distribute.get_strategy()

    def one_replica_step(real_images):
        """The step on one device's share of the batch: all of it, unless --devices N."""
        batch_size = tf.shape(real_images)[0]
        # The discriminator: real pictures against the generator's fakes from fresh noise.
        noise = draw_noise(batch_size)
        with tf.GradientTape() as discriminator_tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            d_loss_real, d_loss_fake = discriminator_losses(real_logits, fake_logits)
            d_loss = d_loss_real + d_loss_fake
        # scale_loss is the identity unless the policy is mixed_float16 (see dcgan_fashion.py).
        gradients = discriminator_tape.gradient(discriminator_optimizer.scale_loss(d_loss),
                                                discriminator.trainable_variables)
        discriminator_optimizer.apply_gradients(zip(gradients, discriminator.trainable_variables))

        # The generator, twice (the article): "to keep the discriminator's loss from going to
        # zero". Each update draws new noise and faces the discriminator just updated.
        # (The D(G(z)) logged below is from the fakes of D's update, before these.)
        g_loss = 0.0
        for _ in range(generator_steps):  # a Python loop: traced once, the updates in order
            noise = draw_noise(batch_size)
            with tf.GradientTape() as generator_tape:
                new_fake_logits = discriminator(generator(noise, training=True), training=True)
                loss = generator_loss(new_fake_logits)
            gradients = generator_tape.gradient(generator_optimizer.scale_loss(loss),
                                                generator.trainable_variables)
            generator_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))
            g_loss += loss / generator_steps
        return {
            "d_loss": d_loss,
            "d_loss_real": d_loss_real,
            "d_loss_fake": d_loss_fake,
            "g_loss": g_loss,  # the mean over the generator's updates
            # D's mean belief that a picture is real, for yours and for the fakes.
            "D(x)": global_mean(tf.sigmoid(real_logits)),
            "D(G(z))": global_mean(tf.sigmoid(fake_logits)),
        }

    @tf.function
    def train_step(real_images):
        # Every device runs the step on its share; on one device, strategy.run just calls it.
        # (On several devices, each apply_gradients first adds up the devices' gradients.)
        outputs = strategy.run(one_replica_step, args=(real_images,))
        if averaged_generator is not None:
            # The running average of every generator weight (batch-norm statistics too), once
            # per step, outside the devices' step: there is one average. The decay starts
            # small, so the average is not held back by the untrained weights.
            step = tf.cast(generator_optimizer.iterations, tf.float32)  # t counts generator updates
            decay = tf.minimum(average_decay, (1.0 + step) / (10.0 + step))
            for average, weight in zip(averaged_generator.weights, generator.weights):
                average.assign(decay * average + (1.0 - decay) * weight)
        # Each device's numbers are its share of the batch's means (global_mean): add them up
        # across the devices (axis=None: not within the number). One device: returned as is.
        return {name: strategy.reduce("SUM", value, axis=None) for name, value in outputs.items()}

    return train_step


# ----------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------
def train(args):
    """Train to args.epochs epochs in all, resuming the run in args.out_dir if it has one."""
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)  # a new run starts from the same weights, noise and order
    # --devices N: one copy of the models on each of N devices, each step splitting the batch
    # among them (common/devices.py). With one device, as by default, it changes nothing.
    # First, before TensorFlow runs anything: without N GPUs it splits the CPU into N devices.
    strategy = devices.strategy(args.devices, args.batch_size)
    # A resumed run keeps the settings it started with; the flags name them for a new run.
    # (A flag left out is None; every value these flags accept is 1 or more, or a name.)
    policy = precision.set_policy(args.precision or saved_setting(args.out_dir, "precision", DEFAULTS["precision"]))
    image_size = args.image_size or saved_setting(args.out_dir, "image_size", IMAGE_SIZE)
    width = args.width or saved_setting(args.out_dir, "width", WIDTH)
    generator_steps = args.generator_steps or saved_setting(args.out_dir, "generator_steps", GENERATOR_STEPS)
    recipe_name = args.recipe or saved_setting(args.out_dir, "recipe", "article")
    pictures, source = load_pictures(args.data_dir, image_size, args.out_dir)
    datasets.check_batch_size(len(pictures), args.batch_size)
    full_steps = len(pictures) // args.batch_size
    steps = min(full_steps, args.steps_per_epoch or full_steps)
    shuffle = np.random.default_rng(args.seed)  # a new order of the pictures every epoch

    synchronized = strategy.num_replicas_in_sync > 1  # batch norm over all devices' pictures
    average_decay = RECIPES[recipe_name]["average_decay"]
    with strategy.scope():  # every variable made in here is mirrored on each device
        generator = build_generator(image_size, width, synchronized)
        discriminator = build_discriminator(image_size, width, synchronized)
        generator_optimizer = precision.optimizer(keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1), policy)
        discriminator_optimizer = precision.optimizer(keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1), policy)
        # Keras 3 creates an optimizer's slots at its first step; a restore needs them now.
        generator_optimizer.build(generator.trainable_variables)
        discriminator_optimizer.build(discriminator.trainable_variables)
        # The generator whose pictures we show and sample: the generator itself, or in the fast
        # recipe a second copy that holds the running average of its weights.
        averaged_generator = None
        if average_decay:
            averaged_generator = build_generator(image_size, width)  # never trained: nothing to synchronise
            averaged_generator.set_weights(generator.get_weights())
        # The same 16 noise vectors every epoch, so the grids and the GIF show one set of pictures learning.
        fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    shown_generator = averaged_generator if averaged_generator is not None else generator
    train_step = make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                                 generator_steps, averaged_generator, average_decay, strategy)
    identity = dict(model=MODEL_NAME, dataset=args.dataset, recipe=recipe_name, image_size=image_size,
                    width=width, generator_steps=generator_steps,
                    precision=policy)  # what `auto` chose, so a resume computes the same way
    checkpoints = Checkpoints(
        args.out_dir, identity, SCRIPT,
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, fixed_noise=fixed_noise,
        shown_generator=shown_generator,  # what `sample` and `walk` restore
    )
    progress.banner(f"{MODEL_NAME} at {image_size}x{image_size}, width {width}, {generator_steps} generator "
                    f"steps per discriminator step, recipe {recipe_name}", [generator, discriminator],
                    len(pictures), source, args.epochs, steps, full_steps, args.batch_size, policy, args.seed, args.out_dir,
                    devices.describe(strategy))
    finished = checkpoints.restore_newest()  # the last finished epoch; 0 for a new run
    runs.resume(args.out_dir, finished, args.epochs)  # drops files written after that checkpoint
    if finished == 0:
        images.save_grid(shown_generator(fixed_noise, training=False), runs.grid_path(args.out_dir, 0))

    board = Board(args.out_dir)  # TensorBoard summaries in OUT_DIR/tensorboard/
    try:
        for epoch in range(finished + 1, args.epochs + 1):
            started = time.perf_counter()
            means = progress.RunningMeans()
            epoch_batches = itertools.islice(batches(pictures, args.batch_size, shuffle), steps)
            for real_batch in progress.bar(epoch_batches, steps, f"epoch {epoch}/{args.epochs}", means):
                # The step's losses join the epoch's means; a loss that turns NaN stops the run here,
                # before this epoch's checkpoint, with a message.
                means.add(train_step(devices.split(strategy, real_batch)))  # one share per device
            # The epoch's pictures and log row first, its checkpoint last: a run stopped in
            # between resumes from the previous epoch, and `runs.resume` drops the extra files.
            grid = images.save_grid(shown_generator(fixed_noise, training=False), runs.grid_path(args.out_dir, epoch))
            row = dict(epoch=epoch, **means.means(), seconds=round(time.perf_counter() - started, 2))
            log = runs.append_log(args.out_dir, row)
            board.add(row, grid)  # the same row and grid for TensorBoard
            images.plot_log(log, os.path.join(args.out_dir, "losses.png"), f"DCGAN on {args.data_dir}", PLOT_PANELS)
            checkpoints.save(epoch)
            progress.epoch_done(row, args.epochs)
    except KeyboardInterrupt:
        # Every finished epoch is on disk already: only the epoch in progress is lost.
        raise Interrupted(f"Interrupted during epoch {epoch}. The newest checkpoint holds epoch "
                          f"{checkpoints.newest_epoch()}. Run the same train command again to resume "
                          "from there.") from None

    images.write_gif(list(runs.grid_paths(args.out_dir).values()), os.path.join(args.out_dir, "training.gif"))
    with files.replacing(os.path.join(args.out_dir, "generator.keras")) as path:
        # A file keras.models.load_model reads without this code; in float32 whatever the
        # training precision, so that it draws what `sample` draws.
        precision.float32_copy(shown_generator, lambda: build_generator(image_size, width)).save(path)
    print(f"Done: {args.epochs} epochs. In {args.out_dir}/: training.gif, log.csv, losses.png, "
          "generator.keras (load it with keras.models.load_model) and the grids in images/.")


# ----------------------------------------------------------------------------------------
# Sampling: restore the latest checkpoint and draw new pictures
# ----------------------------------------------------------------------------------------
def restore_generator(out_dir):
    """The generator that draws the run's pictures, at the size and width the run was trained
    with (its run.json says), restored from the newest checkpoint; and that checkpoint's epoch."""
    generator = build_generator(saved_setting(out_dir, "image_size", IMAGE_SIZE), saved_setting(out_dir, "width", WIDTH))
    checkpoints = Checkpoints(out_dir, dict(model=MODEL_NAME), SCRIPT, shown_generator=generator)
    return generator, checkpoints.restore_for_sampling()


def sample(args):
    generator, epoch = restore_generator(args.out_dir)
    noise_source = (tf.random.Generator.from_seed(args.seed) if args.seed is not None
                    else tf.random.Generator.from_non_deterministic_state())
    fake_images = generator(noise_source.normal([args.n, NOISE_DIM]), training=False)  # (N, size, size, 3)
    path = images.save_samples(fake_images, args.output or os.path.join(args.out_dir, "samples.png"))
    print(f"Generated {args.n} pictures with the generator of epoch {epoch}: {path}")


def evaluate(args):
    raise UserError(datasets.needs_labels_message())


def walk(args):
    """Walk through the noise space: --points noise vectors, --steps frames from each to the next."""
    generator, epoch = restore_generator(args.out_dir)
    seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(10_000))
    points = tf.random.Generator.from_seed(seed).normal([args.points, NOISE_DIM])  # z ~ N(0, 1)
    # Along great circles between the points, not straight lines: see latent.slerp for why.
    path = latent.loop_through(points, args.steps)
    # In batches of 64: a thousand 128-pixel frames in one call would need gigabytes.
    frames = np.concatenate([generator(path[start : start + 64], training=False) for start in range(0, len(path), 64)])
    gif, strip = images.save_walk(frames, args.output or os.path.join(args.out_dir, "walk.gif"), args.steps)
    print(f"A walk through {args.points} noise vectors (--seed {seed}), {args.steps} frames from each to "
          f"the next, drawn by the generator of epoch {epoch}: {gif} (all frames: {strip})")


def image_size_flag(text):
    """--image-size: 64 or 128, the sides that four doublings from a whole-pixel start reach."""
    if text not in [str(size) for size in IMAGE_SIZES]:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size this DCGAN draws: choose 64 or 128. The generator doubles "
            "the side four times from side/16 pixels, and the article's network is built for these.")
    return int(text)


def add_train_args(parser):
    cli.add_devices_arg(parser)
    parser.add_argument("--image-size", type=image_size_flag, default=None, metavar="{64,128}",
                        help="side of the pictures in pixels (default: the resumed run's, else 64)")
    parser.add_argument("--width", type=cli.positive_int, default=None, metavar="W",
                        help="channels of the layers next to the picture, doubled at each stage "
                             "inwards; 32 is a quarter of the arithmetic (default: the resumed run's, "
                             f"else {WIDTH}, the cited code's)")
    parser.add_argument("--generator-steps", type=cli.positive_int, default=None, metavar="K",
                        help="generator updates per discriminator update (default: the resumed run's, "
                             f"else {GENERATOR_STEPS}, the article's)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                        help="'fast' draws the pictures from an averaged generator (see RECIPES) "
                             "(default: the resumed run's, else article)")


def main(argv=None):
    cli.main(argv, "dcgan_color.py", __doc__, DEFAULTS, train=train, sample=sample, evaluate=evaluate,
             walk=walk, add_train_args=add_train_args)


if __name__ == "__main__":
    cli.run(main)
