"""The real processes the black-box benchmarks start: a daphne web process and a django-q2
cluster (`manage.py qcluster`, what `make worker` runs), each in its own process group so
stopping it stops its children, and nothing else.

The port: `BENCH_PORT` when set (a port of one's own on a shared machine), else one the
kernel hands out.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from bench.harness import ROOT
from bench.http_load import HOST


def production_env(**extra: str) -> dict[str, str]:
    """The environment of `make web` / `make worker`: DEBUG off, so a real SECRET_KEY (the
    Makefile's), plain HTTP on loopback; database and Redis as the runner chose them
    (SQLITE_PATH or DATABASE_URL, REDIS_URL)."""
    env = {**os.environ, "DEBUG": "0", "HTTPS": "0", "ALLOWED_HOSTS": HOST}
    env["SECRET_KEY"] = shared_secret_key()
    env.pop("WORKFLOW_RUN_INLINE", None)
    return {**env, **extra}


def shared_secret_key() -> str:
    """This process's SECRET_KEY, which the processes it starts must share: they read the
    sessions it signs, and django-q2 refuses tasks signed with another key. Outside `make
    bench` (DEBUG=1, the public development key) one is made up and used here too."""
    from django.conf import settings
    from django_q.conf import Conf

    if settings.SECRET_KEY == settings.INSECURE_DEVELOPMENT_KEY:
        settings.SECRET_KEY = Conf.SECRET_KEY = secrets.token_urlsafe(50)
    return settings.SECRET_KEY


def load_note() -> str:
    """The machine's load while a figure was taken (2 cores shared with other work here)."""
    one, five, _ = os.getloadavg()
    return f"load avg {one:.1f} (5 min {five:.1f})"


def free_port() -> int:
    wanted = int(os.environ.get("BENCH_PORT") or 0)
    if wanted:
        return wanted
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def daphne(app: str, env: dict[str, str], log: Path):
    """`daphne -b 127.0.0.1 -p <port> <app>`; yields the port once it accepts connections."""
    port = free_port()
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-v", "0", "-b", HOST, "-p", str(port), app],
            cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output,
        )  # fmt: skip
    try:
        wait_for_port(process, port, log)
        yield port
    finally:
        stop(process)


@contextmanager
def cluster(env: dict[str, str], workers: int, log: Path):
    """`manage.py qcluster` with `workers` worker processes."""
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            cwd=ROOT, env={**env, "Q_WORKERS": str(workers)}, start_new_session=True,
            stdout=output, stderr=output,
        )  # fmt: skip
    try:
        yield process
    finally:
        stop(process)


def wait_for_port(process: subprocess.Popen, port: int, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"daphne exited with {process.returncode}: {log.read_text()[-2000:]}"
            )
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"daphne did not listen on {port} within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
