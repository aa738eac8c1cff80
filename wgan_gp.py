"""WGAN-GP: a critic estimates the Wasserstein distance, and its loss shows training progress.

The original GAN's discriminator saturates: once it separates real from fake perfectly,
the generator's gradient vanishes. A Wasserstein GAN replaces it with a critic that scores
images (no sigmoid) and estimates the earth-mover distance between the real and the fake
distributions; the generator lowers that distance. The estimate needs a 1-Lipschitz
critic: WGAN clips the critic's weights, WGAN-GP penalises its gradient norm instead.

Follows the article "GAN collection (4): WGAN and WGAN-GP" (in Chinese); Gulrajani et al.
2017, "Improved Training of Wasserstein GANs" (arXiv 1704.00028) and its MNIST code; and
Arjovsky et al. 2017, "Wasserstein GAN" (arXiv 1701.07875) for `--mode wgan`.

Usage:
    python wgan_gp.py train                          # WGAN-GP on MNIST, as the article
    python wgan_gp.py train --dataset fashion_mnist  # works offline with Debian's files
    python wgan_gp.py train --mode wgan              # the original WGAN: weight clipping
    python wgan_gp.py                                # 16 samples from the latest checkpoint
    python wgan_gp.py evaluate                       # FCD, KID and class coverage
    python wgan_gp.py walk --seed 3                  # a walk through the noise space: walk.gif, walk.png
    python wgan_gp.py train --dataset folder --data-dir DIR  # your own pictures

Where this departs from the paper's MNIST code, and why:
- Images are in [-1, 1] with a tanh output (the paper's MNIST code uses [0, 1] and a
  sigmoid), so that all three scripts share one data range.
- Batches of 64 (the paper's MNIST code: 50; the article gives none): this project's
  choice, the batch size of Arjovsky et al.'s WGAN algorithm (m = 64) and of the WGAN-GP
  paper's CIFAR-10 and LSUN code.
- An epoch is one pass of the *critic* over the data: each generator step consumes
  5 batches of 64 real images, one per critic step (60000 / 320 = 187 generator steps).
- `--mode wgan` trains the same two networks as WGAN-GP. The paper's MNIST code gives its
  clipped WGAN baseline batch normalisation, in the generator after each hidden layer and
  in the critic after the second and third convolutions; here neither network has it, so
  that the two modes differ only in how they keep the critic Lipschitz (clipping and
  RMSprop against the penalty and Adam).
- A checkpoint after every epoch, holding the epoch counter and the fixed noise, so that a
  stopped run resumes where it was. It keeps its --mode, --critic-steps and --precision: a
  resumed run goes on with them, and a different value is refused rather than mixed into
  one log.
- `--precision auto` by default: the layers compute in bfloat16 where the hardware does
  that fast (CPUs with AMX or AVX512-BF16, GPUs from compute capability 8), as measured to
  train as well; in float16 with loss scaling on older GPUs (not measured: no GPU here);
  in float32 on other CPUs. The last layers, the losses and the penalty's norm stay float32.
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
# Settings: the paper's MNIST values
# ----------------------------------------------------------------------------------------
MODEL_NAME = "wgan_gp"
SCRIPT = "python wgan_gp.py"
NOISE_DIM = 128  # the paper's MNIST code: 128
PENALTY_WEIGHT = 10.0  # lambda, the paper's value for every experiment
CRITIC_STEPS = 5  # critic updates per generator update (n_critic in the paper)
# WGAN-GP: Adam as the paper's MNIST code (the paper itself uses beta_1 = 0).
ADAM_SETTINGS = dict(learning_rate=1e-4, beta_1=0.5, beta_2=0.9)
# --mode wgan: RMSprop without momentum, as Arjovsky et al.: momentum misleads a clipped critic.
RMSPROP_LEARNING_RATE = 5e-5
CLIP_VALUE = 0.01  # --mode wgan: every critic weight clipped to [-0.01, 0.01]
NUM_FIXED = 16
DEFAULTS = dict(
    # 20 passes of the critic over the data: about 3,700 generator steps. A budget that fits
    # an afternoon on a CPU; the paper trains far longer.
    epochs=20,
    # Our choice (the article gives none): WGAN's m = 64 (Arjovsky et al., Algorithm 1) and the
    # WGAN-GP paper's CIFAR-10 and LSUN code; its MNIST code uses 50.
    batch_size=64,
    dataset="mnist",  # the article: MNIST
    out_dir=os.path.join("runs", MODEL_NAME),
    # 16-bit layers where the hardware computes them fast, else float32: on a CPU with
    # AVX512-BF16, bfloat16 ran the step 1.35x faster, and two seeds scored as float32 (FCD
    # 33.9 and 42.3 against 33.7 and 41.9); the penalty's double backward pass agreed with
    # float32's (docs/performance.md). --precision float32: every layer in float32.
    precision="auto",
)
MODES = ("wgan-gp", "wgan")
MODE = "wgan-gp"  # the article's subject; "wgan" is the clipped WGAN it improves on
# The curves of losses.png: one panel per list of log columns.
PLOT_PANELS = [("Wasserstein estimate", ["wasserstein"]), ("loss", ["critic_loss", "g_loss"]),
               ("gradient penalty", ["gradient_penalty"]), ("quality", ["fcd"])]


def add_train_args(parser):
    parser.add_argument(
        "--mode", choices=MODES, default=None,
        help="'wgan-gp': gradient penalty, Adam; 'wgan': the original WGAN with weight "
             f"clipping and RMSprop(5e-5), to compare (default: the resumed run's, else {MODE})")
    parser.add_argument(
        "--critic-steps", metavar="N", type=cli.positive_int, default=None,
        help=f"critic updates per generator update (default: the resumed run's, else {CRITIC_STEPS})")


# ----------------------------------------------------------------------------------------
# Data: MNIST (the article's data) or Fashion-MNIST scaled to [-1, 1], in shuffled full batches
# ----------------------------------------------------------------------------------------
def load_real_images(dataset, data_dir, batch_size, seed=None):
    """The training images as float32 (N, 28, 28, 1) in [-1, 1], and their batches.

    One train step takes `batch_size` = critic_steps x the critic's batch, so that each of
    its critic steps sees images of its own.
    """
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
# Generator: noise (128) -> image (28, 28, 1) in [-1, 1]
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# Critic: image (28, 28, 1) -> one unbounded score (higher means "more real")
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# Losses and the gradient penalty
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# Train step: `critic_steps` critic updates, then one generator update
# ----------------------------------------------------------------------------------------
def make_train_step(generator, critic, generator_optimizer, critic_optimizer, mode, critic_steps):
    use_penalty = mode == "wgan-gp"

    @tf.function
    def train_step(real_images):
        # real_images holds critic_steps batches: each critic step sees images of its own.
        real_batches = tf.split(real_images, critic_steps)
        batch_size = tf.shape(real_batches[0])[0]
        totals = {"critic_loss": 0.0, "gradient_penalty": 0.0, "wasserstein": 0.0}
        for real_batch in real_batches:
            noise = tf.random.normal([batch_size, NOISE_DIM])  # z ~ N(0, 1)
            with tf.GradientTape() as tape:
                fake_images = generator(noise, training=True)
                real_scores = critic(real_batch, training=True)
                fake_scores = critic(fake_images, training=True)
                penalty = gradient_penalty(critic, real_batch, fake_images) if use_penalty else 0.0
                loss = critic_loss(real_scores, fake_scores, penalty)
            gradients = tape.gradient(critic_optimizer.scale_loss(loss), critic.trainable_variables)
            critic_optimizer.apply_gradients(zip(gradients, critic.trainable_variables))
            if not use_penalty:
                # WGAN keeps the critic Lipschitz by clipping every weight after each update.
                for weight in critic.trainable_variables:
                    weight.assign(tf.clip_by_value(weight, -CLIP_VALUE, CLIP_VALUE))
            totals["critic_loss"] += loss
            totals["gradient_penalty"] += penalty
            # The Wasserstein estimate: how much higher the critic scores real than fake.
            totals["wasserstein"] += tf.reduce_mean(real_scores) - tf.reduce_mean(fake_scores)

        noise = tf.random.normal([batch_size, NOISE_DIM])
        with tf.GradientTape() as tape:
            g_loss = generator_loss(critic(generator(noise, training=True), training=True))
        gradients = tape.gradient(generator_optimizer.scale_loss(g_loss), generator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))

        step_outputs = {name: total / critic_steps for name, total in totals.items()}
        step_outputs["g_loss"] = g_loss
        if not use_penalty:
            del step_outputs["gradient_penalty"]
        return step_outputs

    return train_step


def make_optimizers(mode):
    """Adam(1e-4, 0.5, 0.9) for WGAN-GP; RMSprop(5e-5) for the clipped WGAN."""
    if mode == "wgan":
        return keras.optimizers.RMSprop(RMSPROP_LEARNING_RATE), keras.optimizers.RMSprop(RMSPROP_LEARNING_RATE)
    return keras.optimizers.Adam(**ADAM_SETTINGS), keras.optimizers.Adam(**ADAM_SETTINGS)


# ----------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------
def train(args):
    """Train to args.epochs epochs in all, resuming the run in args.out_dir if it has one."""
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)  # a new run starts from the same weights, noise and order
    # A resumed run keeps the settings it started with; the flags name them for a new run.
    mode = args.mode or saved_setting(args.out_dir, "mode", MODE)
    critic_steps = args.critic_steps or saved_setting(args.out_dir, "critic_steps", CRITIC_STEPS)
    policy = precision.set_policy(args.precision or saved_setting(args.out_dir, "precision", DEFAULTS["precision"]))
    images_per_step = args.batch_size * critic_steps  # each critic step gets a batch of its own
    real_images, batches, source = load_real_images(args.dataset, args.data_dir, images_per_step, args.seed)
    full_steps = len(real_images) // images_per_step
    steps = min(full_steps, args.steps_per_epoch or full_steps)

    generator, critic = build_generator(), build_critic()
    generator_optimizer, critic_optimizer = (
        precision.optimizer(optimizer, policy) for optimizer in make_optimizers(mode))
    # Keras 3 creates an optimizer's slots at its first step; a restore needs them now.
    generator_optimizer.build(generator.trainable_variables)
    critic_optimizer.build(critic.trainable_variables)
    train_step = make_train_step(generator, critic, generator_optimizer, critic_optimizer, mode, critic_steps)
    # The same 16 noise vectors every epoch, so the grids and the GIF show one set of images learning.
    fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    checkpoints = Checkpoints(
        args.out_dir, dict(model=MODEL_NAME, dataset=args.dataset, mode=mode, critic_steps=critic_steps,
                           precision=policy), SCRIPT,
        generator=generator, critic=critic, generator_optimizer=generator_optimizer,
        critic_optimizer=critic_optimizer, fixed_noise=fixed_noise,
    )
    progress.banner(f"{MODEL_NAME} (mode {mode}, {critic_steps} critic steps per generator step) "
                    f"on {args.dataset}", [generator, critic], len(real_images), source, args.epochs, steps,
                    full_steps, f"{critic_steps} x {args.batch_size}", policy, args.seed, args.out_dir)
    finished = checkpoints.restore_newest()  # the last finished epoch; 0 for a new run
    runs.resume(args.out_dir, finished, args.epochs)  # drops files written after that checkpoint
    if finished == 0:
        images.save_grid(generator(fixed_noise, training=False), runs.grid_path(args.out_dir, 0))

    board = Board(args.out_dir)  # TensorBoard summaries in OUT_DIR/tensorboard/
    try:
        for epoch in range(finished + 1, args.epochs + 1):
            started = time.perf_counter()
            means = progress.RunningMeans()
            for real_batches in progress.bar(batches.take(steps), steps, f"epoch {epoch}/{args.epochs}", means):
                # The step's losses join the epoch's means; a loss that turns NaN stops the run here,
                # before this epoch's checkpoint, with a message.
                means.add(train_step(real_batches))
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
                            f"{mode.upper()} on {args.dataset}", PLOT_PANELS)
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
    generator, critic = build_generator(), build_critic()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), SCRIPT, generator=generator, critic=critic)
    epoch = checkpoints.restore_for_sampling()
    fake_images = image_sampler(generator, args.seed)(args.n)
    path = images.save_samples(fake_images, args.output or os.path.join(args.out_dir, "samples.png"))
    print(f"Generated {args.n} images with the generator of epoch {epoch}: {path}")
    # A critic's score is not a probability: only differences between scores mean something.
    score = tf.reduce_mean(critic(fake_images, training=False))
    print(f"Critic's mean score on them: {float(score):.3f} (unbounded; higher = more real)")


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
    cli.main(argv, "wgan_gp.py", __doc__, DEFAULTS, train=train, sample=sample, evaluate=evaluate,
             walk=walk, add_train_args=add_train_args)


if __name__ == "__main__":
    cli.run(main)
