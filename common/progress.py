"""What a learner watches while a GAN trains: a banner, a progress bar per epoch with the
running mean of each number the train step returns, and one line per finished epoch. A NaN
or inf in those numbers stops training with a message, and a Ctrl-C that TensorFlow's code
swallowed is raised again at the next batch."""

import math
import signal
import sys
import time

from tqdm import tqdm

from common.errors import UserError


class RunningMeans:
    """The mean of each number a train step returns, over the steps of one epoch so far, and
    the seconds since the epoch began (when this was made)."""

    def __init__(self):
        self.totals, self.count = {}, 0
        self.started = time.perf_counter()

    def seconds(self):
        return time.perf_counter() - self.started

    def add(self, step_outputs):
        """Add one step's outputs (a dict of scalar tensors); a NaN or inf stops with a message."""
        values = {name: float(value) for name, value in step_outputs.items()}
        broken = [name for name, value in values.items() if not math.isfinite(value)]
        if broken:
            raise UserError(
                f"Training diverged: {', '.join(broken)} became {values[broken[0]]} at step "
                f"{self.count + 1} of this epoch. This epoch was not saved, so the newest "
                "checkpoint is still the last good one and `train` resumes from it. Try "
                "--precision float32, a smaller learning rate, or another --seed.")
        for name, value in values.items():
            self.totals[name] = self.totals.get(name, 0.0) + value
        self.count += 1

    def means(self):
        return {name: total / max(self.count, 1) for name, total in self.totals.items()}


# Ctrl-C makes Python raise KeyboardInterrupt wherever the main thread is. Where that is a
# destructor or a callback run from TensorFlow's C++ code, Python prints "Exception ignored"
# and training goes on. So the press is also remembered, and the next batch raises it again.
ctrl_c_pressed = False


def listen_for_ctrl_c():
    """Remember a Ctrl-C (SIGINT) from now on, as well as raising KeyboardInterrupt at once."""
    global ctrl_c_pressed
    ctrl_c_pressed = False

    def remember(signal_number, frame):
        global ctrl_c_pressed
        ctrl_c_pressed = True
        signal.default_int_handler(signal_number, frame)

    signal.signal(signal.SIGINT, remember)


def bar(batches, steps, description, means):
    """Yield the batches behind a progress bar that shows `means` as they grow."""
    interactive = sys.stderr.isatty()
    # In a log file, keep each epoch's bar on its own line, and write it seldom.
    with tqdm(total=steps, desc=description, unit="step", dynamic_ncols=True,
              leave=not interactive, mininterval=0.5 if interactive else 30) as shown:
        for batch in batches:
            if ctrl_c_pressed:  # a Ctrl-C that was swallowed (see listen_for_ctrl_c)
                raise KeyboardInterrupt
            yield batch
            numbers = {name: f"{value:.3f}" for name, value in means.means().items()}
            shown.set_postfix(numbers, refresh=False)
            shown.update()


def banner(title, models, data, *, epochs, steps, full_steps, batch, precision, seed, out_dir,
           devices=None):
    """Print what is trained on what, how big, how long, on which devices, and where it goes."""
    sizes = ", ".join(f"{model.name} {model.count_params():,}" for model in models)
    per_epoch = f"{full_steps} steps of {batch} images"
    if steps < full_steps:
        per_epoch = f"{steps} of {per_epoch} (--steps-per-epoch)"
    print(f"{title}: {epochs} epoch{'s' if epochs > 1 else ''}, {data}")
    print(f"  parameters: {sizes}")
    print(f"  each epoch: {per_epoch}; precision {precision}; seed {seed}")
    if devices:
        print(f"  devices: {devices}")
    print(f"  output: {out_dir}/ (a checkpoint after every epoch; Ctrl-C loses only the epoch "
          "in progress)")


def epoch_done(row, epochs):
    """Print the line that closes an epoch: its mean losses and how long it took."""
    shown = "  ".join(f"{name} {value:.4f}" for name, value in row.items()
                      if name not in ("epoch", "seconds"))
    print(f"epoch {row['epoch']}/{epochs}  {shown}  ({row['seconds']:.1f} s)")
