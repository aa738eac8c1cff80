"""Does bfloat16 keep the samples as good as float32? FCD of the same runs in both precisions.

    python benchmarks/precision_quality.py     # MLP GAN and WGAN-GP, 2 seeds each
    python benchmarks/precision_quality.py --scripts mlp --epochs 10
    python benchmarks/precision_quality.py --report-only          # the table from the runs on disk

Each (script, precision, seed) trains `python SCRIPT.py train --dataset fashion_mnist
--precision P --seed S` in its own process into runs/precision/SCRIPT-P-seedS/, and scores
its generator after the last epoch on 10,000 samples (--eval-every, the method of
`evaluate`). A folder that already holds a run is resumed up to --epochs. The table gives
each run's FCD, KID and classes covered, and the mean seconds of an epoch's steps.

Read two seeds before calling a difference real: a GAN's score swings from seed to seed,
and the difference between the precisions matters only if it is larger than that swing.
No test asserts these numbers.
"""

import argparse
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from common import precision  # noqa: E402
from common.runs import read_log  # noqa: E402

SCRIPTS = {
    # name: (file, default epochs, extra flags)
    "mlp": ("mlp_gan_keras.py", 10, []),
    "wgan": ("wgan_gp.py", 5, []),
    "dcgan": ("dcgan_fashion.py", 5, []),
}
PRECISIONS = ("float32", "mixed_bfloat16")


def run_folder(out, script, policy, seed):
    return os.path.join(out, f"{script}-{policy}-seed{seed}")


def train(script, policy, seed, epochs, steps, out):
    path, _, extra = SCRIPTS[script]
    command = [
        sys.executable,
        os.path.join(ROOT, path),
        "train",
        "--dataset",
        "fashion_mnist",
        "--precision",
        policy,
        "--seed",
        str(seed),
        "--epochs",
        str(epochs),
        "--eval-every",
        str(epochs),
        "--eval-samples",
        "10000",
        "--out-dir",
        run_folder(out, script, policy, seed),
        *extra,
    ]
    if steps:
        command += ["--steps-per-epoch", str(steps)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def report(scripts, seeds, out):
    print(f"\nMachine: {precision.describe_cpu()}")
    print("| script | precision | seed | epochs | FCD | KID | classes | s per epoch |")
    print("|---|---|---|---|---|---|---|---|")
    for script in scripts:
        for policy in PRECISIONS:
            fcds = []
            for seed in seeds:
                log_path = os.path.join(run_folder(out, script, policy, seed), "log.csv")
                if not os.path.exists(log_path):
                    continue
                log = read_log(log_path)
                scored = [row for row in log if "fcd" in row and row["fcd"] != ""]
                if not scored:
                    continue
                last = scored[-1]
                fcds.append(float(last["fcd"]))
                seconds = statistics.mean(float(row["seconds"]) for row in log)
                print(
                    f"| {script} | {policy} | {seed} | {int(last['epoch'])} | "
                    f"{float(last['fcd']):.1f} | "
                    f"{float(last['kid']):.4f} | {int(float(last['classes_covered']))} | "
                    f"{seconds:.1f} |"
                )
            if len(fcds) > 1:
                print(f"| {script} | {policy} | mean | | {statistics.mean(fcds):.1f} | | | |")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scripts", nargs="+", choices=sorted(SCRIPTS), default=["mlp", "wgan"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument(
        "--epochs", type=int, default=None, help="default: 10 for mlp, 5 for wgan and dcgan"
    )
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(ROOT, "runs", "precision"))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        for script in args.scripts:
            for seed in args.seeds:
                for policy in PRECISIONS:  # interleaved, so that a slow spell hits both alike
                    train(
                        script,
                        policy,
                        seed,
                        args.epochs or SCRIPTS[script][1],
                        args.steps_per_epoch,
                        args.out,
                    )
    report(args.scripts, args.seeds, args.out)


if __name__ == "__main__":
    main()
