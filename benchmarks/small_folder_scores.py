"""Which score tells a good generator from a bad one with a folder of 100, 150 or 250 pictures?

    python benchmarks/small_folder_scores.py                 # all 3,926 emoji, 4 folders a size
    python benchmarks/small_folder_scores.py --draws 2 --sizes 100

A folder of N pictures is drawn from the emoji (benchmarks/emoji_folder.py), at 64 px. Its
floor: SPLITS random splits of the folder into two disjoint sides of N/2 pictures, one side
scored against the other (common/folder_scores.py's floor). Then "generators" whose samples
we know, each N/2 samples scored against the same reference sides:
  - real: N/2 other emoji, not in the folder (a perfect generator: it should land in the band);
  - blurred: those emoji blurred (a Gaussian of 1 pixel: the soft pictures of an early GAN);
  - faded: those emoji halfway to grey (washed-out colours);
  - darker: those emoji darker and duller (x 0.7, then 0.3 lower on the [-1, 1] scale);
  - few: 10 of those emoji, each repeated with a little noise (a collapsed generator).
Each score is said in floor deviations, (score - floor mean) / floor SD: real should be near
0, the bad ones far above. Scores compared: the SWD (common/folder_scores.py) and the KID
(unbiased MMD^2, cubic kernel, as metrics.kernel_distance) on three download-free features:
the pixels at 16x16, the SWD's own 7x7 patch descriptors, and a fixed-seed random
convolutional network (common/folder_scores.py's), each feature standardised over the
folder. Prints the machine, the median deviations over the draws, and the seconds one whole
score takes (SPLITS splits, the floor and the samples).
"""

import os
import sys
import tempfile
import time

import numpy as np

import _shared

from common import datasets, folder_scores  # noqa: E402

SPLITS = 10


# ----- the candidate features of the KID ---------------------------------------------------
def pixel_features(pictures):
    """The pictures at 16x16, flattened: (N, 768)."""
    return folder_scores.small(pictures, 16)


def patch_kid(a, b, seed):
    """KID between the 7x7 patch descriptors of each pyramid level, averaged over the levels."""
    rng = np.random.default_rng(seed)
    levels_a = folder_scores.laplacian_pyramid(folder_scores.to_float(a))
    levels_b = folder_scores.laplacian_pyramid(folder_scores.to_float(b))
    values = []
    for level_a, level_b in zip(levels_a, levels_b):
        x = folder_scores.patches(level_a, rng)[:: folder_scores.PATCHES_PER_PICTURE // 16]
        y = folder_scores.patches(level_b, rng)[:: folder_scores.PATCHES_PER_PICTURE // 16]
        both = np.concatenate([x, y])
        scale = both.std() + 1e-8
        values.append(folder_scores.kernel_distance(x / scale, y / scale))
    return float(np.mean(values))


def scorers(folder):
    """{name: (prepare, distance)}: prepare(pictures) once for each set (features, or the
    pictures themselves), then distance(samples, reference, seed) on what it made. The
    features' scale is fixed once, from the folder."""
    def features(features_of):  # each feature standardised over the folder, as common/'s
        of_folder = features_of(folder)
        return lambda pictures: folder_scores.standardise(features_of(pictures), of_folder)

    def keep(pictures):
        return pictures

    def kid(samples, reference, seed):
        return folder_scores.kernel_distance(samples, reference)

    return {
        "SWD": (keep, lambda s, r, seed: folder_scores.swd(s, r, seed)["mean"]),
        "KID pixels 16x16": (features(pixel_features), kid),
        "KID 7x7 patches": (keep, patch_kid),
        "KID random net": (features(folder_scores.random_net_features), kid),
    }


# ----- the "generators" -------------------------------------------------------------------
def generators(real, rng):
    floats = folder_scores.to_float(real)
    grey = floats.mean(axis=-1, keepdims=True)
    few = floats[rng.integers(0, 10, len(floats))] + rng.normal(0, 0.02, floats.shape)
    return {
        "real": floats,
        "blurred": folder_scores.blur(floats),  # the 5-tap Gaussian: about 1 pixel
        "faded": 0.5 * floats + 0.5 * grey,
        "darker": 0.7 * floats - 0.3,
        "few": np.clip(few, -1, 1).astype(np.float32),
    }


def main(argv=None):
    parser = _shared.parser(__doc__)
    parser.add_argument("--sizes", default="100,150,250", help="folder sizes, comma-separated")
    parser.add_argument("--draws", type=int, default=4, help="folders drawn at each size")
    parser.add_argument("--emoji-dir", default=None, help="a folder of emoji (made if not given)")
    args = parser.parse_args(argv)
    _shared.print_machine()
    folder = args.emoji_dir
    if folder is None:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import emoji_folder

        folder = tempfile.mkdtemp(prefix="emoji-")
        emoji_folder.write_folder(folder)
    everything, _ = datasets.load_folder(folder, 64, colour=True)
    print(f"{len(everything)} emoji at 64 px; {SPLITS} splits a floor; {args.draws} folders a size")
    for size in [int(text) for text in args.sizes.split(",")]:
        half = size // 2
        deviations, seconds = {}, {}
        for draw in range(args.draws):
            rng = np.random.default_rng(1000 * size + draw)
            order = rng.permutation(len(everything))
            picked, others = everything[order[:size]], everything[order[size : size + half]]
            made = generators(others, rng)
            for name, (prepare, distance) in scorers(picked).items():
                start = time.perf_counter()
                folder, samples = prepare(picked), {kind: prepare(x) for kind, x in made.items()}
                floor, against = [], {kind: [] for kind in made}
                for split, (side_a, side_b) in enumerate(
                        folder_scores.splits(size, half, SPLITS, seed=draw)):
                    floor.append(distance(folder[side_b], folder[side_a], split))
                    for kind in made:
                        against[kind].append(distance(samples[kind], folder[side_a], split))
                # one score: SPLITS floors and the samples' SPLITS scores; here 1 + 5 kinds
                seconds.setdefault(name, []).append((time.perf_counter() - start) * 2 / 6)
                mean, sd = np.mean(floor), np.std(floor, ddof=1)
                for kind, values in against.items():
                    deviations.setdefault((name, kind), []).append((np.mean(values) - mean) / sd)
        print(f"\n{size} pictures ({half} a side): floor deviations, median over {args.draws} "
              "folders (real should be near 0; the others far above)")
        kinds = list(made)
        print(f"  {'score':<20}" + "".join(f"{kind:>10}" for kind in kinds) + f"{'s a score':>11}")
        for name in seconds:
            row = "".join(f"{np.median(deviations[(name, kind)]):>10.1f}" for kind in kinds)
            print(f"  {name:<20}{row}{np.median(seconds[name]):>11.1f}")


if __name__ == "__main__":
    main()
