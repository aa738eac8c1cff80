"""Each of the four scripts on two workers, then on one process, then on two workers again.

    python benchmarks/emoji_folder.py runs/emoji500 --count 500     # dcgan_color's pictures
    python benchmarks/workers_scripts.py                             # all four, ~6 min on 2 cores
    python benchmarks/workers_scripts.py --scripts wgan_gp.py

What issue 25 asks of every script, too slow for the suite (which checks dcgan_fashion.py
only, tests/test_workers.py): `python -m common.workers 2 -- python SCRIPT train --epochs 2`
starts a run on two localhost workers, `python SCRIPT train --epochs 3` goes on in one
process, and the two workers finish epoch 4. After each, it checks the exit status, that the
log has one row an epoch, that the grids of every epoch are there, and that no worker left a
temporary checkpoint folder. The built-in sets are Fashion-MNIST's IDX files (found as the
scripts find them); the MLP trains on them too (`--dataset fashion_mnist`: no MNIST offline).
Every launch is stopped with SIGKILL after --timeout seconds. Prints the machine first.
"""

import argparse
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from common import precision  # noqa: E402
from common.runs import grid_paths, read_log  # noqa: E402

SCRIPTS = {
    "mlp_gan_keras.py": ["--dataset", "fashion_mnist"],
    "dcgan_fashion.py": [],
    "wgan_gp.py": ["--dataset", "fashion_mnist"],
    "wgan_gp.py --mode wgan": ["--dataset", "fashion_mnist", "--mode", "wgan"],
    "dcgan_color.py": ["--data-dir", os.path.join(ROOT, "runs", "emoji500"), "--width", "16"],
}
SMALL = ["--steps-per-epoch", "3", "--batch-size", "32"]


def launch(command, timeout, env):
    """Run `command`; SIGKILL it (and the workers, through the launcher's process group) when
    it outlives `timeout`. Returns (exit status, output, seconds)."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate(timeout=30)
        output += f"\n(stopped with SIGKILL after {timeout} s)"
    return process.returncode, output, time.monotonic() - started


def check(name, flags, out, timeout):
    """Two workers, one process, two workers; returns the problems found (empty: all good)."""
    temporary = tempfile.mkdtemp(prefix="workers-scripts-")
    env = dict(os.environ, TMPDIR=temporary)
    script = name.split()[0]
    problems = []
    for epochs, count in ((2, 2), (3, 1), (4, 2)):
        command = [sys.executable, script, "train", *flags, *SMALL, "--epochs", str(epochs),
                   "--out-dir", out]
        if count > 1:
            command = [sys.executable, "-m", "common.workers", str(count), "--", *command]
        status, output, seconds = launch(command, timeout, env)
        where = f"{count} worker{'s' * (count > 1)}" if count > 1 else "one process"
        print(f"  epochs to {epochs} on {where}: exit {status}, {seconds:.0f} s", flush=True)
        if status != 0:
            problems.append(f"{where} to epoch {epochs}: exit {status}\n{output[-2000:]}")
            break
        log = read_log(os.path.join(out, "log.csv"))
        if [row["epoch"] for row in log] != list(range(1, epochs + 1)):
            problems.append(f"log epochs {[row['epoch'] for row in log]} after epoch {epochs}")
        if sorted(grid_paths(out)) != list(range(epochs + 1)):
            problems.append(f"grids of epochs {sorted(grid_paths(out))} after epoch {epochs}")
        left = glob.glob(os.path.join(temporary, "gan-worker*"))
        if left:
            problems.append(f"temporary checkpoint folders left: {left}")
    return problems


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scripts", nargs="+", default=list(SCRIPTS), choices=list(SCRIPTS))
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "workers_scripts"))
    parser.add_argument("--timeout", type=int, default=600, help="seconds per launch")
    args = parser.parse_args()
    print(f"Machine: {precision.describe_cpu()}", flush=True)
    failed = 0
    for name in args.scripts:
        out = os.path.join(args.out, name.replace(" --mode ", "-").replace(".py", ""))
        if os.path.exists(out):
            sys.exit(f"{out} exists: remove it first (each check starts a new run).")
        print(f"{name}:", flush=True)
        problems = check(name, SCRIPTS[name], out, args.timeout)
        print("  all good" if not problems else "  PROBLEMS:\n  " + "\n  ".join(problems))
        failed += bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
