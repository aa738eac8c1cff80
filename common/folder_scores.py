"""How good are the samples of a folder run? Scores that need no labels and no downloaded weights.

- SWD, the multi-scale sliced Wasserstein distance of Karras et al. 2018 (ProGAN, arXiv
  1710.10196, section 5): each picture is split into a Laplacian pyramid (the details of each
  scale apart, down to 16 pixels), and random 7x7 patches of each level are compared along
  random directions. Along one direction, the distance between two sets of numbers is how far
  the sorted numbers of one are from the sorted numbers of the other; averaged over the
  directions, it estimates how far the two distributions of patches are. One figure per level
  (x 1e3, as the paper): the finest level tells of edges and texture, the coarsest of colours
  and layout. 0 for identical sets. Printed beside its floor: two halves of the folder itself.
- Memorisation: is the generator copying the folder? The median distance of a sample to its
  nearest folder picture, in pixels at 32x32 (a copy is near in every pixel; a picture that
  only looks like one is not), over the median distance of a folder picture to its nearest
  other one. Near 0: copies. About 1 or more: the samples are as far from the folder as its
  pictures are from each other.
"""

import os

import numpy as np
from scipy import ndimage

from common import datasets, images, runs
from common.errors import UserError

SMALLEST_LEVEL = 16  # the pyramid goes down to 16 pixels, as the paper's
PATCH = 7  # 7x7 neighbourhoods
PATCHES_PER_PICTURE = 128
DIRECTIONS = 512  # drawn in 4 rounds of 128, as the paper's code, to keep memory small
DIRECTIONS_PER_ROUND = 128
# Below 128 pictures a side the floor scatters more (emoji, 5 draws: SD 6.2 at 64, 2.8 at 128,
# 1.0 at 256, against a gap of 30 or more to blurred pictures; docs/colour.md). The floor falls
# as the count grows (51 at 32, 9 at 1,000): compare scores made with as many pictures.
MIN_PICTURES = 128
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
    mean = by_channel.mean(axis=(0, 1))
    std = by_channel.std(axis=(0, 1)) + 1e-8
    return ((by_channel - mean) / std).reshape(len(descriptors), -1)


def sliced_wasserstein(a, b, rng):
    """The mean over DIRECTIONS random unit directions of the distance between the sets a and b
    (as many rows each) projected on the direction: the mean gap of their sorted values."""
    distances = []
    for _ in range(DIRECTIONS // DIRECTIONS_PER_ROUND):
        directions = rng.standard_normal((a.shape[1], DIRECTIONS_PER_ROUND)).astype(np.float32)
        directions /= np.linalg.norm(directions, axis=0, keepdims=True)
        projected_a = np.sort(a @ directions, axis=0)
        projected_b = np.sort(b @ directions, axis=0)
        distances.append(np.abs(projected_a - projected_b).mean())
    return float(np.mean(distances))


def swd(pictures_a, pictures_b, seed=0):
    """{level side: SWD x 1e3} and "mean" for two sets of as many pictures each."""
    if len(pictures_a) != len(pictures_b):
        raise ValueError("SWD compares two sets of as many pictures each")
    rng = np.random.default_rng(seed)
    levels_a = laplacian_pyramid(to_float(pictures_a))
    levels_b = laplacian_pyramid(to_float(pictures_b))
    scores = {}
    for level_a, level_b in zip(levels_a, levels_b):
        channels = level_a.shape[-1]
        a = normalised(patches(level_a, rng), channels)
        b = normalised(patches(level_b, rng), channels)
        scores[level_a.shape[1]] = 1e3 * sliced_wasserstein(a, b, rng)
    scores["mean"] = float(np.mean(list(scores.values())))
    return scores


# ----- copies -------------------------------------------------------------------------------
def small(pictures):
    """Pictures at COPY_SIDE x COPY_SIDE (means of square blocks), flattened: (N, 32 * 32 * 3)."""
    pictures = to_float(pictures)
    count, side = len(pictures), pictures.shape[1]
    block = max(side // COPY_SIDE, 1)
    reduced = pictures.reshape(count, side // block, block, side // block, block, -1)
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
def check_picture_count(asked, folder_count, flag):
    """Refuse to score with fewer than MIN_PICTURES pictures on each side, saying what can help:
    more pictures in the folder when the folder is what limits the count, else more samples."""
    count = min(asked, folder_count // 2)  # the floor compares the folder's two halves
    if count >= MIN_PICTURES:
        return
    if folder_count // 2 < MIN_PICTURES:  # more samples cannot help: the folder's halves are small
        remedy = (f"The folder's half is what limits it: add pictures to the folder, "
                  f"{2 * MIN_PICTURES} or more, or judge this run by its grids.")
    else:
        remedy = f"Ask for {MIN_PICTURES} samples or more with {flag}."
    raise UserError(
        f"Too few pictures to score: {flag} {asked} with a folder of {folder_count:,} pictures "
        f"gives {count} on each side of the comparison, and the sliced Wasserstein distance "
        f"needs at least {MIN_PICTURES} (the folder is split in two halves for the floor). Below "
        "that it moves more from one draw to the next than between a good and a bad generator "
        f"(docs/colour.md). {remedy}"
    )


def check_folder(data_dir, asked, flag):
    """Before training with --eval-every: refuse a folder too small to score, with what to do.
    (No folder, or a missing one: the loader says so, as without --eval-every.)"""
    if data_dir and os.path.isdir(data_dir):
        check_picture_count(asked, len(datasets.find_pictures(data_dir)), flag)


def evaluate(draw_images, data_dir, count, run_dir, epoch, seed=0):
    """SWD of `count` samples (at most half the folder) against the folder's pictures, beside
    the floor of its two halves; the memorisation figure and the pairs picture. Prints the table,
    appends a line to metrics.jsonl; returns what the training log records: swd, memorisation."""
    first = np.asarray(draw_images(1))  # the generator's picture size and colours
    side, colour = first.shape[1], first.shape[-1] == 3
    pictures, _ = datasets.load_folder(data_dir, side, colour=colour, cache_dir=run_dir)
    # (`train --eval-every` checked its --eval-samples before training: this is `evaluate`'s.)
    check_picture_count(count, len(pictures), "--n")
    count = min(count, len(pictures) // 2)  # on each side; the floor compares two halves
    halves = np.random.default_rng(seed).permutation(len(pictures))
    half_a, half_b = pictures[halves[:count]], pictures[halves[count : 2 * count]]
    samples = images.generate(draw_images, count)
    scores, floor = swd(samples, half_a, seed), swd(half_b, half_a, seed)
    ratio, indices, distances = copying(samples, pictures)
    floor_ratio, _, _ = copying(half_b, half_a)
    pairs_path = images.save_grid(pairs(samples, pictures, indices, distances),
                                  os.path.join(run_dir, "nearest.png"), columns=4)
    print(table(scores, floor, ratio, floor_ratio, count, epoch, pairs_path))
    runs.append_metrics(run_dir, dict(
        epoch=epoch, samples=count, dataset=datasets.FOLDER,
        swd={str(level): value for level, value in scores.items()},
        floor={str(level): value for level, value in floor.items()},
        memorisation=ratio, memorisation_floor=floor_ratio))
    return dict(swd=scores["mean"], memorisation=ratio)


def table(scores, floor, ratio, floor_ratio, count, epoch, pairs_path):
    rows = [(f"SWD x1e3 at {level} px", scores[level], floor[level])
            for level in scores if level != "mean"]
    rows += [("SWD x1e3, their mean", scores["mean"], floor["mean"]),
             ("memorisation (0 = copies)", ratio, floor_ratio)]
    lines = [f"Scores at epoch {epoch}: {count:,} samples vs {count:,} pictures of the folder; "
             f"the floor: the other {count:,} against them",
             f"  {'metric':<32}{'generated':>12}{'floor (real)':>16}"]
    lines += [f"  {name:<32}{value:>12.2f}{base:>16.2f}" for name, value, base in rows]
    lines.append("  SWD: lower is better, 0 for the folder's own pictures drawn without end.")
    lines.append(f"  memorisation: each sample's nearest folder picture in pixels at {COPY_SIDE}x"
                 f"{COPY_SIDE}, over the folder pictures' nearest other; about 1 = no copying")
    lines.append(f"  The 8 samples nearest to a folder picture, each beside it: {pairs_path}")
    return "\n".join(lines)
