"""How many pictures does the sliced Wasserstein distance need to be stable? (common/folder_scores)

    python benchmarks/emoji_folder.py runs/emoji
    python benchmarks/swd_stability.py runs/emoji --counts 32 64 128 256 512 1000 --draws 5

For each count m: the floor (m pictures of the folder against m others) over several random
draws, its mean and spread, beside the score of two kinds of bad "generator" at the same m:
the folder's pictures blurred (texture lost, layout kept) and the pictures of another folder
(--other, optional). A count is enough when the floor's spread is well under the gap between
the floor and the bad generators.
"""

import argparse
import platform
import time

import numpy as np

from common import datasets, folder_scores


def cpu_name():
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--other", help="a folder of other pictures, as a bad generator")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--counts", type=int, nargs="+", default=[32, 64, 128, 256, 512, 1000])
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    print(f"CPU: {cpu_name()}")
    pictures, _ = datasets.load_folder(args.folder, args.size, colour=True)
    other = datasets.load_folder(args.other, args.size, colour=True)[0] if args.other else None
    print(f"{len(pictures):,} pictures of {args.folder} at {args.size} px")
    print(f"{'m':>6} {'floor mean':>11} {'floor sd':>9} {'blurred':>9} {'other':>9} {'s/score':>8}")
    for count in args.counts:
        if 2 * count > len(pictures):
            break
        floors, blurred, others, seconds = [], [], [], []
        for draw in range(args.draws):
            order = np.random.default_rng(100 + draw).permutation(len(pictures))
            a, b = pictures[order[:count]], pictures[order[count : 2 * count]]
            started = time.perf_counter()
            floors.append(folder_scores.swd(b, a, seed=draw)["mean"])
            seconds.append(time.perf_counter() - started)
            soft = folder_scores.blur(folder_scores.blur(folder_scores.to_float(b)))
            blurred.append(folder_scores.swd(soft, a, seed=draw)["mean"])
            if other is not None and len(other) >= count:
                pick = np.random.default_rng(200 + draw).permutation(len(other))[:count]
                others.append(folder_scores.swd(other[pick], a, seed=draw)["mean"])
        other_text = f"{np.mean(others):9.1f}" if others else f"{'-':>9}"
        print(f"{count:6d} {np.mean(floors):11.1f} {np.std(floors):9.2f} {np.mean(blurred):9.1f} "
              f"{other_text} {np.mean(seconds):8.2f}", flush=True)


if __name__ == "__main__":
    main()
