"""Several machines (TF_CONFIG, MultiWorkerMirroredStrategy), tried on localhost: the workers
are real processes, started by `python -m common.workers`, and every wait is bounded (a test
that outlives its time stops them with SIGKILL: TensorFlow catches SIGTERM)."""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np

import dcgan_fashion
from common import devices, workers
from common.runs import read_log
from conftest import ROOT, TRAINED_FLAGS, copy_run, run_main

TIMEOUT = 240  # seconds for one launch of two workers, start-up included


def launch(command, tmp_path, timeout=TIMEOUT):
    """Run `python -m common.workers ...COMMAND` in its own process group; SIGKILL it all if it
    outlives `timeout`. Returns (exit status, output)."""
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))  # where non-chiefs put checkpoints
    os.makedirs(env["TMPDIR"], exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "common.workers", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
        raise AssertionError(f"the workers did not finish in {timeout} s:\n{output[-3000:]}")
    return process.returncode, output


def test_a_run_goes_from_one_process_to_two_workers_and_back(
    trained_runs, tmp_path, idx_dir, capsys, eagerly  # eagerly: this process's step, not theirs
):
    out = copy_run(trained_runs, dcgan_fashion, tmp_path)  # two epochs in one process
    flags = ["--data-dir", idx_dir, "--out-dir", out, *TRAINED_FLAGS]
    status, output = launch(
        ["2", "--", sys.executable, "dcgan_fashion.py", "train", "--epochs", "3", *flags], tmp_path
    )
    assert status == 0, output[-3000:]
    assert "[worker 0] Resuming" in output and "[worker 0] Done: 3 epochs" in output
    assert "2 workers (TF_CONFIG), 2 replicas in all; this is worker 1" in output
    # Worker 1 writes its grids and checkpoints into a temporary folder, not into the run's.
    assert f"its own files go to {tmp_path / 'tmp'}{os.sep}gan-worker-" in output
    assert "[worker 1] Done" not in output  # worker 1 writes and says nothing of the run folder
    left = [name for name in os.listdir(tmp_path / "tmp") if name.startswith("gan-worker")]
    assert left == []  # worker 1's checkpoints went to temporary folders it removed
    assert sorted(os.listdir(os.path.join(out, "images")))[-2:] == [
        "epoch_0002.png", "epoch_0003.png"]

    # Two workers' checkpoint goes on in one process, and the log has one row an epoch.
    status, stdout, stderr = run_main(dcgan_fashion, ["train", "--epochs", "4", *flags], capsys)
    assert status == 0, stderr
    assert "from its checkpoint at epoch 3" in stdout
    rows = read_log(os.path.join(out, "log.csv"))
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4]
    assert all(np.isfinite(row["d_loss"]) for row in rows)


def test_one_step_of_two_workers_is_one_step_of_one_process(tmp_path, monkeypatch):
    """test_devices.py's check, with the replicas in two processes joined over localhost."""
    import keras
    import tensorflow as tf

    from test_devices import BATCH, LEARNING_RATE, check_same_step, models, one_step

    keras.utils.set_random_seed(0)
    real_images = tf.constant(
        np.random.default_rng(0).uniform(-1, 1, (BATCH, 28, 28, 1)).astype(np.float32)
    )
    noise = tf.random.normal([1, BATCH, dcgan_fashion.NOISE_DIM])
    generator, discriminator = models(dcgan_fashion)
    start = [generator.get_weights(), discriminator.get_weights()]
    alone_outputs, alone_weights = one_step(
        dcgan_fashion, tf.distribute.get_strategy(), start, real_images, noise, monkeypatch
    )
    weights = start[0] + start[1]
    inputs, output = str(tmp_path / "inputs.npz"), str(tmp_path / "output.npz")
    np.savez(inputs, real=real_images.numpy(), noise=noise.numpy(), weights=len(weights),
             learning_rate=LEARNING_RATE,
             **{f"weight_{number}": value for number, value in enumerate(weights)})
    status, text = launch(
        ["2", "--", sys.executable, os.path.join("tests", "worker_step.py"), inputs, output],
        tmp_path,
    )
    assert status == 0, text[-3000:]
    saved = np.load(output)
    outputs = dict(zip(saved["names"], saved["values"]))
    new = [saved[f"weight_{number}"] for number in range(len(weights))]
    count = len(start[0])
    check_same_step(start, (alone_outputs, alone_weights), (outputs, [new[:count], new[count:]]))


def test_a_worker_whose_partners_never_start_stops_with_a_message(tmp_path):
    ports = workers.free_ports(2)
    env = dict(os.environ, TF_CONFIG=workers.tf_config(ports, 0))
    result = subprocess.run(
        [sys.executable, "dcgan_fashion.py", "train", "--worker-wait", "1",
         "--out-dir", str(tmp_path / "run")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stderr[-3000:]  # as every message; not a SIGKILL's 137
    assert f"worker 0 of 2 waited 1 s for the other workers (127.0.0.1:{ports[1]})" in message
    assert "--worker-wait" in message and "Traceback" not in result.stderr


def test_a_worker_meets_a_partner_that_starts_later(tmp_path):
    """`meet` waits for the other worker's port to answer, returns once it does, and frees its
    own port for TensorFlow's server; a partner that never answers is reported missing."""
    import threading

    ports = workers.free_ports(2)
    addresses = [f"127.0.0.1:{port}" for port in ports]
    partner = socket.socket()
    partner.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def start_partner():  # worker 1 reaches its own `meet` a second after worker 0
        partner.bind(("127.0.0.1", ports[1]))
        partner.listen()

    threading.Timer(1.0, start_partner).start()
    try:
        assert devices.meet(0, addresses, wait=30) == []
    finally:
        partner.close()
    socket.create_server(("", ports[0])).close()  # worker 0's port is free again for TensorFlow
    assert devices.meet(0, addresses, wait=0.5) == [addresses[1]]


def test_the_launcher_stops_the_others_when_one_worker_fails(monkeypatch, capsys):
    monkeypatch.setattr(workers, "GRACE", 1)
    fails_or_hangs = (
        "import json, os, signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as TensorFlow catches it\n"
        "index = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
        "print('started', flush=True)\n"
        "sys.exit(3) if index == 1 else time.sleep(120)\n"
    )
    status = workers.main(["2", "--", sys.executable, "-c", fails_or_hangs])
    output = capsys.readouterr().out
    assert status == 3
    assert "[worker 0] started" in output and "[worker 1] started" in output
    assert "worker 1 stopped with exit status 3; stopping the others" in output


def test_tf_config_gives_each_worker_its_share_of_the_images(monkeypatch):
    images = np.arange(21)
    shares = []
    for index in range(2):
        monkeypatch.setenv("TF_CONFIG", workers.tf_config([1, 2], index))
        shares.append(devices.worker_share(images, 8))
    (first, batch), (second, _) = shares
    assert batch == 4 and len(first) == len(second) == 10  # equal: the same steps on each
    assert not set(first) & set(second)  # together they cover the images once
    monkeypatch.setenv("TF_CONFIG", "not json")
    try:
        devices.worker()
        raise AssertionError("a garbled TF_CONFIG was taken")
    except devices.UserError as error:
        assert "TF_CONFIG is set but" in str(error) and "unset it" in str(error)
    monkeypatch.delenv("TF_CONFIG")
    assert devices.worker_share(images, 8) == (images, 8)
    assert json.loads(workers.tf_config([5, 6], 1))["task"] == {"type": "worker", "index": 1}
