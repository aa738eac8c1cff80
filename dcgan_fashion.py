"""DCGAN on Fashion-MNIST: a convolutional generator learns to draw clothes from noise.

Two networks play a game. The generator turns 100 random numbers into a 28x28 image; the
discriminator scores an image as real (a Fashion-MNIST photo) or fake (the generator's).
Each step trains the discriminator to tell them apart and the generator to fool it.

Follows the article "TensorFlow 1 to 2 (12): GANs and image generation" (in Chinese), which
takes the TensorFlow DCGAN tutorial to Fashion-MNIST, for 100 epochs with a checkpoint every
20 (the tutorial: MNIST, 50 epochs, every 15); the architecture is Radford et al. 2015, "Unsupervised
Representation Learning with Deep Convolutional Generative Adversarial Networks"
(arXiv 1511.06434).

Usage:
    python dcgan_fashion.py train                 # 100 epochs as the article; resumes if stopped
    python dcgan_fashion.py train --epochs 5      # a short run (an epoch: ~1 to 4.5 min on 2 CPU cores)
    python dcgan_fashion.py train --recipe fast   # good samples sooner (see RECIPES and docs/results.md)
    python dcgan_fashion.py                       # 16 samples from the latest checkpoint
    python dcgan_fashion.py sample --n 64 --output samples.npy
    python dcgan_fashion.py evaluate              # FCD, KID and class coverage of the samples
    python dcgan_fashion.py walk --seed 3         # a walk through the noise space: walk.gif, walk.png
    python dcgan_fashion.py train --dataset folder --data-dir DIR  # your own pictures
    python dcgan_fashion.py train --devices 2     # on 2 GPUs (or, without them, the CPU split in 2)
    python dcgan_fashion.py --help

Where this departs from the article, and why:
- Every batch is full: the article's last batch of each epoch pairs 96 real images with
  256 fake ones and makes TensorFlow trace the step a second time.
- The batch size comes from the batch inside the train step, not from a global.
- A checkpoint after every epoch (the article: every 20), holding the epoch counter and
  the fixed noise too, so a resumed run goes on with the same pictures; the article
  restarts at epoch 1 with new noise. A resumed run keeps its --recipe and --precision.
- `--precision auto` by default: the layers compute in bfloat16 where the hardware does
  that fast (CPUs with AMX or AVX512-BF16, GPUs from compute capability 8), as measured to
  train as well; in float16 on older GPUs; in float32, as the article, on other CPUs and
  with `--precision float32`. The logits and the losses stay float32.
- `--recipe fast` (the default stays `article`): the DCGAN paper's Adam(2e-4, beta_1 = 0.5)
  and pictures drawn from a running average of the generator's weights; the same networks
  and losses. It reaches the article's 10-epoch quality in a fraction of the time (the
  "Two recipes" section of docs/results.md). See RECIPES for each choice and where it comes from.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read by TensorFlow at import: hide its C++ log lines
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from common import cli, datasets, devices, files, images, latent, metrics, precision, progress, runs
from common.board import Board
from common.checkpoints import Checkpoints, saved_setting
from common.errors import Interrupted

# ----------------------------------------------------------------------------------------
# Settings: the article's values
# ----------------------------------------------------------------------------------------
MODEL_NAME = "dcgan_fashion"
SCRIPT = "python dcgan_fashion.py"
NOISE_DIM = 100  # the article: a noise vector of 100 numbers
NUM_FIXED = 16  # the article: 16 fixed noise vectors, drawn as a 4x4 grid every epoch
DEFAULTS = dict(
    epochs=100,  # the article: EPOCHS = 100
    batch_size=256,  # the article: BATCH_SIZE = 256
    dataset="fashion_mnist",  # the article: keras.datasets.fashion_mnist
    out_dir=os.path.join("runs", MODEL_NAME),
    # 16-bit layers where the hardware computes them fast, else float32 (the article's): on a
    # CPU with AVX512-BF16, bfloat16 ran the step 1.3x to 1.4x faster at the same quality,
    # within seed-to-seed noise (docs/performance.md). --precision float32: the article's numbers.
    precision="auto",
)
# How the two networks are trained: --recipe article (the default) or --recipe fast. The same
# networks and losses either way; only these numbers change. docs/results.md ("Two recipes")
# shows what each one buys, measured.
RECIPES = {
    "article": dict(
        generator_learning_rate=1e-4,  # the article: Adam(1e-4) for each network,
        discriminator_learning_rate=1e-4,
        beta_1=0.9,  # with Keras's default momentum
        real_label=1.0,  # the discriminator is taught that real images are 1
        average_decay=None,  # the grids and samples come from the generator itself
    ),
    "fast": dict(
        # Radford et al. 2015 (the DCGAN paper), section 4: Adam(2e-4), and beta_1 = 0.5
        # because 0.9 "resulted in training oscillation and instability".
        generator_learning_rate=2e-4,
        discriminator_learning_rate=2e-4,
        beta_1=0.5,
        # Tried and not kept (benchmarks/recipes.py): one-sided label smoothing, real = 0.9
        # (Salimans et al. 2016), and two time-scales, G 1e-4 / D 4e-4 (Heusel et al. 2017):
        # on one seed after 2 epochs neither beat this recipe by more than its seed-to-seed spread.
        real_label=1.0,
        # Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training" (arXiv
        # 1806.04498): draw from a running average of the generator's weights, which smooths
        # the swings of the game; each step, average = d * average + (1 - d) * weights, with
        # d = min(0.999, (1 + t) / (10 + t)) at step t, as TensorFlow's ExponentialMovingAverage
        # with num_updates: short memory early (d = 0.99 at step 890), 0.999 from step ~9,000.
        average_decay=0.999,
    ),
}
# The curves of losses.png: one panel per list of log columns.
PLOT_PANELS = [("loss", ["d_loss", "g_loss"]), ("D output", ["D(x)", "D(G(z))"]), ("quality", ["fcd"])]


# ----------------------------------------------------------------------------------------
# Data: Fashion-MNIST scaled to [-1, 1], in shuffled full batches
# ----------------------------------------------------------------------------------------
def load_real_images(dataset, data_dir, batch_size, seed=None):
    """The training images as float32 (N, 28, 28, 1) in [-1, 1], and their batches."""
    pixels, source = datasets.load(dataset, "train", data_dir)  # uint8 (N, 28, 28), 0 = black
    datasets.check_batch_size(len(pixels), batch_size)
    # [0, 255] -> [-1, 1]: the generator ends in tanh, so real and fake images share a range.
    real_images = (pixels.astype(np.float32) - 127.5) / 127.5
    real_images = real_images[..., np.newaxis]  # (N, 28, 28, 1): one colour channel
    batches = (tf.data.Dataset.from_tensor_slices(real_images)
               .shuffle(len(real_images), seed=seed)  # a new order every epoch
               .batch(batch_size, drop_remainder=True)  # full batches only (see the docstring)
               .prefetch(tf.data.AUTOTUNE))  # the next batch is ready while a step runs
    return real_images, batches, source


# ----------------------------------------------------------------------------------------
# Generator: noise (100) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------
def build_generator(synchronized=False):
    """Project the noise to a 7x7 feature map, then upsample twice with transposed convs.

    synchronized=True (--devices N): batch norm takes its mean and variance over the images
    of all devices together, as one device would over the whole batch.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM,)),
            layers.Dense(7 * 7 * 256, use_bias=False),  # (B, 12544)
            layers.BatchNormalization(synchronized=synchronized),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),  # (B, 7, 7, 256)
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),  # (B, 7, 7, 128)
            layers.BatchNormalization(synchronized=synchronized),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),  # (B, 14, 14, 64)
            layers.BatchNormalization(synchronized=synchronized),
            layers.LeakyReLU(),
            # tanh matches the data's [-1, 1]; under mixed precision this last layer stays float32.
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
# numerically safer than a sigmoid layer followed by log(). reduction=None: one loss per
# image, which global_mean averages.
cross_entropy = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)


def global_mean(per_image):
    """The mean over the batch: on one device, just tf.reduce_mean. With --devices N, each
    device divides the sum of its share by the whole batch's size (common/devices.py: why)."""
    return tf.nn.compute_average_loss(per_image)


def discriminator_loss(real_logits, fake_logits, real_label=1.0):
    """L_D = -mean(log D(x)) - mean(log(1 - D(G(z)))): call real images 1 and fakes 0.

    real_label < 1 is one-sided label smoothing (Salimans et al. 2016): real images are
    called, say, 0.9, which stops D from growing over-confident; fakes stay 0.
    """
    real_loss = global_mean(cross_entropy(tf.fill(tf.shape(real_logits), real_label), real_logits))
    fake_loss = global_mean(cross_entropy(tf.zeros_like(fake_logits), fake_logits))
    return real_loss + fake_loss


def generator_loss(fake_logits):
    """L_G = -mean(log D(G(z))): make the discriminator call the fakes real (non-saturating)."""
    return global_mean(cross_entropy(tf.ones_like(fake_logits), fake_logits))


# ----------------------------------------------------------------------------------------
# Train step: one batch, both networks updated, as the article does
# ----------------------------------------------------------------------------------------
def draw_noise(count):
    """z ~ N(0, 1): `count` fresh noise vectors."""
    return tf.random.normal([count, NOISE_DIM])


def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                    real_label=1.0, averaged_generator=None, average_decay=None, strategy=None):
    # No strategy given: TensorFlow's default, which runs everything as plain one-device code.
    strategy = strategy or tf.distribute.get_strategy()

    def one_replica_step(real_images):
        """The step on one device's share of the batch: all of it, unless --devices N."""
        noise = draw_noise(tf.shape(real_images)[0])  # fresh every step
        # Two tapes record the same forward pass; each network takes the gradient of its loss.
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            g_loss = generator_loss(fake_logits)
            d_loss = discriminator_loss(real_logits, fake_logits, real_label)
        # scale_loss is the identity unless the policy is mixed_float16 (older GPUs), where it scales the
        # loss up so that small gradients do not underflow (apply_gradients scales them back).
        generator_gradients = generator_tape.gradient(
            generator_optimizer.scale_loss(g_loss), generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(
            discriminator_optimizer.scale_loss(d_loss), discriminator.trainable_variables)
        # (On several devices, each apply_gradients first adds up the devices' gradients.)
        generator_optimizer.apply_gradients(zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, discriminator.trainable_variables))
        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            # D's mean belief that an image is real, for the real images and for the fakes:
            # both drift towards 0.5 while neither network wins.
            "D(x)": global_mean(tf.sigmoid(real_logits)),
            "D(G(z))": global_mean(tf.sigmoid(fake_logits)),
        }

    @tf.function
    def train_step(real_images):
        # Every device runs the step on its share; on one device, strategy.run just calls it.
        outputs = strategy.run(one_replica_step, args=(real_images,))
        if averaged_generator is not None:
            # The running average of every generator weight (batch-norm statistics too), once
            # per step, outside the devices' step: there is one average. The decay starts
            # small, so the average is not held back by the untrained weights.
            step = tf.cast(generator_optimizer.iterations, tf.float32)
            decay = tf.minimum(average_decay, (1.0 + step) / (10.0 + step))
            for average, weight in zip(averaged_generator.weights, generator.weights):
                average.assign(decay * average + (1.0 - decay) * weight)
        # Each device's numbers are its share of the batch's means (global_mean): add them up
        # across the devices (axis=None: not within the number). One device: returned as is.
        return {name: strategy.reduce("SUM", value, axis=None) for name, value in outputs.items()}

    return train_step


def make_optimizers(recipe):
    """One Adam for the generator and one for the discriminator, with the recipe's settings."""
    return (keras.optimizers.Adam(recipe["generator_learning_rate"], beta_1=recipe["beta_1"]),
            keras.optimizers.Adam(recipe["discriminator_learning_rate"], beta_1=recipe["beta_1"]))


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
    # A resumed run keeps the recipe and precision it started with; the flags name them for a new run.
    recipe_name = args.recipe or saved_setting(args.out_dir, "recipe", default="article")
    recipe = RECIPES[recipe_name]
    policy = precision.set_policy(args.precision or saved_setting(args.out_dir, "precision", DEFAULTS["precision"]))
    real_images, batches, source = load_real_images(args.dataset, args.data_dir, args.batch_size, args.seed)
    full_steps = len(real_images) // args.batch_size
    steps = min(full_steps, args.steps_per_epoch or full_steps)
    # Each epoch's batches; with --devices N, each reaches the step cut into N shares.
    epoch_batches = strategy.experimental_distribute_dataset(batches.take(steps))

    with strategy.scope():  # every variable made in here is mirrored on each device
        generator = build_generator(synchronized=strategy.num_replicas_in_sync > 1)
        discriminator = build_discriminator()
        generator_optimizer, discriminator_optimizer = (
            precision.optimizer(optimizer, policy) for optimizer in make_optimizers(recipe))
        # Keras 3 creates an optimizer's slots at its first step; a restore needs them now.
        generator_optimizer.build(generator.trainable_variables)
        discriminator_optimizer.build(discriminator.trainable_variables)
        # The generator whose pictures we show, sample and score: the generator itself, or in a
        # recipe that averages, a second copy that holds the running average of its weights.
        averaged_generator = None
        if recipe["average_decay"]:
            averaged_generator = build_generator()  # never trained: no batch norm to synchronise
            averaged_generator.set_weights(generator.get_weights())
        # The same 16 noise vectors every epoch, so the grids and the GIF show one set of images learning.
        fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    shown_generator = averaged_generator if averaged_generator is not None else generator
    train_step = make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                                 recipe["real_label"], averaged_generator, recipe["average_decay"], strategy)
    checkpoints = Checkpoints(
        args.out_dir, dict(model=MODEL_NAME, dataset=args.dataset, recipe=recipe_name, precision=policy), SCRIPT,
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, fixed_noise=fixed_noise,
        shown_generator=shown_generator,  # what `sample` and `evaluate` restore
    )
    progress.banner(f"{MODEL_NAME} on {args.dataset}, recipe {recipe_name}", [generator, discriminator],
                    len(real_images), source, args.epochs, steps, full_steps, args.batch_size, policy, args.seed, args.out_dir,
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
            for real_batch in progress.bar(epoch_batches, steps, f"epoch {epoch}/{args.epochs}", means):
                # The step's losses join the epoch's means; a loss that turns NaN stops the run here,
                # before this epoch's checkpoint, with a message.
                means.add(train_step(real_batch))
            # The epoch's pictures and log row first, its checkpoint last: a run stopped in
            # between resumes from the previous epoch, and `runs.resume` drops the extra files.
            grid = images.save_grid(shown_generator(fixed_noise, training=False), runs.grid_path(args.out_dir, epoch))
            row = dict(epoch=epoch, **means.means(), seconds=round(time.perf_counter() - started, 2))
            if args.eval_every and epoch % args.eval_every == 0:
                row.update(metrics.evaluate(image_sampler(shown_generator, seed=0), args.dataset, args.data_dir,
                                            args.eval_samples, args.out_dir, epoch))
            log = runs.append_log(args.out_dir, row)
            board.add(row, grid)  # the same row and grid for TensorBoard
            images.plot_log(log, os.path.join(args.out_dir, "losses.png"), f"DCGAN on {args.dataset}", PLOT_PANELS)
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
        precision.float32_copy(shown_generator, build_generator).save(path)
    print(f"Done: {args.epochs} epochs. In {args.out_dir}/: training.gif, log.csv, losses.png, "
          "generator.keras (load it with keras.models.load_model) and the grids in images/.")


# ----------------------------------------------------------------------------------------
# Sampling: restore the latest checkpoint and draw new images
# ----------------------------------------------------------------------------------------
def image_sampler(generator, seed=None):
    """A function count -> `count` new images from fresh Gaussian noise (seeded: repeatable)."""
    noise = tf.random.Generator.from_seed(seed) if seed is not None else tf.random.Generator.from_non_deterministic_state()
    return lambda count: generator(noise.normal([count, NOISE_DIM]), training=False)


def sample(args):
    generator, discriminator = build_generator(), build_discriminator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), SCRIPT,
                              shown_generator=generator, discriminator=discriminator)
    epoch = checkpoints.restore_for_sampling()
    fake_images = image_sampler(generator, args.seed)(args.n)
    path = images.save_samples(fake_images, args.output or os.path.join(args.out_dir, "samples.png"))
    print(f"Generated {args.n} images with the generator of epoch {epoch}: {path}")
    # As the article does: ask the trained discriminator what it makes of the new samples.
    decision = tf.reduce_mean(tf.sigmoid(discriminator(fake_images, training=False)))
    print(f"Discriminator's mean decision on them: {float(decision):.3f} (1 = real, 0 = fake)")


def evaluate(args):
    generator = build_generator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), SCRIPT, shown_generator=generator)
    epoch = checkpoints.restore_for_sampling()
    metrics.evaluate(image_sampler(generator, args.seed), checkpoints.saved_identity().get("dataset"),
                     args.data_dir, args.n, args.out_dir, epoch, args.seed)


def add_train_args(parser):
    cli.add_devices_arg(parser)
    parser.add_argument("--recipe", choices=sorted(RECIPES), default=None,
                        help="'article': the article's optimizer settings; 'fast': the DCGAN paper's, "
                             "with an averaged generator, for good samples sooner (see RECIPES) "
                             "(default: the resumed run's, else article)")


def walk(args):
    """Walk through the noise space: --points noise vectors, --steps frames from each to the next."""
    generator = build_generator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), SCRIPT, shown_generator=generator)
    epoch = checkpoints.restore_for_sampling()
    seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(10_000))
    points = tf.random.Generator.from_seed(seed).normal([args.points, NOISE_DIM])  # z ~ N(0, 1)
    # Along great circles between the points, not straight lines: see latent.slerp for why.
    frames = generator(latent.loop_through(points, args.steps), training=False)
    gif, strip = images.save_walk(frames, args.output or os.path.join(args.out_dir, "walk.gif"), args.steps)
    print(f"A walk through {args.points} noise vectors (--seed {seed}), {args.steps} frames from each to "
          f"the next, drawn by the generator of epoch {epoch}: {gif} (all frames: {strip})")


def main(argv=None):
    cli.main(argv, "dcgan_fashion.py", __doc__, DEFAULTS, train=train, sample=sample, evaluate=evaluate,
             walk=walk, add_train_args=add_train_args)


if __name__ == "__main__":
    cli.run(main)
