"""The original GAN with fully connected networks: a generator learns to write digits.

The generator maps 100 random numbers through three Dense layers to a 28x28 image; the
discriminator, three Dense layers too, outputs the probability that an image is real.
They are trained in turn: the discriminator on real and fake images, then the generator
to make the discriminator call its fakes real.

Follows article 000 ("GAN and its Keras implementation"), after Goodfellow et al. 2014,
"Generative Adversarial Nets" (arXiv 1406.2661), with the optimizer of the Keras GAN
collection the article takes its code from; article 002 trains the same idea in PyTorch.

Usage:
    python mlp_gan_keras.py train                         # MNIST, as the article
    python mlp_gan_keras.py train --dataset fashion_mnist # works offline with Debian's files
    python mlp_gan_keras.py train --loss minimax          # Goodfellow's original generator loss
    python mlp_gan_keras.py                               # 16 samples from the latest checkpoint
    python mlp_gan_keras.py evaluate                      # FCD, KID and class coverage

Where this departs from the article, and why:
- The discriminator's last layer outputs a logit and the loss applies the sigmoid: the same
  network, but log(sigmoid(x)) computed as -softplus(-x) cannot overflow or give log(0).
- Two GradientTapes and two optimizers replace `discriminator.trainable = False` and a
  combined model, which no longer freeze the discriminator in Keras 3.
- Adam(2e-4, beta_1=0.5) for both networks, as the Keras GAN collection (the article's
  RMSprop(4e-4) line belongs to another variant it quotes).
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
MODEL_NAME = "mlp_gan"
NOISE_DIM = 100  # article: latent_dim = 100
LEARNING_RATE = 2e-4  # Keras GAN collection: Adam(0.0002, 0.5); article 002 also uses 2e-4
BETA_1 = 0.5  # a shorter momentum memory: the target moves as the other network learns
NUM_FIXED = 16
DEFAULTS = dict(
    epochs=30,  # 1.8M images: about twice what the Keras GAN collection trains (README: "Why 30")
    batch_size=128,  # article 002: batch 128
    dataset="mnist",  # article: MNIST
    out_dir=os.path.join("runs", MODEL_NAME),
    save_every=5,
    precision="float32",
)
LOSSES = ("non-saturating", "minimax")


def add_train_args(parser):
    parser.add_argument(
        "--loss", choices=LOSSES, default="non-saturating",
        help="generator loss: 'non-saturating' maximises log D(G(z)); 'minimax' minimises "
             "log(1 - D(G(z))), Goodfellow's original, which stalls when D wins early "
             "(default: %(default)s)")


# ----------------------------------------------------------------------------------------
# Data: MNIST (the article's data) or Fashion-MNIST scaled to [-1, 1], fed as shuffled full batches (common/datasets.py)
# ----------------------------------------------------------------------------------------
def load_data(args):
    """The training images, shape (N, 28, 28, 1), where they came from, and the batches."""
    real_images, source = datasets.load(args.dataset, "train", args.data_dir)
    return real_images, source, datasets.batches(real_images, args.batch_size, seed=args.seed)


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
    vanishes): the generator learns slowly just when it is worst. Article 001 explains it.
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
        noise = tf.random.normal([batch_size, NOISE_DIM])
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


# ----------------------------------------------------------------------------------------
# Training loop
# ----------------------------------------------------------------------------------------
def train(args):
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    args.precision = precision.set_policy(args.precision)
    real_images, source, dataset = load_data(args)

    generator, discriminator = build_generator(), build_discriminator()
    generator_optimizer = precision.optimizer(keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1), args.precision)
    discriminator_optimizer = precision.optimizer(keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1), args.precision)
    # Keras 3 creates optimizer slots lazily; build them now so a restore can fill them.
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    # The same 16 noise vectors every epoch, so the GIF shows one set of digits improving.
    fixed_noise = tf.Variable(tf.random.normal([NUM_FIXED, NOISE_DIM]), trainable=False)
    checkpoints = Checkpoints(
        args.out_dir, dict(model=MODEL_NAME, dataset=args.dataset, loss=args.loss), "python mlp_gan_keras.py",
        generator=generator, discriminator=discriminator, generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer, fixed_noise=fixed_noise,
    )
    train_step = make_train_step(generator, discriminator, generator_optimizer, discriminator_optimizer,
                                 GENERATOR_LOSSES[args.loss])
    run = TrainingRun(
        args, checkpoints, [generator, discriminator], [generator_optimizer, discriminator_optimizer],
        plot_panels=[("loss", ["d_loss", "g_loss"]), ("D output", ["D(x)", "D(G(z))"]), ("quality", ["fcd"])],
        steps=len(real_images) // args.batch_size,
        title=f"MLP GAN ({args.loss} loss) on {args.dataset}",
    )
    run.start(lambda: generator(fixed_noise, training=False),
              banner(f"{MODEL_NAME} ({args.loss} loss)", args, source, len(real_images), run.full_steps,
                     [generator, discriminator]))

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
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), "python mlp_gan_keras.py",
                              generator=generator, discriminator=discriminator)
    epoch = checkpoints.require()
    noise = tf.random.normal([args.n, NOISE_DIM], seed=args.seed)
    fake_images = generator(noise, training=False)
    decision = tf.reduce_mean(tf.sigmoid(discriminator(fake_images, training=False)))
    cli.report_samples(args, fake_images.numpy(), epoch,
                       f"Discriminator's mean decision on them: {float(decision):.3f} (1 = real, 0 = fake)")


def evaluate(args):
    generator = build_generator()
    checkpoints = Checkpoints(args.out_dir, dict(model=MODEL_NAME), "python mlp_gan_keras.py", generator=generator)
    metrics.evaluate_checkpoint(checkpoints, generator, NOISE_DIM, args)


def main(argv=None):
    cli.main(argv, "mlp_gan_keras.py", __doc__, DEFAULTS, train=train, sample=sample, evaluate=evaluate,
             add_train_args=add_train_args)


if __name__ == "__main__":
    cli.run(main)
