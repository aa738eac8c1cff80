"""The facts each script takes from its article, pinned one by one: every layer in order with
its size and settings, the optimizers of each recipe and mode, the order and ratio of the
updates, the batch size, noise size and epochs. The tables below read like the table of
the source articles (docs/articles.md states them in our words); a change to any fact fails
here. Where a script departs from its article on purpose, the table says so and
docs/articles.md says why."""

import os


import keras
import pytest
import tensorflow as tf

import dcgan_color
import dcgan_fashion
import mlp_gan_keras
import wgan_gp
from common import cli


def describe(layer):
    """One layer as a line of the tables below: its kind, then every setting that shapes it."""
    kind = type(layer).__name__
    if isinstance(layer, keras.layers.Dense):
        activation = layer.activation.__name__
        return f"Dense({layer.units}, use_bias={layer.use_bias}, activation={activation})"
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)):
        (kernel, *other_sides), (stride, *other_strides) = layer.kernel_size, layer.strides
        assert set(other_sides) <= {kernel} and set(other_strides) <= {
            stride
        }, "square kernels and strides only"
        return (
            f"{kind}({layer.filters}, {kernel}, strides={stride}, padding={layer.padding}, "
            f"use_bias={layer.use_bias}, activation={layer.activation.__name__})"
        )
    if isinstance(layer, keras.layers.BatchNormalization):
        return f"BatchNormalization(momentum={layer.momentum}, epsilon={layer.epsilon})"
    if isinstance(layer, keras.layers.LeakyReLU):
        return f"LeakyReLU({layer.negative_slope})"
    if isinstance(layer, keras.layers.ReLU):
        return (f"ReLU(max_value={layer.max_value}, negative_slope={layer.negative_slope}, "
                f"threshold={layer.threshold})")
    if isinstance(layer, keras.layers.Dropout):
        return f"Dropout({layer.rate})"
    if isinstance(layer, keras.layers.Reshape):
        return f"Reshape({tuple(layer.target_shape)})"
    if isinstance(layer, keras.layers.Cropping2D):
        return f"Cropping2D({layer.cropping})"
    if isinstance(layer, keras.layers.Flatten):
        return "Flatten()"
    return f"{kind}(not described: add it to describe())"


RELU = "ReLU(max_value=None, negative_slope=0.0, threshold=0.0)"

# ----- the layers, in order ----------------------------------------------------------------
# Article 000 ("GAN and its Keras implementation"), 3.1: three widening Dense layers, each
# LeakyReLU(alpha=0.2) then BatchNormalization(momentum=0.8) (Keras's epsilon, 1e-3), then
# Dense(784, tanh) reshaped to an image.
MLP_GENERATOR = [
    "Dense(256, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "BatchNormalization(momentum=0.8, epsilon=0.001)",
    "Dense(512, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "BatchNormalization(momentum=0.8, epsilon=0.001)",
    "Dense(1024, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "BatchNormalization(momentum=0.8, epsilon=0.001)",
    "Dense(784, use_bias=True, activation=tanh)",
    "Reshape((28, 28, 1))",
]
# Article 000, 3.2: Flatten, Dense 512 and 256 with LeakyReLU(0.2), one output. Departures
# (the script's docstring): the output is a logit, the loss applies the sigmoid; and no
# dropout, which the article's tips recommend but its code does not have.
MLP_DISCRIMINATOR = [
    "Flatten()",
    "Dense(512, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "Dense(256, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "Dense(1, use_bias=True, activation=linear)",  # the article: sigmoid
]
# Article 003 (the TensorFlow DCGAN tutorial): Dense(7*7*256, no bias), then transposed
# convolutions of 5x5, all 'same' and without bias, each but the last followed by
# BatchNormalization() and LeakyReLU() with Keras's defaults (momentum 0.99, slope 0.3).
DCGAN_GENERATOR = [
    "Dense(12544, use_bias=False, activation=linear)",
    "BatchNormalization(momentum=0.99, epsilon=0.001)",
    "LeakyReLU(0.3)",
    "Reshape((7, 7, 256))",
    "Conv2DTranspose(128, 5, strides=1, padding=same, use_bias=False, activation=linear)",
    "BatchNormalization(momentum=0.99, epsilon=0.001)",
    "LeakyReLU(0.3)",
    "Conv2DTranspose(64, 5, strides=2, padding=same, use_bias=False, activation=linear)",
    "BatchNormalization(momentum=0.99, epsilon=0.001)",
    "LeakyReLU(0.3)",
    "Conv2DTranspose(1, 5, strides=2, padding=same, use_bias=False, activation=tanh)",
]
# Article 003: two strided 5x5 convolutions, each LeakyReLU() then Dropout(0.3), and Dense(1)
# logits for BinaryCrossentropy(from_logits=True).
DCGAN_DISCRIMINATOR = [
    "Conv2D(64, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    "LeakyReLU(0.3)",
    "Dropout(0.3)",
    "Conv2D(128, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    "LeakyReLU(0.3)",
    "Dropout(0.3)",
    "Flatten()",
    "Dense(1, use_bias=True, activation=linear)",
]
# Article 004 follows Gulrajani et al. 2017; their MNIST code (DIM = 64): Linear(128 -> 4*4*256),
# ReLU, 5x5 transposed convolutions to 8x8, cropped to 7x7, then 14 and 28, no batch norm
# for WGAN-GP. Departure (the docstring): tanh, where the paper's code ends in a sigmoid.
WGAN_GP_GENERATOR = [
    "Dense(4096, use_bias=True, activation=linear)",
    RELU,
    "Reshape((4, 4, 256))",
    "Conv2DTranspose(128, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    RELU,
    "Cropping2D(((0, 1), (0, 1)))",
    "Conv2DTranspose(64, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    RELU,
    "Conv2DTranspose(1, 5, strides=2, padding=same, use_bias=True, activation=tanh)",
]
# The paper's MNIST critic: three strided 5x5 convolutions with LeakyReLU(0.2), a linear
# output (article 004: the critic has no sigmoid), no batch norm.
WGAN_GP_CRITIC = [
    "Conv2D(64, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "Conv2D(128, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "Conv2D(256, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "Flatten()",
    "Dense(1, use_bias=True, activation=linear)",
]
# Article 001's DCGAN, after the code it cites (carpedm20/DCGAN-tensorflow, gf_dim = df_dim =
# 64) and Radford et al. 2015: batch norm (momentum 0.9, epsilon 1e-5) on every layer but G's
# last and D's first; ReLU in G, LeakyReLU(0.2) in D; 5x5 kernels, stride 2; at 64 px.
COLOUR_BATCH_NORM = "BatchNormalization(momentum=0.9, epsilon=1e-05)"
COLOUR_GENERATOR = [
    "Dense(8192, use_bias=False, activation=linear)",
    "Reshape((4, 4, 512))",
    COLOUR_BATCH_NORM,
    RELU,
    "Conv2DTranspose(256, 5, strides=2, padding=same, use_bias=False, activation=linear)",
    COLOUR_BATCH_NORM,
    RELU,
    "Conv2DTranspose(128, 5, strides=2, padding=same, use_bias=False, activation=linear)",
    COLOUR_BATCH_NORM,
    RELU,
    "Conv2DTranspose(64, 5, strides=2, padding=same, use_bias=False, activation=linear)",
    COLOUR_BATCH_NORM,
    RELU,
    "Conv2DTranspose(3, 5, strides=2, padding=same, use_bias=True, activation=tanh)",
]
COLOUR_DISCRIMINATOR = [
    "Conv2D(64, 5, strides=2, padding=same, use_bias=True, activation=linear)",
    "LeakyReLU(0.2)",
    "Conv2D(128, 5, strides=2, padding=same, use_bias=False, activation=linear)",
    COLOUR_BATCH_NORM,
    "LeakyReLU(0.2)",
    "Conv2D(256, 5, strides=2, padding=same, use_bias=False, activation=linear)",
    COLOUR_BATCH_NORM,
    "LeakyReLU(0.2)",
    "Conv2D(512, 5, strides=2, padding=same, use_bias=False, activation=linear)",
    COLOUR_BATCH_NORM,
    "LeakyReLU(0.2)",
    "Flatten()",
    "Dense(1, use_bias=True, activation=linear)",
]
MODELS = [
    (mlp_gan_keras.build_generator, (100,), MLP_GENERATOR),
    (mlp_gan_keras.build_discriminator, (28, 28, 1), MLP_DISCRIMINATOR),
    (dcgan_fashion.build_generator, (100,), DCGAN_GENERATOR),
    (dcgan_fashion.build_discriminator, (28, 28, 1), DCGAN_DISCRIMINATOR),
    (wgan_gp.build_generator, (128,), WGAN_GP_GENERATOR),
    (wgan_gp.build_critic, (28, 28, 1), WGAN_GP_CRITIC),
    (dcgan_color.build_generator, (100,), COLOUR_GENERATOR),
    (dcgan_color.build_discriminator, (64, 64, 3), COLOUR_DISCRIMINATOR),
]


@pytest.mark.parametrize(
    "build, input_shape, layers",
    MODELS,
    ids=[f"{build.__module__}.{build.__name__}" for build, _, _ in MODELS],
)
def test_every_layer_in_order(build, input_shape, layers):
    model = build()
    assert model.input_shape == (None, *input_shape)
    assert [describe(layer) for layer in model.layers] == layers


# ----- the optimizers ----------------------------------------------------------------------
def describe_optimizer(optimizer):
    settings = f"learning_rate={float(optimizer.learning_rate):.6g}"
    if isinstance(optimizer, keras.optimizers.Adam):
        return f"Adam({settings}, beta_1={optimizer.beta_1}, beta_2={optimizer.beta_2})"
    if isinstance(optimizer, keras.optimizers.RMSprop):
        return f"RMSprop({settings}, rho={optimizer.rho}, momentum={optimizer.momentum})"
    return f"{type(optimizer).__name__}(not described)"


OPTIMIZERS = [  # the same settings for the generator's optimizer and the discriminator's
    # The Keras GAN collection that article 000 takes its code from: Adam(0.0002, 0.5);
    # "GAN in practice" (article 002) also uses 2e-4.
    (
        "mlp_gan",
        lambda: mlp_gan_keras.make_optimizers(),
        "Adam(learning_rate=0.0002, beta_1=0.5, beta_2=0.999)",
    ),
    # Article 003: Adam(1e-4) for each network, Keras's betas.
    (
        "dcgan --recipe article",
        lambda: dcgan_fashion.make_optimizers(dcgan_fashion.RECIPES["article"]),
        "Adam(learning_rate=0.0001, beta_1=0.9, beta_2=0.999)",
    ),
    # Radford et al. 2015, section 4 (article 001: Adam lr 2e-4).
    (
        "dcgan --recipe fast",
        lambda: dcgan_fashion.make_optimizers(dcgan_fashion.RECIPES["fast"]),
        "Adam(learning_rate=0.0002, beta_1=0.5, beta_2=0.999)",
    ),
    # Article 004: Adam 1e-4, beta_2 = 0.9; beta_1 = 0.5 as the paper's MNIST code (the paper: 0).
    (
        "wgan_gp --mode wgan-gp",
        lambda: wgan_gp.make_optimizers("wgan-gp"),
        "Adam(learning_rate=0.0001, beta_1=0.5, beta_2=0.9)",
    ),
    # Arjovsky et al. 2017 and the WGAN-GP paper's code for its clipped baseline: RMSprop(5e-5),
    # no momentum (Keras's rho 0.9 is TensorFlow 1's decay 0.9).
    (
        "wgan_gp --mode wgan",
        lambda: wgan_gp.make_optimizers("wgan"),
        "RMSprop(learning_rate=5e-05, rho=0.9, momentum=0.0)",
    ),
    # Article 001: Adam with learning rate 0.0002 for both; beta_1 = 0.5 from the cited code.
    (
        "dcgan_color",
        lambda: dcgan_color.make_optimizers(),
        "Adam(learning_rate=0.0002, beta_1=0.5, beta_2=0.999)",
    ),
]


@pytest.mark.parametrize(
    "make, expected",
    [(make, expected) for _, make, expected in OPTIMIZERS],
    ids=[name for name, _, _ in OPTIMIZERS],
)
def test_optimizers(make, expected):
    generator_optimizer, discriminator_optimizer = make()
    assert (
        generator_optimizer is not discriminator_optimizer
    )  # each keeps the moments of its own network
    assert [
        describe_optimizer(generator_optimizer),
        describe_optimizer(discriminator_optimizer),
    ] == [expected] * 2


# ----- the updates of one step: which network, in which order, how many ----------------------
def other_network(script):
    if script is dcgan_color:
        return dcgan_color.build_discriminator(width=8)
    return wgan_gp.build_critic() if script is wgan_gp else script.build_discriminator()


UPDATES = [
    # Article 000: the discriminator first, then the generator, in turn.
    (
        "mlp_gan",
        mlp_gan_keras,
        lambda g, d, *optimizers: mlp_gan_keras.make_train_step(
            g, d, *optimizers, mlp_gan_keras.generator_loss_non_saturating
        ),
        ["discriminator", "generator"],
    ),
    # Article 003: one forward pass, both networks updated once from it (in either order).
    (
        "dcgan_fashion",
        dcgan_fashion,
        lambda g, d, *optimizers: dcgan_fashion.make_train_step(g, d, *optimizers),
        ["generator", "discriminator"],
    ),
    # Article 004: 5 critic steps per generator step, with the penalty or with clipping.
    (
        "wgan_gp --mode wgan-gp",
        wgan_gp,
        lambda g, d, *optimizers: wgan_gp.make_train_step(
            g, d, *optimizers, "wgan-gp", wgan_gp.Settings.critic_steps
        ),
        ["discriminator"] * 5 + ["generator"],
    ),
    (
        "wgan_gp --mode wgan",
        wgan_gp,
        lambda g, d, *optimizers: wgan_gp.make_train_step(
            g, d, *optimizers, "wgan", wgan_gp.Settings.critic_steps
        ),
        ["discriminator"] * 5 + ["generator"],
    ),
    # Article 001: the discriminator once, then the generator twice.
    (
        "dcgan_color",
        dcgan_color,
        lambda g, d, *optimizers: dcgan_color.make_train_step(
            g, d, *optimizers, dcgan_color.Settings.generator_steps
        ),
        ["discriminator", "generator", "generator"],
    ),
]


@pytest.mark.parametrize(
    "script, make_step, updates", [row[1:] for row in UPDATES], ids=[row[0] for row in UPDATES]
)
def test_the_updates_of_a_step_in_order(script, make_step, updates, eagerly, monkeypatch):
    keras.utils.set_random_seed(1)
    generator = (
        dcgan_color.build_generator(width=8) if script is dcgan_color else script.build_generator()
    )
    discriminator = other_network(script)
    optimizers = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
    done = []
    for name, optimizer in zip(("generator", "discriminator"), optimizers):
        apply = optimizer.apply_gradients
        monkeypatch.setattr(
            optimizer,
            "apply_gradients",
            lambda pairs, name=name, apply=apply: done.append(name) or apply(pairs),
        )
    step = make_step(generator, discriminator, *optimizers)
    side, channels = (64, 3) if script is dcgan_color else (28, 1)
    real_images = tf.random.uniform(
        [2 * updates.count("discriminator"), side, side, channels], -1, 1
    )
    step(real_images)
    if script is dcgan_fashion:
        assert sorted(done) == sorted(updates)
    else:
        assert done == updates
    step(real_images)
    assert [int(optimizer.iterations) for optimizer in optimizers] == [
        2 * updates.count("generator"),
        2 * updates.count("discriminator"),
    ]


def test_the_gradient_penalty_and_the_clipping_bound():
    assert wgan_gp.Settings.critic_steps == 5  # article 004, after the paper: n_critic = 5
    assert wgan_gp.PENALTY_WEIGHT == 10.0  # lambda = 10
    assert wgan_gp.CLIP_VALUE == 0.01  # WGAN: weights clipped to [-0.01, 0.01]
    assert wgan_gp.Settings.mode == "wgan-gp"


@pytest.mark.parametrize(
    "script", [dcgan_fashion, dcgan_color], ids=["dcgan_fashion", "dcgan_color"]
)
def test_the_dcgan_loss_is_binary_cross_entropy_on_logits(script):
    """Article 003: BinaryCrossentropy(from_logits=True), computed as a plain mean."""
    labels = tf.constant([[1.0], [0.0], [1.0], [0.0]])
    logits = tf.constant([[2.0], [-1.0], [-3.0], [0.5]])
    expected = keras.losses.BinaryCrossentropy(from_logits=True)(labels, logits)
    assert float(script.cross_entropy(labels, logits)) == pytest.approx(float(expected), rel=1e-6)


# ----- sizes and defaults ------------------------------------------------------------------
SETTINGS = [
    # script, noise, batch, epochs, dataset
    # Article 000's code (the Keras GAN collection): latent_dim = 100, MNIST; article 002: batch
    # 128; 30 epochs: ours (docs/articles.md; why 30: docs/lessons.md).
    (mlp_gan_keras, 100, 128, 30, "mnist"),
    # Article 003: noise 100, BATCH_SIZE = 256, EPOCHS = 100, Fashion-MNIST; 16 fixed noise vectors.
    (dcgan_fashion, 100, 256, 100, "fashion_mnist"),
    # The WGAN-GP paper's MNIST code: noise 128; batch 64 and 20 epochs: ours; MNIST.
    (wgan_gp, 128, 64, 20, "mnist"),
    # Article 001: 250 epochs on a folder of pictures; the cited code: z_dim 100, batch 64.
    (dcgan_color, 100, 64, 250, None),
]


@pytest.mark.parametrize(
    "script, noise, batch_size, epochs, dataset",
    SETTINGS,
    ids=[row[0].MODEL_NAME for row in SETTINGS],
)
def test_sizes_and_defaults(script, noise, batch_size, epochs, dataset):
    assert script.NOISE_DIM == noise and script.NUM_FIXED == 16
    # What `python SCRIPT.py train` trains with when no flag says otherwise.
    parser = cli.build_parser(f"{script.MODEL_NAME}.py", "", script.Settings)
    args = parser.parse_args(["train"])
    settings = cli.resolve(args, script.Settings, script.MODEL_NAME)  # a new run: no run.json
    assert (settings.batch_size, settings.epochs) == (batch_size, epochs)
    assert getattr(settings, "dataset", None) == dataset


ARTICLES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "articles.md"
)
DEPARTURES = {  # what docs/articles.md must say each script changes from its article or paper
    mlp_gan_keras: ["outputs a logit", "No dropout in D"],
    dcgan_fashion: ["A checkpoint after every epoch (the article: every 20)"],
    wgan_gp: [
        "tanh output",
        "Batches of 64",
        "`--mode wgan` trains the same networks",
        "batch norm",
    ],
    dcgan_color: ["64 px by default", "z ~ N(0, 1)", "draws fresh noise"],
}


@pytest.mark.parametrize("script", DEPARTURES, ids=[script.MODEL_NAME for script in DEPARTURES])
def test_departures_from_the_article_are_listed(script):
    with open(ARTICLES) as file:
        text = file.read()
    file_name = os.path.basename(script.__file__)
    departures = " ".join(text.split(f"Where `{file_name}` departs")[1].split("\n## ")[0].split())
    for departure in DEPARTURES[script]:
        assert departure in departures
    assert "docs/articles.md" in script.__doc__  # the script points there
