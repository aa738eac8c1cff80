"""What the scripts of benchmarks/ share: the repository on sys.path, a parser that shows the
docstring, the machine line (describe_cpu), the runs' folders, logs and scores, and
matplotlib off-screen."""

import json
import os
import platform
import sys
from argparse import ArgumentParser, RawDescriptionHelpFormatter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def parser(doc):
    return ArgumentParser(description=doc, formatter_class=RawDescriptionHelpFormatter)


def describe_cpu():
    """'AMD EPYC (family 26), 2 cores, flags avx2 fma avx512f avx512_bf16', from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as file:
            lines = file.read().splitlines()
    except OSError:  # not Linux
        lines = []

    def field(name, default):  # the first "name : value" line's value
        return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)),
                    default)

    flags = set(field("flags", "").split())
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")  # what sets the speed
    shown = [flag for flag in wanted if flag in flags]
    return (f"{field('model name', platform.processor() or 'unknown CPU')} "
            f"(family {field('cpu family', '?')}), {os.cpu_count()} cores, "
            f"flags {' '.join(shown) or '-'}")


def print_machine(prefix=""):
    print(f"{prefix}Machine: {describe_cpu()}", flush=True)


def run_folder(out, recipe, seed):
    return os.path.join(out, f"{recipe}-seed{seed}")


def last_score(folder):
    """The last line of the run's metrics.jsonl: the newest scoring."""
    with open(os.path.join(folder, "metrics.jsonl")) as lines:
        return json.loads(lines.readlines()[-1])


def curve(folder, key):
    """([(minutes, row[key], epoch, row)] for the log rows that hold key, total minutes): the
    minutes are the log's `seconds` (an epoch's steps, without start-up or scoring), summed."""
    from common.runs import read_log

    points, minutes = [], 0.0
    for row in read_log(os.path.join(folder, "log.csv")):
        minutes += row["seconds"] / 60
        if key in row:
            points.append((minutes, row[key], int(row["epoch"]), row))
    return points, minutes


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(curves, recipes, seeds):
    """A figure with a line per (recipe, seed) of curve()'s points: a colour per recipe, solid
    for the first seed, dashed for the others. Returns the figure, its axis and the colours."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    colours = dict(zip(recipes, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for (recipe, seed), points in curves.items():
        if points:
            axis.plot([p[0] for p in points], [p[1] for p in points], marker=".",
                      color=colours[recipe], linestyle="-" if seed == seeds[0] else "--",
                      label=f"{recipe}, seed {seed}")
    return figure, axis, colours


def save_figure(figure, path, dpi):
    figure.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    figure.savefig(path, dpi=dpi)
    pyplot().close(figure)
    print(f"Wrote {path}")
