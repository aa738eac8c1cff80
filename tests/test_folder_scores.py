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
    assert row["swd"] > 0 and row["memorisation"] > 0
    status, stdout, stderr = run_main(color, ["evaluate", "--out-dir", out], capsys)
    assert status == 0, stderr
    assert "SWD x1e3 at 64 px" in stdout and "SWD x1e3 at 16 px" in stdout
    assert "memorisation" in stdout
    # --n 10,000 asked; half the folder scored: 20 samples against 20 pictures.
    assert "20 samples vs 20 pictures" in stdout
    assert os.path.exists(os.path.join(out, "nearest.png"))
    lines = open(os.path.join(out, "metrics.jsonl")).read().splitlines()
    record = json.loads(lines[-1])
    assert record["samples"] == 20 and set(record["swd"]) == {"64", "32", "16", "mean"}


def test_a_folder_too_small_to_score_is_refused_before_training(tmp_path, capsys):
    folder = write_folder(str(tmp_path / "few"), 2 * folder_scores.MIN_PICTURES - 2)
    status, _, stderr = run_main(
        color,
        ["train", "--data-dir", folder, "--out-dir", str(tmp_path / "run"), "--eval-every", "1",
         *TINY],
        capsys,
    )
    assert status == 2
    assert f"at least {folder_scores.MIN_PICTURES}" in " ".join(stderr.split())
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


def test_a_too_small_count_suggests_only_what_can_help():
    """More samples cannot make a small folder's halves bigger; more pictures can."""
    from common.errors import UserError

    for asked, pictures, helps, cannot in ((2000, 200, "add pictures", "Ask for"),
                                           (16, 1000, "Ask for 128 samples", "add pictures")):
        try:
            folder_scores.check_picture_count(asked, pictures, "--eval-samples")
            raise AssertionError("a count too small to score was let through")
        except UserError as error:
            assert helps in str(error) and cannot not in str(error)
    folder_scores.check_picture_count(2000, 256, "--eval-samples")  # 128 a side: enough
