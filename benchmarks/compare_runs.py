"""Plot the same log columns of several runs on shared axes: the lessons' comparisons.

Reproduces docs/lessons.md's two comparison plots, from the runs that page's commands train:
mlp_losses.png ("The MLP GAN: two generator losses") and wgan_curves.png ("WGAN and
WGAN-GP"). Takes seconds; the runs behind them take a few minutes (MLP) and about 20
minutes (WGAN) each on a 2-core CPU.

    python benchmarks/compare_runs.py runs/mlp_gan runs/mlp_gan_minimax \
        --labels non-saturating minimax --columns g_loss "D(G(z))" d_loss \
        --title "MLP GAN on Fashion-MNIST: the two generator losses" --output docs/mlp_losses.png
    python benchmarks/compare_runs.py runs/wgan_gp runs/wgan --labels WGAN-GP WGAN \
        --columns wasserstein g_loss --output docs/wgan_curves.png

It draws what the runs' log.csv files hold and measures nothing, so it prints no machine;
the times in each log are those of the machine that trained the run.
"""

import os

from _shared import parser, pyplot, save_figure

from common.runs import read_log


def main():
    options = parser(__doc__)
    options.add_argument("runs", nargs="+", help="run folders holding log.csv")
    options.add_argument("--labels", nargs="+", help="one label per run (default: folder names)")
    options.add_argument("--columns", nargs="+", required=True, help="log columns, one panel each")
    options.add_argument("--title", default="")
    options.add_argument("--output", required=True)
    args = options.parse_args()
    labels = args.labels or [os.path.basename(run.rstrip("/")) for run in args.runs]
    logs = [read_log(os.path.join(run, "log.csv")) for run in args.runs]
    plt = pyplot()
    figure, axes = plt.subplots(1, len(args.columns), figsize=(4.2 * len(args.columns), 3.2),
                                squeeze=False)
    for axis, column in zip(axes[0], args.columns):
        for label, log in zip(labels, logs):
            points = [(row["epoch"], row[column]) for row in log if column in row]
            if points:
                axis.plot(*zip(*points), marker=".", label=label)
        axis.set_title(column)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    if args.title:
        figure.suptitle(args.title)
    save_figure(figure, args.output, 80)


if __name__ == "__main__":
    main()
