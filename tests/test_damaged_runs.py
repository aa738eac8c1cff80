"""A damaged or half-written run folder costs at most the damaged part, never a traceback.

A run of two epochs is trained once per script (conftest's trained_runs); each test damages a
copy of it the way a
full disk, an interrupted copy or a sync tool would, then runs `sample` and `train` on it.
The cases rotate over the three scripts: the code that handles them is shared.
"""

import os
import resource
import signal

import pytest

import dcgan_fashion
import mlp_gan_keras
import wgan_gp
from common.runs import read_log
from conftest import TRAINED_FLAGS as FLAGS, copy_run, run_main

pytestmark = pytest.mark.usefixtures("eagerly")  # conftest: the tests are about files


def newest(out, suffix):
    folder = os.path.join(out, "checkpoints")
    return os.path.join(
        folder, next(name for name in os.listdir(folder) if name.startswith("ckpt-2" + suffix))
    )


def cut_short(path):
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) // 3)


def garble(path):
    with open(path, "r+b") as file:
        file.seek(os.path.getsize(path) // 2)
        file.write(b"\x00garbage\xff" * 20)


DAMAGES = [
    (
        "the newest checkpoint's data file cut short",
        dcgan_fashion,
        lambda out: cut_short(newest(out, ".data")),
    ),
    (
        "the newest checkpoint's index deleted",
        mlp_gan_keras,
        lambda out: os.remove(newest(out, ".index")),
    ),
    ("the newest checkpoint's index garbled", wgan_gp, lambda out: garble(newest(out, ".index"))),
    (
        "TensorFlow's checkpoint list garbled",
        dcgan_fashion,
        lambda out: open(os.path.join(out, "checkpoints", "checkpoint"), "w").write(
            "{{{ not a list"
        ),
    ),
]


@pytest.mark.parametrize("damage, script, apply", DAMAGES, ids=[d[0] for d in DAMAGES])
def test_a_damaged_newest_checkpoint_falls_back(
    damage, script, apply, trained_runs, tmp_path, idx_dir, capsys
):
    out = copy_run(trained_runs, script, tmp_path)
    apply(out)
    falls_back = (
        "list" not in damage
    )  # a garbled list alone loses nothing: the files are read directly
    status, stdout, stderr = run_main(script, ["sample", "--out-dir", out, "--n", "4"], capsys)
    assert status == 0, stderr
    assert f"generator of epoch {1 if falls_back else 2}" in stdout
    assert ("does not restore" in stdout) == falls_back
    status, stdout, stderr = run_main(
        script, ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *FLAGS], capsys
    )
    assert status == 0, stderr
    assert f"from its checkpoint at epoch {1 if falls_back else 2}" in stdout
    assert [row["epoch"] for row in read_log(os.path.join(out, "log.csv"))] == [1, 2, 3]
    assert sorted(os.listdir(os.path.join(out, "images")))[-1] == "epoch_0003.png"


def test_no_checkpoint_restores_a_clear_message_and_nothing_deleted(
    trained_runs, tmp_path, idx_dir, capsys
):
    out = copy_run(trained_runs, mlp_gan_keras, tmp_path)
    for name in os.listdir(os.path.join(out, "checkpoints")):
        if ".data" in name:
            cut_short(os.path.join(out, "checkpoints", name))
    before = sorted(os.listdir(os.path.join(out, "checkpoints")))
    for argv in (
        ["sample", "--out-dir", out],
        ["train", "--data-dir", idx_dir, "--out-dir", out, *FLAGS],
    ):
        status, _, stderr = run_main(mlp_gan_keras, argv, capsys)
        message = " ".join(stderr.split())
        assert (
            status == 2
            and "None of the 2 checkpoint(s)" in message
            and "Nothing was deleted" in message
        )
    assert sorted(os.listdir(os.path.join(out, "checkpoints"))) == before


def test_a_garbled_run_json_gets_a_message(trained_runs, tmp_path, idx_dir, capsys):
    out = copy_run(trained_runs, wgan_gp, tmp_path)
    garble(os.path.join(out, "checkpoints", "run.json"))
    for argv in (
        ["sample", "--out-dir", out],
        ["train", "--data-dir", idx_dir, "--out-dir", out, *FLAGS],
    ):
        status, _, stderr = run_main(wgan_gp, argv, capsys)
        assert (
            status == 2
            and "run.json is damaged" in " ".join(stderr.split())
            and "Traceback" not in stderr
        )


def test_a_garbled_log_is_rebuilt_from_its_intact_rows(trained_runs, tmp_path, idx_dir, capsys):
    out = copy_run(trained_runs, dcgan_fashion, tmp_path)
    log = os.path.join(out, "log.csv")
    lines = open(log).read().splitlines()
    with open(log, "w") as file:
        file.write(
            "\n".join(lines[:2] + ["2,\x00\x00,not a number,"]) + "\n"
        )  # epoch 2's row garbled
    status, stdout, stderr = run_main(dcgan_fashion, ["--out-dir", out], capsys)
    assert status == 0, stderr
    status, stdout, stderr = run_main(
        dcgan_fashion,
        ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *FLAGS],
        capsys,
    )
    assert status == 0, stderr
    assert "damaged row" in stdout
    assert [row["epoch"] for row in read_log(log)] == [
        1,
        3,
    ]  # epoch 2's numbers are lost, not the run


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(
    trained_runs, tmp_path, idx_dir, capsys
):
    out = copy_run(trained_runs, mlp_gan_keras, tmp_path)
    checkpoint_size = os.path.getsize(newest(out, ".data"))
    # A file of this process may grow to half a checkpoint: the next checkpoint cannot be
    # written. Only the soft limit is lowered, so the test can raise it again.
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG), not die
    resource.setrlimit(resource.RLIMIT_FSIZE, (checkpoint_size // 2, hard))
    try:
        argv = ["train", "--epochs", "3", "--data-dir", idx_dir, "--out-dir", out, *FLAGS]
        status, _, stderr = run_main(mlp_gan_keras, argv, capsys)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert status == 2 and "Traceback" not in stderr
    assert "The disk is full, or a file-size limit was reached" in stderr
    status, stdout, _ = run_main(mlp_gan_keras, ["--out-dir", out], capsys)
    assert status == 0 and "generator of epoch 2" in stdout
