"""The gradient penalty's double backward pass in bfloat16, against float32, on the same weights.

    python benchmarks/penalty_bfloat16.py     # an untrained critic and one trained 200 steps
    python benchmarks/penalty_bfloat16.py --steps 0

WGAN-GP's critic update follows the gradient of a gradient: the penalty is computed from
the critic's gradient with respect to its input, and the update differentiates that again.
Under --precision mixed_bfloat16 the critic's layers compute in bfloat16 (8 bits of
mantissa, about 3 significant digits) in all three passes. This script builds one critic,
copies its weights into a second one built under mixed_bfloat16, and compares on the same
real images, fakes and interpolation weights:

- the penalty GP and the critic loss;
- the gradient of GP with respect to every critic weight: the cosine between the float32
  and bfloat16 gradients (1 = the same direction), both norms, and the relative error of
  the bfloat16 vector.

With --steps N, the comparison is made again after N WGAN-GP steps of training in float32
on the real Fashion-MNIST, where the critic's gradients have grown away from their start.
No test asserts these numbers (tests/test_wgan_gp.py checks a loose bound).
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import wgan_gp  # noqa: E402
from common import datasets, precision  # noqa: E402


def penalty_and_gradients(critic, real, fake, seed):
    """GP, the critic loss, and the gradient of GP with respect to the critic's weights."""
    keras.utils.set_random_seed(seed)  # the same interpolation weights a in both precisions
    with tf.GradientTape() as tape:
        penalty = wgan_gp.gradient_penalty(critic, real, fake)
        loss = wgan_gp.critic_loss(
            critic(real, training=True), critic(fake, training=True), penalty
        )
    gradients = tape.gradient(penalty, critic.trainable_variables)
    # The last layer's bias does not move the input gradient, so GP has none for it: zeros.
    return (
        float(penalty),
        float(loss),
        [
            np.zeros(variable.shape) if gradient is None else gradient.numpy().astype(np.float64)
            for gradient, variable in zip(gradients, critic.trainable_variables)
        ],
    )


def build_critic(policy):
    keras.mixed_precision.set_global_policy(policy)
    try:
        return wgan_gp.build_critic()
    finally:
        keras.mixed_precision.set_global_policy("float32")


def compare(critic, real, fake, label):
    twin = build_critic("mixed_bfloat16")
    twin.set_weights(critic.get_weights())
    results = {
        policy: penalty_and_gradients(model, real, fake, seed=7)
        for policy, model in (("float32", critic), ("mixed_bfloat16", twin))
    }
    (p32, l32, g32), (p16, l16, g16) = results["float32"], results["mixed_bfloat16"]
    flat32, flat16 = np.concatenate([g.ravel() for g in g32]), np.concatenate(
        [g.ravel() for g in g16]
    )
    cosine = flat32 @ flat16 / (np.linalg.norm(flat32) * np.linalg.norm(flat16))
    print(f"\n{label}")
    print(
        f"  penalty GP     float32 {p32:.5f}  bfloat16 {p16:.5f}  relative difference "
        f"{abs(p16 - p32) / p32:.2%}"
    )
    print(
        f"  critic loss    float32 {l32:.5f}  bfloat16 {l16:.5f}  difference {abs(l16 - l32):.5f}"
    )
    print(
        f"  dGP/dweights   cosine {cosine:.5f}  norm float32 {np.linalg.norm(flat32):.4g}  "
        f"bfloat16 {np.linalg.norm(flat16):.4g}  relative error of the vector "
        f"{np.linalg.norm(flat16 - flat32) / np.linalg.norm(flat32):.2%}"
    )
    worst = min(
        (i for i in range(len(g32)) if np.any(g32[i])),
        key=lambda i: (g32[i].ravel() @ g16[i].ravel())
        / (np.linalg.norm(g32[i]) * np.linalg.norm(g16[i]) + 1e-30),
    )
    layer_cosine = (g32[worst].ravel() @ g16[worst].ravel()) / (
        np.linalg.norm(g32[worst]) * np.linalg.norm(g16[worst])
    )
    print(f"  worst weight   {critic.trainable_variables[worst].path}: cosine {layer_cosine:.5f}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--steps", type=int, default=200, help="float32 WGAN-GP steps before the second comparison"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    print(
        f"Machine: {precision.describe_cpu()}; TensorFlow {tf.__version__}, Keras "
        f"{keras.__version__}"
    )
    pixels, _ = datasets.load("fashion_mnist", "train", None)
    images = ((pixels.astype(np.float32) - 127.5) / 127.5)[..., np.newaxis]
    keras.utils.set_random_seed(0)
    generator, critic = wgan_gp.build_generator(), wgan_gp.build_critic()
    real = tf.constant(images[: args.batch_size])
    fake = generator(tf.random.normal([args.batch_size, wgan_gp.NOISE_DIM]), training=False)
    compare(critic, real, fake, "Untrained critic, batch of {}".format(args.batch_size))
    if args.steps:
        step = wgan_gp.make_train_step(
            generator, critic, *wgan_gp.make_optimizers("wgan-gp"), "wgan-gp",
            wgan_gp.Settings.critic_steps,
        )
        rng = np.random.default_rng(0)
        for _ in range(args.steps):
            shape = (wgan_gp.Settings.critic_steps, args.batch_size)
            picks = rng.choice(len(images), shape, replace=False)
            step(tf.constant(images[picks.ravel()]))  # critic_steps batches, one after another
        fake = generator(tf.random.normal([args.batch_size, wgan_gp.NOISE_DIM]), training=False)
        compare(critic, real, fake, f"After {args.steps} WGAN-GP steps in float32")


if __name__ == "__main__":
    main()
