"""Training on several devices at once, for --devices N: tf.distribute.MirroredStrategy.

Every device (a "replica") holds a copy of each model. In each step every replica takes an
equal share of the batch and computes its gradients; the gradients are added up across
the replicas (an all-reduce) and every copy applies the same update, so the copies stay
identical. A lesson's train step is written for one device, with plain means over its
batch; this module wraps it from outside, as Keras's own `fit` wraps a `train_step`:

- `use(strategy)` makes the strategy current, so every model, optimizer and variable the
  lesson builds afterwards is mirrored on each device (as inside `strategy.scope()`);
- `average_gradients(optimizer, N)`: each replica's gradient is of its share's mean, and the
  replicas' gradients are added, so each is divided by N first: the update is then the
  gradient of the whole batch's mean, as on one device;
- `replicated(strategy, step)` runs the step on every replica with its share of the batch and
  returns the mean of what the replicas return (equal shares: the whole batch's means);
- the lessons' batch norm is `synchronized=True`, so that its mean and variance cover the
  whole batch (on one device that changes nothing).

With one device none of this is applied: the lesson's step runs as written. With N GPUs it
mirrors over the first N. With fewer GPUs than N, it splits the CPU into N logical devices:
no faster than one (they share the same cores: docs/performance.md), but the way to watch
it work, and to test it, without a GPU.
"""

import tensorflow as tf

from common.errors import UserError


def strategy(count):
    """The tf.distribute strategy for `count` devices; call it before TensorFlow runs anything."""
    if count == 1:
        return tf.distribute.get_strategy()  # the default: one device, nothing changes
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= count:
        return tf.distribute.MirroredStrategy([f"/gpu:{index}" for index in range(count)])
    split_cpu(count)
    names = [device.name for device in tf.config.list_logical_devices("CPU")[:count]]
    # NCCL, the default way to add up gradients, is for GPUs; on CPUs they are added on one device.
    return tf.distribute.MirroredStrategy(
        names, cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


def split_cpu(count):
    """Make the CPU appear as `count` logical devices (possible only before TensorFlow starts)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError:  # TensorFlow has started already: fine if it was split as far before
        started_with = len(tf.config.list_logical_devices("CPU"))
        if started_with < count:
            raise UserError(
                f"--devices {count}: this process has started TensorFlow with {started_with} CPU "
                "device(s) already, and the CPU can be split into logical devices only before "
                "that. "
                "Run the command in a new Python process (from a notebook: restart the kernel "
                "first)."
            ) from None


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
            text += (
                f"; this machine's {gpus} GPU{'s' if gpus > 1 else ''} stay unused: "
                f"--devices {gpus} trains on {'them' if gpus > 1 else 'it'}"
            )
    return text


def use(strategy):
    """Make `strategy` current: the variables built from now on are mirrored on its devices."""
    if strategy.num_replicas_in_sync > 1:
        tf.distribute.experimental_set_strategy(strategy)


def release():
    """Back to one device, after a `train` that called `use` (for the tests and notebooks)."""
    if tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context():
        try:
            tf.distribute.experimental_set_strategy(None)
        except RuntimeError:  # inside a `with strategy.scope()` of the caller's: theirs to leave
            pass


def average_gradients(optimizer, replicas):
    """Divide each replica's gradients by `replicas` before Keras adds them up across replicas.

    Keras divides every gradient by `loss_scale_factor` just before it applies it (the step
    never calls `optimizer.scale_loss`, which would multiply the loss by it), and then adds up
    the replicas' gradients: N gradients of N shares' means, each divided by N, add up to the
    gradient of the whole batch's mean.
    """
    if replicas > 1:
        optimizer.loss_scale_factor = float(replicas)


def replicated(strategy, step):
    """`step` run on every replica with its share of the batch; the replicas' outputs averaged."""
    if strategy.num_replicas_in_sync == 1:
        return step

    # The step's own Python function, traced again inside this one: XLA (the MLP's
    # jit_compile) cannot reach the variables of the other devices.
    one_replica_step = getattr(step, "python_function", step)

    @tf.function
    def step_on_every_replica(shares):
        outputs = strategy.run(one_replica_step, args=(shares,))
        # Each replica returns the means over its share; equal shares: their mean is the batch's.
        return {name: strategy.reduce("MEAN", value, axis=None) for name, value in outputs.items()}

    return step_on_every_replica


def distribute(strategy, batches):
    """A tf.data.Dataset of batches as the replicas take them: each batch cut into N shares."""
    if strategy.num_replicas_in_sync == 1:
        return batches
    return strategy.experimental_distribute_dataset(batches)


def split(strategy, batch):
    """The batch cut into one equal share per replica, each placed on its device."""
    if strategy.num_replicas_in_sync == 1:
        return batch
    shares = tf.split(batch, strategy.num_replicas_in_sync)
    return strategy.experimental_distribute_values_from_function(
        lambda context: shares[context.replica_id_in_sync_group]
    )
