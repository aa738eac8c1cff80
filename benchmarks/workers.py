"""Several machines, measured on one: the DCGAN's step on two workers against one process.

    python benchmarks/workers.py                      # batch 64, 20 timed steps, 3 rounds
    python benchmarks/workers.py --batch 256 --steps 10 --rounds 2

Each round times dcgan_fashion.py's train step (the article's recipe, float32) in one process
with the whole batch, then on two workers started by common/workers.py on localhost (each
with half the batch, TensorFlow's MultiWorkerMirroredStrategy), and on the two workers one
all-reduce of as many float32 numbers as the step's gradients (what the workers exchange per
step, twice: the discriminator's and the generator's). On one computer the two workers share
its cores, so expect no gain; the all-reduce time and the bytes let a reader estimate two
real machines: step time there ~ (one process's step at half the batch) + 2 x all-reduce over
their network. It prints the machine first. No test asserts these numbers.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as file:
            lines = file.read().splitlines()
    except OSError:
        return platform.processor() or "unknown CPU"
    def field(key):
        return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(key)), "?")

    flags = field("flags").split()
    shown = [flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in flags]
    return (f"{field('model name')} (family {field('cpu family')}, model {field('model')}; "
            f"{', '.join(shown)}), {os.cpu_count()} cores")


def measure(batch, steps):
    """In this process (a worker when TF_CONFIG is set): seconds per step, and per all-reduce."""
    import numpy as np
    import tensorflow as tf

    from common import devices

    strategy = devices.strategy(1)  # with TF_CONFIG: MultiWorkerMirroredStrategy
    devices.use(strategy)
    import dcgan_fashion as lesson

    generator, discriminator = lesson.build_generator(), lesson.build_discriminator()
    optimizers = lesson.make_optimizers(lesson.RECIPES["article"])
    for optimizer, model in zip(optimizers, (generator, discriminator)):
        optimizer.build(model.trainable_variables)
        devices.average_gradients(optimizer, strategy.num_replicas_in_sync)
    step = devices.replicated(
        strategy, lesson.make_train_step(generator, discriminator, *optimizers)
    )
    index, workers = devices.worker()
    images = tf.random.uniform([batch // workers, 28, 28, 1], -1, 1)
    batches = iter(devices.distribute(strategy, tf.data.Dataset.from_tensors(images).repeat()))
    float(step(next(batches))["d_loss"])  # traced, and every worker past its start
    started = time.perf_counter()
    for _ in range(steps):
        outputs = step(next(batches))
    float(outputs["d_loss"])
    result = dict(step=(time.perf_counter() - started) / steps)
    numbers = sum(int(np.prod(v.shape)) for v in
                  generator.trainable_variables + discriminator.trainable_variables)
    result["gradient_bytes"] = 4 * numbers
    if workers > 1:
        gradients = tf.ones([numbers])
        all_reduce = tf.function(
            lambda: strategy.reduce("SUM", strategy.run(lambda: gradients), axis=None))
        float(all_reduce()[0])
        started = time.perf_counter()
        for _ in range(10):
            total = all_reduce()
        float(total[0])
        result["all_reduce"] = (time.perf_counter() - started) / 10
    if index == 0:
        print("RESULT " + json.dumps(result), flush=True)
    devices.finish()


def run(command, env=None):
    output = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=1800).stdout
    lines = [line for line in output.splitlines() if "RESULT " in line]
    if not lines:
        raise SystemExit(f"no result from {' '.join(command)}:\n{output[-2000:]}")
    return json.loads(lines[-1].split("RESULT ", 1)[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        return measure(args.batch, args.steps)
    import tensorflow as tf

    print(f"machine: {cpu_model()}; TensorFlow {tf.__version__}; no GPU, no second machine")
    mine = [sys.executable, os.path.abspath(__file__), "--measure", "--batch", str(args.batch),
            "--steps", str(args.steps)]
    single, double, reduce_ = [], [], []
    for round_ in range(args.rounds):
        one = run(mine)
        two = run([sys.executable, "-m", "common.workers", "2", "--", *mine])
        single.append(one["step"])
        double.append(two["step"])
        reduce_.append(two["all_reduce"])
        print(f"round {round_ + 1}: one process {one['step']:.3f} s/step, two workers "
              f"{two['step']:.3f} s/step, one all-reduce {two['all_reduce'] * 1000:.1f} ms",
              flush=True)
    bytes_ = one["gradient_bytes"]
    print(f"\nDCGAN step at batch {args.batch} (medians of {args.rounds} rounds):")
    print(f"  one process:            {statistics.median(single):.3f} s")
    print(f"  two workers, localhost: {statistics.median(double):.3f} s "
          f"({statistics.median(single) / statistics.median(double):.2f}x one process)")
    print(f"  gradients exchanged per step: 2 all-reduces covering {bytes_ / 1e6:.1f} MB "
          f"in all; one all-reduce of all of it here: "
          f"{statistics.median(reduce_) * 1000:.1f} ms")
    print(f"  over 1 Gbit/s (about 0.1 GB/s): about {bytes_ / 0.1e9 * 1000:.0f} ms a step for "
          "two machines (in a ring of two each sends, and receives, about all of it once)")


if __name__ == "__main__":
    main()
