"""common/metrics.py: the distances on known cases, coverage, the cached classifier, evaluate."""

import json
import math
import os

import numpy as np
import pytest

from common import metrics
from conftest import run_main

pytestmark = pytest.mark.usefixtures("without_xla")  # conftest: the tests are about scores


def test_frechet_distance_closed_form():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(4000, 3)) @ np.diag([1.0, 2.0, 0.5])
    assert (
        abs(metrics.frechet_distance(*metrics.gaussian(features), *metrics.gaussian(features)))
        < 1e-6
    )
    # Diagonal Gaussians: |mu1 - mu2|^2 + sum (s1 + s2 - 2 sqrt(s1 s2))
    #                   = |mu1 - mu2|^2 + sum (sqrt s1 - sqrt s2)^2.
    mu_1, var_1 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 4.0, 9.0])
    mu_2, var_2 = np.array([1.0, 1.0, 0.0]), np.array([4.0, 1.0, 1.0])
    expected = 1 + 0 + 4 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2
    assert math.isclose(
        metrics.frechet_distance(mu_1, np.diag(var_1), mu_2, np.diag(var_2)), expected, rel_tol=1e-9
    )


def test_kernel_distance_zero_for_one_set_and_positive_for_shifted():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(600, 8))
    same = metrics.kernel_distance(features, features.copy(), subset_size=300)
    shifted = metrics.kernel_distance(features, features + 1.0, subset_size=300)
    # Unbiased, so it scatters around 0 for one distribution, far below a real difference.
    assert abs(same) < 0.05 and shifted > 20 * abs(same)


def test_coverage_counts_classes_and_entropy():
    assert metrics.coverage(np.zeros(100, int)) == dict(classes_covered=1, class_entropy=0.0)
    balanced = metrics.coverage(np.arange(1000) % 10)
    assert balanced["classes_covered"] == 10 and math.isclose(balanced["class_entropy"], 1.0)
    skewed = metrics.coverage(np.array([0] * 97 + [1, 2, 3]))
    assert skewed["classes_covered"] == 1 and 0 < skewed["class_entropy"] < 0.2


def test_one_image_generator_scores_far_worse_than_real_images(idx_dir):
    scorer = metrics.scorer_for("mnist", idx_dir, verbose=False)
    assert scorer.info["test_accuracy"] > 0.9  # the toy classes are easy
    one_image = np.repeat(scorer.train_images[:1], 100, axis=0)
    collapsed = scorer.score(one_image)
    shuffled_real = scorer.score(np.random.default_rng(0).permutation(scorer.train_images)[:100])
    assert collapsed["classes_covered"] == 1
    assert shuffled_real["classes_covered"] == 10
    assert (
        collapsed["fcd"] > 5 * shuffled_real["fcd"] and collapsed["kid"] > 5 * shuffled_real["kid"]
    )


def test_classifier_cache_is_reused_and_corrupt_cache_rebuilt(
    tmp_path, monkeypatch, idx_dir, capsys
):
    monkeypatch.setenv("GAN_CACHE_DIR", str(tmp_path))
    # The cache is under test, not the classifier: a few steps of training are enough.
    monkeypatch.setattr(metrics, "CLASSIFIER_EPOCHS", 1)
    monkeypatch.setattr(metrics, "CLASSIFIER_MIN_STEPS", 4)
    metrics.Scorer("fashion_mnist", idx_dir)
    assert "Training the fashion_mnist classifier" in capsys.readouterr().out
    model_path = tmp_path / "classifier-fashion_mnist.keras"
    stamp = os.path.getmtime(model_path)
    metrics.Scorer("fashion_mnist", idx_dir)
    assert "Training" not in capsys.readouterr().out and os.path.getmtime(model_path) == stamp
    model_path.write_bytes(b"not a keras file")
    metrics.Scorer("fashion_mnist", idx_dir)
    assert "could not be read" in capsys.readouterr().out
    info = json.loads((tmp_path / "classifier-fashion_mnist.json").read_text())
    info["data"] = "other-data"
    (tmp_path / "classifier-fashion_mnist.json").write_text(json.dumps(info))
    metrics.Scorer("fashion_mnist", idx_dir)
    assert "made for other data" in capsys.readouterr().out


def test_evaluate_command_and_eval_every(tmp_path, idx_dir, capsys):
    import dcgan_fashion

    out = str(tmp_path / "run")
    status, stdout, stderr = run_main(
        dcgan_fashion,
        [
            "train",
            "--dataset",
            "mnist",  # the classifier of the other score tests: trained once, cached
            "--epochs",
            "2",
            "--eval-every",
            "2",
            "--eval-samples",
            "500",
            "--data-dir",
            idx_dir,
            "--out-dir",
            out,
            "--batch-size",
            "16",
            "--steps-per-epoch",
            "1",
        ],
        capsys,
    )
    assert status == 0, stderr
    assert "Scores at epoch 2: 500 samples" in stdout
    log = open(os.path.join(out, "log.csv")).read().splitlines()
    assert "fcd" in log[0] and len(log) == 3
    status, stdout, _ = run_main(
        dcgan_fashion, ["evaluate", "--out-dir", out, "--n", "300", "--data-dir", idx_dir], capsys
    )
    assert status == 0 and "FCD" in stdout and "floor (real)" in stdout
    records = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    assert [r["samples"] for r in records] == [500, 300]
    assert records[-1]["epoch"] == 2 and records[-1]["floor"]["fcd"] < records[-1]["fcd"]


def test_samples_of_one_class_have_entropy_zero_not_minus_zero():
    assert f"{metrics.coverage(np.zeros(10, int))['class_entropy']:.3f}" == "0.000"
