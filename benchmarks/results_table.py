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

import os
import shutil
import subprocess
import sys

from _shared import ROOT, describe_cpu, last_score, parser, print_machine

from common.runs import read_log

OUTPUT = os.path.join(ROOT, "benchmarks", "results.md")
SAMPLES = 10000  # images scored per model
# model name -> (script, extra training flags, default epochs for the table, passes per epoch)
MODELS = {
    "dcgan_fashion": ("dcgan_fashion.py", [], 5, 1),
    "mlp_gan": ("mlp_gan_keras.py", [], 10, 1),
    # 16 short "epochs" of 25 generator steps: 400 generator steps, 2,000 critic steps of 64
    # images, 2.1 passes of the critic over the data, with 16 points on the curves.
    "wgan_gp": ("wgan_gp.py", ["--steps-per-epoch", "25"], 16, 25 * 5 * 64 / 60000),
}


def run(*command):
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def main():
    options = parser(__doc__)
    options.add_argument("--runs-dir", default=os.path.join(ROOT, "runs", "benchmark"))
    options.add_argument("--epochs", nargs="*", default=[], metavar="MODEL=N",
                         help="override the epoch count of a model")
    options.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    args = options.parse_args()
    epochs = {name: model[2] for name, model in MODELS.items()}
    epochs.update({item.split("=")[0]: int(item.split("=")[1]) for item in args.epochs})
    print_machine()

    rows = []
    for name in args.models:
        script, extra, _, passes_per_epoch = MODELS[name]
        out = os.path.join(args.runs_dir, name)
        run(sys.executable, script, "train", "--dataset", "fashion_mnist", "--seed", "0",
            "--epochs", str(epochs[name]), "--out-dir", out, *extra)
        run(sys.executable, script, "evaluate", "--out-dir", out, "--n", str(SAMPLES))
        log = read_log(os.path.join(out, "log.csv"))
        seconds = sum(row["seconds"] for row in log)
        passes = len(log) * passes_per_epoch
        grid = os.path.join(ROOT, "docs", f"results_{name}.png")
        shutil.copy(os.path.join(out, "images", f"epoch_{len(log):04d}.png"), grid)
        rows.append(dict(model=name, passes=passes, minutes=seconds / 60, per_pass=seconds / passes,
                         grid=os.path.relpath(grid, os.path.dirname(OUTPUT)), **last_score(out)))

    floor = rows[0]["floor"]
    lines = [
        "Fashion-MNIST, seed 0, each script's default model and hyperparameters for the passes "
        f"shown; {SAMPLES:,} samples scored against the 10,000 test images (classifier test "
        f"accuracy {rows[0]['classifier_test_accuracy']:.1%}); on {describe_cpu()}.",
        "",
        "| model | passes over the data | training time | time per pass | FCD | KID | classes "
        ">= 5% | class entropy | samples |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['passes']:.1f} | {row['minutes']:.0f} min | "
            f"{row['per_pass']:.0f} s | {row['fcd']:.2f} | {row['kid']:.3f} | "
            f"{row['classes_covered']}/10 | {row['class_entropy']:.3f} | ![]({row['grid']}) |")
    lines.append(
        f"| real training images (floor) | | | | {floor['fcd']:.2f} | {floor['kid']:.3f} "
        f"| {floor['classes_covered']}/10 | {floor['class_entropy']:.3f} | |")
    table = "\n".join(lines) + "\n"
    with open(OUTPUT, "w") as file:
        file.write(table)
    print(table)


if __name__ == "__main__":
    main()
