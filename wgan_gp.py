"""WGAN-GP: a critic estimates the Wasserstein distance, and its loss shows training progress.

The original GAN's discriminator saturates: once it separates real from fake perfectly,
the generator's gradient vanishes. A Wasserstein GAN replaces it with a critic that scores
images (no sigmoid) and estimates the earth-mover distance between the real and the fake
distributions; the generator lowers that distance. The estimate needs a 1-Lipschitz
critic: WGAN clips the critic's weights, WGAN-GP penalises its gradient norm instead.

Follows article 004 ("GAN collection (4): WGAN and WGAN-GP"), Gulrajani et al. 2017,
"Improved Training of Wasserstein GANs" (arXiv 1704.00028) and its MNIST code, and
Arjovsky et al. 2017, "Wasserstein GAN" (arXiv 1701.07875) for `--mode wgan`.

Usage:
    python wgan_gp.py train                          # WGAN-GP on MNIST, as the article
    python wgan_gp.py train --dataset fashion_mnist  # works offline with Debian's files
    python wgan_gp.py train --mode wgan              # the original WGAN: weight clipping
    python wgan_gp.py                                # 16 samples from the latest checkpoint
    python wgan_gp.py evaluate                       # FCD, KID and class coverage

Where this departs from the paper's MNIST code, and why:
- Images are in [-1, 1] with a tanh output (the paper's MNIST code uses [0, 1] and a
  sigmoid), so that all three scripts share one data range.
- LeakyReLU in the critic, as the issue and the other scripts; the paper's code uses it too.
- An epoch is one pass of the *critic* over the data: each generator step consumes
  5 batches of 64 real images, one per critic step (60000 / 320 = 187 generator steps).
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
# Settings: the paper's MNIST values
# ----------------------------------------------------------------------------------------
MODEL_NAME = "wgan_gp"
NOISE_DIM = 128  # paper's MNIST code: 128
GP_WEIGHT = 10.0  # lambda, the paper's value for every experiment
CRITIC_STEPS = 5  # critic updates per generator update (n_critic)
GP_ADAM = dict(learning_rate=1e-4, beta_1=0.5, beta_2=0.9)  # paper's MNIST code (the paper: beta_1 = 0)
CLIP_VALUE = 0.01  # --mode wgan: critic weights clipped to [-0.01, 0.01]
WGAN_RMSPROP = 5e-5  # --mode wgan: RMSprop, as Arjovsky et al.: momentum misleads a clipped critic
NUM_FIXED = 16
DEFAULTS = dict(
    epochs=20,  # about 3,700 generator steps (README: "Why 20")
    batch_size=64,  # paper's MNIST code: BATCH_SIZE = 50; 64 as the issue and keras-io
    dataset="mnist",  # article: MNIST
    out_dir=os.path.join("runs", MODEL_NAME),
    save_every=5,
    precision="float32",
)
MODES = ("wgan-gp", "wgan")


def add_train_args(parser):
    parser.add_argument(
        "--mode", choices=MODES, default="wgan-gp",
        help="'wgan-gp': gradient penalty, Adam; 'wgan': the original WGAN with weight "
             "clipping and RMSprop(5e-5), to compare (default: %(default)s)")
    parser.add_argument(
        "--critic-steps", type=cli.positive_int, default=CRITIC_STEPS,
        help="critic updates per generator update (default: %(default)s)")


# ----------------------------------------------------------------------------------------
# Data: MNIST (the article's data) or Fashion-MNIST scaled to [-1, 1], fed as shuffled full batches (common/datasets.py)
# ----------------------------------------------------------------------------------------
def load_data(args):
    """The training images, where they came from, and batches of critic_steps x batch_size:
    one train step feeds each of its critic steps a batch of its own."""
    real_images, source = datasets.load(args.dataset, "train", args.data_dir)
    return real_images, source, datasets.batches(real_images, args.batch_size * args.critic_steps, seed=args.seed)


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
    the optimal critic has gradient norm 1. Computed in float32 whatever the policy.
    """
    real_images = tf.cast(real_images, tf.float32)
    fake_images = tf.cast(fake_images, tf.float32)
    batch_size = tf.shape(real_images)[0]
    alpha = tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)
    interpolates = alpha * real_images + (1.0 - alpha) * fake_images
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
    return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores) + GP_WEIGHT * penalty


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
        totals = {"critic_loss": 0.0, "gp": 0.0, "wasserstein": 0.0}
        for real_batch in real_batches:
            noise = tf.random.normal([batch_size, NOISE_DIM])
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
            totals["gp"] += penalty
            # The Wasserstein estimate: how much higher the critic scores real than fake.
            totals["wasserstein"] += tf.reduce_mean(real_scores) - tf.reduce_mean(fake_scores)

        noise = tf.random.normal([batch_size, NOISE_DIM])
        with tf.GradientTape() as tape:
            g_loss = generator_loss(critic(generator(noise, training=True), training=True))
        gradients = tape.gradient(generator_optimizer.scale_loss(g_loss), generator.trainable_variables)
        generator_optimizer.apply_gradients(zip(gradients, generator.trainable_variables))

        metrics = {name: total / critic_steps for name, total in totals.items()}
        metrics["g_loss"] = g_loss
        if not use_penalty:
            del metrics["gp"]
        return metrics

    return train_step


def make_optimizers(mode):
    """Adam(1e-4, 0.5, 0.9) for WGAN-GP; RMSprop(5e-5) for the clipped WGAN."""
    if mode == "wgan":
        return keras.optimizers.RMSprop(WGAN_RMSPROP), keras.optimizers.RMSprop(WGAN_RMSPROP)
    return keras.optimizers.Adam(**GP_ADAM), keras.optimizers.Adam(**GP_ADAM)


# ----------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------
def train(args):
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    args.precision = precision.set_policy(args.precision)
    real_images, source, dataset = load_data(args)

    generator, critic = build_generator(), build_critic()
    generator_optimizer, critic_optimizer = (precision.optimizer(o, args.precision) for o in make_optimizers(args.mode))
    # Keras 3 creates optimizer slots lazily; build them now so a restore can fill them.
    generator_optimizer.build(generator.trainable_variables)
    critic_optimizer.build(critic.trainable_variables)
    # The same 16 noise vectors every epoch, so the GIF shows one set of images improving.
    fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    checkpoints = Checkpoints(
        args.out_dir, dict(model=MODEL_NAME, dataset=args.dataset, mode=args.mode), "python wgan_gp.py",
        generator=generator, critic=critic, generator_optimizer=generator_optimizer,
        critic_optimizer=critic_optimizer, fixed_noise=fixed_noise,
    )
    train_step = make_train_step(generator, critic, generator_optimizer, critic_optimizer,
                                 args.mode, args.critic_steps)
    run = TrainingRun(
        args, checkpoints, [generator, critic], [generator_optimizer, critic_optimizer],
        plot_panels=[("Wasserstein estimate", ["wasserstein"]), ("loss", ["critic_loss", "g_loss"]),
                     ("gradient penalty", ["gp"]), ("quality", ["fcd"])],
        steps=len(real_images) // (args.batch_size * args.critic_steps),
        title=f"{args.mode.upper()} on {args.dataset}",
    )
    run.start(lambda: generator(fixed_noise, training=False),
              banner(f"{MODEL_NAME} (mode {args.mode}, {args.critic_steps} critic steps per generator step)",
                     args, source, len(real_images), run.full_steps, [generator, critic]))

    with run.saving_on_interrupt():
        for epoch in run.epochs():
            for real_batches in run.progress(dataset):
                run.record(train_step(real_batches))
            run.end_epoch(generator(fixed_noise, training=False),
                          extra=metrics.during_training(args, epoch, generator, NOISE_DIM))
    run.finish(generator)


# ----------------------------------------------------------------------------------------
# Sampling: restore the latest checkpoint and draw new images
# ----------------------------------------------------------------------------------------
def sample(args):
    generator, critic = build_generator(), build_critic()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), "python wgan_gp.py",
                              generator=generator, critic=critic)
    epoch = checkpoints.require()
    noise = tf.random.normal([args.n, NOISE_DIM], seed=args.seed)
    fake_images = generator(noise, training=False)
    # A critic's score is not a probability: only differences between scores mean something.
    score = tf.reduce_mean(critic(fake_images, training=False))
    cli.report_samples(args, fake_images.numpy(), epoch,
                       f"Critic's mean score on them: {float(score):.3f} (unbounded; higher = more real)")


def evaluate(args):
    generator = build_generator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), "python wgan_gp.py", generator=generator)
    metrics.evaluate_checkpoint(checkpoints, generator, NOISE_DIM, args)


def main(argv=None):
    cli.main(argv, "wgan_gp.py", __doc__, DEFAULTS, train=train, sample=sample, evaluate=evaluate,
             add_train_args=add_train_args)


if __name__ == "__main__":
    cli.run(main)
