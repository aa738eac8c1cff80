"""The original GAN with fully connected networks: a generator learns to write digits.

The generator maps 100 random numbers through three hidden Dense layers to a 28x28 image;
the discriminator, two hidden Dense layers, scores how likely an image is real (a logit:
its sigmoid is the probability).
They are trained in turn: the discriminator on real and fake images, then the generator
to make the discriminator call its fakes real.

Follows the article "GAN and its Keras implementation" (in Chinese), after Goodfellow et
al. 2014, "Generative Adversarial Nets" (arXiv 1406.2661), with the optimizer of the Keras
GAN collection the article takes its code from. A second article, "GAN in practice"
(PyTorch), trains the same idea; its settings are quoted where they agree.

Usage:
    python mlp_gan_keras.py train                         # MNIST, as the article
    python mlp_gan_keras.py train --dataset fashion_mnist # works offline with Debian's files
    python mlp_gan_keras.py train --loss minimax          # Goodfellow's original generator loss
    python mlp_gan_keras.py                               # 16 samples from the latest checkpoint
    python mlp_gan_keras.py evaluate                      # FCD, KID and class coverage
    python mlp_gan_keras.py walk --seed 3                 # a walk through the noise space: walk.gif, walk.png
    python mlp_gan_keras.py train --dataset folder --data-dir DIR  # your own pictures

Where this departs from the article, and why:
- The discriminator's last layer outputs a logit and the loss applies the sigmoid: the same
  network, but log(sigmoid(x)) computed as -softplus(-x) cannot overflow or give log(0).
- Two GradientTapes and two optimizers replace the article's combined model. The article
  sets `discriminator.trainable = False` and builds a combined model so that the
  generator's updates leave the discriminator alone (the Keras GAN collection it follows
  compiles the discriminator first, to train it on its own with `train_on_batch`). Keras 2
  read that flag when a model was compiled, so the discriminator still trained in its own
  `train_on_batch`. Keras 3 reads it when a model's train step is first built, at its first
  `train_on_batch`, which in the article comes after the flag is set: the discriminator is
  then frozen in its own updates too and never learns (Keras warns that the model has no
  trainable weights). A tape per network says plainly which weights each update changes.
- Adam(2e-4, beta_1=0.5) for both networks, as the Keras GAN collection (the article's
  RMSprop(4e-4) line belongs to another variant it quotes).
- No dropout in the discriminator. The article's tips say to use dropout in D, but its own
  discriminator (the Keras GAN collection's) has none, and this script reproduces that
  code. "GAN in practice" follows the tip, with Dropout(0.3) after each hidden layer.
- A checkpoint after every epoch, holding the epoch counter and the fixed noise, so that a
  stopped run resumes where it was. It keeps its --loss and --precision: a resumed run
  goes on with them, and a different value is refused rather than mixed into one log.
"""

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read by TensorFlow at import: hide its C++ log lines
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from common import cli, datasets, files, images, latent, metrics, precision, progress, runs
from common.board import Board
from common.checkpoints import Checkpoints, saved_setting
from common.errors import Interrupted

# ----------------------------------------------------------------------------------------
# Settings: the article's values
# ----------------------------------------------------------------------------------------
MODEL_NAME = "mlp_gan"
SCRIPT = "python mlp_gan_keras.py"
NOISE_DIM = 100  # the article: latent_dim = 100
LEARNING_RATE = 2e-4  # Keras GAN collection: Adam(0.0002, 0.5); "GAN in practice" also uses 2e-4
BETA_1 = 0.5  # a shorter momentum memory: the target moves as the other network learns
NUM_FIXED = 16
DEFAULTS = dict(
    epochs=30,  # 1.8M images: about twice what the Keras GAN collection trains (docs/lessons.md: "Why 30")
    batch_size=128,  # "GAN in practice": batch 128
    dataset="mnist",  # the article: MNIST
    out_dir=os.path.join("runs", MODEL_NAME),
    # float32, not `auto`: bfloat16 trains as well here (docs/performance.md) but no faster,
    # since this small network's step is too short for 16-bit arithmetic to pay.
    precision="float32",
)
LOSSES = ("non-saturating", "minimax")
LOSS = "non-saturating"  # Goodfellow et al. 2014, section 3: the loss they train with
# The curves of losses.png: one panel per list of log columns.
PLOT_PANELS = [("loss", ["d_loss", "g_loss"]), ("D output", ["D(x)", "D(G(z))"]), ("quality", ["fcd"])]


def add_train_args(parser):
    parser.add_argument(
        "--loss", choices=LOSSES, default=None,
        help="generator loss: 'non-saturating' maximises log D(G(z)); 'minimax' minimises "
             "log(1 - D(G(z))), Goodfellow's original, which stalls when D wins early "
             f"(default: the resumed run's, else {LOSS})")


# ----------------------------------------------------------------------------------------
# Data: MNIST (the article's data) or Fashion-MNIST scaled to [-1, 1], in shuffled full batches
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
               .batch(batch_size, drop_remainder=True)  # full batches: one shape, one trace
               .prefetch(tf.data.AUTOTUNE))  # the next batch is ready while a step runs
    return real_images, batches, source


# ----------------------------------------------------------------------------------------
# Generator: noise (100) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------
def build_generator():
    """Three widening Dense layers, each LeakyReLU(0.2) then BatchNormalization(momentum=0.8)."""
    return keras.Sequential(
        [
            keras.Input(shape=(NOISE_DIM,)),
            layers.Dense(256),  # (B, 256)
            layers.LeakyReLU(negative_slope=0.2),
            layers.BatchNormalization(momentum=0.8),
            layers.Dense(512),  # (B, 512)
            layers.LeakyReLU(negative_slope=0.2),
            layers.BatchNormalization(momentum=0.8),
            layers.Dense(1024),  # (B, 1024)
            layers.LeakyReLU(negative_slope=0.2),
            layers.BatchNormalization(momentum=0.8),
            layers.Dense(28 * 28, activation="tanh", dtype="float32"),  # (B, 784) in [-1, 1]
            layers.Reshape((28, 28, 1)),  # (B, 28, 28, 1)
        ],
        name="generator",
    )


# ----------------------------------------------------------------------------------------
# Discriminator: image (28, 28, 1) -> one logit; D(x) = sigmoid(logit)
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# Losses, on logits: log D = -softplus(-logit), log(1 - D) = -softplus(logit)
# ----------------------------------------------------------------------------------------
def discriminator_loss(real_logits, fake_logits):
    """L_D = -mean(log D(x)) - mean(log(1 - D(G(z)))): binary cross-entropy, real = 1, fake = 0."""
    return tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))


def generator_loss_non_saturating(fake_logits):
    """L_G = -mean(log D(G(z))): strong gradients exactly when D rejects the fakes."""
    return tf.reduce_mean(tf.nn.softplus(-fake_logits))


def generator_loss_minimax(fake_logits):
    """L_G = mean(log(1 - D(G(z)))), the minimax game itself.

    When D confidently rejects the fakes, D(G(z)) ~ 0 and this loss is flat (its gradient
    vanishes): the generator learns slowly just when it is worst. Goodfellow et al. 2014
    (section 3) say so and train with the non-saturating loss instead.
    """
    return -tf.reduce_mean(tf.nn.softplus(fake_logits))


GENERATOR_LOSSES = {"non-saturating": generator_loss_non_saturating, "minimax": generator_loss_minimax}


# ----------------------------------------------------------------------------------------
# Train step: the discriminator first, then the generator, as the article alternates them
# ----------------------------------------------------------------------------------------
def make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer, generator_loss):
    # XLA fuses this step's many small ops: 1.3x faster on a 2-core CPU (benchmarks/throughput.py).
    # The DCGAN's step gained nothing from it, and WGAN-GP's became 5x slower, so they go without.
    @tf.function(jit_compile=True)
    def train_step(real_images):
        batch_size = tf.shape(real_images)[0]

        # 1. The discriminator: real images should score 1, fresh fakes 0.
        noise = tf.random.normal([batch_size, NOISE_DIM])  # z ~ N(0, 1)
        with tf.GradientTape() as tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits)
        gradients = tape.gradient(discriminator_optimizer.scale_loss(d_loss), discriminator.trainable_variables)
        discriminator_optimizer.apply_gradients(zip(gradients, discriminator.trainable_variables))

        # 2. The generator: new fakes, judged by the discriminator just updated.
        noise = tf.random.normal([batch_size, NOISE_DIM])
        with tf.GradientTape() as tape:
            g_fake_logits = discriminator(generator(noise, training=True), training=True)
            g_loss = generator_loss(g_fake_logits)
        gradients = tape.gradient(generator_optimizer.scale_loss(g_loss), generator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))

        return {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "D(x)": tf.reduce_mean(tf.sigmoid(real_logits)),
            "D(G(z))": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }

    return train_step


def make_optimizers():
    """Adam(2e-4, beta_1=0.5) for the generator and for the discriminator: two optimizers,
    so that each keeps the moment estimates of its own network's weights."""
    return (keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1),
            keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1))


# ----------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------
def train(args):
    """Train to args.epochs epochs in all, resuming the run in args.out_dir if it has one."""
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)  # a new run starts from the same weights, noise and order
    # A resumed run keeps the settings it started with; the flags name them for a new run.
    loss = args.loss or saved_setting(args.out_dir, "loss", LOSS)
    policy = precision.set_policy(args.precision or saved_setting(args.out_dir, "precision", DEFAULTS["precision"]))
    real_images, batches, source = load_real_images(args.dataset, args.data_dir, args.batch_size, args.seed)
    full_steps = len(real_images) // args.batch_size
    steps = min(full_steps, args.steps_per_epoch or full_steps)

    generator, discriminator = build_generator(), build_discriminator()
    generator_optimizer, discriminator_optimizer = (
        precision.optimizer(optimizer, policy) for optimizer in make_optimizers())
    # Keras 3 creates an optimizer's slots at its first step; a restore needs them now.
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    train_step = make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                                 GENERATOR_LOSSES[loss])
    # The same 16 noise vectors every epoch, so the grids and the GIF show one set of digits learning.
    fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    checkpoints = Checkpoints(
        args.out_dir, dict(model=MODEL_NAME, dataset=args.dataset, loss=loss, precision=policy), SCRIPT,
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, fixed_noise=fixed_noise,
    )
    progress.banner(f"{MODEL_NAME} ({loss} loss) on {args.dataset}", [generator, discriminator],
                    len(real_images), source, args.epochs, steps, full_steps, args.batch_size, policy,
                    args.seed, args.out_dir)
    finished = checkpoints.restore_newest()  # the last finished epoch; 0 for a new run
    runs.resume(args.out_dir, finished, args.epochs)  # drops files written after that checkpoint
    if finished == 0:
        images.save_grid(generator(fixed_noise, training=False), runs.grid_path(args.out_dir, 0))

    board = Board(args.out_dir)  # TensorBoard summaries in OUT_DIR/tensorboard/
    try:
        for epoch in range(finished + 1, args.epochs + 1):
            started = time.perf_counter()
            means = progress.RunningMeans()
            for real_batch in progress.bar(batches.take(steps), steps, f"epoch {epoch}/{args.epochs}", means):
                # The step's losses join the epoch's means; a loss that turns NaN stops the run here,
                # before this epoch's checkpoint, with a message.
                means.add(train_step(real_batch))
            # The epoch's pictures and log row first, its checkpoint last: a run stopped in
            # between resumes from the previous epoch, and `runs.resume` drops the extra files.
            grid = images.save_grid(generator(fixed_noise, training=False), runs.grid_path(args.out_dir, epoch))
            row = dict(epoch=epoch, **means.means(), seconds=round(time.perf_counter() - started, 2))
            if args.eval_every and epoch % args.eval_every == 0:
                row.update(metrics.evaluate(image_sampler(generator, seed=0), args.dataset, args.data_dir,
                                            args.eval_samples, args.out_dir, epoch))
            log = runs.append_log(args.out_dir, row)
            board.add(row, grid)  # the same row and grid for TensorBoard
            images.plot_log(log, os.path.join(args.out_dir, "losses.png"),
                            f"MLP GAN ({loss} loss) on {args.dataset}", PLOT_PANELS)
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
        precision.float32_copy(generator, build_generator).save(path)
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
                              generator=generator, discriminator=discriminator)
    epoch = checkpoints.restore_for_sampling()
    fake_images = image_sampler(generator, args.seed)(args.n)
    path = images.save_samples(fake_images, args.output or os.path.join(args.out_dir, "samples.png"))
    print(f"Generated {args.n} images with the generator of epoch {epoch}: {path}")
    decision = tf.reduce_mean(tf.sigmoid(discriminator(fake_images, training=False)))
    print(f"Discriminator's mean decision on them: {float(decision):.3f} (1 = real, 0 = fake)")


def evaluate(args):
    generator = build_generator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), SCRIPT, generator=generator)
    epoch = checkpoints.restore_for_sampling()
    metrics.evaluate(image_sampler(generator, args.seed), checkpoints.saved_identity().get("dataset"),
                     args.data_dir, args.n, args.out_dir, epoch, args.seed)


def walk(args):
    """Walk through the noise space: --points noise vectors, --steps frames from each to the next."""
    generator = build_generator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), SCRIPT, generator=generator)
    epoch = checkpoints.restore_for_sampling()
    seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(10_000))
    points = tf.random.Generator.from_seed(seed).normal([args.points, NOISE_DIM])  # z ~ N(0, 1)
    # Along great circles between the points, not straight lines: see latent.slerp for why.
    frames = generator(latent.loop_through(points, args.steps), training=False)
    gif, strip = images.save_walk(frames, args.output or os.path.join(args.out_dir, "walk.gif"), args.steps)
    print(f"A walk through {args.points} noise vectors (--seed {seed}), {args.steps} frames from each to "
          f"the next, drawn by the generator of epoch {epoch}: {gif} (all frames: {strip})")


def main(argv=None):
    cli.main(argv, "mlp_gan_keras.py", __doc__, DEFAULTS, train=train, sample=sample, evaluate=evaluate,
             walk=walk, add_train_args=add_train_args)


if __name__ == "__main__":
    cli.run(main)
