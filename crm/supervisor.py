"""Runs the web server (daphne) and the django-q2 worker cluster together in the foreground.

Ctrl-C (or SIGTERM) stops both; if either exits, the other is stopped too, so no process is
left behind. Used by `make run`.
"""

import argparse
import os
import signal
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    args = parser.parse_args()

    commands = {
        "web": [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            args.host,
            "-p",
            str(args.port),
            "crm.asgi:application",
        ],
        "worker": [sys.executable, "manage.py", "qcluster"],
    }
    # Each child gets its own process group so the whole tree (qcluster forks workers) stops.
    children = {
        name: subprocess.Popen(command, start_new_session=True)
        for name, command in commands.items()
    }
    print(
        f"CRM running at http://{args.host}:{args.port}/  (Ctrl-C stops web and worker)", flush=True
    )

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            if child.poll() is not None:
                print(f"{name} exited with {child.returncode}; stopping.", flush=True)
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.3)

    for child in children.values():
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
