"""How long a folder of colour pictures takes to load, the first time and from the cache, and
how much memory a large one needs.

    python benchmarks/folder_cache.py                      # 5,000 and 50,000 pictures at 64 px
    python benchmarks/folder_cache.py --counts 5000 --size 128

For each count: writes that many colour shapes (benchmarks/shapes_folder.py --colour) once,
then in fresh processes, as a user's runs are:
- load 1: `datasets.load_folder(..., colour=True, cache_dir=...)` with no cache yet (decodes
  every file and writes the cache);
- load 2: the same call again (reads the cache);
- train: `dcgan_color.py train` for 3 steps on the folder (cache present): the whole
  program's peak memory, TensorFlow included, and that peak less its mapped files (its own memory).
Each prints its seconds and its peak resident memory (ru_maxrss). Machine printed first.

This process never imports TensorFlow itself: Linux hands a parent's peak memory on to the
children it starts (ru_maxrss survives fork and exec), which would add TensorFlow's 600 MB
to every figure.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

LOAD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from common import datasets
started = time.perf_counter()
pictures, source = datasets.load_folder({folder!r}, {size}, colour=True, cache_dir={cache!r})
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"RESULT {{seconds:.2f}} {{peak:.0f}} {{pictures.nbytes / 1e6:.0f}}")
"""


TRAIN = """
import sys
sys.path.insert(0, {root!r})
import dcgan_color
from common import cli
cli.run(dcgan_color.main, ["train", "--data-dir", {folder!r}, "--out-dir", {cache!r},
                          "--image-size", "{size}",
                           "--epochs", "1", "--steps-per-epoch", "3"])
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
megabytes = lambda name: int(status[name].split()[0]) / 1024
print(f"RESULT {{megabytes('VmHWM'):.0f}} {{megabytes('VmHWM') - megabytes('RssFile'):.0f}}")
"""


def measure(code):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    seconds, peak, size = result.stdout.split("RESULT ")[1].split()
    return float(seconds), float(peak), float(size)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--counts", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument(
        "--folder",
        default=os.path.join(ROOT, "runs", "cache_bench"),
        help="where the pictures are written (kept for the next run)",
    )
    args = parser.parse_args()
    machine = subprocess.run(
        [sys.executable, "-c", "from common import precision; print(precision.describe_cpu())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"Machine: {machine}")
    print(
        f"{'pictures':>9}{'load 1 s':>10}{'load 2 s':>10}{'ratio':>8}"
        f"{'load 1 MB':>11}{'load 2 MB':>11}"
        f"{'train MB':>10}{'private':>9}{'array MB':>10}"
    )
    for count in args.counts:
        folder = os.path.join(args.folder, f"shapes_{count}")
        if not os.path.isdir(
            folder
        ):  # written under another name first: a stopped run leaves no half folder
            subprocess.run(
                [
                    sys.executable,
                    os.path.join(ROOT, "benchmarks", "shapes_folder.py"),
                    folder + ".partial",
                    "--colour",
                    "--count",
                    str(count),
                ],
                check=True,
                capture_output=True,
            )
            os.replace(folder + ".partial", folder)
        cache = tempfile.mkdtemp(prefix="cache-bench-")
        code = LOAD.format(root=ROOT, folder=folder, size=args.size, cache=cache)
        first_seconds, first_peak, array = measure(code)
        second_seconds, second_peak, _ = measure(code)
        # The whole program, reading the cache the loads above wrote (its run folder is the
        # cache's).
        train = subprocess.run(
            [
                sys.executable,
                "-c",
                TRAIN.format(root=ROOT, folder=folder, cache=cache, size=args.size),
            ],
            capture_output=True,
            text=True,
        )
        if train.returncode:
            raise SystemExit(train.stderr[-2000:])
        train_peak, train_private = (
            float(value) for value in train.stdout.split("RESULT ")[1].split()
        )
        shutil.rmtree(cache, ignore_errors=True)
        print(
            f"{count:>9,}{first_seconds:>10.1f}{second_seconds:>10.2f}"
            f"{second_seconds / first_seconds:>8.3f}{first_peak:>11.0f}{second_peak:>11.0f}"
            f"{train_peak:>10.0f}{train_private:>9.0f}{array:>10.0f}",
            flush=True,
        )
    print(
        "\nratio: load 2 over load 1. MB: peak resident memory of the process (load: Python, "
        "numpy and "
        "Pillow only; train: TensorFlow too, whose\nlibrary code, about 0.4 GB mapped from "
        "disk and shared, "
        "counts in it). private: that peak less the files mapped at the end (RssFile, mostly "
        "that library code).\narray: the pictures' own bytes."
    )


if __name__ == "__main__":
    main()
