"""Kill a tiny training run with SIGKILL at random moments, restart it each time, lose nothing.

    python benchmarks/kill_test.py                          # 20 kills of dcgan_fashion.py
    python benchmarks/kill_test.py --script wgan_gp.py --kills 20 --seed 1

SIGKILL cannot be caught: the process stops wherever it is, half-way through writing a
grid, the log or a checkpoint. After each kill the same `train` command is started again
and must resume from a checkpoint that restores (or start anew if none was written yet),
with no traceback. At the end the run is allowed to finish, and its folder must hold
exactly one log row and one grid per epoch, a GIF with a frame per grid, and a
generator.keras that Keras loads. Prints one line per kill and a verdict; exit status 1
if any check failed. Runs on a tiny dataset that it writes itself, so it needs no download.
"""

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)

from conftest import write_idx_dataset  # noqa: E402  (the tests' tiny IDX dataset)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--script",
        default="dcgan_fashion.py",
        choices=["dcgan_fashion.py", "mlp_gan_keras.py", "wgan_gp.py"],
    )
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    parser.add_argument(
        "--earliest", type=float, default=1.0, help="seconds after start, at the earliest"
    )
    parser.add_argument(
        "--latest", type=float, default=12.0, help="seconds after start, at the latest"
    )
    args = parser.parse_args()
    chooser = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="kill-test-")
    data, out = write_idx_dataset(os.path.join(work, "data")), os.path.join(work, "run")
    flags = ["--data-dir", data, "--out-dir", out, "--batch-size", "8", "--steps-per-epoch", "2"]
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    problems, fallbacks = [], 0

    for kill in range(1, args.kills + 1):
        after = chooser.uniform(args.earliest, args.latest)
        process = subprocess.Popen(
            [sys.executable, args.script, "train", "--epochs", "100000", *flags],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        time.sleep(after)
        process.kill()
        stdout, stderr = process.communicate()
        resumed = re.search(r"from its checkpoint at epoch (\d+)", stdout)
        started = "Starting a new run" in stdout
        logged = re.findall(r"^epoch (\d+)/\d+ ", stdout, re.MULTILINE)
        fallbacks += stdout.count("does not restore")
        state = (
            f"resumed at epoch {resumed.group(1)}"
            if resumed
            else "started anew" if started else "killed before restoring"
        )
        print(
            f"kill {kill:2d} after {after:4.1f} s: {state}, last epoch logged "
            f"{logged[-1] if logged else '-'}",
            flush=True,
        )
        if "Traceback" in stderr or "error:" in stderr:
            problems.append(f"kill {kill}: {stderr.strip().splitlines()[-1]}")

    # Let the run finish three epochs after wherever it is.
    result = subprocess.run(
        [sys.executable, args.script, "sample", "--out-dir", out, "--n", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    reached = (
        int(re.search(r"generator of epoch (\d+)", result.stdout).group(1))
        if result.returncode == 0
        else 0
    )
    epochs = reached + 3
    result = subprocess.run(
        [sys.executable, args.script, "train", "--epochs", str(epochs), *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode:
        problems.append(f"the final train failed: {result.stderr.strip().splitlines()[-1]}")

    from common import runs  # after the runs: importing TensorFlow here is not what is measured
    from common.files import PARTIAL_NAME
    import imageio.v3 as imageio
    import keras

    log_epochs = [row["epoch"] for row in runs.read_log(runs.log_path(out))]
    grids = list(runs.grid_paths(out))
    frames = imageio.imread(os.path.join(out, "training.gif"), index=None).shape[0]
    keras.models.load_model(os.path.join(out, "generator.keras"))
    leftovers = [
        name
        for folder in (out, os.path.join(out, "images"))
        for name in os.listdir(folder)
        if PARTIAL_NAME.fullmatch(name)
    ]
    checks = {
        f"one log row per epoch, 1..{epochs}": log_epochs == list(range(1, epochs + 1)),
        f"one grid per epoch, 0..{epochs}": grids == list(range(0, epochs + 1)),
        f"a GIF of {epochs + 1} frames": frames == epochs + 1,
        "no temporary files left": not leftovers,
    }
    for name, passed in checks.items():
        print(f"{'ok  ' if passed else 'FAIL'} {name}")
        if not passed:
            problems.append(name)
    print(
        f"\n{args.script}: {args.kills} kills, {fallbacks} fallback(s) to an older checkpoint, "
        "finished at "
        f"epoch {epochs}; generator.keras loads. {'PASSED' if not problems else 'FAILED'} "
        f"{args.kills - len([p for p in problems if p.startswith('kill')])} of {args.kills} "
        "restarts clean."
    )
    for problem in problems:
        print("  " + problem)
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
