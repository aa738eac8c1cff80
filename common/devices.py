"""Training on several devices (--devices N, tf.distribute.MirroredStrategy) or machines
(TF_CONFIG, MultiWorkerMirroredStrategy), with the lesson's train step written for one.

Every device (a "replica") holds a copy of each model and steps on an equal share of the
batch; the replicas' gradients are added up (an all-reduce) and every copy applies the same
update, so the copies stay identical. This module wraps the lesson's step from outside, as
Keras's `fit` wraps a `train_step`: `use` mirrors the models built afterwards, `distribute`
cuts the batches into shares, `average_gradients` divides each replica's gradients by N
(their sum is then the gradient of the whole batch's mean), `replicated` runs the step on
every replica and averages what they return. The lessons' batch norm is `synchronized=True`,
so that its statistics cover the whole batch. With one device none of this is applied. With
fewer GPUs than N, the CPU is split into N logical devices: no faster than one (the same
cores: docs/performance.md), but the way to watch it work, and to test it, without a GPU.
With TF_CONFIG, each worker trains on every Nth image (`worker_share`), worker 0 (`is_chief`)
writes the run folder, the workers wait at most --worker-wait seconds for each other at the
start (`meet`), and they meet once more at the end (`finish`).
"""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time

import tensorflow as tf

from common.errors import UserError, paragraph


def strategy(count, worker_wait=300):
    """The tf.distribute strategy for `count` devices, or for the workers of TF_CONFIG; call it
    before TensorFlow runs anything."""
    index, workers = worker()
    if workers > 1:
        if count > 1:
            raise UserError(
                f"--devices {count} with TF_CONFIG: on several machines each worker trains on "
                "all of its GPUs, or on its CPU, by itself. Leave --devices out.")
        return several_machines(index, workers, worker_wait)
    if count == 1:
        return tf.distribute.get_strategy()  # the default: one device, nothing changes
    if len(tf.config.list_physical_devices("GPU")) >= count:
        return tf.distribute.MirroredStrategy([f"/gpu:{number}" for number in range(count)])
    split_cpu(count)
    names = [device.name for device in tf.config.list_logical_devices("CPU")[:count]]
    # NCCL, the default way to add up gradients, is for GPUs; on CPUs they are added on one device.
    adding = tf.distribute.ReductionToOneDevice()
    return tf.distribute.MirroredStrategy(names, cross_device_ops=adding)


def split_cpu(count):
    """Make the CPU appear as `count` logical devices (possible only before TensorFlow starts)."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:  # TensorFlow has started already: fine if it was split as far before
        started_with = len(tf.config.list_logical_devices("CPU"))
        if started_with < count:
            raise UserError(
                f"--devices {count}: this process has started TensorFlow with {started_with} CPU "
                "device(s) already, and the CPU can be split into logical devices only before "
                "that. Run the command in a new Python process (from a notebook: restart the "
                "kernel first).") from None


def describe(strategy):
    """'2 replicas on CPU:0, CPU:1 (the CPU split in 2: ...)', or the workers, for the banner."""
    index, workers = worker()
    if workers > 1:
        role = ("the chief: it writes the run folder" if index == 0
                else "it writes nothing; worker 0 writes the run folder")
        return (f"{workers} workers (TF_CONFIG), {strategy.num_replicas_in_sync} replicas in "
                f"all; this is worker {index} ({role})")
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


def use(strategy):
    """Make `strategy` current: the variables built from now on are mirrored on its devices."""
    if strategy.num_replicas_in_sync > 1:
        tf.distribute.experimental_set_strategy(strategy)


@contextlib.contextmanager
def this_worker_only():
    """On several machines, build models and variables that live on this worker alone (the
    chief's classifier, its float32 copy of the generator): under the strategy, every new
    variable waits for the other workers to make theirs. Elsewhere: nothing changes."""
    if worker()[1] == 1 or not tf.distribute.has_strategy():
        yield
        return
    current = tf.distribute.get_strategy()
    tf.distribute.experimental_set_strategy(None)
    try:
        yield
    finally:
        tf.distribute.experimental_set_strategy(current)


def release():
    """Back to one device, after a `train` that called `use` (for the tests and notebooks)."""
    if tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context():
        try:
            tf.distribute.experimental_set_strategy(None)
        except RuntimeError:  # inside a `with strategy.scope()` of the caller's: theirs to leave
            pass


def average_gradients(optimizer, replicas):
    """Divide each replica's gradients by `replicas` before Keras adds them up across replicas:
    Keras divides every gradient by `loss_scale_factor` just before it applies it (the step
    never calls `optimizer.scale_loss`, which would multiply the loss by it)."""
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
    """The batches as the replicas take them, each cut into N shares (on several machines a
    worker's batches are its own share already, see `worker_share`: cut only for its GPUs)."""
    if strategy.num_replicas_in_sync == 1:
        return batches
    workers = worker()[1]
    if workers == 1:
        return strategy.experimental_distribute_dataset(batches)
    local = strategy.num_replicas_in_sync // workers
    per_replica = tf.nest.flatten(batches.element_spec)[0].shape[0] // local
    return strategy.distribute_datasets_from_function(
        lambda context: batches if local == 1 else batches.rebatch(per_replica))


# ----- several machines: TF_CONFIG ----------------------------------------------------------
# TensorFlow's MultiWorkerMirroredStrategy reads the cluster from the TF_CONFIG variable:
#   {"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}
# Every worker runs the same command. Worker 0, the chief, writes the run folder; the others
# only train (and save their checkpoints into temporary folders, as TensorFlow requires).
def worker():
    """(this worker's index, the number of workers) from TF_CONFIG; (0, 1) without it."""
    index, addresses = cluster()
    return index, len(addresses)


def cluster():
    """(this worker's index, every worker's address) from TF_CONFIG; (0, [None]) without it."""
    config = os.environ.get("TF_CONFIG")
    if not config:
        return 0, [None]
    try:
        parsed = json.loads(config)
        workers, task = parsed["cluster"]["worker"], parsed["task"]
        index = int(task["index"])
        assert task["type"] == "worker" and 0 <= index < len(workers)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise UserError(
            f"TF_CONFIG is set but is not a cluster of workers this collection understands: "
            f'{config[:200]}. It should read like {{"cluster": {{"worker": ["host1:2222", '
            '"host2:2222"]}, "task": {"type": "worker", "index": 0}} (docs/scale.md, "On several '
            'machines"); unset it to train on this machine alone.') from None
    return index, workers


def is_chief():
    return worker()[0] == 0


def worker_share(images, batch_size):
    """This worker's images and batch size: every Nth image from its index on, and 1/N of the
    batch; (images, batch_size) unchanged on one machine. The shares are the same size, so every
    worker takes the same number of steps; together they cover the images once an epoch."""
    index, workers = worker()
    if workers == 1:
        return images, batch_size
    return images[index : len(images) - len(images) % workers : workers], batch_size // workers


WATCHDOG = """
import os, signal, sys, time
parent, wait, message = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + wait
while time.monotonic() < deadline:
    time.sleep(0.2)
    if os.getppid() != parent:  # the worker has gone: nothing to watch
        sys.exit(0)
sys.stderr.write(message)
sys.stderr.flush()
os.kill(parent, signal.SIGKILL)
"""


def several_machines(index, workers, wait):
    """MultiWorkerMirroredStrategy, with a bounded wait for the other workers: TensorFlow waits
    for them forever, silently, inside the strategy's constructor, which holds Python's lock (no
    thread or signal handler can time it out). So `meet` waits first, at most `wait` seconds;
    should a partner die between that meeting and TensorFlow's, a watchdog process prints the
    same message and stops this worker with SIGKILL (TensorFlow catches SIGTERM)."""
    addresses = cluster()[1]
    missing = meet(index, addresses, wait)
    message = (
        f"worker {index} of {workers} waited {wait:g} s for the other workers "
        f"({', '.join(missing or addresses[:index] + addresses[index + 1:])}) and stopped. Start "
        f"every worker with its TF_CONFIG (on one computer, `python -m common.workers {workers} "
        "-- python SCRIPT train ...` does it), check that those addresses and ports are "
        "reachable from here, or wait longer with --worker-wait SECONDS.")
    if missing:
        raise UserError(message)
    watchdog = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(wait), f"\n{paragraph(message)}\n"])
    try:
        return tf.distribute.MultiWorkerMirroredStrategy()
    finally:
        watchdog.kill()
        watchdog.wait(timeout=10)


def meet(index, addresses, wait):
    """Listen on this worker's port, and wait at most `wait` seconds until every other
    worker's port answers; return the addresses that never did ([] once all have). The
    listener closes before TensorFlow's server takes the port."""
    try:
        listener = socket.create_server(("", port_of(addresses[index])))
    except OSError as error:
        raise UserError(
            f"worker {index} cannot listen on port {port_of(addresses[index])}, its address in "
            f"TF_CONFIG ({addresses[index]}): {error.strerror or error}. Another program holds "
            "the port: stop it, or give this worker another port in every worker's TF_CONFIG."
        ) from None
    deadline = time.monotonic() + wait
    waiting = addresses[:index] + addresses[index + 1:]
    try:
        while True:
            waiting = [address for address in waiting if not answers(address)]
            if not waiting or time.monotonic() >= deadline:
                return waiting
            time.sleep(0.2)
    finally:
        listener.close()


def port_of(address):
    return int(address.rsplit(":", 1)[1])


def answers(address):
    """True if something listens at 'host:port' (a worker waiting in `meet`, or TensorFlow's)."""
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
        return True
    except OSError:
        return False


EXIT_GRACE = 2  # seconds for the other workers to fetch this one's share of the last meeting
LOST_WORKER = tf.errors.OpError  # what a collective raises when another worker has gone


def finish():
    """On several machines: meet the other workers once more, at the end of training.

    TensorFlow's collective threads sometimes hold a worker at exit until its partners are gone;
    a last collective that all join, then os._exit (cli.py), ends them cleanly. A collective can
    end on a worker before the others have fetched its share, and leaving at once would take
    that share away ("Socket closed" on the other; measured in docs/performance.md): hence
    EXIT_GRACE. A partner found gone here left after its last epoch, every file written: not
    an error. Without TF_CONFIG: nothing.
    """
    if worker()[1] > 1:
        strategy = tf.distribute.get_strategy()
        try:
            tf.function(lambda: strategy.reduce("SUM", strategy.run(tf.ones, ([],)), axis=None))()
        except LOST_WORKER:  # TensorFlow's health check aborted it
            return  # a partner met us and left first
        time.sleep(EXIT_GRACE)


def lost_worker_error(error, out_dir, newest):
    """The message for a worker whose partners went away mid-run, `newest` the epoch of the
    newest checkpoint; `error` itself on one machine."""
    index, workers = worker()
    if workers == 1:
        return error
    reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
    return UserError(
        f"Worker {index} of {workers} lost the other workers and stopped ({reason}). The newest "
        f"checkpoint in {out_dir} holds epoch {newest}: start every worker again with the same "
        "command to resume from there.")
