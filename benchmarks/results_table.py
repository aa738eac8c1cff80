"""Train each Fashion-MNIST model with its defaults, score it, and write the results table.

Reproduces docs/results.md, "Results: the three models on Fashion-MNIST": the table (passes,
training time, FCD, KID, classes, class entropy) and its grids results_dcgan_fashion.png,
results_mlp_gan.png and results_wgan_gp.png.

    python benchmarks/results_table.py            # about an hour of training on 2 CPU cores
    python benchmarks/results_table.py --runs-dir runs/bench --epochs dcgan_fashion=5 mlp_gan=10

Each model is trained through its own command line (`python SCRIPT train ...`), so the
table measures what a user runs. Training resumes: a finished run is only scored again.
Prints the machine and the table; writes the table to benchmarks/results.md and each model's
last grid to docs/results_<model>.png.
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from common import precision  # noqa: E402

# model name -> (script, extra training flags, default epochs for the table)
MODELS = {
    "dcgan_fashion": ("dcgan_fashion.py", [], 5),
    "mlp_gan": ("mlp_gan_keras.py", [], 10),
    # 16 short "epochs" of 25 generator steps: 400 generator steps, 2,000 critic steps,
    # 2.1 passes of the critic over the data, with 16 points on the curves.
    "wgan_gp": ("wgan_gp.py", ["--steps-per-epoch", "25"], 16),
}


def run(command):
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs-dir", default=os.path.join(ROOT, "runs", "benchmark"))
    parser.add_argument("--epochs", nargs="*", default=[], metavar="MODEL=N",
                        help="override the epoch count of a model")
    parser.add_argument("--samples", type=int, default=10000, help="images scored per model")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--output", default=os.path.join(ROOT, "benchmarks", "results.md"))
    args = parser.parse_args()
    epochs = {name: value for name, (_, _, value) in MODELS.items()}
    epochs.update({item.split("=")[0]: int(item.split("=")[1]) for item in args.epochs})
    machine = precision.describe_cpu()
    print(f"Machine: {machine}", flush=True)

    rows = []
    for name in args.models:
        script, extra, _ = MODELS[name]
        out = os.path.join(args.runs_dir, name)
        run([sys.executable, script, "train", "--dataset", "fashion_mnist", "--seed", "0",
             "--epochs", str(epochs[name]), "--out-dir", out, *extra])
        run([sys.executable, script, "evaluate", "--out-dir", out, "--n", str(args.samples)])
        with open(os.path.join(out, "metrics.jsonl")) as file:
            score = [json.loads(line) for line in file][-1]
        with open(os.path.join(out, "log.csv")) as file:
            log = list(csv.DictReader(file))
        seconds = sum(float(row["seconds"]) for row in log)
        steps_per_epoch = {"wgan_gp": 25}.get(name)
        passes = len(log) * (steps_per_epoch * 320 / 60000 if steps_per_epoch else 1)
        grid = os.path.join(ROOT, "docs", f"results_{name}.png")
        shutil.copy(os.path.join(out, "images", f"epoch_{len(log):04d}.png"), grid)
        relative_grid = os.path.relpath(grid, os.path.dirname(args.output))
        rows.append(dict(model=name, passes=passes, minutes=seconds / 60,
                         per_pass=seconds / passes, grid=relative_grid, **score))

    floor = rows[0]["floor"]
    lines = [
        "Fashion-MNIST, seed 0, each script's default model and hyperparameters for the "
        "passes shown; "
        f"{args.samples:,} samples scored against the 10,000 test images (classifier test "
        f"accuracy {rows[0]['classifier_test_accuracy']:.1%}); on {machine}.",
        "",
        "| model | passes over the data | training time | time per pass | FCD | KID | classes "
        ">= 5% | class entropy | samples |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['passes']:.1f} | {row['minutes']:.0f} min | "
            f"{row['per_pass']:.0f} s "
            f"| {row['fcd']:.2f} | {row['kid']:.3f} | {row['classes_covered']}/10 "
            f"| {row['class_entropy']:.3f} | ![]({row['grid']}) |"
        )
    lines.append(
        f"| real training images (floor) | | | | {floor['fcd']:.2f} | {floor['kid']:.3f} "
        f"| {floor['classes_covered']}/10 | {floor['class_entropy']:.3f} | |"
    )
    table = "\n".join(lines) + "\n"
    with open(args.output, "w") as file:
        file.write(table)
    print(table)


if __name__ == "__main__":
    main()
