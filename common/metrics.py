"""How good are the samples? Scores from a small classifier of the dataset itself.

Inception-based FID needs ImageNet weights from the internet and fits 28x28 grey images
badly. As TF-GAN does for MNIST, we train a compact CNN on the dataset's training split
(once, cached) and compare generated and real images in its 128-number feature space:

- FCD, the Frechet Classifier Distance: fit a Gaussian to each set of features and take
  |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)). 0 for identical distributions.
- KID, the Kernel Inception-style Distance: an unbiased estimate of the squared MMD with
  the polynomial kernel k(x, y) = (x.y / d + 1)^3. Unbiased, so it is fair for small sets.
- Class coverage: the classifier's predicted classes of the generated images. A generator
  that has collapsed onto a few classes ("mode collapse") covers few.

Every score is printed beside its floor: the same number for real training images against
the test split, the best a generator could hope for. A conditional run also gets the share of
samples the classifier puts in the class they were asked for. Each scoring adds a line to
OUT_DIR/metrics.jsonl; the classifier is cached in $GAN_CACHE_DIR (default
~/.cache/gan-collection). A folder run has no classifier: common/folder_scores.py scores it.
"""

import hashlib
import json
import os
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from scipy import linalg

from common import datasets, folder_scores, images, runs
from common.errors import UserError
from common.files import replacing, write_text

# Bump when the classifier's architecture or training changes. Version 2 draws its weights
# and its order of the data from its own seeds, not the global ones (see Scorer._train).
CLASSIFIER_VERSION = 2
CLASSIFIER_EPOCHS = 2
CLASSIFIER_SEED = 1234  # the same classifier every time for the same data
CLASSIFIER_MIN_STEPS = 80  # small datasets (the tests') still get enough updates
COVERED_SHARE = 0.05  # a class counts as covered with >= 5% of samples (half a fair 10%)
KID_SUBSET = 1000
FEATURES = 128  # the width of the classifier's feature layer: the space the scores compare in
# The FCD fits a covariance (FEATURES x FEATURES) to the generated images' features. N images
# give a covariance of rank N - 1 at most, so fewer than FEATURES + 1 images leave it singular:
# its square root fails or is meaningless, and the score with it. Below this we refuse.
MIN_SAMPLES = FEATURES + 1
# Above the minimum the FCD still reads high on few images, and scatters: real training
# images against the test split of Fashion-MNIST, five draws of each size, score 4.3 +- 0.8
# with 129 images, 1.0 +- 0.1 with 500, 0.31 +- 0.04 with 2,000 and 0.09 +- 0.01 with 10,000.
# From 2,000 on, the score moves far less than the gap between two generators (FCD 16 to 55
# in docs/results.md).
STABLE_SAMPLES = 2000


# ----- the classifier ---------------------------------------------------------------------
def build_classifier(seed=CLASSIFIER_SEED):
    """The compact CNN whose feature layer the scores compare in. Each layer's first weights
    come from a seed of its own (seed, seed + 1, ...): Keras's default would draw its seed from
    Python's global random state, and so change what a run that scores itself draws next."""

    def init(layer_number):  # Glorot-uniform first weights, from the layer's own seed
        return keras.initializers.GlorotUniform(seed=seed + layer_number)

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu", kernel_initializer=init(0)),  # (B, 26, 26, 32)
            layers.MaxPooling2D(),  # (B, 13, 13, 32)
            layers.Conv2D(64, 3, activation="relu", kernel_initializer=init(1)),  # (B, 11, 11, 64)
            layers.MaxPooling2D(),  # (B, 5, 5, 64)
            layers.Flatten(),  # (B, 1600)
            # (B, 128): the feature space the scores compare in
            layers.Dense(FEATURES, activation="relu", name="features", kernel_initializer=init(2)),
            layers.Dense(10, dtype="float32", name="logits", kernel_initializer=init(3)),  # (B, 10)
        ],
        name="classifier",
    )


def cache_dir():
    default = os.path.join(os.path.expanduser("~"), ".cache", "gan-collection")
    return os.environ.get("GAN_CACHE_DIR") or default


def fingerprint(images, labels):
    """A short hash of the training data, so a cache made on other data is not trusted."""
    digest = hashlib.sha1(np.ascontiguousarray(images[:: max(1, len(images) // 2000)]).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return f"{len(images)}-{digest.hexdigest()[:16]}"


def to_model_range(images):
    """uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [-1, 1], as the scripts scale theirs."""
    return ((images.astype(np.float32) - 127.5) / 127.5)[..., np.newaxis]


class Scorer:
    """The dataset's classifier (cached) and the test split's features."""

    def __init__(self, dataset, data_dir=None, verbose=True):
        (train, self.train_labels), _ = datasets.load(dataset, "train", data_dir, labels=True)
        (test, self.test_labels), _ = datasets.load(dataset, "test", data_dir, labels=True)
        self.train_images, self.test_images = to_model_range(train), to_model_range(test)
        self.dataset, self.verbose = dataset, verbose
        self.classifier, self.info = self._load_or_train()
        # One call gives both the features and the logits.
        outputs = [self.classifier.get_layer("features").output, self.classifier.outputs[0]]
        self.extract = keras.Model(self.classifier.inputs[0], outputs)
        self.test_features, _ = self.features(self.test_images)

    def _load_or_train(self):
        """The cached classifier if it was made by this version on this data, else a new one."""
        base = os.path.join(cache_dir(), f"classifier-{self.dataset}")
        model_path, info_path = base + ".keras", base + ".json"
        data = fingerprint(self.train_images, self.train_labels)
        expected = dict(version=CLASSIFIER_VERSION, data=data)
        try:
            with open(info_path) as file:
                info = json.load(file)
            if {key: info.get(key) for key in expected} == expected:
                return keras.models.load_model(model_path), info
            reason = "it was made for other data or by another version"
        except FileNotFoundError:
            reason = None
        except Exception as error:  # a damaged .keras or .json: any read error means retrain
            reason = f"it could not be read ({type(error).__name__})"
        if reason and self.verbose:
            print(f"Not using the cached classifier in {model_path}: {reason}. Retraining it.")
        return self._train(model_path, info_path, expected)

    def _train(self, model_path, info_path, expected):
        if self.verbose:
            print(f"Training the {self.dataset} classifier for the scores (once; cached in "
                  f"{cache_dir()}) ...")
        # The classifier's randomness (its first weights, the order of the data) comes from
        # seeds of its own. `train --eval-every` trains it in the middle of a run: reseeding
        # the global random state here, as keras.utils.set_random_seed would, made a run's
        # later epochs depend on whether the classifier was cached.
        classifier = build_classifier(CLASSIFIER_SEED)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        classifier.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, metrics=["accuracy"])
        batch, count = 128, len(self.train_images)
        steps = max(CLASSIFIER_EPOCHS * count // batch, CLASSIFIER_MIN_STEPS)
        # A fresh random order for each pass, from a numpy generator of our own; tf.data's
        # shuffle would mix in the global TensorFlow seed, which is the caller's.
        order_generator = np.random.default_rng(CLASSIFIER_SEED)
        passes = -(-steps * batch // count)  # rounded up
        order = np.concatenate([order_generator.permutation(count) for _ in range(passes)])
        train_images, train_labels = tf.constant(self.train_images), tf.constant(self.train_labels)
        data = (
            tf.data.Dataset.from_tensor_slices(order[: steps * batch])
            .batch(batch)
            .map(lambda chosen: (tf.gather(train_images, chosen), tf.gather(train_labels, chosen)))
            .repeat()
            .prefetch(1)  # the next batch made ready while a step runs
            .with_options(datasets.untuned())  # tf.data's tuning made epochs end late (datasets.py)
        )
        classifier.fit(data, epochs=CLASSIFIER_EPOCHS, steps_per_epoch=steps // CLASSIFIER_EPOCHS,
                       shuffle=False, verbose=2 if self.verbose else 0)
        _, accuracy = classifier.evaluate(self.test_images, self.test_labels, verbose=0)
        info = dict(expected, test_accuracy=float(accuracy), steps=steps)
        try:  # whole files or none: a kill, or another process reading, never sees half of one
            os.makedirs(os.path.dirname(model_path), exist_ok=True)
            with replacing(model_path) as temporary:
                classifier.save(temporary)
            write_text(info_path, json.dumps(info, indent=2))  # last: it says the model is whole
        except OSError as error:
            print(f"(Could not cache the classifier in {cache_dir()}: {error}; "
                  "set $GAN_CACHE_DIR.)")
        if self.verbose:
            print(f"Classifier test accuracy: {accuracy:.1%}")
        return classifier, info

    def features(self, images, batch=1000):
        """Penultimate features (N, 128) and predicted classes (N,) of images in [-1, 1]."""
        feature_parts, class_parts = [], []
        for start in range(0, len(images), batch):
            part = np.asarray(images[start : start + batch], np.float32)
            features, logits = self.extract(part, training=False)
            feature_parts.append(np.asarray(features, np.float64))
            class_parts.append(np.argmax(logits, axis=1))
        return np.concatenate(feature_parts), np.concatenate(class_parts)

    def score(self, images, seed=0):
        """All scores of a set of images against the test split."""
        features, classes = self.features(images)
        fcd = frechet_distance(*gaussian(features), *gaussian(self.test_features))
        kid = kernel_distance(features, self.test_features, seed=seed)
        return dict(fcd=fcd, kid=kid, **coverage(classes))

    def floor(self, count, seed=0):
        """The scores of `count` real training images: what a perfect generator would get."""
        available = len(self.train_images)
        chosen = np.random.default_rng(seed).choice(available, min(count, available), replace=False)
        return self.score(self.train_images[chosen], seed=seed)


# ----- the distances ----------------------------------------------------------------------
def gaussian(features):
    """Mean and covariance of features (N, D)."""
    return features.mean(axis=0), np.cov(features, rowvar=False)


def frechet_distance(mu_1, sigma_1, mu_2, sigma_2):
    """Frechet distance of two Gaussians: |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))."""
    with warnings.catch_warnings():
        # A collapsed generator has a singular covariance; sqrtm warns but stays finite there.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covariance_mean = linalg.sqrtm(sigma_1 @ sigma_2)
    if not np.isfinite(covariance_mean).all():
        # A singular product: nudge both covariances, as the FID reference code does.
        offset = np.eye(len(sigma_1)) * 1e-6
        covariance_mean = linalg.sqrtm((sigma_1 + offset) @ (sigma_2 + offset))
    covariance_mean = np.real(covariance_mean)  # tiny imaginary parts are rounding error
    difference = mu_1 - mu_2
    traces = np.trace(sigma_1) + np.trace(sigma_2) - 2 * np.trace(covariance_mean)
    return float(difference @ difference + traces)


def kernel_distance(features_1, features_2, subsets=10, subset_size=KID_SUBSET, seed=0):
    """KID: the unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 (folder_scores.kernel_distance),
    averaged over random subsets of subset_size, as Binkowski et al. 2018."""
    rng = np.random.default_rng(seed)
    size = min(subset_size, len(features_1), len(features_2))
    return float(np.mean([folder_scores.kernel_distance(
        features_1[rng.choice(len(features_1), size, replace=False)],
        features_2[rng.choice(len(features_2), size, replace=False)]) for _ in range(subsets)]))


def coverage(classes, num_classes=10):
    """How many classes get >= COVERED_SHARE of the samples; the histogram's entropy in [0, 1]."""
    shares = np.bincount(classes, minlength=num_classes) / max(len(classes), 1)
    nonzero = shares[shares > 0]
    # + 0.0: one class alone gives -0.0, which would print as "-0.000".
    entropy = float(-(nonzero * np.log(nonzero)).sum() / np.log(num_classes)) + 0.0
    return dict(classes_covered=int((shares >= COVERED_SHARE).sum()), class_entropy=entropy)


# ----- what the scripts call --------------------------------------------------------------
def check_sample_count(count, flag=None):
    """Refuse to score fewer images than the FCD's covariance needs (MIN_SAMPLES), with a
    message that names the option (`flag`) that asked for them."""
    if count >= MIN_SAMPLES:
        return
    asked = (f"{flag} {count}: too few images to score" if flag
             else f"Too few images to score ({count})")
    raise UserError(
        f"{asked}. The FCD fits a Gaussian to the classifier's {FEATURES} features of the images, "
        f"and its covariance is full-rank only with more images than features: {MIN_SAMPLES} at "
        f"the very least. Scores are stable from about {STABLE_SAMPLES:,} images, and `evaluate` "
        f"scores 10,000 by default. Ask for {STABLE_SAMPLES:,} or more with "
        f"{flag or '--n (evaluate) or --eval-samples (train)'}."
    )


_SCORERS = {}


def scorer_for(dataset, data_dir=None, verbose=True):
    """One Scorer per dataset and process (the test features are computed once)."""
    key = (dataset, data_dir)
    if key not in _SCORERS:
        _SCORERS[key] = Scorer(dataset, data_dir, verbose)
    return _SCORERS[key]


def evaluate(draw_images, dataset, data_dir, count, run_dir, epoch, seed=0, class_names=()):
    """Score `count` images from draw_images(n), print the table, append a line to metrics.jsonl.

    draw_images is the script's own: it decides the noise and runs the generator. Returns
    the scores that a training log records: fcd, kid and classes_covered. A run on a folder,
    which has no labels, gets the scores of common/folder_scores.py instead.
    """
    if dataset == datasets.FOLDER:
        if not data_dir:
            raise UserError(f"The run in {run_dir} names no folder of pictures: pass the one it "
                            "trained on with --data-dir DIR.")
        return folder_scores.evaluate(draw_images, data_dir, count, run_dir, epoch, seed,
                                      class_names)
    if dataset not in datasets.NAMES:
        raise UserError(f"The run in {run_dir} names no known dataset ({dataset!r}); cannot tell "
                        "what to compare with.")
    check_sample_count(count)  # common/cli.py checks the flags; this guards other callers
    scorer = scorer_for(dataset, data_dir)
    samples = images.generate(draw_images, count)
    scores, floor = scorer.score(samples, seed), scorer.floor(count, seed)
    accuracy = scorer.info.get("test_accuracy")
    print(table(scores, floor, count, dataset, epoch, accuracy))
    logged = {name: scores[name] for name in ("fcd", "kid", "classes_covered")}
    if class_names:  # cgan_fashion.py: does it draw the class it is asked for?
        logged["asked_for_accuracy"], scores["per_class"] = asked_for(scorer, samples)
        print(asked_for_table(logged["asked_for_accuracy"], scores["per_class"], accuracy,
                              class_names))
        scores["asked_for_accuracy"] = logged["asked_for_accuracy"]
    runs.append_metrics(run_dir, dict(epoch=epoch, samples=count, dataset=dataset, **scores,
                                      floor=floor, classifier_test_accuracy=accuracy))
    return logged


def asked_for(scorer, samples):
    """A conditional generator's samples, the i-th asked for class i mod 10 (training.sampler;
    images.generate asks in batches of 500, a multiple of 10, so the count runs on): the share
    the classifier names the class asked for, and per class that share and the class's FCD
    against the test pictures of the class (where both sides have MIN_SAMPLES pictures)."""
    asked = np.arange(len(samples)) % 10
    features, named = scorer.features(samples)
    per_class = []
    for label in range(10):
        mine, real = asked == label, scorer.test_features[scorer.test_labels == label]
        fcd = (frechet_distance(*gaussian(features[mine]), *gaussian(real))
               if min(mine.sum(), len(real)) >= MIN_SAMPLES else None)
        per_class.append(dict(accuracy=float((named[mine] == label).mean()), fcd=fcd))
    return float((named == asked).mean()), per_class


def asked_for_table(overall, per_class, ceiling, names):
    ceiling = f"{ceiling:.1%}" if ceiling is not None else "?"
    lines = [f"Asked-for accuracy: the classifier names the class asked for in {overall:.1%} of "
             f"the samples (its own accuracy on real test pictures, the ceiling: {ceiling})",
             f"  {'class':<14}{'asked-for accuracy':>20}{'FCD of the class':>18}"]
    for name, row in zip(names, per_class):
        fcd = f"{row['fcd']:.3f}" if row["fcd"] is not None else "(too few)"
        lines.append(f"  {name:<14}{row['accuracy']:>20.1%}{fcd:>18}")
    return "\n".join(lines)


def table(scores, floor, count, dataset, epoch, accuracy):
    accuracy = f"{accuracy:.1%}" if accuracy is not None else "?"
    lines = [
        f"Scores at epoch {epoch}: {count:,} samples vs the {dataset} test split "
        f"(classifier test accuracy {accuracy})",
        f"  {'metric':<32}{'generated':>12}{'floor (real)':>16}",
    ]
    rows = [  # (name, key of the score, its format)
        ("FCD (lower is better)", "fcd", "{:.3f}"),
        ("KID (lower is better)", "kid", "{:.3f}"),
        (f"classes with >= {COVERED_SHARE:.0%} of samples", "classes_covered", "{}/10"),
        ("class entropy (1 = balanced)", "class_entropy", "{:.3f}"),
    ]
    for name, key, form in rows:
        lines.append(f"  {name:<32}{form.format(scores[key]):>12}{form.format(floor[key]):>16}")
    return "\n".join(lines)
