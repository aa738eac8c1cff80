"""What the GAN scripts share, so that each keeps only what it teaches.

The machinery (nothing here teaches GANs):
- cli:         the command line, built from a script's Settings; errors as messages.
- training:    functions around a lesson's loop: start, banner, resume, progress, the log.
- commands:    sample, evaluate and walk, written once for every script.
- devices:     --devices N and TF_CONFIG: the lesson's step on several devices or machines.
- workers:     `python -m common.workers N -- COMMAND`: N workers of one command on one computer.
- precision:   float32 or bfloat16, where the hardware pays.
- datasets:    MNIST and Fashion-MNIST offline, and folders of your own pictures (cached).
- images:      image grids, the loss plot, the training GIF, sample files.
- runs:        the run folder: where each file goes, the per-epoch log, resuming.
- checkpoints: restoring a lesson's tf.train.Checkpoint past damaged files; run.json.
- progress:    the banner, the progress bar with running means, the NaN guard.
- board:       TensorBoard summaries of each epoch's log row and grid.
- files:       writing a file so that a kill never leaves half of it.
- errors:      the exceptions that reach the user as a message, and its layout.
Not GAN code either, but worth a read after the lessons (the README's "How good are the
samples?"):
- metrics:       FCD, KID and class coverage, for the labelled datasets (MNIST, Fashion-MNIST).
- folder_scores: SWD, KID and the memorisation figure, for a folder of your own pictures.
- latent:        walks through the noise space along great circles (slerp).

Importing `common` first in a script answers a mistyped command before TensorFlow's 15 s of
loading, and sets TF_CPP_MIN_LOG_LEVEL (read when TensorFlow loads), which quiets the C++ log
lines of a run (the CPU's instruction sets, gRPC's between workers). It cannot quiet the six
lines TensorFlow prints while it loads ("oneDNN custom operations are on", "Could not find cuda
drivers", each twice): its C++ core writes them before it reads any setting.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SCRIPT = sys.argv[0] if sys.argv else ""  # "-m" while `python -m common.workers` starts
if _SCRIPT.endswith(".py") and os.path.dirname(os.path.abspath(_SCRIPT)) == _ROOT:  # a lesson
    from common import cli as _cli

    _cli.check_command_word()
