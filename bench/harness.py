"""What every benchmark module needs: a fresh, migrated database on each backend, a Django
set up against it, a way to time a loop, and the row format of the table.

The runner (`python -m bench`) migrates one template database per backend, then runs each
benchmark module in its own process against a copy of it:

- `sqlite`: a temporary file with the same OPTIONS as crm.settings (WAL, IMMEDIATE...),
  selected with `SQLITE_PATH`;
- `postgresql`: when `DATABASE_URL` (or postgres://postgres@127.0.0.1:5432/test) answers,
  databases named `bench_crm*` (`$BENCH_DB_PREFIX*`) on that server, created and dropped here.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/test"
# Several checkouts may bench on one server at once: each sets its own prefix, as the runner
# drops every database whose name starts with it.
POSTGRES_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_crm")


@dataclass
class Row:
    """One line of the table."""

    benchmark: str
    backend: str
    metric: str
    value: float
    unit: str
    notes: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class BenchContext:
    """Handed to each module's `run(ctx)`; Django is already set up and migrated."""

    backend: str  # "sqlite" or "postgresql"
    seconds: float  # time budget of one timed loop

    def row(self, benchmark: str, metric: str, value: float, unit: str, notes: str = "") -> Row:
        return Row(benchmark, self.backend, metric, value, unit, notes)


@dataclass
class Rate:
    count: int
    elapsed: float

    @property
    def per_second(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0


def measure_rate(operation: Callable[[int], object], seconds: float, warmup: int = 20) -> Rate:
    """Calls `operation(i)` for i = 0, 1, 2... until `seconds` have passed, after `warmup`
    untimed calls (URL resolvers, serializer fields and prepared statements warm up)."""
    for index in range(warmup):
        operation(-1 - index)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        operation(count)
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return Rate(count, now - start)


def measure_rates_interleaved(
    operations: dict[str, Callable[[int], object]], seconds: float, rounds: int = 10
) -> dict[str, Rate]:
    """Like `measure_rate` for several operations that are compared with each other: they
    take turns in `rounds` short slices, so a load change on the machine (other processes)
    affects them alike and their ratio stays meaningful. Each gets `seconds` in total."""
    totals = {name: Rate(0, 0.0) for name in operations}
    offsets = dict.fromkeys(operations, 0)
    for operation in operations.values():
        for index in range(20):  # warm-up, untimed
            operation(-1 - index)
    for _ in range(rounds):
        for name, operation in operations.items():
            rate = measure_rate(lambda i, op=operation, name=name: op(offsets[name] + i),
                                seconds / rounds, warmup=0)  # fmt: skip
            offsets[name] += rate.count
            totals[name] = Rate(totals[name].count + rate.count,
                                totals[name].elapsed + rate.elapsed)  # fmt: skip
    return totals


def timed(operation: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = operation()
    return result, time.perf_counter() - start


# --- Inside a benchmark process ---------------------------------------------------------------


def setup_django() -> None:
    """Configures Django from the environment the runner prepared (SQLITE_PATH or
    DATABASE_URL). The database is already migrated."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()


# --- Backends, from the runner process ---------------------------------------------------------


class Backend:
    """A database engine the benchmarks run on: prepares a migrated template once, then hands
    each benchmark a fresh copy through `database()`."""

    name: str

    def prepare(self) -> None: ...

    @contextmanager
    def database(self, label: str) -> Iterator[dict[str, str]]:
        """Environment variables selecting a fresh migrated database for one process."""
        yield {}

    def cleanup(self) -> None: ...


def base_environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()}
    for key in ("DATABASE_URL", "SQLITE_PATH", "REDIS_URL"):
        env.pop(key, None)
    env["DJANGO_SETTINGS_MODULE"] = "crm.settings"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v0"],
        env={**base_environment(), **env},
        cwd=ROOT,
        check=True,
    )


class SqliteBackend(Backend):
    name = "sqlite"

    def prepare(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="bench_crm_"))
        self.template = self.directory / "template.sqlite3"
        run_migrate({"SQLITE_PATH": str(self.template)})

    @contextmanager
    def database(self, label: str) -> Iterator[dict[str, str]]:
        path = self.directory / f"{label}.sqlite3"
        # The migrate process has exited, so its WAL was checkpointed into the main file.
        shutil.copyfile(self.template, path)
        try:
            yield {"SQLITE_PATH": str(path)}
        finally:
            for leftover in self.directory.glob(f"{label}.sqlite3*"):
                leftover.unlink()

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, url: str):
        self.url = url

    def prepare(self) -> None:
        self._drop_leftovers()
        self._execute(f'CREATE DATABASE "{POSTGRES_PREFIX}"')
        run_migrate({"DATABASE_URL": self._url_for(POSTGRES_PREFIX)})

    @contextmanager
    def database(self, label: str) -> Iterator[dict[str, str]]:
        name = f"{POSTGRES_PREFIX}_{label}"
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{POSTGRES_PREFIX}"')
        try:
            env = {"DATABASE_URL": self._url_for(name), "Q_CLUSTER_NAME": name}
            redis = redis_url()
            if redis:  # the scale-out setup: PostgreSQL with the Redis broker
                env["REDIS_URL"] = redis
            yield env
        finally:
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def cleanup(self) -> None:
        self._drop_leftovers()

    def _drop_leftovers(self) -> None:
        rows = self._execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{POSTGRES_PREFIX}%"]
        )
        # Clones first: a template cannot be dropped while a clone is being made from it.
        for (name,) in sorted(rows, key=len, reverse=True):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _url_for(self, database: str) -> str:
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    def _execute(self, sql: str, params=None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self._url_for("postgres"), autocommit=True, connect_timeout=3) as db:
            cursor = db.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


def redis_url() -> str | None:
    """The Redis server to pair with PostgreSQL, or None when none answers."""
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return url
    except Exception:  # not running: PostgreSQL then uses the ORM broker
        return None


def postgres_url() -> str | None:
    """The PostgreSQL server to benchmark on, or None when none answers."""
    url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
    if not url.startswith(("postgres://", "postgresql://")):
        return None
    try:
        import psycopg

        maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
        with psycopg.connect(maintenance, connect_timeout=2):
            return url
    except Exception:  # not installed, not running, refused: skip the backend
        return None


def available_backends(wanted: list[str] | None = None) -> tuple[list[Backend], list[str]]:
    """The backends to run on, and notes about the ones skipped."""
    backends: list[Backend] = []
    skipped: list[str] = []
    if not wanted or "sqlite" in wanted:
        backends.append(SqliteBackend())
    if not wanted or "postgresql" in wanted:
        url = postgres_url()
        if url:
            backends.append(PostgresBackend(url))
        else:
            skipped.append("postgresql: no server answered (set DATABASE_URL)")
    return backends, skipped
