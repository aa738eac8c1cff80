"""The articles' training loop, for timing `python SCRIPT.py train` against it.

    python benchmarks/article_loop.py dcgan --steps 53

The loop of the TensorFlow DCGAN tutorial, which the articles share: the data scaled to
[-1, 1] in one float32 array, `shuffle(60000).batch(B)` (a ragged last batch, no prefetch),
a plain `@tf.function` train step called once per batch, then the grid of the fixed noise
drawn with matplotlib. Each script's own step function is used, compiled the article's way
(no XLA), so only the loop around it differs from `train`. One epoch of `--steps` steps;
benchmarks/throughput.py runs it at two step counts so that start-up cancels out.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import tensorflow as tf  # noqa: E402

import dcgan_fashion  # noqa: E402
import mlp_gan_keras  # noqa: E402
import wgan_gp  # noqa: E402
from common import datasets  # noqa: E402


def as_the_article(model):
    """The article's batch norm: not synchronised across devices (the scripts' is, which changes
    nothing on one device but may cost time: this loop times the article's)."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = False
    return model


def build(name):
    """The script's models and its train step (plain tf.function), and the images per step."""
    if name == "dcgan":
        generator, discriminator = (
            as_the_article(dcgan_fashion.build_generator()),
            dcgan_fashion.build_discriminator(),
        )
        step = dcgan_fashion.make_train_step(
            generator, discriminator, keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
        )
        return generator, tf.function(step.python_function), 256, dcgan_fashion.NOISE_DIM
    if name == "mlp":
        generator, discriminator = (
            mlp_gan_keras.build_generator(),
            mlp_gan_keras.build_discriminator(),
        )
        step = mlp_gan_keras.make_train_step(
            generator,
            discriminator,
            keras.optimizers.Adam(2e-4, beta_1=0.5),
            keras.optimizers.Adam(2e-4, beta_1=0.5),
            mlp_gan_keras.generator_loss_non_saturating,
        )
        return generator, tf.function(step.python_function), 128, mlp_gan_keras.NOISE_DIM
    generator, critic = wgan_gp.build_generator(), wgan_gp.build_critic()
    step = wgan_gp.make_train_step(
        generator, critic, *wgan_gp.make_optimizers("wgan-gp"), "wgan-gp",
        wgan_gp.Settings.critic_steps,
    )
    return (
        generator,
        tf.function(step.python_function),
        64 * wgan_gp.Settings.critic_steps,
        wgan_gp.NOISE_DIM,
    )


def generate_and_save_images(generator, epoch, test_input, folder):
    """The tutorial's picture: a 4x4 matplotlib figure of the fixed noise's images."""
    predictions = generator(test_input, training=False)
    figure = plt.figure(figsize=(4, 4))
    for i in range(predictions.shape[0]):
        plt.subplot(4, 4, i + 1)
        plt.imshow(predictions[i, :, :, 0] * 127.5 + 127.5, cmap="gray")
        plt.axis("off")
    plt.savefig(os.path.join(folder, f"image_at_epoch_{epoch:04d}.png"))
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("model", choices=["dcgan", "mlp", "wgan"])
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out-dir", default="/tmp/article_loop")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    pixels, _ = datasets.load("fashion_mnist", "train", args.data_dir)
    train_images = (pixels.reshape(-1, 28, 28, 1).astype("float32") - 127.5) / 127.5
    generator, train_step, batch_size, noise_dim = build(args.model)
    train_dataset = (
        tf.data.Dataset.from_tensor_slices(train_images).shuffle(60000).batch(batch_size)
    )
    seed = tf.random.normal([16, noise_dim])

    start = time.time()
    for image_batch in train_dataset.take(args.steps):
        train_step(image_batch)
    generate_and_save_images(generator, 1, seed, args.out_dir)
    print(f"Time for epoch 1 is {time.time() - start:.2f} sec")


if __name__ == "__main__":
    main()
