"""Training on several devices at once, for --devices N: tf.distribute.MirroredStrategy.

Every device (a "replica") holds a copy of each model. In each step every replica takes an
equal share of the batch and computes its gradients; the gradients are added up across
the replicas (an all-reduce) and every copy applies the same update, so the copies stay
identical. The scripts' part of the bargain:

- build the models, optimizers and every other variable inside `strategy.scope()`;
- average each loss over the *global* batch, `tf.nn.compute_average_loss`, since the
  replicas' gradients are added, not averaged (on one device it is the plain mean);
- run the step with `strategy.run` and add up what the replicas return (`strategy.reduce`);
- synchronise batch normalisation, so its mean and variance cover the whole batch.

With one device, `strategy(1, ...)` is TensorFlow's default strategy, under which all of
the above changes nothing. With N GPUs it mirrors over the first N. With fewer GPUs than N,
it splits the CPU into N logical devices: no faster than one (they share the same cores;
benchmarks/devices.py measured 0.98x the time of one device for two), but the way to watch
it work, and to test it, without a GPU.
"""

import tensorflow as tf

from common.errors import UserError


def strategy(count, batch_size):
    """The tf.distribute strategy for `count` devices; call it before TensorFlow runs anything."""
    if count == 1:
        return tf.distribute.get_strategy()  # the default: one device, nothing changes
    if batch_size % count:
        raise UserError(
            f"--batch-size {batch_size} does not split into {count} equal shares for --devices "
            f"{count}. Use a batch size that is a multiple of {count}, e.g. {batch_size - batch_size % count or count}.")
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= count:
        return tf.distribute.MirroredStrategy([f"/gpu:{index}" for index in range(count)])
    split_cpu(count)
    names = [device.name for device in tf.config.list_logical_devices("CPU")[:count]]
    # NCCL, the default way to add up gradients, is for GPUs; on CPUs they are added on one device.
    return tf.distribute.MirroredStrategy(names, cross_device_ops=tf.distribute.ReductionToOneDevice())


def split_cpu(count):
    """Make the CPU appear as `count` logical devices (possible only before TensorFlow starts)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TensorFlow has started already: fine if it was split as far before
        started_with = len(tf.config.list_logical_devices("CPU"))
        if started_with < count:
            raise UserError(
                f"--devices {count}: this process has started TensorFlow with {started_with} CPU "
                "device(s) already, and the CPU can be split into logical devices only before that. "
                "Run the command in a new Python process (from a notebook: restart the kernel "
                "first).") from None


def describe(strategy):
    """'2 replicas on CPU:0, CPU:1 (the CPU split in 2: ...)'."""
    if strategy.num_replicas_in_sync == 1:
        return "1 (TensorFlow's choice: a GPU if it finds one, else the CPU)"
    names = [name.split("device:")[-1] for name in strategy.extended.worker_devices]  # "CPU:0"
    text = f"{len(names)} replicas on {', '.join(names)}"
    if all("CPU" in name for name in names):
        text += f" (the CPU split in {len(names)}: the same cores, so no faster than one device)"
        gpus = len(tf.config.list_physical_devices("GPU"))
        if gpus:  # fewer GPUs than asked for: say that they sit idle
            text += (f"; this machine's {gpus} GPU{'s' if gpus > 1 else ''} stay unused: "
                     f"--devices {gpus} trains on {'them' if gpus > 1 else 'it'}")
    return text


def split(strategy, batch):
    """The batch cut into one equal share per replica, each placed on its device."""
    if strategy.num_replicas_in_sync == 1:
        return batch
    shares = tf.split(batch, strategy.num_replicas_in_sync)
    return strategy.experimental_distribute_values_from_function(
        lambda context: shares[context.replica_id_in_sync_group])
