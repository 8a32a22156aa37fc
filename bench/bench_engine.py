"""The engine (issue: workflow engine): overhead per step, throughput through the real
django-q2 cluster, and a worker's memory after 10,000 runs against after 1,000.

- overhead: a 1,000-item iterator over a cheap step (a filter), run in-process, per step, as a
  ratio to one raw ORM insert and commit (goal: at most 3x);
- throughput: a 5-step record workflow (five create_record steps) started in bulk and executed
  by `manage.py qcluster` with 2 workers, in completed runs per second (goal: 100/s on SQLite,
  200/s on PostgreSQL + Redis);
- memory: resident memory of the worker processes after 1,000 and after 10,000 runs (goal:
  under 10% growth);
- delay lateness: runs started at a steady pace, each parking on a 1-2 s delay, resumed by the
  same cluster; how long after its due time each delay resumed, p50/p95/max (goal: p95 < 1 s).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import ROOT, BenchContext, Row, measure_rate
from bench.servers import stop

STEPS = 5
# BENCH_ENGINE_RUNS=2000 scales the throughput rows down (quick before/after pairs on a busy
# machine); the memory-growth row only means something at the full 10,000.
TOTAL_RUNS = int(os.environ.get("BENCH_ENGINE_RUNS", "10000"))
WARM_RUNS = min(1_000, TOTAL_RUNS // 2)
DELAYED_RUNS = 200
DELAY_START_RATE = 20  # runs/s: 10 s of starts, so due times spread over ~11 s


def run(ctx: BenchContext) -> list[Row]:
    from django.conf import settings

    from crm.models import Workspace

    workspace = Workspace.objects.create(slug="bench", name="Bench")
    insert_ms = raw_insert_ms(ctx, workspace)
    step_ms = iterator_step_ms(workspace, settings)
    rows = [
        ctx.row("engine", "raw ORM insert+commit", insert_ms, "ms", "Note.objects.create"),
        ctx.row(
            "engine",
            "overhead per step (999-item iterator)",
            step_ms,
            "ms",
            f"ratio to raw insert = {step_ms / insert_ms:.2f} (goal <= 3)",
        ),
    ]
    rows += cluster_throughput(ctx, workspace)
    rows += delay_lateness(ctx, workspace)
    return rows


def raw_insert_ms(ctx: BenchContext, workspace) -> float:
    from crm.models import Note

    rate = measure_rate(
        lambda i: Note.objects.create(workspace=workspace, title=f"n{i}"), ctx.seconds
    )
    return 1000 / rate.per_second


def iterator_step_ms(workspace, settings) -> float:
    from workflows import queue, services

    graph = {
        "trigger": {"type": "manual", "settings": {}, "next": ["each"]},
        "steps": [
            {
                "id": "each",
                "type": "iterator",
                "next": [],
                "settings": {"items": "{{trigger.items}}", "loop": ["check"]},
            },
            {
                "id": "check",
                "type": "filter",
                "next": [],
                "settings": {
                    "when": {"all": [{"left": "{{steps.each.item}}", "op": "gte", "right": 0}]}
                },
            },
        ],
    }
    workflow = services.create_workflow(workspace, "Iterator bench", graph=graph)
    services.publish(workflow)
    settings.WORKFLOW_RUN_INLINE = True
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        run = queue.start_run(workflow.active_version, {"items": list(range(999))}, "test")
        elapsed = time.perf_counter() - start
        run.refresh_from_db()
        assert run.status == "completed", run.error
        best = min(best, elapsed)
    settings.WORKFLOW_RUN_INLINE = False
    return best * 1000 / 1000  # 999 body steps and the iterator: the 1,000-step cap


def cluster_throughput(ctx: BenchContext, workspace) -> list[Row]:
    from django_q.tasks import async_task

    from workflows import queue, services
    from workflows.models import WorkflowRun

    chain = [
        {
            "id": f"s{i}",
            "type": "create_record",
            "next": [f"s{i + 1}"] if i + 1 < STEPS else [],
            "settings": {"object": "task", "values": {"title": f"{{{{trigger.n}}}} step {i}"}},
        }
        for i in range(STEPS)
    ]
    graph = {"trigger": {"type": "manual", "settings": {}, "next": ["s0"]}, "steps": chain}
    workflow = services.create_workflow(workspace, "Throughput bench", graph=graph)
    services.publish(workflow)
    version = workflow.active_version

    broker = "Redis" if os.environ.get("REDIS_URL") else "ORM broker"
    worker = start_cluster()
    try:
        rates, memory = [], []
        for target in (WARM_RUNS, TOTAL_RUNS):
            before = WorkflowRun.objects.filter(status="completed").count()
            count = target - before
            start = time.perf_counter()
            for offset in range(0, count, 1000):
                queue.start_runs(
                    version,
                    [{"n": before + offset + i} for i in range(min(1000, count - offset))],
                    "manual",
                )
                async_task("workflows.tasks.drain")
            wait_until(
                lambda target=target: (
                    WorkflowRun.objects.filter(status="completed").count() >= target
                ),
                timeout=1200,
            )
            rates.append(count / (time.perf_counter() - start))
            memory.append(worker_rss_mb(worker.pid))
    finally:
        stop(worker)
    failed = WorkflowRun.objects.exclude(status="completed").count()
    growth = (memory[1] - memory[0]) / memory[0] * 100 if memory[0] else 0
    notes = f"2 workers, {broker}, {STEPS} create_record steps"
    return [
        ctx.row(
            "engine", f"cluster throughput, first {WARM_RUNS:,} runs", rates[0], "runs/s", notes
        ),
        ctx.row(
            "engine",
            f"cluster throughput, next {TOTAL_RUNS - WARM_RUNS:,} runs",
            rates[1],
            "runs/s",
            f"{notes}; {failed} not completed",
        ),
        ctx.row(
            "engine",
            f"worker RSS after {WARM_RUNS:,} runs",
            memory[0],
            "MB",
            "largest worker process",
        ),
        ctx.row(
            "engine",
            f"worker RSS after {TOTAL_RUNS:,} runs",
            memory[1],
            "MB",
            f"growth {growth:+.1f}% (goal < 10%)",
        ),
    ]


def delay_lateness(ctx: BenchContext, workspace) -> list[Row]:
    """Each run parks on a delay of 1.0-2.0 s, then creates a record; the delay's step run
    says when it started and, once resumed, `resumed_at`."""
    from datetime import datetime, timedelta

    from workflows import queue, services
    from workflows.models import StepRun, WorkflowRun

    graph = {
        "trigger": {"type": "manual", "settings": {}, "next": ["wait"]},
        "steps": [
            {
                "id": "wait",
                "type": "delay",
                "next": ["make"],
                "settings": {"duration": {"amount": "{{trigger.seconds}}", "unit": "seconds"}},
            },
            {
                "id": "make",
                "type": "create_record",
                "next": [],
                "settings": {"object": "task", "values": {"title": "delayed {{trigger.n}}"}},
            },
        ],
    }
    workflow = services.create_workflow(workspace, "Delay bench", graph=graph)
    services.publish(workflow)
    version = workflow.active_version
    worker = start_cluster()
    try:
        time.sleep(2)  # the cluster's workers up, as in a running deployment
        start = time.perf_counter()
        for n in range(DELAYED_RUNS):
            queue.start_run(version, {"n": n, "seconds": 1 + (n % 11) / 10}, "manual")
            time.sleep(max(0.0, start + (n + 1) / DELAY_START_RATE - time.perf_counter()))
        runs = WorkflowRun.objects.filter(workflow=workflow)
        wait_until(lambda: runs.filter(status="completed").count() >= DELAYED_RUNS, 120)
    finally:
        stop(worker)
    late = []
    for started, output, payload in StepRun.objects.filter(
        run__workflow=workflow, step_id="wait"
    ).values_list("started_at", "output", "run__trigger_payload"):
        due = started + timedelta(seconds=payload["seconds"])
        late.append((datetime.fromisoformat(output["resumed_at"]) - due).total_seconds())
    late.sort()
    p50, p95 = late[len(late) // 2], late[int(len(late) * 0.95) - 1]
    return [
        ctx.row(
            "engine",
            f"delay lateness, p95 of {len(late)} delays",
            p95 * 1000,
            "ms",
            f"goal < 1000 ms; p50 {p50 * 1000:.0f} ms, max {late[-1] * 1000:.0f} ms;"
            f" 1-2 s delays, {DELAY_START_RATE} starts/s, 2 workers",
        )
    ]


def start_cluster() -> subprocess.Popen:
    env = {**os.environ, "Q_WORKERS": "2"}
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the cluster did not finish the runs in time")
        time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found.append(int(child))
            found += descendants(int(child))
    return found


def worker_rss_mb(cluster_pid: int) -> float:
    """The resident memory of the largest process in the cluster (a worker)."""
    sizes = []
    for pid in descendants(cluster_pid):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except FileNotFoundError:
            continue
    return max(sizes, default=0.0)
