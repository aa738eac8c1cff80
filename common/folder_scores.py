"""How good are the samples of a folder run? Scores that need no labels and no downloaded weights.

- SWD, the multi-scale sliced Wasserstein distance of Karras et al. 2018 (ProGAN, arXiv
  1710.10196, section 5): each picture is split into a Laplacian pyramid (the details of each
  scale apart, down to 16 pixels), and random 7x7 patches of each level are compared along
  random directions. Along one direction, the distance between two sets of numbers is how far
  the sorted numbers of one are from the sorted numbers of the other; averaged over the
  directions, it estimates how far the two distributions of patches are. One figure per level
  (x 1e3, as the paper): the finest level tells of edges and texture, the coarsest of layout.
  Each colour channel is evened out over each set, so it sees details, not colours.
- KID, the kernel distance of Binkowski et al. 2018 (arXiv 1801.01401), on the features of a
  small random convolutional network (no download): it sees colours and variety. Its estimate
  is unbiased, so a small folder costs it spread, not a shift.
- The floor: a folder of N pictures is split at random into two sides of n pictures each (n,
  the samples' count: at most N/2), SPLITS times; each time the samples and the other side are
  scored against the same side. The floor is the mean and SD of the other side's scores; a
  score is also said in floor deviations above it.
  Below MIN_PICTURES pictures the sides are too small: the memorisation check alone.
- Memorisation: is the generator copying the folder? The median distance of a sample to its
  nearest folder picture, in pixels at 32x32 (a 28-pixel grey run's at 28x28: a copy is near
  in every pixel; a picture that only looks like one is not), over the median distance of a
  folder picture to its nearest other one. Near 0: copies. About 1 or more: the samples are as
  far from the folder as its pictures are from each other.
- Asked-for accuracy, for a run trained with --classes (the sub-folders): how often a sample's
  nearest folder picture, in the random network's features, is of the class the sample was
  asked for; beside the same rule's accuracy on the folder's own pictures (each against the
  others), its ceiling. A rough judge with no training: it tells whether the generator draws
  what it is asked for, not how well.
"""

import hashlib
import os
import textwrap
import time

import numpy as np
from scipy import ndimage

from common import datasets, images, runs
from common.errors import UserError

SMALLEST_LEVEL = 16  # the pyramid goes down to 16 pixels, as the paper's
PATCH = 7  # 7x7 neighbourhoods
PATCHES_PER_PICTURE = 128
DIRECTIONS = 512  # drawn in 4 rounds of 128, as the paper's code, to keep memory small
DIRECTIONS_PER_ROUND = 128
# A folder of fewer pictures gets the memorisation check alone: halves of under 50 pictures
# differ from each other as much as good samples differ from bad ones (docs/colour.md). The
# SWD's floor falls as the count grows (51 at 32, 9 at 1,000): compare scores made with as many.
MIN_PICTURES = 100
SPLITS = 10  # random splits of the folder: the floor's mean and its standard deviation
COPY_SIDE = 32  # the side at which samples and folder pictures are compared for copies
GAUSSIAN = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # the pyramid's blur, as the paper's


# ----- the sliced Wasserstein distance ------------------------------------------------------
def to_float(pictures):
    """uint8 pictures in [0, 255] or generator output in [-1, 1] -> float32 in [-1, 1]."""
    pictures = np.asarray(pictures)
    if pictures.dtype == np.uint8:
        return pictures.astype(np.float32) / 127.5 - 1.0
    return pictures.astype(np.float32)


def blur(pictures):
    """The 5-tap Gaussian along both sides of (N, H, W, C) pictures."""
    for axis in (1, 2):
        pictures = ndimage.convolve1d(pictures, GAUSSIAN, axis=axis, mode="mirror")
    return pictures


def double_size(pictures):
    """Back to twice the side: zeros between the pixels, then the blur (x 4 for the zeros)."""
    count, height, width, channels = pictures.shape
    spread = np.zeros((count, height * 2, width * 2, channels), np.float32)
    spread[:, ::2, ::2] = pictures
    return blur(spread) * 4.0


def laplacian_pyramid(pictures):
    """[finest details, ..., the 16-pixel picture itself]: each level is what the next smaller
    scale cannot show. 64-pixel pictures give three levels (64, 32, 16)."""
    levels = []
    while pictures.shape[1] > SMALLEST_LEVEL:
        smaller = blur(pictures)[:, ::2, ::2]  # half the side
        levels.append(pictures - double_size(smaller))
        pictures = smaller
    return levels + [pictures]


def patches(level, rng):
    """PATCHES_PER_PICTURE random 7x7 patches of each picture: (N * 128, 7 * 7 * C)."""
    count, height, width, channels = level.shape
    size = (count, PATCHES_PER_PICTURE, 1, 1)
    top = rng.integers(0, height - PATCH + 1, size)
    left = rng.integers(0, width - PATCH + 1, size)
    offsets = np.arange(PATCH)
    picture = np.arange(count)[:, None, None, None]
    rows, columns = top + offsets[:, None], left + offsets[None, :]
    return level[picture, rows, columns].reshape(count * PATCHES_PER_PICTURE, -1)


def normalised(descriptors, channels):
    """Each colour channel to mean 0 and spread 1 over the whole set, as the paper does."""
    by_channel = descriptors.reshape(len(descriptors), -1, channels)
    # Each channel's values in one contiguous row: summed 3x as fast, and nearer float64's sums.
    values = np.ascontiguousarray(descriptors.reshape(-1, channels).T)
    mean, std = values.mean(axis=1), values.std(axis=1) + 1e-8
    return ((by_channel - mean) / std).reshape(len(descriptors), -1)


def sliced_wasserstein(sets, b, rng):
    """For each set a of `sets`, the mean over DIRECTIONS random unit directions of the distance
    between a and b (as many rows each) projected on the direction: the mean gap of their
    sorted values. Every set is measured along the same directions, b projected once."""
    distances = []
    for _ in range(DIRECTIONS // DIRECTIONS_PER_ROUND):
        directions = rng.standard_normal((b.shape[1], DIRECTIONS_PER_ROUND)).astype(np.float32)
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        projected_b = np.sort(directions.T @ b.T, axis=1)  # one row a direction: sorted fast
        distances.append([np.abs(np.sort(directions.T @ a.T, axis=1) - projected_b).mean()
                          for a in sets])
    return np.mean(distances, axis=0)  # one distance for each set


def swd(pictures_a, pictures_b, seed=0):
    """{level side: SWD x 1e3} and "mean" for two sets of as many pictures each."""
    return swd_each([pictures_a], pictures_b, seed)[0]


def swd_each(sets, reference, seed=0):
    """[swd(pictures, reference, seed) for pictures in sets], with the reference's share of the
    work done once: sets of one size draw the same patch places and the same directions."""
    if any(len(pictures) != len(reference) for pictures in sets):
        raise ValueError("SWD compares two sets of as many pictures each")
    rng = np.random.default_rng(seed)
    pyramids = [laplacian_pyramid(to_float(pictures)) for pictures in sets]
    scores = [{} for _ in sets]
    for level_b, *levels in zip(laplacian_pyramid(to_float(reference)), *pyramids):
        channels, start = level_b.shape[-1], rng.bit_generator.state
        descriptors = []
        for level in levels:  # each set's patches from the same draws, as if it were alone
            rng.bit_generator.state = start
            descriptors.append(normalised(patches(level, rng), channels))
        b = normalised(patches(level_b, rng), channels)
        for score, distance in zip(scores, sliced_wasserstein(descriptors, b, rng)):
            score[level_b.shape[1]] = 1e3 * float(distance)
    for score in scores:
        score["mean"] = float(np.mean(list(score.values())))
    return scores


# ----- a kernel score on features that need no download -------------------------------------
NET_SEED = 0  # the random network's weights: drawn once from this seed, the same on every machine
NET_WIDTHS = (32, 64, 128)  # channels of its three 3x3 convolutions


def random_net_features(pictures, side=64):
    """Features from a small convolutional network whose weights are random, not trained: three
    3x3 convolutions (ReLU, then 2x2 means), and of the picture and of each layer the mean and
    the standard deviation of each channel over the picture (its colours, then how much of
    each pattern and how unevenly). No download, and the same numbers for the same pictures
    everywhere (numpy's generator of NET_SEED). (N, 2 * (3 + 32 + 64 + 128)) for colour."""
    x = to_float(pictures)
    side = min(side, x.shape[1])  # 128-pixel pictures are first brought to 64
    x = small(x, side).reshape(len(x), side, side, -1)
    rng = np.random.default_rng(NET_SEED)
    features = [x.mean(axis=(1, 2)), x.std(axis=(1, 2))]
    for width in NET_WIDTHS:
        weights = rng.standard_normal((3, 3, x.shape[-1], width)).astype(np.float32)
        weights *= np.sqrt(2.0 / (9 * x.shape[-1]))  # He's scale: the activations keep their size
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(1, 2))
        x = np.maximum(np.einsum("nhwcij,ijcd->nhwd", windows, weights, optimize=True), 0.0)
        features += [x.mean(axis=(1, 2)), x.std(axis=(1, 2))]
        count, height, width_, channels = x.shape
        x = x[:, : height // 2 * 2, : width_ // 2 * 2]  # an even side (28 -> 14 -> 7 -> 6)
        x = x.reshape(count, height // 2, 2, width_ // 2, 2, channels).mean(axis=(2, 4))
    return np.concatenate(features, axis=1)


# ----- copies -------------------------------------------------------------------------------
def small(pictures, side=COPY_SIDE):
    """Pictures at side x side (means of square blocks), flattened: (N, 32 * 32 * 3)."""
    pictures = to_float(pictures)
    count, block = len(pictures), max(pictures.shape[1] // side, 1)
    side = pictures.shape[1] // block
    reduced = pictures.reshape(count, side, block, side, block, -1)
    return reduced.mean(axis=(2, 4)).reshape(count, -1)


def nearest(queries, pictures, skip_self=False, chunk=256):
    """For each query, the index of its nearest picture and the distance to it (Euclidean)."""
    squared = (pictures**2).sum(axis=1)
    indices, distances = [], []
    for start in range(0, len(queries), chunk):
        part = queries[start : start + chunk]
        d2 = (part**2).sum(axis=1)[:, None] + squared[None, :] - 2.0 * part @ pictures.T
        if skip_self:
            d2[np.arange(len(part)), np.arange(start, start + len(part))] = np.inf
        best = d2.argmin(axis=1)
        indices.append(best)
        distances.append(np.sqrt(np.maximum(d2[np.arange(len(part)), best], 0.0)))
    return np.concatenate(indices), np.concatenate(distances)


def copying(samples, folder_pictures):
    """The memorisation figure (see the module's docstring), and for each sample the index of
    its nearest folder picture and the distance to it."""
    folder_small = small(folder_pictures)
    indices, distances = nearest(small(samples), folder_small)
    _, among_themselves = nearest(folder_small, folder_small, skip_self=True)
    ratio = float(np.median(distances) / max(np.median(among_themselves), 1e-8))
    return ratio, indices, distances


def pairs(samples, folder_pictures, indices, distances, count=8):
    """The `count` samples nearest to the folder, each followed by its nearest folder picture,
    as float pictures in [-1, 1]: a grid of two columns shows them side by side."""
    closest = np.argsort(distances)[:count]
    nearest_pictures = folder_pictures[indices[closest]]
    # (count, 2, H, W, C), then one after the other: sample, its picture, sample, ...
    side_by_side = np.stack([to_float(samples[closest]), to_float(nearest_pictures)], axis=1)
    return side_by_side.reshape((-1,) + side_by_side.shape[2:])


# ----- what the scripts call ----------------------------------------------------------------
def kernel_distance(features_a, features_b):
    """KID: the unbiased estimate of MMD^2 with k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018,
    arXiv 1801.01401), over all of both sets (metrics.py averages it over subsets). Unbiased: a
    small folder costs spread, not a shift, so a perfect generator scores 0 on average at any
    size."""
    dimension = features_a.shape[1]
    k_aa, k_bb, k_ab = [(x @ y.T / dimension + 1) ** 3 for x, y in
                        ((features_a, features_a), (features_b, features_b),
                         (features_a, features_b))]
    n, m = len(features_a), len(features_b)
    within = ((k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))
              + (k_bb.sum() - np.trace(k_bb)) / (m * (m - 1)))  # each point's k(x, x) left out
    return float(within - 2 * k_ab.mean())


def splits(folder_count, size, count, seed=0):
    """`count` random splits of a folder: each two disjoint sides of `size` pictures (indices),
    drawn without replacement: a picture on both sides would look like a perfect match."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        order = rng.permutation(folder_count)
        yield order[:size], order[size : 2 * size]


def standardise(features, folder_features):
    """Each feature centred and divided by its spread over the folder, so that no few large
    ones (the colours) drown the others; the spread kept from nearing 0."""
    mean, spread = folder_features.mean(axis=0), folder_features.std(axis=0)
    return (features - mean) / (spread + 0.1 * spread.mean())


def against_floor(samples, pictures, seed=0):
    """The samples' SWD and KID to one side of each of SPLITS random splits of the folder, and
    the floor: the split's other side, as many pictures, against the same side. Returns
    {metric: (the samples' mean, the floor's mean, the floor's SD)}; metrics: each SWD level,
    "mean" (SWD's), "kid"."""
    size = len(samples)
    folder_features = random_net_features(pictures)
    features = standardise(folder_features, folder_features)  # the same for every split
    sample_features = standardise(random_net_features(samples), folder_features)
    scores, floors = [], []
    for split, (side_a, side_b) in enumerate(splits(len(pictures), size, SPLITS, seed)):
        sample_swd, floor_swd = swd_each([samples, pictures[side_b]], pictures[side_a], split)
        scores.append(dict(sample_swd,
                           kid=1e3 * kernel_distance(sample_features, features[side_a])))
        floors.append(dict(floor_swd,
                           kid=1e3 * kernel_distance(features[side_b], features[side_a])))
    return {metric: (float(np.mean([s[metric] for s in scores])),
                     float(np.mean([f[metric] for f in floors])),
                     float(np.std([f[metric] for f in floors], ddof=1))) for metric in scores[0]}


def distinct(pictures):
    """The indices of the pictures that are no identical copy of an earlier one: a copy on
    both sides of a split, or a picture's nearest other being itself, looks like a perfect
    match."""
    first = {}
    for index, picture in enumerate(pictures):
        first.setdefault(hashlib.sha1(picture.tobytes()).digest(), index)
    return np.array(sorted(first.values()), dtype=np.int64)


def check_sample_count(asked, flag):
    """Refuse fewer than MIN_PICTURES // 2 samples, the least a side of the comparison takes."""
    if asked < MIN_PICTURES // 2:
        raise UserError(
            f"{flag} {asked}: too few samples to score. The samples are compared with half the "
            f"folder, and below {MIN_PICTURES // 2} a side a score moves more from one draw to "
            f"the next than between a good generator and a bad one (docs/colour.md). Ask for "
            f"{MIN_PICTURES // 2} or more with {flag}.")


def evaluate(draw_images, data_dir, count, run_dir, epoch, seed=0, class_names=()):
    """With MIN_PICTURES pictures or more: the SWD and KID of min(count, half the folder)
    samples beside the floor band of SPLITS random splits; with fewer, the memorisation check
    alone. Always the memorisation figure and nearest.png; with class_names (--classes), the
    asked-for accuracy, the i-th sample asked for class i mod their count. Prints the table,
    appends a line to metrics.jsonl; returns what the training log records: swd, kid,
    memorisation (and asked_for_accuracy)."""
    started = time.perf_counter()
    first = np.asarray(draw_images(1))  # the generator's picture size and colours
    side, colour = first.shape[1], first.shape[-1] == 3
    if class_names:  # --classes: the pictures it trained on, those of the sub-folders, labelled
        pictures, labels, names, _ = datasets.load_folder_classes(data_dir, side, colour, run_dir)
        if list(names) != list(class_names):
            raise UserError(f"The run was trained on the classes {', '.join(class_names)}, and "
                            f"{data_dir} now holds {', '.join(names)}: the asked-for accuracy "
                            "needs the same sub-folders. Point --data-dir at the folder it "
                            "trained on.")
    else:
        (pictures, _), labels = datasets.load_folder(data_dir, side, colour, run_dir), None
    pictures = pictures.reshape((len(pictures),) + first.shape[1:])  # grey: (N, 28, 28, 1)
    kept = distinct(pictures)
    if len(kept) < len(pictures):
        print(f"{len(pictures) - len(kept):,} of the folder's {len(pictures):,} pictures are "
              f"identical copies of others: scored against the {len(kept):,} distinct ones.")
        pictures, labels = pictures[kept], None if labels is None else labels[kept]
    check_sample_count(count, "--n")  # (`train --eval-every` checked its --eval-samples)
    small_folder = len(pictures) < MIN_PICTURES
    count = min(count, len(pictures) if small_folder else len(pictures) // 2)
    asked = np.arange(count) % len(class_names) if class_names else None
    samples = images.generate(draw_images, count, labels=asked)
    ratio, indices, distances = copying(samples, pictures)
    pairs_path = images.save_grid(pairs(samples, pictures, indices, distances),
                                  os.path.join(run_dir, "nearest.png"), columns=4)
    record = dict(epoch=epoch, samples=count, folder=len(pictures), dataset=datasets.FOLDER,
                  memorisation=ratio)
    logged, asked_text = dict(memorisation=ratio), ""
    if class_names:
        asked_text = asked_for_classes(samples, asked, pictures, labels, class_names, record)
        logged["asked_for_accuracy"] = record["asked_for_accuracy"]
    if small_folder:
        print(too_few_table(ratio, count, len(pictures), epoch, pairs_path) + asked_text)
        record["seconds"] = round(time.perf_counter() - started, 1)
        print(f"  ({record['seconds']} s)")
        runs.append_metrics(run_dir, record)
        return logged
    band = against_floor(samples, pictures, seed)
    side_a, side_b = next(splits(len(pictures), count, 1, seed))
    floor_ratio, _, _ = copying(pictures[side_b], pictures[side_a])
    print(table(band, ratio, floor_ratio, count, len(pictures), epoch, pairs_path) + asked_text)
    record["seconds"] = round(time.perf_counter() - started, 1)
    print(f"  ({record['seconds']} s: {SPLITS} splits, each the samples and the floor)")
    swd_levels = [metric for metric in band if metric != "kid"]  # each level and "mean"
    record.update(splits=SPLITS, memorisation_floor=floor_ratio,
                  swd={str(level): band[level][0] for level in swd_levels},
                  floor={str(level): band[level][1] for level in swd_levels},
                  floor_sd={str(level): band[level][2] for level in swd_levels},
                  kid=band["kid"][0], kid_floor=band["kid"][1], kid_floor_sd=band["kid"][2])
    runs.append_metrics(run_dir, record)
    return dict(logged, swd=band["mean"][0], kid=band["kid"][0])


def asked_for_classes(samples, asked, pictures, labels, class_names, record):
    """The asked-for accuracy of samples asked for classes `asked` (see the module's docstring),
    against the folder's distinct pictures and their labels, overall and per class, beside its
    ceiling: added to `record` (metrics.jsonl), and said in the text returned."""
    folder_features = random_net_features(pictures)
    folder = standardise(folder_features, folder_features)
    named = labels[nearest(standardise(random_net_features(samples), folder_features), folder)[0]]
    ceiling = labels[nearest(folder, folder, skip_self=True)[0]] == labels
    per_class = {name: float((named[asked == label] == label).mean())
                 for label, name in enumerate(class_names)}
    overall = float((named == asked).mean())
    record.update(asked_for_accuracy=overall, asked_for_ceiling=float(ceiling.mean()),
                  asked_for_per_class=per_class)
    said = (f"asked-for accuracy: {overall:.1%} of the samples have their nearest folder picture "
            f"(random-network features) in the class asked for; the folder's own pictures, "
            f"each against the others: {ceiling.mean():.1%} (the ceiling; chance: "
            f"{1 / len(class_names):.0%}). By class: " + ", ".join(
                f"{name} {share:.0%}" for name, share in per_class.items()))
    return "\n" + textwrap.fill(said, 95, initial_indent="  ", subsequent_indent="  ")


def deviations(score, floor, floor_sd):
    """How many of the floor's standard deviations the score lies above the floor's mean."""
    return (score - floor) / max(floor_sd, 1e-12)


def table(band, ratio, floor_ratio, count, folder_count, epoch, pairs_path):
    names = {metric: f"SWD x1e3 at {metric} px" for metric in band if metric not in ("mean", "kid")}
    names.update(mean="SWD x1e3, their mean", kid="KID x1e3 (random-network features)")
    lines = [f"Scores at epoch {epoch}: {count:,} samples against {count:,} of the folder's "
             f"{folder_count:,} pictures, {SPLITS} random splits;",
             f"  the floor: each split's other {count:,} pictures against the same {count:,}",
             f"  {'metric':<36}{'generated':>10}{'floor: mean +- SD':>22}{'floor deviations':>18}"]
    for metric, name in names.items():
        score, floor, spread = band[metric]
        lines.append(f"  {name:<36}{score:>10,.2f}{floor:>13,.2f} +- {spread:<6,.2f}"
                     f"{deviations(score, floor, spread):>17.1f}")
    lines.append(f"  {'memorisation (0 = copies)':<36}{ratio:>10.2f}{floor_ratio:>13.2f}")
    notes = [
        "SWD and KID: lower is better. The floor is what the folder's own pictures score, so a "
        "perfect generator scores about the floor: within about 2 floor deviations (above 3: "
        "clearly unlike the folder; rows are not comparable with each other). KID can fall "
        "below 0 by chance: read its deviations, not its size (docs/colour.md).",
        "memorisation: the median distance of a sample to its nearest folder picture over "
        "that of a folder picture to its nearest other one (pixels at 32x32). Near 0: copies; "
        "about 1: no copying; it says nothing of quality. Its floor: one split's other side.",
        f"The 8 samples nearest to a folder picture, each beside it: {pairs_path}"]
    lines += [textwrap.fill(note, 95, initial_indent="  ", subsequent_indent="  ")
              for note in notes]
    return "\n".join(lines)


def too_few_table(ratio, count, folder_count, epoch, pairs_path):
    said = (f"Scores at epoch {epoch}: the memorisation check alone. The folder holds "
            f"{folder_count} pictures, and a distance from the folder (SWD, KID) needs "
            f"{MIN_PICTURES} or more: split in two, smaller halves differ from each other as much "
            "as a good generator differs from a bad one. With more pictures in the folder, "
            "evaluate adds those scores.")
    copies = (f"memorisation (0 = copies): {ratio:.2f} ({count} samples; about 1 = no copying: "
              f"each sample's nearest folder picture in pixels at {COPY_SIDE}x{COPY_SIDE}, over "
              "the folder pictures' nearest other)")
    return "\n".join([textwrap.fill(said, 95, subsequent_indent="  "),
                      textwrap.fill(copies, 95, initial_indent="  ", subsequent_indent="    "),
                      f"  The 8 samples nearest to a folder picture, each beside it: {pairs_path}"])
