"""common/folder_scores.py: the sliced Wasserstein distance and the memorisation check of a
folder run, and `evaluate` / `--eval-every` on dcgan_color.py."""

import json
import os

import numpy as np
from PIL import Image

import dcgan_color as color
from common import folder_scores
from common.runs import read_log
from conftest import run_main


def blobs(count, seed, side=64):
    """`count` uint8 colour pictures: a soft disc of a random colour, place and size on a
    background of another, with a little noise: structure at every scale."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side]
    pictures = np.empty((count, side, side, 3), np.float32)
    for index in range(count):
        cy, cx = rng.uniform(side * 0.3, side * 0.7, 2)
        radius = rng.uniform(side * 0.15, side * 0.35)
        inside = 1.0 / (1.0 + np.exp((np.hypot(y - cy, x - cx) - radius) / 1.5))
        background, disc = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        pictures[index] = inside[..., None] * disc + (1 - inside[..., None]) * background
    pictures += rng.normal(0, 6, pictures.shape)
    return np.clip(pictures, 0, 255).astype(np.uint8)


def test_the_pyramid_keeps_the_details_of_each_scale_apart():
    pictures = folder_scores.to_float(blobs(4, 0))
    levels = folder_scores.laplacian_pyramid(pictures)
    assert [level.shape[1] for level in levels] == [64, 32, 16]
    # Built back from the coarsest, the levels give the picture again.
    rebuilt = levels[-1]
    for level in reversed(levels[:-1]):
        rebuilt = level + folder_scores.double_size(rebuilt)
    np.testing.assert_allclose(rebuilt, pictures, atol=1e-4)
    # A detail level holds details only: its mean is near 0, unlike the picture's.
    assert abs(levels[0].mean()) < 0.05 * abs(pictures).mean()


def test_swd_is_small_for_two_draws_of_one_kind_and_tells_blur_at_the_fine_level():
    a, b = blobs(128, 1, side=32), blobs(128, 2, side=32)  # levels of 32 and 16 pixels
    same = folder_scores.swd(a, b)
    # The same pictures, blurred: their fine details are gone, their layout is not.
    blurred = folder_scores.blur(folder_scores.blur(folder_scores.to_float(b)))
    soft = folder_scores.swd(a, blurred)
    noise = folder_scores.swd(a, np.random.default_rng(3).integers(0, 256, a.shape, np.uint8))
    assert soft["mean"] > 2 * same["mean"] and noise["mean"] > 2 * same["mean"]
    assert soft[32] / same[32] > 2 * soft[16] / same[16]  # blur shows most at the finest level
    # Repeatable: the patches and directions come from the seed (0 unless given).
    assert folder_scores.swd(a, b) == same


def test_sets_scored_together_score_as_each_alone():
    """against_floor scores the samples and the floor against one side in one call: each set
    gets the numbers it would get alone (the same patch places, the same directions)."""
    a, b, reference = blobs(12, 1, side=32), blobs(12, 2, side=32), blobs(12, 3, side=32)
    together = folder_scores.swd_each([a, b], reference, seed=4)
    assert together == [folder_scores.swd(a, reference, 4), folder_scores.swd(b, reference, 4)]
    assert together[0] != together[1]


def test_a_generator_that_returns_the_folder_is_flagged_as_copying():
    folder = blobs(150, 4)
    copies = folder[np.random.default_rng(0).integers(0, 150, 60)]
    ratio, indices, distances = folder_scores.copying(copies, folder)
    assert ratio < 0.05
    new = blobs(60, 5)  # pictures of the same kind that the folder does not hold
    # As far from the folder as its pictures are from each other: about 1.
    assert 0.5 < folder_scores.copying(new, folder)[0] < 2
    shown = folder_scores.pairs(copies, folder, indices, distances, count=3)
    assert shown.shape == (6, 64, 64, 3)
    np.testing.assert_allclose(shown[0], shown[1])  # a copy beside the picture it copies


def write_folder(folder, count):
    os.makedirs(folder, exist_ok=True)
    for index, picture in enumerate(blobs(count, 7)):
        Image.fromarray(picture).save(os.path.join(folder, f"blob_{index:03d}.png"))
    return folder


TINY = ["--batch-size", "4", "--steps-per-epoch", "2", "--width", "8"]


def test_new_pictures_land_in_the_floor_band_and_worse_ones_above_it_at_100():
    """A folder of 100: its floor is 10 random splits, 50 against 50. New pictures of the same
    kind (a perfect generator) score within the band on both scores. Blurred ones land far
    above it on the SWD (which sees details; it evens out each colour channel), darker ones on
    the KID (which sees the colours and the variety)."""
    folder, new = blobs(100, 7, side=32), blobs(50, 8, side=32)
    blurred = folder_scores.blur(folder_scores.to_float(new))
    darker = 0.7 * folder_scores.to_float(new) - 0.3
    good = folder_scores.against_floor(new, folder)
    for metric in ("mean", "kid"):  # the SWD's mean over its levels, and the KID
        assert abs(folder_scores.deviations(*good[metric])) < 2.5, metric
    assert folder_scores.deviations(*folder_scores.against_floor(blurred, folder)["mean"]) > 10
    assert folder_scores.deviations(*folder_scores.against_floor(darker, folder)["kid"]) > 4


def test_the_floors_splits_never_share_a_picture():
    """A picture on both sides of a split (drawing with replacement) would be a perfect match."""
    sides = list(folder_scores.splits(101, 50, 20, seed=3))
    assert len(sides) == 20
    for side_a, side_b in sides:
        assert len(side_a) == len(side_b) == 50
        assert len(set(side_a) | set(side_b)) == 100  # disjoint, and no picture twice on a side
        assert set(side_a) | set(side_b) <= set(range(101))
    assert len({tuple(side_a) for side_a, _ in sides}) == 20  # each split a new draw


def test_the_kernel_distance_is_unbiased_for_two_draws_of_one_kind():
    """KID's estimate averages 0 for two samples of one distribution, even of 25 points."""
    rng = np.random.default_rng(0)
    values = [folder_scores.kernel_distance(rng.normal(size=(25, 8)), rng.normal(size=(25, 8)))
              for _ in range(400)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))
    shifted = [folder_scores.kernel_distance(rng.normal(size=(25, 8)),
                                             rng.normal(0.5, 1, size=(25, 8))) for _ in range(50)]
    assert np.mean(shifted) > 5 * np.std(values) / np.sqrt(50)


def test_the_random_network_gives_the_same_features_everywhere():
    pictures = blobs(3, 1)
    features = folder_scores.random_net_features(pictures)
    assert features.shape == (3, 2 * (3 + 32 + 64 + 128))
    np.testing.assert_array_equal(features, folder_scores.random_net_features(pictures))
    assert features.std(axis=0).mean() > 0  # pictures that differ get features that differ


def test_evaluate_and_eval_every_score_a_folder_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(folder_scores, "MIN_PICTURES", 8)
    folder = write_folder(str(tmp_path / "blobs"), 40)
    out = str(tmp_path / "run")
    flags = ["--data-dir", folder, "--out-dir", out, *TINY]
    status, stdout, stderr = run_main(
        color, ["train", "--epochs", "1", "--eval-every", "1", "--eval-samples", "16", *flags],
        capsys,
    )
    assert status == 0, stderr
    row = read_log(os.path.join(out, "log.csv"))[-1]
    assert row["swd"] > 0 and row["memorisation"] > 0 and "kid" in row
    status, stdout, stderr = run_main(color, ["evaluate", "--out-dir", out], capsys)
    assert status == 0, stderr
    assert "SWD x1e3 at 64 px" in stdout and "SWD x1e3 at 16 px" in stdout
    assert "KID x1e3" in stdout and "floor deviations" in stdout and "memorisation" in stdout
    # --n 10,000 asked; half the folder scored: 20 samples against 20 of its 40 pictures.
    assert "20 samples against 20 of the folder's 40 pictures" in stdout
    assert os.path.exists(os.path.join(out, "nearest.png"))
    lines = open(os.path.join(out, "metrics.jsonl")).read().splitlines()
    record = json.loads(lines[-1])
    assert record["samples"] == 20 and record["splits"] == folder_scores.SPLITS
    assert set(record["swd"]) == set(record["floor_sd"]) == {"64", "32", "16", "mean"}
    assert record["kid_floor_sd"] > 0 and "kid" in record


def test_a_folder_under_100_pictures_gets_the_memorisation_check_alone(tmp_path, capsys):
    folder = write_folder(str(tmp_path / "few"), 30)
    out = str(tmp_path / "run")
    status, stdout, stderr = run_main(
        color, ["train", "--data-dir", folder, "--out-dir", out, "--epochs", "1",
                "--eval-every", "1", "--eval-samples", "50", *TINY], capsys)
    assert status == 0, stderr  # trained: a small folder is not refused
    row = read_log(os.path.join(out, "log.csv"))[-1]
    assert row["memorisation"] > 0 and not row.get("swd")
    said = " ".join(stdout.split())
    assert "the memorisation check alone" in said and "holds 30 pictures" in said
    assert f"needs {folder_scores.MIN_PICTURES} or more" in said


def test_too_few_samples_are_refused_before_training(tmp_path, capsys):
    folder = write_folder(str(tmp_path / "few"), 4)
    status, _, stderr = run_main(
        color,
        ["train", "--data-dir", folder, "--out-dir", str(tmp_path / "run"), "--eval-every", "1",
         "--eval-samples", "20", *TINY],
        capsys,
    )
    assert status == 2
    said = " ".join(stderr.split())
    assert "--eval-samples 20: too few samples" in said and "Ask for 50 or more" in said
    assert not os.path.exists(str(tmp_path / "run" / "checkpoints"))


def test_the_emoji_folder_holds_the_fonts_colour_pictures_on_white(tmp_path):
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "benchmarks"))
    import emoji_folder

    assert os.path.exists(emoji_folder.FONT), (
        "`sudo apt-get install fonts-noto-color-emoji` (Debian, Ubuntu; .ci/run does)"
    )
    assert len(emoji_folder.emoji_pngs()) == 3926
    assert emoji_folder.write_folder(str(tmp_path / "emoji"), count=5) == 5
    names = sorted(os.listdir(tmp_path / "emoji"))
    assert names == [f"emoji_{index:04d}.png" for index in range(5)]
    for name in names:
        picture = np.asarray(Image.open(tmp_path / "emoji" / name))
        assert picture.shape == (128, 136, 3)
        assert (picture[0, 0] == 255).all()  # the transparent corner painted white
        assert picture.std() > 10  # and a colourful emoji on it


def test_links_and_copies_count_once(tmp_path, capsys):
    """An icon theme links one picture under several names, and a photo folder holds copies:
    the loader reads a link to a picture already found once; the scores leave out identical
    copies, so that no picture is its own nearest other (memorisation) or on both sides of a
    split (the floor)."""
    from common import datasets

    folder = write_folder(str(tmp_path / "linked"), 120)
    for index in range(40):  # 40 links to pictures of the folder, under other names
        os.symlink(os.path.join(folder, f"blob_{index:03d}.png"),
                   os.path.join(folder, f"link_{index:03d}.png"))
    assert len(datasets.find_pictures(folder)) == 120
    pictures = blobs(120, 7)
    with_copies = np.concatenate([pictures, pictures[:80]])  # 80 copies of its pictures
    np.testing.assert_array_equal(folder_scores.distinct(with_copies), np.arange(120))

    def copying_generator(count, labels=None):  # new pictures of the same kind, 32 pixels a
        return blobs(count, 9, side=32).astype(np.float32) / 127.5 - 1.0  # side (read so too)

    for index in range(80):
        Image.fromarray(pictures[index]).save(os.path.join(folder, f"copy_{index:03d}.png"))
    scores = folder_scores.evaluate(copying_generator, folder, 60, str(tmp_path / "run"), 1)
    said = capsys.readouterr().out
    assert "80 of the folder's 200 pictures are identical copies" in said
    assert 0.5 < scores["memorisation"] < 2  # not divided by a nearest distance of 0
