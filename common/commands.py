"""The commands after training, the same for every script: sample, evaluate and walk.

Each restores the generator whose pictures the run shows (the averaged one, in a recipe that
averages) from the newest checkpoint that restores, built by the script's own
`build_generator`.
"""

import os

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import trackable_object_graph_pb2

from common import checkpoints, images, latent, metrics
from common.checkpoints import saved_in
from common.datasets import FOLDER
from common.errors import UserError
from common.training import build, class_names, sampler


def restore(out_dir, model_name, script, models):
    """Restore `models` ({checkpoint name: model}) from the newest checkpoint; return its epoch.

    Runs written before the averaged generator existed in every script hold the shown
    generator as `generator` only: it is read from there.
    """
    newest = saved_in(checkpoints.folder_of(out_dir))
    if newest and "shown_generator" in models:
        try:
            names = saved_names(next(iter(newest.values())))
        except Exception:  # a damaged newest checkpoint: restore_for_sampling says which it uses
            names = {"shown_generator"}
        if "shown_generator" not in names and "generator" in names:
            models = {("generator" if name == "shown_generator" else name): model
                      for name, model in models.items()}
    checkpoint = tf.train.Checkpoint(epoch=tf.Variable(0, dtype=tf.int64), **models)
    return checkpoints.restore_for_sampling(checkpoint, out_dir, model_name, f"python {script}")


def saved_names(path):
    """The names of what the checkpoint at `path` holds at its top level ("generator", ...)."""
    reader = tf.train.load_checkpoint(path)
    graph = trackable_object_graph_pb2.TrackableObjectGraph()
    graph.ParseFromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    return {child.local_name for child in graph.nodes[0].children}


def sample(args, model_name, script, build_generator, settings, judge=None):
    """Draw --n images from fresh noise: a grid (.png) or the raw numbers (.npy). A conditional
    generator draws --n of each class asked for with --label (default: every class), a row each."""
    generator = build(build_generator, settings)
    models = dict(shown_generator=generator)
    if judge:
        discriminator = judge[0]()
        models[discriminator.name] = discriminator
    epoch = restore(args.out_dir, model_name, script, models)
    names = class_names(settings)
    no_classes(getattr(args, "label", None), "--label", names)
    if names:
        asked = label_numbers(args.label, names) if args.label else list(range(len(names)))
        draw = sampler(generator, args.seed, len(names))
        fake_images = draw(args.n * len(asked), np.repeat(asked, args.n))
        what = f"{args.n} of each of {', '.join(names[label] for label in asked)}"
    else:
        fake_images, what = sampler(generator, args.seed)(args.n), f"{args.n} images"
    path = images.save_samples(fake_images, args.output or os.path.join(args.out_dir,
                                                                         "samples.png"),
                               columns=args.n if names else None)
    print(f"Generated {what} with the generator of epoch {epoch}: {path}")
    if judge:
        print(judge[1](discriminator, fake_images))


def no_classes(asked, flag, names):
    """Refuse a class asked for (--label, --labels) of a run trained without classes."""
    if asked and not names:
        raise UserError(f"{flag} {asked}: this run was trained without classes, so its generator "
                        f"cannot be asked for one. Train with --classes, on a folder whose "
                        f"sub-folders are the classes, to ask for them; or leave out {flag}.")


def label_numbers(text, names):
    """'sneaker,bag' or '7,8' -> [7, 8]: the classes asked for, by name or by number."""
    numbers, lowered = [], [name.lower() for name in names]
    for word in text.split(","):
        word = word.strip().lower()
        if word in lowered:  # Cats/ is asked for as cats too
            numbers.append(lowered.index(word))
        elif word.isdigit() and int(word) < len(names):
            numbers.append(int(word))
        else:
            raise UserError(f"{word!r} is not a class of this run. Ask for one of: "
                            f"{', '.join(names)} (or its number, 0 to {len(names) - 1}); several "
                            f"with commas, e.g. {names[-1]},{names[0]}.")
    return numbers


def evaluate(args, model_name, script, build_generator, settings, judge=None):
    """FCD, KID and class coverage of --n samples, beside the floor of real against real; on
    a folder, the SWD and KID beside their floor band and the memorisation check (folder_scores)."""
    generator = build(build_generator, settings)
    epoch = restore(args.out_dir, model_name, script, dict(shown_generator=generator))
    names = class_names(settings)
    metrics.evaluate(sampler(generator, args.seed, len(names)), settings.get("dataset", FOLDER),
                     args.data_dir or settings.get("data_dir"),  # a folder run's: in run.json
                     args.n, args.out_dir, epoch, args.seed, names)


def walk(args, model_name, script, build_generator, settings, judge=None):
    """A walk through the noise space: --points noise vectors, --steps frames between them."""
    generator = build(build_generator, settings)
    epoch = restore(args.out_dir, model_name, script, dict(shown_generator=generator))
    seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(10_000))
    names = class_names(settings)
    no_classes(getattr(args, "labels", None), "--labels", names)
    noise_size = generator.input_shape[-1] - len(names)
    random = tf.random.Generator.from_seed(seed)
    if names:  # one noise vector; the label turns from each class asked for to the next
        asked = label_numbers(args.labels, names) if args.labels else list(range(len(names)))
        label_path = latent.loop_through(np.eye(len(names))[asked], args.steps, straight=True)
        noise = np.repeat(random.normal([1, noise_size]).numpy(), len(label_path), axis=0)
        path = np.concatenate([noise, label_path], axis=1)
        what = f"the classes {', '.join(names[label] for label in asked)} at one noise vector"
    else:  # along great circles between the points, not straight lines: see latent.slerp
        path = latent.loop_through(random.normal([args.points, noise_size]), args.steps)
        what = f"{args.points} noise vectors"
    # 64 frames at a time: a thousand 128-pixel frames in one call would need gigabytes.
    frames = np.concatenate([generator(path[start : start + 64], training=False)
                             for start in range(0, len(path), 64)])
    gif, strip = images.save_walk(frames, args.output or os.path.join(args.out_dir, "walk.gif"),
                                  args.steps)
    print(f"A walk through {what} (--seed {seed}), {args.steps} frames from "
          f"each to the next, drawn by the generator of epoch {epoch}: {gif} (all frames: {strip})")
