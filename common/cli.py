"""The command line the four scripts share, and the wrapper that turns errors into messages.

    python SCRIPT.py train [flags]     train, resuming the run in --out-dir if it has one
    python SCRIPT.py [sample] [flags]  samples from the latest checkpoint (the default)
    python SCRIPT.py gif [flags]       rebuilds the GIF from the epoch grids
    python SCRIPT.py evaluate [flags]  scores the latest checkpoint (see common/metrics.py)
    python SCRIPT.py walk [flags]      a walk through the noise space, as a GIF and a PNG strip
"""

import argparse
import contextlib
import errno
import sys
import textwrap

from common.datasets import FOLDER, NAMES
from common.errors import Interrupted, UserError

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# A walk of --points x --steps frames is one GIF at 0.12 s a frame (common/images.save_walk),
# drawn by the generator in one batch. 1,000 frames is two minutes of animation, longer than
# anyone watches, and a batch that still fits in an ordinary machine's memory (a few GB for
# the colour script at 128 pixels, far less at 28x28). 3,000 x 3,000 asks for 9 million
# frames and runs out of memory before the first one is written.
MAX_WALK_FRAMES = 1000
WALK_POINTS, WALK_STEPS = 4, 12  # the default walk: 48 frames, about six seconds


def whole_number(minimum):
    """An argparse type: an integer >= minimum, with a message that says what was wrong."""

    def parse_number(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    return parse_number


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def build_parser(script, description, defaults, add_train_args=None, epilog=None):
    """The parser for one script.

    script:      its file name, for messages ("dcgan_fashion.py").
    defaults:    the article's values: epochs, batch_size, dataset, out_dir, precision; and
                 "datasets", the --dataset choices, where a script takes fewer than all.
    add_train_args(parser): adds the script's own training flags (e.g. --loss).
    """
    parser = argparse.ArgumentParser(
        prog=f"python {script}",
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="{train,sample,gif,evaluate,walk}")

    def add_out_dir(sub):
        sub.add_argument("--out-dir", default=defaults["out_dir"],
                         help="the run folder: checkpoints, images, log (default: %(default)s)")

    def add_data_args(sub):
        sub.add_argument("--dataset", default=defaults["dataset"], choices=defaults.get("datasets", NAMES + (FOLDER,)),
                         help="training data: a built-in set, or 'folder' for your own pictures in "
                              "--data-dir (default: %(default)s, the article's)")
        pictures = "the folder of pictures (PNG, JPEG, BMP, GIF; sub-folders too)"
        if defaults.get("datasets") == (FOLDER,):
            data_dir_help = pictures  # a script that trains on folders only
        else:
            data_dir_help = ("folder with the dataset's IDX files or mnist.npz (default: search $GAN_DATA_DIR, "
                             f"~/.keras/datasets, /usr/share/datasets); with --dataset folder, {pictures}")
        sub.add_argument("--data-dir", default=None, help=data_dir_help)

    train = commands.add_parser("train", help="train the GAN (resumes the run in --out-dir)")
    train.add_argument("--epochs", metavar="N", type=positive_int, default=defaults["epochs"],
                       help="total epochs of the run, resumed ones included (default: %(default)s)")
    train.add_argument("--batch-size", metavar="B", type=positive_int, default=defaults["batch_size"],
                       help="images per batch (default: %(default)s)")
    add_out_dir(train)
    add_data_args(train)
    train.add_argument("--steps-per-epoch", metavar="N", type=positive_int, default=None,
                       help="cap the steps of an epoch, for quick tries and tests (default: a full pass)")
    # Every epoch ends with a checkpoint now; --save-every is still accepted so that old
    # commands keep working, and changes nothing.
    train.add_argument("--save-every", metavar="N", type=positive_int, default=1, help=argparse.SUPPRESS)
    train.add_argument("--seed", metavar="S", type=non_negative_int, default=None,
                       help="random seed for weights, noise and shuffling (default: none, as the article)")
    train.add_argument("--precision", choices=PRECISIONS, default=None,
                       help="number format of the layers; 'auto' picks the fastest for this machine and "
                            "says which (default: the resumed run's, else "
                            f"{defaults.get('precision', 'float32')})")
    train.add_argument("--eval-every", metavar="N", type=non_negative_int, default=0,
                       help="score the generator every N epochs (FCD, KID, coverage) into the log "
                            "and plot; 0 = never (default: 0)")
    train.add_argument("--eval-samples", metavar="N", type=positive_int, default=2000,
                       help="images scored at each --eval-every (default: %(default)s; `evaluate` "
                            "scores 10,000)")
    if add_train_args:
        add_train_args(train)

    sample = commands.add_parser("sample", help="sample from the latest checkpoint (the default)")
    add_out_dir(sample)
    sample.add_argument("--n", metavar="N", type=positive_int, default=16, help="how many images (default: 16)")
    sample.add_argument("--seed", type=non_negative_int, default=None, help="noise seed (default: random)")
    sample.add_argument("--output", default=None,
                        help="file to write: .png for a grid, .npy for the raw images "
                             "(N, height, width, channels) float32 in [-1, 1] (default: OUT_DIR/samples.png)")

    gif = commands.add_parser("gif", help="rebuild the GIF from the epoch grids")
    add_out_dir(gif)

    evaluate = commands.add_parser("evaluate", help="score the latest checkpoint: FCD, KID, class coverage")
    add_out_dir(evaluate)
    evaluate.add_argument("--n", metavar="N", type=positive_int, default=10000,
                          help="generated images to score (default: %(default)s)")
    evaluate.add_argument("--data-dir", default=None, help="folder with the dataset files (see train)")
    evaluate.add_argument("--seed", type=non_negative_int, default=0, help="noise seed (default: 0)")

    walk = commands.add_parser("walk", help="walk through the noise space: a GIF of one image turning into others")
    add_out_dir(walk)
    walk.add_argument("--points", metavar="K", type=whole_number(2), default=WALK_POINTS,
                      help="random noise vectors to visit; the walk returns to the first (default: %(default)s)")
    walk.add_argument("--steps", metavar="N", type=whole_number(2), default=WALK_STEPS,
                      help="frames from one noise vector to the next (default: %(default)s)")
    walk.add_argument("--seed", type=non_negative_int, default=None,
                      help="picks the noise vectors (default: random, printed so you can repeat it)")
    walk.add_argument("--output", default=None, help="the GIF to write; the PNG strip goes beside it "
                                                     "(default: OUT_DIR/walk.gif)")
    return parser


def add_devices_arg(parser):
    """--devices N, for the scripts that can train on several devices (common/devices.py)."""
    parser.add_argument("--devices", metavar="N", type=positive_int, default=1,
                        help="train on N devices at once: N GPUs, or with fewer, the CPU split into N "
                             "logical devices (no faster; to watch it work). The batch is split among them, "
                             "so --batch-size must be a multiple of N (default: %(default)s)")


def parse(parser, argv=None):
    """Parse argv; no command at all means `sample`, as the article's bare run does."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "sample")
    return parser.parse_args(argv)


def disk_full(error):
    """True for the errors of a full disk or a file-size limit, from Python or from TensorFlow."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    return any(text in str(error) for text in ("No space left on device", "File too large", "Disk quota exceeded"))


def run(main, argv=None):
    """Call main(argv); a UserError becomes a one-paragraph message and exit status 2."""
    try:
        main(argv)
    except UserError as error:
        message = textwrap.fill(str(error), width=88, subsequent_indent="       ")
        print(f"\nerror: {message}", file=sys.stderr)
        raise SystemExit(2) from None
    except Interrupted as stopped:
        print(f"\n{textwrap.fill(str(stopped), width=88)}", file=sys.stderr)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        print("\nInterrupted. Everything saved before is intact: run the same command again.", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        if not disk_full(error):
            raise
        reason = (str(error).strip().splitlines() or [type(error).__name__])[-1].split("; ")[-1][:200]
        message = textwrap.fill(
            f"The disk is full, or a file-size limit was reached, while writing ({reason}). Every "
            "file is written under a temporary name first, so nothing saved before was lost: "
            "the newest complete checkpoint still restores. Free some space and run the same "
            "command again.", width=88, subsequent_indent="       ")
        print(f"\nerror: {message}", file=sys.stderr)
        raise SystemExit(2) from None


def main(argv, script, doc, defaults, train, sample, evaluate, walk, add_train_args=None):
    """Parse the command line and call the script's function for the command."""
    from common import runs

    usage = next((part for part in doc.split("\n\n") if part.startswith("Usage:")), None)
    parser = build_parser(script, doc.split("\n\n")[0], defaults, add_train_args, epilog=usage)
    args = parse(parser, argv)
    check_arguments(args, defaults)  # a bad combination of flags is refused before any data loads or epoch runs
    run_folder = contextlib.nullcontext()
    if args.command == "train":
        runs.ensure_writable(args.out_dir)  # fail before loading data, not after
        run_folder = runs.only_writer(args.out_dir)  # one `train` at a time in a folder
    try:
        with run_folder:
            if args.command == "gif":
                print(runs.rebuild_gif(args.out_dir))
            else:
                {"train": train, "sample": sample, "evaluate": evaluate, "walk": walk}[args.command](args)
    finally:
        # `train --precision` sets Keras's global number format; a caller that goes on in the same
        # process (the tests, a notebook) gets float32 back, not a policy it never asked for.
        if "keras" in sys.modules:
            sys.modules["keras"].mixed_precision.set_global_policy("float32")


def check_arguments(args, defaults):
    """Refuse, with a message, values that each flag's type lets through but the command cannot
    use: too few images to score, a walk too long to draw, scores of a dataset without labels."""
    if args.command == "train" and args.eval_every:
        if args.dataset == FOLDER:
            from common.datasets import needs_labels_message

            raise UserError("--eval-every: " + needs_labels_message())
        from common import metrics

        metrics.check_sample_count(args.eval_samples, "--eval-samples")
    # A script that trains on folders only cannot score at all, and its `evaluate` says so.
    if args.command == "evaluate" and any(name in NAMES for name in defaults.get("datasets", NAMES)):
        from common import metrics

        metrics.check_sample_count(args.n, "--n")
    if args.command == "walk" and args.points * args.steps > MAX_WALK_FRAMES:
        raise UserError(
            f"--points {args.points} --steps {args.steps} make a walk of {args.points * args.steps:,} "
            f"frames; a walk has at most {MAX_WALK_FRAMES:,} (two minutes of GIF, and a batch the "
            f"generator can draw in memory). Ask for fewer points or fewer steps between them: the "
            f"default, --points {WALK_POINTS} --steps {WALK_STEPS}, makes {WALK_POINTS * WALK_STEPS}.")
