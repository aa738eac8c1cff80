"""Training throughput: the article's way versus the project's, per script.

    python benchmarks/throughput.py                 # both tables, about 25 minutes on 2 CPU cores
    python benchmarks/throughput.py --tables steps --models dcgan --steps 4 --rounds 3
    python benchmarks/throughput.py --tables commands --models mlp
    python benchmarks/throughput.py --tables commands --models dcgan --span 3   # 13 -> 133 steps
    python benchmarks/throughput.py --precision mixed_bfloat16   # try another policy as "project"
    python benchmarks/throughput.py --tables steps --models color   # dcgan_color.py at 64 px

Table "steps": the bare train step. For each script, the same model and batch size are
timed two ways in one process, interleaved round by round so that a busy machine slows
both alike:

- article: float32, the article's input pipeline (a float32 tensor, shuffle(60000),
  batch with a ragged last batch, no prefetch), one @tf.function step per Python iteration;
- project: what `python SCRIPT.py train` does by default (its --precision, its
  load_real_images pipeline, and XLA where the script turns it on: the MLP GAN).

It prints images per second for both and their ratio, the machine, and how close each step
comes to the machine's measured float32 matrix-multiply speed, counted from the layer shapes.

Table "commands": the whole program. `python SCRIPT.py train` (its loop, progress bar,
grids, log and checkpoints) against benchmarks/article_loop.py (the articles' loop around
the same step), each run as a user runs it, in a fresh process on the real Fashion-MNIST,
with a small and a large number of steps; the difference of the two wall times over the
difference of the steps is the time per step, with start-up (imports, data, tracing, the
final files) cancelled out. Interleaved rounds, the median reported. Each run goes through
benchmarks/step_clock.py, which also notes when each step ends: the median gap between two
steps is a third estimate, the steadiest on a shared machine (a slow spell of a few seconds
moves a difference of wall times by up to a half, and a median of gaps hardly at all).

No test asserts any of these numbers; the machine is shared and noisy.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import dcgan_color  # noqa: E402
import dcgan_fashion  # noqa: E402
import mlp_gan_keras  # noqa: E402
import wgan_gp  # noqa: E402
from common import datasets, precision  # noqa: E402
from common.runs import read_log  # noqa: E402


# ----- arithmetic per step, from the layer shapes ------------------------------------------
def forward_flops(model):
    """Multiply-adds x 2 of one image's forward pass through Dense and (transposed) convs."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
            kh, kw, a, b = (
                layer.kernel.shape
            )  # Conv2D: (kh, kw, in, out); transposed: (kh, kw, out, in)
            height, width = (
                layer.input.shape
                if isinstance(layer, keras.layers.Conv2DTranspose)
                else layer.output.shape
            )[1:3]
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


# ----- the two ways to train ----------------------------------------------------------------
def build(name, policy, batch_size):
    """Models, optimizers and the script's own train step under a dtype policy."""
    keras.mixed_precision.set_global_policy(policy)
    if name == "dcgan":
        generator, discriminator = (
            dcgan_fashion.build_generator(),
            dcgan_fashion.build_discriminator(),
        )
        optimizers = [keras.optimizers.Adam(1e-4) for _ in range(2)]
        step = dcgan_fashion.make_train_step(generator, discriminator, *optimizers)
        real_per_step = batch_size
    elif name == "mlp":
        generator, discriminator = (
            mlp_gan_keras.build_generator(),
            mlp_gan_keras.build_discriminator(),
        )
        optimizers = [keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(2)]
        step = mlp_gan_keras.make_train_step(
            generator, discriminator, *optimizers, mlp_gan_keras.generator_loss_non_saturating
        )
        real_per_step = batch_size
    elif name == "color":
        generator, discriminator = dcgan_color.build_generator(), dcgan_color.build_discriminator()
        optimizers = dcgan_color.make_optimizers()
        step = dcgan_color.make_train_step(generator, discriminator, *optimizers)
        real_per_step = batch_size
    else:
        generator, discriminator = wgan_gp.build_generator(), wgan_gp.build_critic()
        optimizers = wgan_gp.make_optimizers("wgan-gp")
        step = wgan_gp.make_train_step(
            generator, discriminator, *optimizers, "wgan-gp", wgan_gp.Settings.critic_steps
        )
        real_per_step = batch_size * wgan_gp.Settings.critic_steps
    keras.mixed_precision.set_global_policy("float32")
    return step, generator, discriminator, real_per_step


def article_pipeline(images, real_per_step):
    """As the articles: shuffle(60000), batch with a ragged last batch, no prefetch."""
    return tf.data.Dataset.from_tensor_slices(images).shuffle(60000).batch(real_per_step)


def time_steps(step, iterator, count):
    started = time.perf_counter()
    for _ in range(count):
        metrics = step(next(iterator))
    float(next(iter(metrics.values())))  # wait for the last step to finish
    return time.perf_counter() - started


def project_pipeline(images, real_per_step):
    """As the scripts' load_real_images: full batches, prefetched."""
    return datasets.shuffled_batches(images, real_per_step, 0)


def colour_pipelines(real_per_step):
    """dcgan_color.py at 64 px: the article's way, a float32 tf.data pipeline of scaled pictures
    (1,000 of them: 60,000 would be 2.9 GB); the script's way, uint8 batches scaled in the pipeline.
    """
    pictures = np.random.default_rng(0).integers(0, 256, (1000, 64, 64, 3), dtype=np.uint8)
    scaled = (pictures.astype(np.float32) - 127.5) / 127.5
    article = tf.data.Dataset.from_tensor_slices(scaled).shuffle(1000).batch(real_per_step).repeat()

    project = datasets.shuffled_batches(pictures, real_per_step, 0, prepare=dcgan_color.scale)
    return iter(article), iter(project.repeat())


DEFAULT_BATCH = {"dcgan": 256, "mlp": 128, "wgan": 64, "color": dcgan_color.Settings.batch_size}
SCRIPT_DEFAULTS = {  # each script's Settings, for its default precision
    "dcgan": dcgan_fashion.Settings,
    "mlp": mlp_gan_keras.Settings,
    "wgan": wgan_gp.Settings,
    "color": dcgan_color.Settings,
}


# ----- the whole program: `train` against the article's loop ---------------------------------
SCRIPT_FILES = {"dcgan": "dcgan_fashion.py", "mlp": "mlp_gan_keras.py", "wgan": "wgan_gp.py"}
# (small, large) step counts: the difference is at least ~10 s of training on 2 cores.
COMMAND_STEPS = {"dcgan": (13, 53), "mlp": (20, 420), "wgan": (5, 35)}


def timed_run(command, epoch_seconds):
    """Run `python PROGRAM ARGS...` under benchmarks/step_clock.py; return its wall time, the
    epoch's own time (read by epoch_seconds) and the median gap between two steps' ends."""
    times_file = os.path.join(tempfile.mkdtemp(prefix="step-clock-"), "ends.json")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "benchmarks/step_clock.py", times_file, *command[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    wall = time.perf_counter() - started
    with open(times_file) as ends_file:
        ends = json.load(ends_file)
    shutil.rmtree(os.path.dirname(times_file), ignore_errors=True)
    gaps = [later - earlier for earlier, later in zip(ends, ends[1:])]
    return wall, epoch_seconds(result.stdout), statistics.median(gaps)


def command_rows(names, rounds, data_dir, span=1.0):
    """Seconds per step of `train` and of the article's loop, from two step counts each.

    Two estimates: from the wall time of the whole process, and from the epoch's time as
    each program reports it (log.csv's `seconds`, the tutorial's "Time for epoch"), which
    leaves out the start-up noise of a shared machine. Both are differences between a
    small and a large run, so what does not grow with the steps cancels.
    """
    print(
        f"{'script':<8}{'steps':>9}{'article s/step':>16}{'train s/step':>14}{'ratio':>7}"
        f"{'in-epoch ratio':>16}{'gap ratio':>12}  rounds: article/train wall (in-epoch) [gap]"
    )
    for name in names:
        small, large = COMMAND_STEPS[name]
        large = small + round(
            span * (large - small)
        )  # --span: more steps, less of the start-up's noise
        folder = tempfile.mkdtemp(prefix="throughput-")
        data = ["--data-dir", data_dir] if data_dir else []

        def article(steps):
            command = [
                sys.executable,
                "benchmarks/article_loop.py",
                name,
                "--steps",
                str(steps),
                "--out-dir",
                os.path.join(folder, "article"),
                *data,
            ]
            return timed_run(
                command, lambda out: float(out.split("Time for epoch 1 is ")[1].split()[0])
            )

        def train(steps):
            out = os.path.join(folder, f"train-{steps}")
            shutil.rmtree(out, ignore_errors=True)  # a new run every time, never a resume
            command = [
                sys.executable,
                SCRIPT_FILES[name],
                "train",
                "--dataset",
                "fashion_mnist",
                "--epochs",
                "1",
                "--steps-per-epoch",
                str(steps),
                "--out-dir",
                out,
                *data,
            ]
            return timed_run(
                command, lambda _: read_log(os.path.join(out, "log.csv"))[0]["seconds"]
            )

        rounds_seen = []
        for _ in range(rounds):
            article_large, article_small = article(large), article(small)
            train_large, train_small = train(large), train(small)
            steps = large - small
            rounds_seen.append(
                (
                    (article_large[0] - article_small[0]) / steps,  # wall
                    (train_large[0] - train_small[0]) / steps,
                    (article_large[1] - article_small[1]) / steps,  # the epoch's time
                    (train_large[1] - train_small[1]) / steps,
                    article_large[2],  # the median gap between steps, in the large run
                    train_large[2],
                )
            )
        shutil.rmtree(folder, ignore_errors=True)
        # Each round's ratio pairs runs made minutes apart, so a slow spell on a shared machine
        # touches both sides of it; the median of those ratios is the figure to quote.
        def median_ratio(article_index):
            return statistics.median(r[article_index] / r[article_index + 1] for r in rounds_seen)

        article_step = statistics.median(r[0] for r in rounds_seen)
        train_step = statistics.median(r[1] for r in rounds_seen)
        shown = " ".join(
            f"{r[0]:.3f}/{r[1]:.3f} ({r[2]:.3f}/{r[3]:.3f}) [{r[4]:.3f}/{r[5]:.3f}]"
            for r in rounds_seen
        )
        print(
            f"{name:<8}{f'{small}->{large}':>9}{article_step:>16.3f}{train_step:>14.3f}"
            f"{median_ratio(0):>7.2f}{median_ratio(2):>16.2f}{median_ratio(4):>12.2f}  {shown}",
            flush=True,
        )
    print(
        "\nratio: the median over rounds of the article loop's seconds per step over train's, "
        "from wall times;\nin-epoch ratio: the same from the epoch times the programs report;"
        "\ngap ratio: the same from the median gap between two steps' ends inside the large "
        "runs\n(benchmarks/step_clock.py; start-up, tracing and the final files left out, and "
        "the least moved\nby a busy spell of the machine). Above 1, `train` is faster."
    )


def step_rows(args, peak):
    images = np.random.default_rng(0).uniform(-1, 1, (60000, 28, 28, 1)).astype(np.float32)
    header = (f"{'script':<16}{'batch':>6}{'article img/s':>15}{'project img/s':>15}{'ratio':>8}"
              f"{'GFLOP/step':>12}{'of peak':>9}  project path")
    print(header)
    for name in args.models:
        batch = DEFAULT_BATCH[name]
        policy = precision.choose(args.precision or SCRIPT_DEFAULTS[name].precision)
        article_step, generator, discriminator, per_step = build(name, "float32", batch)
        # The article's step: the same Python function, compiled by plain tf.function (no XLA).
        article_step = tf.function(article_step.python_function)
        project_step, *_ = build(name, policy, batch)
        if name == "color":
            article_data, project_data = colour_pipelines(per_step)
        else:
            article_data = iter(article_pipeline(images, per_step).repeat())
            project_data = iter(project_pipeline(images, per_step).repeat())
        # Warm up: trace and compile each step, fill each pipeline.
        for _ in range(2):
            time_steps(article_step, article_data, 1)
            time_steps(project_step, project_data, 1)
        count = args.steps or max(2, int(5 / max(time_steps(article_step, article_data, 1), 1e-3)))
        article_times, project_times = [], []
        for _ in range(args.rounds):
            article_times.append(time_steps(article_step, article_data, count))
            project_times.append(time_steps(project_step, project_data, count))
        # Real images consumed per second (a WGAN-GP step takes 5 batches, one per critic step).
        article_rate = count * per_step / statistics.median(article_times)
        project_rate = count * per_step / statistics.median(project_times)
        flops = step_flops(name, generator, discriminator, batch)
        xla = ", XLA" if getattr(project_step, "_jit_compile", False) else ""
        achieved = flops * article_rate / per_step / 1e9
        print(
            f"{name:<16}{batch:>6}{article_rate:>15.0f}{project_rate:>15.0f}"
            f"{project_rate / article_rate:>8.2f}"
            f"{flops / 1e9:>12.1f}{achieved / peak:>9.0%}  {policy}, the scripts' pipeline{xla}",
            flush=True,
        )
    print(
        "\n'of peak': the article path's FLOP/s (counted from layer shapes) over the matmul "
        "speed above."
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["dcgan", "mlp", "wgan", "color"],
        choices=["dcgan", "mlp", "wgan", "color"],
        help="color: dcgan_color.py at 64 px (steps table only: the article publishes no "
        "loop to compare)",
    )
    parser.add_argument(
        "--tables", nargs="+", default=["steps", "commands"], choices=["steps", "commands"]
    )
    parser.add_argument(
        "--steps", type=int, default=0, help="timed steps per round (default: about 5 s of work)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds; the median is reported"
    )
    parser.add_argument(
        "--precision", default=None, help="the project side's policy (default: each script's)"
    )
    parser.add_argument(
        "--span",
        type=float,
        default=1.0,
        help="commands table: multiply the difference of the two step counts, for a "
        "steadier figure on a noisy machine (default: %(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="Fashion-MNIST folder for the commands table " "(default: where the scripts look)",
    )
    args = parser.parse_args()

    print(
        f"Machine: {precision.describe_cpu()}; TensorFlow {tf.__version__}, Keras "
        f"{keras.__version__}; "
        f"GPU: {', '.join(g.name for g in tf.config.list_physical_devices('GPU')) or 'none'}"
    )
    if "steps" in args.tables:
        peak = matmul_gflops()
        print(f"float32 2048x2048 matmul: {peak:.0f} GFLOP/s (the practical peak for comparison)\n")
        print("The bare train step, in one process:")
        step_rows(args, peak)
    if "commands" in args.tables:
        print(
            "\nThe whole program: `python SCRIPT.py train` against the article's loop, seconds "
            "per step:"
        )
        command_rows(
            [name for name in args.models if name != "color"], args.rounds, args.data_dir, args.span
        )


if __name__ == "__main__":
    main()
