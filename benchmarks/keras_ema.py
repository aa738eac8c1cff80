"""The fast recipe's averaged generator: ours against Keras's own optimizer EMA, in one run.

    python benchmarks/keras_ema.py --seeds 0 1 --epochs 2       # about 35 min on 2 CPU cores

The average does not change training, so one run of dcgan_fashion.py's fast recipe keeps both
side by side and scores each after every epoch (FCD, KID, classes, on 2,000 samples):

- ours (update_average): every weight, batch norm's moving statistics too, with the decay
  min(0.999, (1 + t) / (10 + t)): a short memory while the weights are young;
- Keras's: Adam(use_ema=True, ema_momentum=0.999) on the generator's optimizer. It averages
  the trainable weights only, with 0.999 from the second step on (no warm-up); a generator
  that draws from it takes the trained generator's batch-norm statistics. Reading it each
  epoch needs the optimizer's private `_model_variables_moving_average`
  (`finalize_variable_values` overwrites the generator itself, once, at the end).
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import dcgan_fashion as dcgan  # noqa: E402
from common import metrics, precision, progress, training  # noqa: E402


def keras_average(generator, generator_optimizer):
    """A generator drawing from Keras's EMA: the averaged trainable weights, the trained
    generator's batch-norm statistics."""
    copy = dcgan.build_generator()
    copy.set_weights(generator.get_weights())
    averages = generator_optimizer._model_variables_moving_average
    for variable, average in zip(copy.trainable_variables, averages):
        variable.assign(average)
    return copy


def run(seed, epochs, data_dir, samples, steps=None):
    keras.utils.set_random_seed(seed)
    recipe = dcgan.RECIPES["fast"]
    real_images, batches, _ = dcgan.load_real_images("fashion_mnist", data_dir, 256, seed)
    generator, discriminator = dcgan.build_generator(), dcgan.build_discriminator()
    generator_optimizer = keras.optimizers.Adam(
        recipe["learning_rate"], beta_1=recipe["beta_1"], use_ema=True, ema_momentum=0.999)
    discriminator_optimizer = keras.optimizers.Adam(recipe["learning_rate"],
                                                    beta_1=recipe["beta_1"])
    ours = dcgan.build_averaged_generator(generator)
    step = dcgan.make_train_step(generator, discriminator, generator_optimizer,
                                 discriminator_optimizer)
    scorer = metrics.scorer_for("fashion_mnist", data_dir, verbose=False)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        means = progress.RunningMeans()
        steps = steps or int(batches.cardinality())
        for real_batch in progress.bar(batches.take(steps), steps, f"epoch {epoch}", means):
            means.add(step(real_batch))
            dcgan.update_average(ours, generator, recipe["average_decay"],
                                 generator_optimizer.iterations)
        minutes = (time.perf_counter() - started) / 60
        theirs = keras_average(generator, generator_optimizer)
        for name, model in (("ours", ours), ("keras", theirs), ("trained", generator)):
            drawn = metrics.generate(training.sampler(model, seed=0), samples)
            scores = scorer.score(drawn, 0)
            print(f"| {seed} | {epoch} | {minutes:.1f} | {name} | {scores['fcd']:.1f} | "
                  f"{scores['kid']:.4f} | {scores['classes_covered']} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="for a quick try")
    args = parser.parse_args()
    print(f"Machine: {precision.describe_cpu()}; TensorFlow {tf.__version__}, "
          f"Keras {keras.__version__}; float32, batch 256, Fashion-MNIST, {args.samples:,} samples")
    print("| seed | epoch | minutes | generator | FCD | KID | classes >= 5% |")
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        run(seed, args.epochs, args.data_dir, args.samples, args.steps_per_epoch)


if __name__ == "__main__":
    main()
