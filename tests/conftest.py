"""Fixtures: tiny datasets written as real IDX files, and ways to run the scripts."""

import contextlib
import gzip
import io
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# Tests never touch the network, and keep the classifier cache out of the home folder.
os.environ["GAN_OFFLINE"] = "1"
os.environ.pop("GAN_DATA_DIR", None)
os.environ.setdefault(
    "TF_CPP_MIN_LOG_LEVEL", "3"
)  # as the scripts: hide TensorFlow's C++ log lines


def pytest_configure(config):
    """Two logical CPU devices, for the --devices 2 tests (tests/test_devices.py): the CPU can be
    split only before TensorFlow starts, so before the test modules are imported. Everything
    else runs on the first. The controller of `pytest -n 2` runs no test and never loads
    TensorFlow (seconds, before its two test processes could start)."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not getattr(config.option, "numprocesses", None):
        from common import devices

        devices.split_cpu(2)


def pytest_collection_modifyitems(items):
    """The longest tests first (two workers over localhost, each a TensorFlow process of its
    own): run last, one of them kept a test process busy while the other had nothing left."""
    items.sort(key=lambda item: not item.nodeid.startswith("tests/test_workers.py"))


def toy_images(count, seed):
    """(count, 28, 28) uint8 images whose class k is a bright bar at row 2k + 4, plus noise.

    Easy for a classifier, and the ten classes are equally common.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    images = rng.integers(0, 60, size=(count, 28, 28)).astype(np.uint8)
    for index, label in enumerate(labels):
        row = 2 * label + 4
        images[index, row : row + 2, 4:24] = 255
    return images, labels.astype(np.uint8)


def write_idx(path, array):
    rank = array.ndim
    header = struct.pack(">I", 0x00000800 + rank) + struct.pack(">" + "I" * rank, *array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.tobytes())


def write_idx_dataset(folder, train=200, test=100):
    os.makedirs(folder, exist_ok=True)
    for split, count, seed in (("train", train, 1), ("t10k", test, 2)):
        images, labels = toy_images(count, seed)
        write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte.gz"), labels)
    return folder


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory):
    """A folder with the four IDX files of a 200 + 100 image toy dataset."""
    return write_idx_dataset(str(tmp_path_factory.mktemp("idx")))


@pytest.fixture(scope="session")
def shared_tmp(tmp_path_factory, worker_id):
    """A temporary folder of this session that all test processes of `pytest -n 2` share."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent / "shared"


@pytest.fixture(autouse=True)
def isolated_cache(shared_tmp, monkeypatch):
    """The classifier cache in a temporary folder (trained once, shared by the test processes:
    metrics writes it whole or not at all); and its toy-data training kept short."""
    from common import metrics

    monkeypatch.setenv("GAN_CACHE_DIR", str(shared_tmp / "cache"))
    monkeypatch.setattr(metrics, "CLASSIFIER_MIN_STEPS", 40)  # the toy classes are separable


TRAINED_FLAGS = ["--batch-size", "8", "--steps-per-epoch", "2"]


class TrainedRuns:
    """{model name: a run folder of two epochs (2 steps of 8 each)}, each trained on first use.

    The test processes of `pytest -n 2` share the folders: the first process to ask for a run
    trains it while holding a lock; the others wait for it (at most LOCK_WAIT seconds) and then
    read it. Tests copy a folder before they change it (see `copy_run`).
    """

    LOCK_WAIT = 300
    # A resumed run keeps these from its run.json. Two critic steps, not WGAN-GP's five: a step
    # of 2 + 1 updates traces in half the time, and these runs test the files around the step.
    OWN_FLAGS = {"wgan_gp": ["--critic-steps", "2"]}

    def __init__(self, root, idx_dir):
        self.root, self.idx_dir = root, idx_dir

    def __getitem__(self, model_name):
        import fcntl
        import time

        import dcgan_fashion
        import mlp_gan_keras
        import wgan_gp
        from common import cli

        script = {s.MODEL_NAME: s for s in (dcgan_fashion, mlp_gan_keras, wgan_gp)}[model_name]
        out = os.path.join(self.root, model_name, "run")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(os.path.join(self.root, model_name, "lock"), "w") as lock:
            deadline = time.monotonic() + self.LOCK_WAIT
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    assert time.monotonic() < deadline, f"another test process held {lock.name}"
                    time.sleep(0.2)
            if not os.path.exists(out + ".done"):  # a run cut short by a failure is trained anew
                shutil.rmtree(out, ignore_errors=True)
                printed = io.StringIO()  # not into the output of the test that asked first
                # Traced, as a user's run, even when the test that asked first runs its own
                # steps as Python (`eagerly`).
                try:
                    with steps_as_python(False), contextlib.redirect_stdout(printed), \
                            contextlib.redirect_stderr(printed):
                        cli.run(script.main, ["train", "--epochs", "2", "--data-dir",
                                              self.idx_dir, "--out-dir", out, *TRAINED_FLAGS,
                                              *self.OWN_FLAGS.get(model_name, [])])
                except SystemExit:
                    raise AssertionError(f"the shared {model_name} run failed:\n"
                                         + printed.getvalue()[-3000:]) from None
                with open(out + ".output", "w") as output:  # for the tests of a new run's words
                    output.write(printed.getvalue())
                open(out + ".done", "w").close()
        return out

    def output(self, model_name):
        """What training the shared run of `model_name` printed (stdout and stderr)."""
        with open(self[model_name] + ".output") as output:
            return output.read()


@pytest.fixture(scope="session")
def trained_runs(shared_tmp, idx_dir):
    """The runs every test process shares (TrainedRuns)."""
    return TrainedRuns(str(shared_tmp / "runs"), idx_dir)


def built(optimizers, generator, discriminator):
    """The generator's and the discriminator's optimizers, their slots made before the first step.

    A Keras optimizer makes its variables at its first `apply_gradients`, and a `tf.function`
    that makes variables on its first call is traced twice: building them first halves the
    time a test spends tracing a step (train() restores into built optimizers, so it does too).
    """
    generator_optimizer, discriminator_optimizer = optimizers
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    return generator_optimizer, discriminator_optimizer


def copy_run(trained_runs, script, tmp_path):
    """A copy of the session's trained run of `script`, to damage or extend."""
    out = str(tmp_path / "run")
    shutil.copytree(trained_runs[script.MODEL_NAME], out)
    return out


def run_main(module, argv, capsys):
    """Run a script's main() in this process; return (exit status, stdout, stderr).

    stderr comes with its runs of white space made single spaces: a message is wrapped at 88
    columns, and where it breaks depends on the length of the temporary folder's name.
    """
    from common import cli

    status = 0
    try:
        cli.run(module.main, argv)
    except SystemExit as exit_:
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, " ".join(captured.err.split())


def real_fashion_mnist():
    """The folder of the real Fashion-MNIST files, as `datasets.load` finds it, or a skip."""
    from common import datasets

    for folder in datasets.search_folders():
        if datasets.find_in(folder, "fashion_mnist", "train"):
            return folder
    pytest.skip(
        "the real Fashion-MNIST files are not in /usr/share/datasets: install them with "
        "`sudo apt-get install dataset-fashion-mnist` (Debian, Ubuntu; .ci/run does)"
    )


def run_script(script, *args, timeout=240):
    """Run a script as a user would, in a subprocess; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@contextlib.contextmanager
def steps_as_python(on=True):
    """Within it, every `tf.function` runs as plain Python (on=True) or traced (on=False); then
    as before."""
    import tensorflow as tf

    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(on)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


@pytest.fixture
def eagerly():
    """Run the train steps as plain Python: the same code, without seconds of tracing. For the
    tests of a step's arithmetic and of what surrounds it (resumes, damaged runs, locks); the
    traced step runs in the shared runs (TrainedRuns), the learning tests and the subprocesses."""
    with steps_as_python():
        yield


@pytest.fixture
def without_xla(monkeypatch):
    """`tf.function` without XLA, for the tests that trace a step but are about something else
    (crashes, scores, folders): XLA compiles the MLP's step (`jit_compile=True`) for seconds
    more per run. The learning tests and the shared runs, when a test of XLA asks first, keep it."""
    import tensorflow as tf

    function = tf.function

    def function_without_xla(*args, jit_compile=None, **kwargs):
        return function(*args, **kwargs)

    monkeypatch.setattr(tf, "function", function_without_xla)


@pytest.fixture(autouse=True)
def no_leaked_precision_policy():
    """Every test leaves Keras's global policy at float32: `train --precision` sets it for the
    run, and the next test must not compute in bfloat16 without asking."""
    yield
    import keras

    leaked = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("float32")
    assert leaked == "float32", f"this test left Keras's global dtype policy at {leaked}"


class Spy:
    """A network that records what it is given (for a step's pairings): its inputs, each call's
    as numpy ([pictures, labels] for a conditional D); input_shape is the model's."""

    def __init__(self, model):
        self.model, self.inputs, self.input_shape = model, [], model.input_shape

    def __call__(self, inputs, training=False):
        self.inputs.append([np.asarray(x) for x in inputs] if isinstance(inputs, list)
                           else np.asarray(inputs))
        return self.model(inputs, training=training)

    @property
    def trainable_variables(self):
        return self.model.trainable_variables
