"""Walks through the generator's noise space, for `python SCRIPT.py walk`.

The DCGAN paper (Radford et al. 2015, section 6.1) walks between noise vectors and shows
each image turning smoothly into the next: the generator has learned a space in which
nearby noise means similar pictures, not a lookup table of training images. `slerp` follows
great circles between noise vectors, `lerp` straight lines (for one-hot labels), and
`loop_through` joins the points into a closed walk.
"""

import numpy as np


def slerp(start, end, fractions):
    """Spherical interpolation from `start` to `end` (vectors) at each fraction in [0, 1].

    Why not a straight line: z ~ N(0, 1) in d dimensions has a norm of almost exactly
    sqrt(d) (10 for d = 100: the noise lives near a sphere), and two such vectors are nearly
    at right angles. The midpoint of the straight line between them has a norm of about
    sqrt(d / 2), 7 instead of 10: noise the generator practically never saw in training,
    whose images come out faded. Slerp follows the great circle instead, keeping the norm
    (White 2016, "Sampling Generative Networks", arXiv 1609.04468).
    """
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
    angle = np.arccos(np.clip(cosine, -1.0, 1.0))
    fractions = np.asarray(fractions, np.float64)[:, np.newaxis]
    if angle < 1e-6:  # the same direction: the line and the circle agree
        return (1 - fractions) * start + fractions * end
    from_start, towards_end = np.sin((1 - fractions) * angle), np.sin(fractions * angle)
    return (from_start * start + towards_end * end) / np.sin(angle)


def lerp(start, end, fractions):
    """The straight line from `start` to `end` at each fraction in [0, 1]."""
    fractions = np.asarray(fractions, np.float64)[:, np.newaxis]
    return (1 - fractions) * np.asarray(start, np.float64) + fractions * np.asarray(end, np.float64)


def loop_through(points, steps, straight=False):
    """A closed walk: `steps` vectors from each point towards the next, the last back to the first.

    points: (K, d). Returns (K * steps, d) float32; row i * steps is points[i].
    """
    points = np.asarray(points)
    fractions = np.arange(steps) / steps  # 0 ... (steps - 1)/steps: the next leg starts the next
    between = lerp if straight else slerp  # straight: for one-hot labels, which are no noise
    legs = [between(points[i], points[(i + 1) % len(points)], fractions)
            for i in range(len(points))]
    return np.concatenate(legs).astype(np.float32)
