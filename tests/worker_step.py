"""One DCGAN train step on this worker of TF_CONFIG's cluster, for tests/test_workers.py.

    python tests/worker_step.py INPUTS.npz OUTPUT.npz      (run by python -m common.workers 2)

INPUTS holds the start weights, the whole batch of real images and the noise table; each of
the N workers steps on its 1/N of the images and of each noise draw, as test_devices.py's
replicas do. The chief writes the step's outputs and the new weights to OUTPUT.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import devices  # noqa: E402


def main(inputs_path, output_path):
    strategy = devices.strategy(1)  # TF_CONFIG: MultiWorkerMirroredStrategy, first of all
    devices.use(strategy)
    import keras
    import tensorflow as tf

    import dcgan_fashion

    inputs = np.load(inputs_path)
    index, workers = devices.worker()
    share = len(inputs["real"]) // workers
    calls = []

    def draw_noise(count):  # this worker's rows of the next noise draw
        calls.append(count)
        return tf.constant(inputs["noise"][len(calls) - 1][index * share : (index + 1) * share])

    dcgan_fashion.draw_noise = draw_noise
    generator, discriminator = dcgan_fashion.build_generator(), dcgan_fashion.build_discriminator()
    for layer in discriminator.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0  # as in test_devices.py: random masks differ between workers
    count = len(generator.get_weights())
    weights = [inputs[f"weight_{number}"] for number in range(int(inputs["weights"]))]
    generator.set_weights(weights[:count])
    discriminator.set_weights(weights[count:])
    rate = float(inputs["learning_rate"])
    optimizers = (keras.optimizers.SGD(rate), keras.optimizers.SGD(rate))
    for optimizer, model in zip(optimizers, (generator, discriminator)):
        optimizer.build(model.trainable_variables)
        devices.average_gradients(optimizer, strategy.num_replicas_in_sync)
    step = devices.replicated(
        strategy, dcgan_fashion.make_train_step(generator, discriminator, *optimizers)
    )
    mine = inputs["real"][index * share : (index + 1) * share]
    batch = next(iter(devices.distribute(strategy, tf.data.Dataset.from_tensors(mine))))
    outputs = {name: float(value) for name, value in step(batch).items()}
    if index == 0:
        new = generator.get_weights() + discriminator.get_weights()
        np.savez(output_path, names=list(outputs), values=list(outputs.values()),
                 **{f"weight_{number}": value for number, value in enumerate(new)})
    devices.finish()


if __name__ == "__main__":
    main(*sys.argv[1:3])
