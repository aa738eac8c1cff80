"""--devices N: the DCGAN step on one device against N replicas, in one process, interleaved.

    python benchmarks/devices.py                       # dcgan_fashion, batch 256, 1 vs 2 devices
    python benchmarks/devices.py --devices 4 --steps 5 --rounds 3

Without GPUs the replicas are logical devices cut from the same CPU (common/devices.py):
they share its cores, so this measures what mirroring costs (copies of the batch and the
weights, the all-reduce of the gradients, synchronised batch norm), not a speed-up. On N
GPUs each replica has a GPU of its own; this script then measures that instead. It prints
the machine and the devices. No test asserts these numbers.
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import dcgan_fashion  # noqa: E402
from common import devices, precision  # noqa: E402


def make(strategy, batch_size):
    """A train step of dcgan_fashion under `strategy` and a batch split for it."""
    with strategy.scope():  # as common/training.py does for a run
        generator = dcgan_fashion.build_generator()
        discriminator = dcgan_fashion.build_discriminator()
        optimizers = dcgan_fashion.make_optimizers(dcgan_fashion.RECIPES["article"])
        for optimizer in optimizers:
            devices.average_gradients(optimizer, strategy.num_replicas_in_sync)
        lesson_step = dcgan_fashion.make_train_step(generator, discriminator, *optimizers)
        step = devices.replicated(strategy, lesson_step)
    batch = np.random.default_rng(0).uniform(-1, 1, (batch_size, 28, 28, 1)).astype(np.float32)
    return step, batch


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    many = devices.strategy(args.devices)  # splits the CPU if need be: before anything runs
    one = tf.distribute.get_strategy()
    print(f"Machine: {precision.describe_cpu()}; TensorFlow {tf.__version__}; float32")
    print(f"--devices {args.devices}: {devices.describe(many)}")
    strategies = {"1 device": one, f"{args.devices} replicas": many}
    runs = {
        label: (strategy, *make(strategy, args.batch_size))
        for label, strategy in strategies.items()
    }
    for strategy, step, batch in runs.values():  # trace and warm up
        for _ in range(2):
            step(devices.split(strategy, batch))
    times = {label: [] for label in runs}
    for _ in range(args.rounds):
        for label, (strategy, step, batch) in runs.items():
            started = time.perf_counter()
            for _ in range(args.steps):
                outputs = step(devices.split(strategy, batch))
            float(outputs["d_loss"])  # wait for the last step
            times[label].append((time.perf_counter() - started) / args.steps)
    base = statistics.median(times["1 device"])
    for label, values in times.items():
        median = statistics.median(values)
        print(
            f"{label:>12}: {median:.3f} s per step of {args.batch_size} "
            f"({args.batch_size / median:.0f} img/s), "
            f"{median / base:.2f}x the time of one device"
        )


if __name__ == "__main__":
    main()
