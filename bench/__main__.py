"""`python -m bench [NAME ...] [--backend sqlite|postgresql] [--seconds S] [--json FILE]`

Runs every benchmark module `bench/bench_*.py` (or the NAMEs given, e.g. `records`) on SQLite
and, when a server answers, PostgreSQL; each module in its own process on a fresh migrated
database. Prints one table. A module is one file with a function `run(ctx) -> list[Row]`
(see bench/harness.py and bench/bench_records.py).
"""

import argparse
import importlib
import json
import pkgutil
import subprocess
import sys
import traceback
from pathlib import Path

from bench import harness

ROWS_MARKER = "BENCH-ROWS "
COLUMNS = ["benchmark", "backend", "metric", "value", "unit", "ratio/notes"]


def discover(names: list[str]) -> list[str]:
    modules = sorted(
        info.name
        for info in pkgutil.iter_modules([str(Path(__file__).parent)])
        if info.name.startswith("bench_")
    )
    if not names:
        return modules
    wanted = [name if name.startswith("bench_") else f"bench_{name}" for name in names]
    unknown = [name for name in wanted if name not in modules]
    if unknown:
        sys.exit(f"Unknown benchmark(s): {', '.join(unknown)}. Known: {', '.join(modules)}.")
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[2])
    parser.add_argument("names", nargs="*", help="modules to run, e.g. records (default: all)")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=2.0, help="budget of one timed loop")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one module
    parser.add_argument("--worker-backend", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args.worker, args.worker_backend, args.seconds)

    modules = discover(args.names)
    backends, skipped = harness.available_backends(args.backend)
    rows: list[dict] = []
    failed = False
    for backend in backends:
        print(f"== {backend.name}: migrating a template database", file=sys.stderr)
        backend.prepare()
        try:
            for module in modules:
                print(f"== {backend.name}: {module}", file=sys.stderr)
                module_rows, ok = run_in_subprocess(module, backend, args.seconds)
                rows.extend(module_rows)
                failed = failed or not ok
        finally:
            backend.cleanup()
    print_table(rows, skipped)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 1 if failed else 0


def run_in_subprocess(module: str, backend: harness.Backend, seconds: float):
    with backend.database(module) as env:
        completed = subprocess.run(
            [sys.executable, "-m", "bench", "--worker", module,
             "--worker-backend", backend.name, "--seconds", str(seconds)],
            env={**harness.base_environment(), **env},
            cwd=harness.ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
    for line in completed.stdout.splitlines():
        if line.startswith(ROWS_MARKER):
            return json.loads(line[len(ROWS_MARKER) :]), completed.returncode == 0
    error = harness.Row(module, backend.name, "error", 0, "", "failed: see the output above")
    return [error.as_dict()], False


def run_worker(module_name: str, backend: str, seconds: float) -> int:
    """Inside the benchmark's own process: set Django up and print the module's rows."""
    harness.setup_django()
    context = harness.BenchContext(backend=backend, seconds=seconds)
    try:
        module = importlib.import_module(f"bench.{module_name}")
        rows = [row.as_dict() for row in module.run(context)]
    except Exception:
        traceback.print_exc()
        return 1
    print(ROWS_MARKER + json.dumps(rows), flush=True)
    return 0


def print_table(rows: list[dict], skipped: list[str]) -> None:
    lines = [
        [row["benchmark"], row["backend"], row["metric"], format_value(row["value"]),
         row["unit"], row["notes"]]
        for row in rows
    ]  # fmt: skip
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(COLUMNS, *lines, strict=False)
    ]
    right = {3}  # numbers line up on the right

    def render(cells):
        return "  ".join(
            str(cell).rjust(width) if index in right else str(cell).ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=False))
        ).rstrip()

    print(render(COLUMNS))
    print("  ".join("-" * width for width in widths))
    for line in lines:
        print(render(line))
    for note in skipped:
        print(f"(skipped {note})")


def format_value(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


if __name__ == "__main__":
    sys.exit(main())
