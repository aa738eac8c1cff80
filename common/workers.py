"""Several machines, tried on one computer: N workers of one command, each with its TF_CONFIG.

    python -m common.workers 2 -- python dcgan_fashion.py train --epochs 2

starts the command twice, each with a TF_CONFIG that names both as workers on free localhost
ports and says which one it is (worker 0, the chief, writes the run folder), and prefixes
their output with "[worker K] ". If one worker fails, the others get GRACE seconds to stop by
themselves, then SIGKILL (TensorFlow catches SIGTERM); Ctrl-C here interrupts every worker,
as Ctrl-C interrupts one `train`. The exit status is the first failing worker's, or 0. On
real machines, set TF_CONFIG on each yourself (docs/scale.md); this launcher is for trying it.
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
    """`count` localhost ports that no program listens on now (all open at once: distinct)."""
    sockets = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
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
    while chunk := os.read(stream.fileno(), 4096):
        text = ""
        for char in chunk.decode("utf-8", "replace"):
            if at_line_start and char not in "\r\n":
                text += prefix
            text += char
            at_line_start = char in "\r\n"
        out.write(text)
        out.flush()


def launch(command, ports, index):
    """Worker `index` of the cluster on `ports`, started, and the thread relaying its output."""
    process = subprocess.Popen(
        command, env=dict(os.environ, TF_CONFIG=tf_config(ports, index)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)  # Ctrl-C reaches the launcher, which passes it on
    thread = threading.Thread(
        target=relay, args=(process.stdout, f"[worker {index}] ", sys.stdout), daemon=True)
    thread.start()
    return process, thread


def stop(workers, signal_number=None):
    """Send `signal_number` (if any) to the workers still running; SIGKILL whatever is left
    GRACE seconds later."""
    deadline = time.monotonic() + GRACE
    for process, _ in workers:
        if signal_number is not None and process.poll() is None:
            os.killpg(process.pid, signal_number)
    for process, _ in workers:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=GRACE)


def wait(workers):
    """Wait for every worker; on the first failure stop the others. Returns the exit status."""
    try:
        while True:
            codes = [process.poll() for process, _ in workers]
            failed = [index for index, code in enumerate(codes) if code not in (None, 0)]
            if failed:
                code = codes[failed[0]]
                status = 128 - code if code < 0 else code  # signal N: 128 + N, as a shell says
                print(f"[workers] worker {failed[0]} stopped with exit status {status}; "
                      "stopping the others.", flush=True)
                stop(workers)
                return status
            if all(code == 0 for code in codes):
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("[workers] Ctrl-C: interrupting every worker.", flush=True)
        stop(workers, signal.SIGINT)
        return 130
    finally:
        for _, thread in workers:
            thread.join(timeout=5)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m common.workers",
        description="Run COMMAND as N workers of one training, each with its TF_CONFIG.")
    parser.add_argument("workers", type=int, help="how many workers (2 or more)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.workers < 2 or not command:
        parser.error("give the number of workers (2 or more), then -- and the command, e.g. "
                     "`python -m common.workers 2 -- python dcgan_fashion.py train`")
    ports = free_ports(args.workers)
    return wait([launch(command, ports, index) for index in range(args.workers)])


if __name__ == "__main__":
    sys.exit(main())
