"""The train step of each script, the article's way against the project's: images a second.

Reproduces docs/performance.md, "Performance": the step tables (article and project img/s,
their ratio; GFLOP per step and the share of the matmul peak) and the later sessions' bare
step figures; and docs/colour.md, "How long it takes": the colour DCGAN's 395 GFLOP a step.

    python benchmarks/throughput.py                              # all four, a few minutes
    python benchmarks/throughput.py --models dcgan --steps 4 --rounds 3
    python benchmarks/throughput.py --precision mixed_bfloat16   # another policy as "project"

Each script's model and batch size are timed two ways in one process, interleaved round by
round so that a busy machine slows both alike:

- article: float32, the article's input pipeline (a float32 tensor, shuffle(60000),
  batch with a ragged last batch, no prefetch), one @tf.function step per Python iteration;
- project: what `python SCRIPT.py train` does by default (its --precision, its
  make_batches pipeline, and XLA where the script turns it on: the MLP GAN).

It prints the machine, both rates and their ratio, and how close the article's step comes
to the machine's float32 matrix-multiply speed, counted from the layer shapes. The images
are random numbers: a step's speed does not depend on what they show. No test asserts these
numbers. performance.md's whole-program table came from `--tables commands`, removed after
commit aeb37ab (`git show aeb37ab:benchmarks/throughput.py`).
"""

import os
import statistics
import time

from _shared import describe_cpu, parser

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import dcgan_color  # noqa: E402
import dcgan_fashion  # noqa: E402
import mlp_gan_keras  # noqa: E402
import wgan_gp  # noqa: E402
from common import precision  # noqa: E402

SCRIPTS = {"dcgan": dcgan_fashion, "mlp": mlp_gan_keras, "wgan": wgan_gp, "color": dcgan_color}
DEFAULT_BATCH = {"dcgan": 256, "mlp": 128, "wgan": 64, "color": dcgan_color.Settings.batch_size}


def forward_flops(model):
    """Multiply-adds x 2 of one image's forward pass through Dense and (transposed) convs."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            # Conv2D's kernel is (kh, kw, in, out), a transposed one's (kh, kw, out, in). The
            # whole kernel meets each pixel of the smaller map once: a strided convolution's
            # output, a transposed convolution's input.
            kh, kw, a, b = layer.kernel.shape
            transposed = isinstance(layer, keras.layers.Conv2DTranspose)
            height, width = (layer.input if transposed else layer.output).shape[1:3]
            total += 2 * height * width * kh * kw * a * b
    return total


def step_flops(name, generator, discriminator, batch_size, critic_steps=5):
    """Approximate FLOPs of one train step: a backward pass costs about twice a forward."""
    g, d = forward_flops(generator), forward_flops(discriminator)
    per_image = {
        # G forward, D on real and fake; G's tape: back through D and G; D's tape: D twice.
        "dcgan": 3 * g + 7 * d,
        # D step: G forward, D twice forward and backward; G step: G and D forward and backward.
        "mlp": 4 * g + 8 * d,
        # Each critic step: G forward, D real/fake/interpolates, the penalty's double backward.
        "wgan": critic_steps * (g + 11 * d) + 3 * g + 2 * d,
        # D's update: G forward, D forward and backward on real and fake; then two generator
        # updates, each G and D forward and backward.
        "color": g + 6 * d + dcgan_color.Settings.generator_steps * (3 * g + 3 * d),
    }[name]
    return per_image * batch_size


def matmul_gflops(size=2048, repeats=10):
    """The float32 speed this machine reaches on a large matrix product: a practical peak."""
    a = tf.random.normal([size, size])
    product = tf.function(lambda x: tf.matmul(x, x))
    product(a).numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        result = product(a)
    result.numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def build(name, policy):
    """The script's models and its own train step, with its optimizers, under a dtype policy."""
    keras.mixed_precision.set_global_policy(policy)
    script = SCRIPTS[name]
    generator = script.build_generator()
    if name == "wgan":
        discriminator = wgan_gp.build_critic()
        step = wgan_gp.make_train_step(generator, discriminator, *wgan_gp.make_optimizers(
            "wgan-gp"), "wgan-gp", wgan_gp.Settings.critic_steps)
    else:
        discriminator = script.build_discriminator()
        optimizers = (dcgan_fashion.make_optimizers(dcgan_fashion.RECIPES["article"])
                      if name == "dcgan" else script.make_optimizers())
        loss = [mlp_gan_keras.generator_loss_non_saturating] if name == "mlp" else []
        step = script.make_train_step(generator, discriminator, *optimizers, *loss)
    keras.mixed_precision.set_global_policy("float32")
    return step, generator, discriminator


def pipelines(name, real_per_step, images):
    """(article, project) iterators of random batches, each the way the docstring above says
    (the scripts' make_batches: full batches, prefetched). dcgan_color.py at 64 px: the
    article's, 1,000 float32 pictures already scaled (60,000 would be 2.9 GB); the script's,
    uint8 batches scaled in the pipeline."""
    if name != "color":
        article = tf.data.Dataset.from_tensor_slices(images).shuffle(60000).batch(real_per_step)
        project = dcgan_fashion.make_batches(images, real_per_step, 0)
    else:
        pictures = np.random.default_rng(0).integers(0, 256, (1000, 64, 64, 3), dtype=np.uint8)
        scaled = (pictures.astype(np.float32) - 127.5) / 127.5
        article = tf.data.Dataset.from_tensor_slices(scaled).shuffle(1000).batch(real_per_step)
        project = dcgan_color.make_batches(pictures, real_per_step, 0)
    return iter(article.repeat()), iter(project.repeat())


def time_steps(step, iterator, count):
    started = time.perf_counter()
    for _ in range(count):
        metrics = step(next(iterator))
    float(next(iter(metrics.values())))  # wait for the last step to finish
    return time.perf_counter() - started


def step_rows(args, peak):
    print(f"{'script':<16}{'batch':>6}{'article img/s':>15}{'project img/s':>15}{'ratio':>8}"
          f"{'GFLOP/step':>12}{'of peak':>9}  project path")
    images = np.random.default_rng(0).uniform(-1, 1, (60000, 28, 28, 1)).astype(np.float32)
    for name in args.models:
        batch = DEFAULT_BATCH[name]
        # Real images a step consumes: a WGAN-GP step takes a batch per critic step.
        per_step = batch * (wgan_gp.Settings.critic_steps if name == "wgan" else 1)
        policy = precision.choose(args.precision or SCRIPTS[name].Settings.precision)
        article_step, generator, discriminator = build(name, "float32")
        # The article's step: the same Python function, compiled by plain tf.function (no XLA).
        article_step = tf.function(article_step.python_function)
        project_step = build(name, policy)[0]
        article_data, project_data = pipelines(name, per_step, images)
        for _ in range(2):  # trace and compile each step, fill each pipeline
            time_steps(article_step, article_data, 1)
            time_steps(project_step, project_data, 1)
        count = args.steps or max(2, int(5 / max(time_steps(article_step, article_data, 1), 1e-3)))
        article_times, project_times = [], []
        for _ in range(args.rounds):
            article_times.append(time_steps(article_step, article_data, count))
            project_times.append(time_steps(project_step, project_data, count))
        article_rate = count * per_step / statistics.median(article_times)
        project_rate = count * per_step / statistics.median(project_times)
        flops = step_flops(name, generator, discriminator, batch)
        xla = ", XLA" if getattr(project_step, "_jit_compile", False) else ""
        achieved = flops * article_rate / per_step / 1e9
        print(f"{name:<16}{batch:>6}{article_rate:>15.0f}{project_rate:>15.0f}"
              f"{project_rate / article_rate:>8.2f}{flops / 1e9:>12.1f}{achieved / peak:>9.0%}"
              f"  {policy}, the scripts' pipeline{xla}", flush=True)
    print("\n'of peak': the article path's FLOP/s (counted from layer shapes) over the matmul "
          "speed above.")


def main():
    options = parser(__doc__)
    options.add_argument("--models", nargs="+", default=list(DEFAULT_BATCH),
                         choices=list(DEFAULT_BATCH), help="color: dcgan_color.py at 64 px")
    options.add_argument("--steps", type=int, default=0,
                         help="timed steps per round (default: about 5 s of work)")
    options.add_argument("--rounds", type=int, default=3,
                         help="interleaved rounds; the median is reported")
    options.add_argument("--precision", help="the project side's policy (default: each script's)")
    args = options.parse_args()
    gpus = ", ".join(gpu.name for gpu in tf.config.list_physical_devices("GPU")) or "none"
    print(f"Machine: {describe_cpu()}; TensorFlow {tf.__version__}, Keras "
          f"{keras.__version__}; GPU: {gpus}")
    peak = matmul_gflops()
    print(f"float32 2048x2048 matmul: {peak:.0f} GFLOP/s (the practical peak for comparison)\n")
    print("The bare train step, in one process:")
    step_rows(args, peak)


if __name__ == "__main__":
    main()
