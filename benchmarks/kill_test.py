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

import os
import random
import re
import subprocess
import sys
import tempfile
import time

from _shared import ROOT, parser

sys.path.append(os.path.join(ROOT, "tests"))
from conftest import write_idx_dataset  # noqa: E402  (the tests' tiny IDX dataset)

EARLIEST, LATEST = 1.0, 12.0  # seconds after a start, between which the kill comes


def main():
    options = parser(__doc__)
    options.add_argument("--script", default="dcgan_fashion.py",
                         choices=["dcgan_fashion.py", "mlp_gan_keras.py", "wgan_gp.py"])
    options.add_argument("--kills", type=int, default=20)
    options.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    args = options.parse_args()
    chooser = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="kill-test-")
    data, out = write_idx_dataset(os.path.join(work, "data")), os.path.join(work, "run")
    flags = ["--data-dir", data, "--out-dir", out, "--batch-size", "8", "--steps-per-epoch", "2"]
    problems, fallbacks = [], 0

    for kill in range(1, args.kills + 1):
        after = chooser.uniform(EARLIEST, LATEST)
        process = subprocess.Popen(
            [sys.executable, args.script, "train", "--epochs", "100000", *flags], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1"))
        time.sleep(after)
        process.kill()
        stdout, stderr = process.communicate()
        resumed = re.search(r"from its checkpoint at epoch (\d+)", stdout)
        logged = re.findall(r"^epoch (\d+)/\d+ ", stdout, re.MULTILINE)
        fallbacks += stdout.count("does not restore")
        state = (f"resumed at epoch {resumed.group(1)}" if resumed else
                 "started anew" if "Starting a new run" in stdout else "killed before restoring")
        print(f"kill {kill:2d} after {after:4.1f} s: {state}, last epoch logged "
              f"{logged[-1] if logged else '-'}", flush=True)
        if "Traceback" in stderr or "error:" in stderr:
            problems.append(f"kill {kill}: {stderr.strip().splitlines()[-1]}")

    # Let the run finish three epochs after wherever it is.
    def run(*command):
        return subprocess.run([sys.executable, args.script, *command], cwd=ROOT,
                              capture_output=True, text=True)

    result = run("sample", "--out-dir", out, "--n", "1")
    reached = not result.returncode and re.search(r"generator of epoch (\d+)", result.stdout)
    epochs = (int(reached.group(1)) if reached else 0) + 3
    result = run("train", "--epochs", str(epochs), *flags)
    if result.returncode:
        problems.append(f"the final train failed: {result.stderr.strip().splitlines()[-1]}")

    from common import runs  # after the runs: importing TensorFlow here is not what is measured
    from common.files import PARTIAL_NAME
    import imageio.v3 as imageio
    import keras

    log_epochs = [row["epoch"] for row in runs.read_log(runs.log_path(out))]
    frames = imageio.imread(os.path.join(out, "training.gif"), index=None).shape[0]
    keras.models.load_model(os.path.join(out, "generator.keras"))
    leftovers = [name for folder in (out, os.path.join(out, "images"))
                 for name in os.listdir(folder) if PARTIAL_NAME.fullmatch(name)]
    checks = {
        f"one log row per epoch, 1..{epochs}": log_epochs == list(range(1, epochs + 1)),
        f"one grid per epoch, 0..{epochs}": list(runs.grid_paths(out)) == list(range(epochs + 1)),
        f"a GIF of {epochs + 1} frames": frames == epochs + 1,
        "no temporary files left": not leftovers,
    }
    for name, passed in checks.items():
        print(f"{'ok  ' if passed else 'FAIL'} {name}")
        if not passed:
            problems.append(name)
    clean = args.kills - len([p for p in problems if p.startswith("kill")])
    print(f"\n{args.script}: {args.kills} kills, {fallbacks} fallback(s) to an older checkpoint, "
          f"finished at epoch {epochs}; generator.keras loads. "
          f"{'PASSED' if not problems else 'FAILED'} {clean} of {args.kills} restarts clean.")
    for problem in problems:
        print("  " + problem)
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    main()
