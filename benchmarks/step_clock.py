"""Run a program and write down the moment each of its train steps ends.

    python benchmarks/step_clock.py TIMES.json dcgan_fashion.py train --epochs 1 ...
    python benchmarks/step_clock.py TIMES.json benchmarks/article_loop.py dcgan --steps 53

The program runs as `python PROGRAM ARGS...` would run it, in this process; only a clock is
added: after every step of `train` (each call of `common.progress.RunningMeans.add`, which the
loops make once per batch) or of the article's loop (each call of its step), the time goes
into a list, written to TIMES.json as the process ends. The gaps between those times are the
whole loop's cost per step (the step, the input pipeline, the progress bar, the means),
without the start-up, the tracing of the first step or the files written at the end.

benchmarks/throughput.py takes the median gap, which a few seconds of a busy machine
barely move, where the difference of two wall times can move by half.
"""

import atexit
import json
import os
import runpy
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    times_file, program, arguments = sys.argv[1], sys.argv[2], sys.argv[3:]
    ends = []
    atexit.register(lambda: json.dump(ends, open(times_file, "w")))
    sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks")]
    os.chdir(ROOT)
    sys.argv = [program, *arguments]

    if os.path.basename(program) == "article_loop.py":
        import article_loop

        build = article_loop.build

        def build_with_clock(name):
            generator, step, images_per_step, noise_dim = build(name)

            def step_with_clock(batch):
                result = step(batch)
                ends.append(time.perf_counter())
                return result

            return generator, step_with_clock, images_per_step, noise_dim

        article_loop.build = build_with_clock
        article_loop.main()
    else:
        from common import progress

        add = progress.RunningMeans.add

        def add_with_clock(self, step_outputs):
            result = add(self, step_outputs)  # float() of the outputs: the step has finished
            ends.append(time.perf_counter())
            return result

        progress.RunningMeans.add = add_with_clock
        runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main()
