"""Plant the bugs GAN code really ships with, one at a time, and check that the suite fails.

    python tests/plant_bugs.py            # every bug; a few minutes on 2 CPU cores
    python tests/plant_bugs.py tanh       # only the bugs whose name contains "tanh"

Each bug is a text replacement in one file of a scratch copy of the project; the tests
named beside it run there with pytest. A bug that leaves them passing is a test to write.
Not collected by pytest itself (the name does not start with test_).
"""

import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = ("dcgan_fashion.py", "mlp_gan_keras.py", "wgan_gp.py")  # on 28x28 images
COLOR = "tests/test_dcgan_color.py"
DEVICES = "tests/test_devices.py"
WORKERS = "tests/test_workers.py"
CGAN = "tests/test_cgan.py"
CLASSES = "tests/test_color_classes.py"

# (name, file, text to find, replacement, tests to run)
BUGS = (
    [
        (
            "interpolation weight a ~ N(0, 1), not U[0, 1]",
            "wgan_gp.py",
            "tf.random.uniform([batch_size, 1, 1, 1], 0.0, 1.0)",
            "tf.random.normal([batch_size, 1, 1, 1])",
            "tests/test_wgan_gp.py",
        ),
        (
            "penalty left out of the critic's loss",
            "wgan_gp.py",
            "tf.reduce_mean(real_scores) + PENALTY_WEIGHT * penalty",
            "tf.reduce_mean(real_scores)",
            "tests/test_wgan_gp.py",
        ),
        (
            "square root left out of the gradient norm",
            "wgan_gp.py",
            "norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]) + 1e-12)",
            "norms = tf.reduce_sum(tf.square(gradients), axis=[1, 2, 3]) + 1e-12",
            "tests/test_wgan_gp.py",
        ),
        (
            "clipping bound 0.1 in the step",
            "wgan_gp.py",
            "tf.clip_by_value(weight, -CLIP_VALUE, CLIP_VALUE)",
            "tf.clip_by_value(weight, -0.1, 0.1)",
            "tests/test_wgan_gp.py",
        ),
        (
            "clipping bound constant 0.1",
            "wgan_gp.py",
            "CLIP_VALUE = 0.01",
            "CLIP_VALUE = 0.1",
            "tests/test_wgan_gp.py",
        ),
        (
            "critic loss sign flipped",
            "wgan_gp.py",
            "return tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores) +",
            "return tf.reduce_mean(real_scores) - tf.reduce_mean(fake_scores) +",
            "tests/test_wgan_gp.py tests/test_scripts.py",
        ),
        (
            "WGAN generator loss sign flipped",
            "wgan_gp.py",
            "return -tf.reduce_mean(fake_scores)",
            "return tf.reduce_mean(fake_scores)",
            "tests/test_wgan_gp.py",
        ),
        (
            "Wasserstein estimate sign flipped",
            "wgan_gp.py",
            "return loss, penalty, tf.reduce_mean(real_scores) - tf.reduce_mean(fake_scores)",
            "return loss, penalty, tf.reduce_mean(fake_scores) - tf.reduce_mean(real_scores)",
            "tests/test_scripts.py",
        ),
        (
            "DCGAN: real images labelled 0",
            "dcgan_fashion.py",
            "real_loss = cross_entropy(tf.ones_like(real_logits), real_logits)",
            "real_loss = cross_entropy(tf.zeros_like(real_logits), real_logits)",
            "tests/test_dcgan.py",
        ),
        (
            "DCGAN: fakes labelled 1 for D",
            "dcgan_fashion.py",
            "cross_entropy(tf.zeros_like(fake_logits), fake_logits)",
            "cross_entropy(tf.ones_like(fake_logits), fake_logits)",
            "tests/test_dcgan.py",
        ),
        (
            "DCGAN: generator wants its fakes called fake",
            "dcgan_fashion.py",
            "return cross_entropy(tf.ones_like(fake_logits), fake_logits)",
            "return cross_entropy(tf.zeros_like(fake_logits), fake_logits)",
            "tests/test_dcgan.py",
        ),
        (
            "DCGAN: step passes fake and real logits swapped",
            "dcgan_fashion.py",
            "d_loss = discriminator_loss(real_logits, fake_logits)",
            "d_loss = discriminator_loss(fake_logits, real_logits)",
            "tests/test_scripts.py",
        ),
        (
            "MLP: real term of D's loss sign flipped",
            "mlp_gan_keras.py",
            "tf.reduce_mean(tf.nn.softplus(-real_logits))",
            "tf.reduce_mean(tf.nn.softplus(real_logits))",
            "tests/test_mlp_gan.py",
        ),
        (
            "MLP: non-saturating loss sign flipped",
            "mlp_gan_keras.py",
            "return tf.reduce_mean(tf.nn.softplus(-fake_logits))",
            "return tf.reduce_mean(tf.nn.softplus(fake_logits))",
            "tests/test_mlp_gan.py",
        ),
        (
            "MLP: minimax loss sign flipped",
            "mlp_gan_keras.py",
            "return -tf.reduce_mean(tf.nn.softplus(fake_logits))",
            "return tf.reduce_mean(tf.nn.softplus(fake_logits))",
            "tests/test_mlp_gan.py",
        ),
        (
            "MLP: D(x) and D(G(z)) swapped in the step",
            "mlp_gan_keras.py",
            '"D(x)": tf.reduce_mean(tf.sigmoid(real_logits))',
            '"D(x)": tf.reduce_mean(tf.sigmoid(fake_logits))',
            "tests/test_scripts.py",
        ),
    ]
    + [
        (
            f"{script}: tanh removed",
            script,
            'activation="tanh"',
            "activation=None",
            "tests/test_scripts.py",
        )
        for script in SCRIPTS
    ]
    + [
        (
            f"{script}: data scaled to [0, 1]",
            script,
            "(pixels.astype(np.float32) - 127.5) / 127.5",
            "pixels.astype(np.float32) / 255.0",
            "tests/test_scripts.py",
        )
        for script in SCRIPTS
    ]
    + [
        (
            f"{script}: generator optimizer left out of the checkpoint",
            script,
            "generator_optimizer=generator_optimizer,",
            "",
            "tests/test_scripts.py",
        )
        for script in SCRIPTS
    ]
    + [
        # The training checkpoint's line only (sample's `shown_generator=generator` is another bug).
        (
            f"{script}: generator left out of the checkpoint",
            script,
            "\n        generator=generator, ",
            "\n        ",
            "tests/test_scripts.py",
        )
        for script in SCRIPTS
    ]
    + [
        (
            "DCGAN: a generator stage of the wrong shape",
            "dcgan_fashion.py",
            "layers.Conv2DTranspose(64, strides=2",
            "layers.Conv2DTranspose(32, strides=2",
            "tests/test_scripts.py",
        ),
        (
            "MLP: a generator stage of the wrong shape",
            "mlp_gan_keras.py",
            "layers.BatchNormalization(**norm),\n            layers.Dense(512),  # (B, 512)",
            "layers.BatchNormalization(**norm),\n            layers.Dense(500),",
            "tests/test_scripts.py",
        ),
        (
            "WGAN-GP: a generator stage of the wrong shape",
            "wgan_gp.py",
            "layers.Conv2DTranspose(64, 5, strides=2",
            "layers.Conv2DTranspose(32, 5, strides=2",
            "tests/test_scripts.py",
        ),
        # --recipe fast, the walk, a folder of pictures, TensorBoard
        (
            "averaged generator: decay and weights swapped",
            "dcgan_fashion.py",
            "average.assign(decay * average + (1.0 - decay) * weight)",
            "average.assign((1.0 - decay) * average + decay * weight)",
            "tests/test_recipes.py",
        ),
        ("sample restores the trained generator, not the averaged one", "common/commands.py",
         "    models = dict(shown_generator=generator)\n",
         "    models = dict(generator=generator)\n",
         "tests/test_recipes.py tests/test_dcgan_color.py"),
        ("a resumed run forgets its recipe", "dcgan_fashion.py",
         'KEPT_ON_RESUME = ("dataset", "recipe", "precision")',
         'KEPT_ON_RESUME = ("dataset", "precision")',
         "tests/test_recipes.py"),
        ("curves: losses.png redrawn after every epoch", "common/training.py",
         "if epoch == settings.epochs or drawn is None or time.monotonic() >= drawn + PLOT_EVERY:",
         "if True:", "tests/test_common.py -k redraw"),
        ("curves: the last epoch's losses.png left undrawn", "common/training.py",
         "if epoch == settings.epochs or drawn is None", "if drawn is None",
         "tests/test_common.py -k redraw"),
        ("curves: a stopped run's skipped losses.png never drawn", "common/training.py",
         "            images.plot_log(*UNDRAWN.popitem()[1])\n",
         "            UNDRAWN.popitem()\n", "tests/test_common.py -k redraw"),
        ("walk along straight lines", "common/latent.py",
         "return (from_start * start + towards_end * end) / np.sin(angle)",
         "return (1 - fractions) * start + fractions * end", "tests/test_next_steps.py"),
        ("walk does not return to its first point", "common/latent.py",
         "points[(i + 1) % len(points)]", "points[min(i + 1, len(points) - 1)]",
         "tests/test_next_steps.py"),
        ("folder pictures squeezed, not centre-cropped", "common/datasets.py",
         "square = picture.crop((left, top, left + side, top + side))", "square = picture",
         "tests/test_next_steps.py"),
        ("broken pictures not counted", "common/datasets.py",
         "            unreadable.append(f", "            pass  # f", "tests/test_next_steps.py"),
        ("TensorBoard leaves out the seconds column", "common/board.py",
         'if name != "epoch":', 'if name not in ("epoch", "seconds"):', "tests/test_next_steps.py"),
        # dcgan_color.py: the article's DCGAN on colour pictures, and its picture cache
        ("colour: the generator updated once per step", "dcgan_color.py",
         "for _ in range(generator_steps):", "for _ in range(1):", COLOR),
        ("colour: the article's ratio changed to 1", "dcgan_color.py",
         "generator_steps: int = 2", "generator_steps: int = 1", COLOR),
        ("colour: a generator stage without batch norm", "dcgan_color.py",
         "(width * 2, **up, **dcgan_init()),  # (B, size/4, size/4, width*2)\n"
         "            layers.BatchNormalization(**BATCH_NORM),\n",
         "(width * 2, **up, **dcgan_init()),  # (B, size/4, size/4, width*2)\n", COLOR),
        ("colour: Keras's batch-norm defaults", "dcgan_color.py",
         "BATCH_NORM = dict(momentum=0.9, epsilon=1e-5, synchronized=True)",
         "BATCH_NORM = dict(synchronized=True)", COLOR),
        ("colour: LeakyReLU slope 0.3", "dcgan_color.py", "LEAKY_SLOPE = 0.2", "LEAKY_SLOPE = 0.3",
         COLOR),
        ("colour: the generator starts at side/8", "dcgan_color.py",
         "first_side = image_size // 16", "first_side = image_size // 8", COLOR),
        ("colour: tanh removed", "dcgan_color.py", 'activation="tanh"', "activation=None", COLOR),
        ("colour: D's real and fake losses swapped in the log", "dcgan_color.py",
         '"d_loss_real": d_loss_real,', '"d_loss_real": d_loss_fake,', COLOR),
        ("colour: pictures read as grey", "common/datasets.py",
         'picture = picture.convert("RGB" if colour else "L")',
         'picture = picture.convert("L").convert("RGB" if colour else "L")', COLOR),
        ("colour: red and blue swapped in the batches", "dcgan_color.py",
         "return (tf.cast(batch, tf.float32) - 127.5) / 127.5",
         "return (tf.cast(batch[..., ::-1], tf.float32) - 127.5) / 127.5", COLOR),
        ("colour: data scaled to [0, 1]", "dcgan_color.py",
         "return (tf.cast(batch, tf.float32) - 127.5) / 127.5",
         "return tf.cast(batch, tf.float32) / 255.0",
         COLOR),
        ("colour: the cache ignores modification times", "common/datasets.py",
         "{status.st_mtime_ns}", "0", COLOR),
        ("colour: the cache ignores the file list", "common/datasets.py",
         "listing=listing.hexdigest()", 'listing=""', COLOR),
        ("colour: a resumed run forgets its width", "dcgan_color.py",
         'KEPT_ON_RESUME = ("image_size", "width", ', 'KEPT_ON_RESUME = ("image_size", ', COLOR),
        ("colour: a resumed run forgets --augment", "dcgan_color.py",
         '"generator_steps", "augment", ', '"generator_steps", ', COLOR),
        ("colour: averaged once per generator update count wrong", "dcgan_color.py",
         "decay = tf.minimum(decay, (1.0 + step) / (10.0 + step))",
         "decay = tf.minimum(decay, (1.0 + step / 2) / (10.0 + step / 2))", COLOR),
        ("augment: only the real pictures", "dcgan_color.py",
         "fake_logits = discriminator(discriminator_view(fake_images), training=True)",
         "fake_logits = discriminator(fake_images, training=True)", COLOR),
        ("augment: outside the tape (no gradient through it)", "dcgan_color.py",
         "    return cutout(translation(colour(images)))",
         "    return tf.stop_gradient(cutout(translation(colour(images))))", COLOR),
        ("augment: the generator's update sees the fakes unaugmented", "dcgan_color.py",
         "loss = generator_loss(discriminator(discriminator_view(fake_images), training=True))",
         "loss = generator_loss(discriminator(fake_images, training=True))", COLOR),
        ("swd: no sorting along each direction", "common/folder_scores.py",
         "projected_b = np.sort(directions.T @ b.T, axis=1)", "projected_b = directions.T @ b.T",
         "tests/test_folder_scores.py"),
        ("swd: sets scored together draw other patches than each alone",
         "common/folder_scores.py", "            rng.bit_generator.state = start\n", "",
         "tests/test_folder_scores.py -k together"),
        ("floor: splits drawn with replacement", "common/folder_scores.py",
         "order = rng.permutation(folder_count)",
         "order = rng.choice(folder_count, 2 * size, replace=True)",
         "tests/test_folder_scores.py -k splits"),
        ("kid: each point's kernel with itself kept", "common/folder_scores.py",
         "within = ((k_aa.sum() - np.trace(k_aa)) / (n * (n - 1))",
         "within = ((k_aa.sum()) / (n * (n - 1))", "tests/test_folder_scores.py -k kernel"),
        ("memorisation: a folder picture counted as its own nearest", "common/folder_scores.py",
         "nearest(folder_small, folder_small, skip_self=True)",
         "nearest(folder_small, folder_small)", "tests/test_folder_scores.py"),
        # The conditional GAN (tests/test_cgan.py): the label lost on its way.
        ("cgan: the generator ignores the label", "cgan_fashion.py",
         "tf.concat([noise, tf.one_hot(labels, NUM_CLASSES)], axis=1)",
         "tf.concat([noise, tf.one_hot(labels * 0, NUM_CLASSES)], axis=1)", CGAN),
        ("cgan: D's logit without the projection (D ignores the label)", "cgan_fashion.py",
         "logits = layers.Add(dtype=\"float32\")([looks_real, looks_like_class])",
         "logits = looks_real", CGAN),
        ("cgan: real labels shuffled against their pictures", "cgan_fashion.py",
         "discriminator([real_images, real_labels], training=True)",
         "discriminator([real_images, tf.random.shuffle(real_labels)], training=True)", CGAN),
        ("cgan: G's label not given to D", "cgan_fashion.py",
         "discriminator([fake_images, fake_labels], training=True)",
         "discriminator([fake_images, draw_labels(count)], training=True)", CGAN),
        ("cgan: the fakes take the real batch's labels", "cgan_fashion.py",
         "        fake_labels = draw_labels(count)", "        fake_labels = real_labels", CGAN),
        ("cgan: the grid's rows not in class order", "cgan_fashion.py",
         "np.repeat(np.arange(NUM_CLASSES), fixed_noise.shape[0])",
         "np.tile(np.arange(NUM_CLASSES), fixed_noise.shape[0])", CGAN),
        ("cgan: the sampler ignores the labels asked for", "common/training.py",
         "labels = tf.range(count) % classes if labels is None else labels",
         "labels = tf.range(count) % classes", CGAN),
        ("cgan: asked-for accuracy against the wrong classes", "common/metrics.py",
         "asked = np.arange(len(samples)) % 10", "asked = np.arange(len(samples)) // 10 % 10",
         CGAN),
        ("folder scores: identical copies kept (a picture its own nearest other)",
         "common/folder_scores.py",
         "        pictures, labels = pictures[kept], None if labels is None else labels[kept]\n",
         "",
         "tests/test_folder_scores.py -k links"),
        ("folder loader: a link read again as another picture", "common/datasets.py",
         "if target not in seen:", "if True:",
         "tests/test_folder_scores.py -k links"),
        # dcgan_color.py --classes (tests/test_color_classes.py): the class lost on its way.
        ("color classes: the generator ignores the class", "dcgan_color.py",
         "return tf.concat([noise, tf.one_hot(labels, classes)], axis=1)",
         "return tf.concat([noise, tf.one_hot(labels * 0, classes)], axis=1)", CLASSES),
        ("color classes: D's logit without the projection", "dcgan_color.py",
         "logits = layers.Add(dtype=\"float32\")([looks_real, looks_like_class])",
         "logits = looks_real", CLASSES),
        ("color classes: real labels shuffled against their pictures", "dcgan_color.py",
         "real_logits = judge(real_images, real_labels)",
         "real_logits = judge(real_images, tf.random.shuffle(real_labels))", CLASSES),
        ("color classes: G's label not given to D", "dcgan_color.py",
         "fake_logits = judge(fake_images, fake_labels)",
         "fake_logits = judge(fake_images, tf.random.shuffle(fake_labels))", CLASSES),
        ("color classes: the fakes' labels drawn uniformly, not the folder's shares",
         "dcgan_color.py", "        fake_labels = real_labels",
         "        fake_labels = tf.random.uniform(tf.shape(real_labels), 0, num_classes, "
         "tf.int32)", CLASSES),
        ("color classes: the grid's rows not in class order", "dcgan_color.py",
         "tf.repeat(tf.range(classes), PER_CLASS)", "tf.tile(tf.range(classes), [PER_CLASS])",
         CLASSES),
        ("color classes: each picture labelled with the next folder", "common/datasets.py",
         "labels.append(np.full(len(pictures), label, np.int32))",
         "labels.append(np.full(len(pictures), (label + 1) % len(names), np.int32))", CLASSES),
        ("color classes: the asked-for accuracy names each sample's own class",
         "common/folder_scores.py", "named = labels[nearest(standardise(random_net_features(",
         "named = asked if True else labels[nearest(standardise(random_net_features(", CLASSES),
        # --devices N (tests/test_devices.py): the ways a multi-device step goes quietly wrong.
        ("devices: each replica's gradient of its own share's mean, added up", "common/devices.py",
         "optimizer.loss_scale_factor = float(replicas)", "pass", DEVICES),
        ("devices: batch norm not synchronised", "dcgan_fashion.py",
         "layers.BatchNormalization(synchronized=True),\n            layers.LeakyReLU(),\n"
         "            layers.Reshape",
         "layers.BatchNormalization(),\n            layers.LeakyReLU(),\n"
         "            layers.Reshape", DEVICES),
        ("devices: the replicas' means added, not averaged", "common/devices.py",
         'strategy.reduce("MEAN", value, axis=None)', 'strategy.reduce("SUM", value, axis=None)',
         DEVICES),
        ("devices: every replica gets the same half of the batch", "common/devices.py",
         "        return strategy.experimental_distribute_dataset(batches)",
         "        return strategy.distribute_datasets_from_function(\n"
         "            lambda context: batches.map(lambda batch: batch[: batch.shape[0] // 2]))",
         DEVICES),
        ("devices: colour's batch norm not synchronised", "dcgan_color.py",
         "BATCH_NORM = dict(momentum=0.9, epsilon=1e-5, synchronized=True)",
         "BATCH_NORM = dict(momentum=0.9, epsilon=1e-5)", DEVICES),
        ("devices: the models built on one device only", "common/training.py",
         "    devices.use(strategy)", "    pass", DEVICES),
        # Several machines (tests/test_workers.py): two workers joined over localhost.
        ("workers: each worker's gradient of its own share's mean, added up", "common/devices.py",
         "optimizer.loss_scale_factor = float(replicas)", "pass", WORKERS + " -k one_step"),
        ("workers: batch norm not synchronised", "dcgan_fashion.py",
         "layers.BatchNormalization(synchronized=True),\n            layers.LeakyReLU(),\n"
         "            layers.Reshape",
         "layers.BatchNormalization(),\n            layers.LeakyReLU(),\n"
         "            layers.Reshape", WORKERS + " -k one_step"),
        ("workers: the other workers write into the run folder too", "common/training.py",
         "    if devices.is_chief():\n        return settings.out_dir\n",
         "    if True:\n        return settings.out_dir\n", WORKERS + " -k back"),
        ("workers: the other workers keep their temporary folders", "common/training.py",
         "        shutil.rmtree(WORKER_FOLDERS.pop(), ignore_errors=True)",
         "        WORKER_FOLDERS.pop()", WORKERS + " -k back"),
        # The exported generator.keras under --precision mixed_bfloat16.
        ("bfloat16: generator.keras saved in the training precision", "common/precision.py",
         "        float32_copy(generator).save(temporary)", "        generator.save(temporary)",
         "tests/test_scripts.py -k exported_in_float32"),
        ("bfloat16: a command leaves its policy behind for the next", "common/cli.py",
         'sys.modules["keras"].mixed_precision.set_global_policy("float32")', "pass",
         "tests/test_scripts.py -k exported_in_float32"),
        # Messages: a path the user copies out of a message.
        ("messages: a path longer than a line cut in two", "common/errors.py",
         "break_long_words=False", "break_long_words=True", "tests/test_scripts.py -k long_path"),
        ("messages: a line broken at a hyphen", "common/errors.py",
         "break_on_hyphens=False", "break_on_hyphens=True", "tests/test_scripts.py -k long_path"),
        ("workers: a lonely worker left to TensorFlow's wait and the watchdog's SIGKILL",
         "common/devices.py", "    if missing:\n        raise UserError(message)\n", "",
         WORKERS + " -k never_start"),
        ("workers: the meeting does not wait for a partner still starting", "common/devices.py",
         "            time.sleep(0.2)\n", "            return waiting\n",
         WORKERS + " -k later"),
    ]
)


def main():
    wanted = sys.argv[1] if len(sys.argv) > 1 else ""
    scratch = tempfile.mkdtemp(prefix="planted-")
    shutil.copytree(
        ROOT,
        scratch,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("runs", ".git", "__pycache__"),
    )
    caught = missed = 0
    for name, path, old, new, tests in BUGS:
        if wanted not in name:
            continue
        target = os.path.join(scratch, path)
        original = open(target).read()
        if original.count(old) != 1:
            found = (
                "not found" if original.count(old) == 0 else f"found {original.count(old)} times"
            )
            print(f"?      {name}: text {found} in {path} (a bug is planted at exactly one place)")
            missed += 1
            continue
        with open(target, "w") as file:
            file.write(original.replace(old, new))
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests.split()],
            cwd=scratch,
            capture_output=True,
            text=True,
        )
        with open(target, "w") as file:
            file.write(original)
        failed = [
            line.split(" - ")[0].replace("FAILED ", "")
            for line in result.stdout.splitlines()
            if line.startswith("FAILED")
        ]
        if result.returncode == 5:  # pytest's "no tests ran": the -k of the bug matches none
            missed += 1
            print(f"?       {name}: no test selected ({tests})")
        elif result.returncode:
            caught += 1
            print(f"caught  {name}: {', '.join(failed) or result.stdout.strip().splitlines()[-1]}")
        else:
            missed += 1
            print(f"MISSED  {name}")
    shutil.rmtree(scratch)
    print(f"\n{caught} caught, {missed} missed")
    raise SystemExit(1 if missed else 0)


if __name__ == "__main__":
    main()
