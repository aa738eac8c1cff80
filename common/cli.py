"""The command line, built from a lesson's Settings, and the wrapper that turns errors to messages.

    python SCRIPT.py train [flags]     train, resuming the run in --out-dir if it has one
    python SCRIPT.py [sample] [flags]  samples from the latest checkpoint (the default)
    python SCRIPT.py gif [flags]       rebuilds the GIF from the epoch grids
    python SCRIPT.py evaluate [flags]  scores the latest checkpoint (common/metrics.py; a
                                       folder run: common/folder_scores.py)
    python SCRIPT.py walk [flags]      a walk through the noise space, as a GIF and a PNG strip

Each script declares its settings as one dataclass, `Settings`, that extends `RunSettings`
below. Every field becomes a flag of `train` (`batch_size` -> `--batch-size`), and the string
written under a field becomes its help, as in cleanrl: the code and `--help` read the same.
A setting in KEPT_ON_RESUME that a resumed `train` leaves out comes from the run's run.json,
and a different value is refused with a message.
"""

import argparse
import ast
import contextlib
import dataclasses
import errno
import inspect
import os
import sys
import textwrap
import typing

from common.errors import Interrupted, UserError, paragraph

COMMANDS = ("train", "sample", "gif", "evaluate", "walk")
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
# A walk of --points x --steps frames is one GIF at 0.12 s a frame (common/images.save_walk),
# drawn 64 frames at a time. 1,000 frames is two minutes of animation, longer than anyone
# watches; 3,000 x 3,000 would ask for 9 million frames.
MAX_WALK_FRAMES = 1000
WALK_POINTS, WALK_STEPS = 4, 12  # the default walk: 48 frames, about six seconds


@dataclasses.dataclass
class RunSettings:
    """The settings of the machinery around a lesson, the same in every script."""

    out_dir: str = ""
    """the run folder: checkpoints, grids, log (default: runs/MODEL_NAME)"""
    data_dir: typing.Optional[str] = None
    """the folder of the data: a built-in set's IDX files (default: searched in $GAN_DATA_DIR,
    /usr/share/datasets, then Keras's own cache or download), or your pictures"""
    seed: typing.Optional[int] = None
    """random seed for the weights, the noise and the shuffle (default: none, as the articles)"""
    steps_per_epoch: typing.Optional[int] = None
    """cap the steps of an epoch, for quick tries and tests (default: a full pass)"""
    eval_every: int = 0
    """score the generator every N epochs into the log and the curves; 0 = never"""
    eval_samples: int = 2000
    """images scored at each --eval-every (`evaluate` scores 10,000)"""
    devices: int = 1
    """train on N devices at once: N GPUs, or with fewer, the CPU split into N logical devices
    (no faster; to watch it work); --batch-size must be a multiple of N"""
    worker_wait: int = 300
    """on several machines (TF_CONFIG set): seconds each worker waits for the others at the start
    before it stops with a message"""

    # Settings a resumed run keeps from its run.json; a script lists its own.
    KEPT_ON_RESUME: typing.ClassVar[tuple] = ()
    AT_LEAST_ZERO: typing.ClassVar[tuple] = ("seed", "eval_every")  # every other number is >= 1


def field_help(settings_class):
    """{field name: the string written under it} for a dataclass and its bases."""
    helps = {}
    for cls in reversed(settings_class.__mro__[:-1]):
        body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
        for node, following in zip(body, body[1:]):
            if isinstance(node, ast.AnnAssign) and isinstance(following, ast.Expr) \
                    and isinstance(following.value, ast.Constant):
                helps[node.target.id] = " ".join(following.value.value.split())
    return helps


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


def add_settings(parser, settings_class, model_name="MODEL_NAME"):
    """One flag per field of the Settings dataclass, with its help and its default."""
    helps = field_help(settings_class)
    hints = typing.get_type_hints(settings_class)
    lesson = parser.add_argument_group("the lesson's settings (the script's Settings)")
    machinery = parser.add_argument_group("the run's settings (common/cli.py's RunSettings)")
    run_fields = {field.name for field in dataclasses.fields(RunSettings)}
    for field in dataclasses.fields(settings_class):
        kind = hints[field.name]
        if typing.get_origin(kind) is typing.Union:  # Optional[int] -> int
            kind = next(arg for arg in typing.get_args(kind) if arg is not type(None))
        options = {}
        if typing.get_origin(kind) is typing.Literal:
            options["choices"] = typing.get_args(kind)
            kind = type(options["choices"][0])
        if kind is int:
            options["type"] = whole_number(0 if field.name in settings_class.AT_LEAST_ZERO else 1)
            if "choices" not in options:  # else the choices show: --image-size {64,128}
                options["metavar"] = "N"
        elif kind is float:
            options["type"] = float
        elif kind is bool:  # --augment, or --no-augment to turn it off again
            options["action"] = argparse.BooleanOptionalAction
        if field.name in settings_class.KEPT_ON_RESUME:
            shown = f"the resumed run's, else {field.default}"
            default = None  # filled in from run.json, or with the field's default (resolve)
        else:
            shown, default = field.default, field.default
        group = machinery if field.name in run_fields else lesson
        text = helps.get(field.name, "").replace("MODEL_NAME", model_name)
        if shown not in (None, ""):
            text += f" (default: {shown})"
        group.add_argument("--" + field.name.replace("_", "-"), default=default,
                           help=text.replace("%", "%%"), **options)


def build_parser(script, doc, settings_class, model_name="MODEL_NAME"):
    """The parser for one script: `train` from its Settings, the other commands as shared."""
    usage = next((part for part in doc.split("\n\n") if part.startswith("Usage:")), None)
    parser = argparse.ArgumentParser(
        prog=f"python {script}", description=doc.split("\n\n")[0], epilog=usage,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    train = commands.add_parser("train", help="train the GAN (resumes the run in --out-dir)")
    add_settings(train, settings_class, model_name)

    def command(name, help_text, **flags):
        """A command with --out-dir and `flags` ({flag: (default, help, whole-number minimum)})."""
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--out-dir", default="",
                         help=f"the run folder (default: runs/{model_name})")
        for flag, (default, text, minimum) in flags.items():
            options = dict(type=whole_number(minimum)) if minimum is not None else {}
            if default is not None:
                text += f" (default: {default})"
            sub.add_argument(f"--{flag}", default=default, help=text, **options)

    by_class = getattr(settings_class, "CONDITIONAL", False)  # cgan_fashion.py: always by class
    # dcgan_color.py: by class where the run was trained with --classes (its sub-folders)
    conditional = by_class or "classes" in settings_class.__dataclass_fields__
    labels = ("the classes to draw, by name or number, with commas: sneaker,bag (default: all)"
              if by_class else "for a run trained with --classes: the classes (sub-folders) to "
              "draw, by name or number, with commas: cats,dogs (default: all)")
    command("sample", "sample from the latest checkpoint (the default)",
            n=(8, "images of each class", 1) if by_class else
            (16, "how many images (of each class, in a run trained with --classes)", 1),
            seed=(None, "noise seed (default: random)", 0),
            **({"label": (None, labels, None)} if conditional else {}),
            output=(None, "file to write: .png for a grid, .npy for the raw images (N, height, "
                    "width, channels) float32 in [-1, 1] (default: OUT_DIR/samples.png)", None))
    command("gif", "rebuild the GIF from the epoch grids")
    command("evaluate", "score the latest checkpoint: FCD, KID, class coverage; on a folder, SWD",
            n=(10000, "generated images to score", 1), seed=(0, "noise seed", 0),
            **{"data-dir": (None, "folder with the dataset files (see train)", None)})
    command("walk", "walk through the noise space: a GIF of one image turning into others",
            points=(WALK_POINTS, "random noise vectors to visit; the walk returns to the first", 2),
            steps=(WALK_STEPS, "frames from one noise vector to the next", 2),
            seed=(None, "picks the noise vectors (default: random, printed so you can repeat it)",
                  0),
            **({"labels": (None, "the classes the label turns through at one noise, by name "
                           "or number: shirt,dress (default: all, in order)", None)}
               if conditional else {}),
            output=(None, "the GIF to write; the PNG strip goes beside it (default: "
                    "OUT_DIR/walk.gif)", None))
    return parser


def parse(parser, argv=None):
    """Parse argv; no command at all means `sample`, as the article's bare run does."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        argv.insert(0, "sample")
    return parser.parse_args(argv)


def check_command_word(argv=None):
    """Answer a mistyped command at once, before the script loads TensorFlow (15 s or more)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS:
        script = os.path.basename(sys.argv[0])
        print(f"usage: python {script} {{{','.join(COMMANDS)}}} [flags]\n"
              f"python {script}: error: {argv[0]!r} is not a command: choose one of "
              f"{', '.join(COMMANDS)} (`python {script} --help` says what each does)",
              file=sys.stderr)
        raise SystemExit(2)


def resolve(args, settings_class, model_name):
    """The Settings of this `train`: the flags, and for a kept setting left out, the resumed
    run's value. Refuses another script's folder, and a kept setting that differs from the run's,
    before anything is loaded or printed."""
    from common import checkpoints

    saved = checkpoints.run_settings(args.out_dir)
    if saved and saved.get("model") != model_name:
        checkpoints.refuse_other_model(args.out_dir, saved.get("model"), model_name)
    values = {}
    for field in dataclasses.fields(settings_class):
        given = getattr(args, field.name)
        if field.name in settings_class.KEPT_ON_RESUME:
            in_run = saved.get(field.name)
            if given is not None and in_run is not None and not same_setting(field.name, given,
                                                                              in_run):
                flag = "--" + field.name.replace("_", "-")
                if isinstance(in_run, bool):  # a yes/no setting: --augment or --no-augment
                    trained, asked = (flag if value else "--no-" + flag[2:]
                                      for value in (in_run, given))
                else:
                    trained, asked = f"{flag} {in_run}", given
                raise UserError(
                    f"The run in {args.out_dir} was trained with {trained}, and this command asks "
                    f"for {asked}. Leave the flag out (or pass {trained}) to continue that run, "
                    "or choose another --out-dir for a new one.")
            given = in_run if given is None and in_run is not None else given
            given = field.default if given is None else given
        values[field.name] = given
    return settings_class(**values)


def same_setting(name, given, in_run):
    if name == "precision":  # the run records what `auto` chose on its machine
        from common import precision

        return precision.choose(given) == in_run
    return given == in_run


def disk_full(error):
    """True for the errors of a full disk or a file-size limit, from Python or from TensorFlow."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        return True
    return any(text in str(error) for text in
               ("No space left on device", "File too large", "Disk quota exceeded"))


def run(main, argv=None):
    """Call main(argv); a UserError becomes a one-paragraph message and exit status 2."""
    if os.environ.get("TF_CONFIG"):
        run_as_worker(main, argv)
    run_here(main, argv)


def run_here(main, argv=None):
    """`run`, in this process as any other program."""
    try:
        main(argv)
    except UserError as error:
        print(f"\n{paragraph(str(error))}", file=sys.stderr)
        raise SystemExit(2) from None
    except Interrupted as stopped:
        print(f"\n{paragraph(str(stopped), first='')}", file=sys.stderr)
        raise SystemExit(130) from None
    except KeyboardInterrupt:
        print("\nInterrupted. Everything saved before is intact: run the same command again.",
              file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as error:
        if not disk_full(error):
            raise
        last_line = (str(error).strip().splitlines() or [type(error).__name__])[-1]
        reason = last_line.split("; ")[-1][:200]
        print("\n" + paragraph(
            f"The disk is full, or a file-size limit was reached, while writing ({reason}). Every "
            "file is written under a temporary name first, so nothing saved before was lost: "
            "the newest complete checkpoint still restores. Free some space and run the same "
            "command again."), file=sys.stderr)
        raise SystemExit(2) from None


def run_as_worker(main, argv):
    """`run` on one of several machines (TF_CONFIG): then leave with os._exit, whatever
    happened, so that TensorFlow's collective threads cannot hold the process at exit."""
    import traceback

    code = 0
    try:
        run_here(main, argv)
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv, doc, settings_class, model_name, train, build_generator, judge=None):
    """Parse the command line and run the command.

    train(settings):     the script's training loop.
    build_generator:     builds the generator that `sample`, `evaluate` and `walk` restore; its
                         parameters are filled from the run's settings by name.
    judge:               (build_discriminator, judge_samples) for what `sample` prints of D.
    """
    from common import checkpoints, commands, progress, runs

    script = os.path.basename(sys.modules[settings_class.__module__].__file__)
    parser = build_parser(script, doc, settings_class, model_name)
    args = parse(parser, argv)
    args.out_dir = args.out_dir or os.path.join("runs", model_name)
    try:
        if args.command == "train":
            settings = resolve(args, settings_class, model_name)
            check_train_settings(settings)  # a bad combination is refused before any data loads
            from common import devices

            chief = devices.is_chief()  # on several machines, worker 0 writes the run folder
            progress.listen_for_ctrl_c()
            if chief:
                runs.ensure_writable(settings.out_dir)  # fail before loading data, not after
            with runs.only_writer(settings.out_dir) if chief else contextlib.nullcontext():
                try:  # one `train` at a time in a folder
                    train(settings)
                    if chief:
                        print(done_message(settings))
                    devices.finish()  # several machines: the last meeting, then exit
                except devices.LOST_WORKER as error:
                    newest = checkpoints.newest_epoch(settings.out_dir)
                    raise devices.lost_worker_error(error, settings.out_dir, newest) from None
                except KeyboardInterrupt:
                    # Every finished epoch is on disk already: only the epoch in progress is lost.
                    newest = checkpoints.newest_epoch(settings.out_dir)
                    raise Interrupted(
                        f"Interrupted during epoch {newest + 1}. The newest checkpoint holds "
                        f"epoch {newest}. Run the same train command again to resume from there."
                    ) from None
        elif args.command == "gif":
            print(runs.rebuild_gif(args.out_dir))
        else:
            check_command_flags(args, settings_class)
            saved = checkpoints.run_settings(args.out_dir)
            run_settings = {field.name: saved.get(field.name, field.default)
                            for field in dataclasses.fields(settings_class)}
            run_settings["CONDITIONAL"] = getattr(settings_class, "CONDITIONAL", False)
            run_settings["class_names"] = saved.get("class_names", ())  # a folder's (--classes)
            getattr(commands, args.command)(args, model_name, script, build_generator,
                                            run_settings, judge)
    finally:
        if "common.training" in sys.modules:  # curves not drawn yet; a worker's temporary folder
            sys.modules["common.training"].cleanup()
        # `train` sets Keras's number format and, with --devices, a distribution strategy; a
        # caller that goes on in the same process (the tests, a notebook) gets the defaults back.
        if "keras" in sys.modules:
            sys.modules["keras"].mixed_precision.set_global_policy("float32")
            from common import devices

            devices.release()


def done_message(settings):
    epochs = settings.epochs
    return (f"Done: {epochs} epoch{'s' if epochs > 1 else ''}. In {settings.out_dir}/: "
            "training.gif, log.csv, losses.png, generator.keras (load it with "
            "keras.models.load_model) and the grids in images/.")


def check_train_settings(settings):
    """Refuse, with a message, values that each flag's type lets through but training cannot use."""
    from common.datasets import FOLDER

    if settings.eval_every and getattr(settings, "dataset", FOLDER) == FOLDER:
        from common import folder_scores

        folder_scores.check_sample_count(settings.eval_samples, "--eval-samples")
    elif settings.eval_every:
        from common import metrics

        metrics.check_sample_count(settings.eval_samples, "--eval-samples")
    if settings.batch_size % settings.devices:
        size = settings.batch_size
        raise UserError(
            f"--batch-size {size} does not split into {settings.devices} equal shares for "
            f"--devices {settings.devices}. Use a batch size that is a multiple of "
            f"{settings.devices}, e.g. {size - size % settings.devices or settings.devices}.")


def check_command_flags(args, settings_class):
    """The same for sample, evaluate and walk: too few images to score, a walk too long to draw."""
    if args.command == "evaluate" and "dataset" in settings_class.__dataclass_fields__:
        from common import metrics

        metrics.check_sample_count(args.n, "--n")
    elif args.command == "evaluate":  # a folder's scores (dcgan_color.py)
        from common import folder_scores

        folder_scores.check_sample_count(args.n, "--n")
    if args.command == "walk" and args.points * args.steps > MAX_WALK_FRAMES:
        raise UserError(
            f"--points {args.points} --steps {args.steps} make a walk of "
            f"{args.points * args.steps:,} frames; a walk has at most {MAX_WALK_FRAMES:,} (two "
            f"minutes of GIF). Ask for fewer points or fewer steps between them: the default, "
            f"--points {WALK_POINTS} --steps {WALK_STEPS}, makes {WALK_POINTS * WALK_STEPS}.")
