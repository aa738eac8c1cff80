"""Several machines, tried on one computer: N workers of one command, each with its TF_CONFIG.

    python -m common.workers 2 -- python dcgan_fashion.py train --epochs 2

starts the command twice, each copy with a TF_CONFIG that names both as workers on free
localhost ports and says which one it is (worker 0, the chief, writes the run folder). Their
output comes through with "[worker K] " before each line. If one worker fails, the others get
GRACE seconds to stop by themselves, then SIGKILL (TensorFlow catches SIGTERM); Ctrl-C here
interrupts every worker, as Ctrl-C interrupts one `train`. The exit status is the first
failing worker's, or 0. On real machines, set TF_CONFIG on each yourself (README, "On several
machines"); this launcher is for trying it, and for the tests.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

GRACE = 15  # seconds a worker has to stop by itself before SIGKILL


def free_ports(count):
    """`count` localhost ports that no program listens on now."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def tf_config(ports, index):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    return json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})


def relay(stream, prefix, out):
    """Copy a worker's output to `out`, `prefix` at the start of each line (progress bars
    redraw their line with a carriage return: those lines get it too)."""
    at_line_start = True
    while True:
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            return
        text = ""
        for char in chunk.decode("utf-8", "replace"):
            if at_line_start and char not in "\r\n":
                text += prefix
            text += char
            at_line_start = char in "\r\n"
        out.write(text)
        out.flush()


def start(command, count):
    """The workers, started: a list of (index, Popen, relay thread)."""
    ports = free_ports(count)
    workers = []
    for index in range(count):
        process = subprocess.Popen(
            command,
            env=dict(os.environ, TF_CONFIG=tf_config(ports, index)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the launcher, which passes it on
        )
        thread = threading.Thread(
            target=relay, args=(process.stdout, f"[worker {index}] ", sys.stdout), daemon=True
        )
        thread.start()
        workers.append((index, process, thread))
    return workers


def stop(workers, signal_number=None):
    """Send `signal_number` (if any) to the workers still running, wait GRACE seconds, then
    SIGKILL whatever is left."""
    running = [process for _, process, _ in workers if process.poll() is None]
    for process in running:
        if signal_number is not None:
            os.killpg(process.pid, signal_number)
    deadline = time.monotonic() + GRACE
    for process in running:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=GRACE)


def exit_status(process):
    code = process.returncode
    return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell says


def wait(workers):
    """Wait for every worker; on the first failure stop the others. Returns the exit status."""
    try:
        while True:
            codes = [process.poll() for _, process, _ in workers]
            failed = [(index, process) for index, process, _ in workers
                      if process.returncode not in (None, 0)]
            if failed:
                index, process = failed[0]
                print(f"[workers] worker {index} stopped with exit status "
                      f"{exit_status(process)}; stopping the others.", flush=True)
                stop(workers)
                return exit_status(process)
            if all(code == 0 for code in codes):
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("[workers] Ctrl-C: interrupting every worker.", flush=True)
        stop(workers, signal.SIGINT)
        return 130
    finally:
        for _, _, thread in workers:
            thread.join(timeout=5)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m common.workers",
        description="Run COMMAND as N workers of one training, each with its TF_CONFIG.",
    )
    parser.add_argument("workers", type=int, help="how many workers (2 or more)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.workers < 2 or not command:
        parser.error("give the number of workers (2 or more), then -- and the command, e.g. "
                     "`python -m common.workers 2 -- python dcgan_fashion.py train`")
    return wait(start(command, args.workers))


if __name__ == "__main__":
    sys.exit(main())
