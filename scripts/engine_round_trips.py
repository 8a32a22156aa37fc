"""Counts what one run of bench_engine's 5-step record workflow costs the database: statements
and COMMITs per run, executed by `worker.drain` in this process (no cluster, no timing).

    DEBUG=1 DATABASE_URL=postgres://... .venv/bin/python scripts/engine_round_trips.py [N]

Uses (and adds runs to) the database the environment selects; migrate it first. A COMMIT that
rides on a statement (docs/engine.md, "Fencing") is counted with the statements, not again.
"""

import os
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from crm.models import Workspace  # noqa: E402
from workflows import queue, services, worker  # noqa: E402


def main(runs: int) -> None:
    settings.WORKFLOW_RUN_INLINE = False
    queue.request_drain = lambda: None  # this process drains; no broker
    workspace, _ = Workspace.objects.get_or_create(slug="round-trips", defaults={"name": "RT"})
    chain = [
        {"id": f"s{i}", "type": "create_record", "next": [f"s{i + 1}"] if i < 4 else [],
         "settings": {"object": "task", "values": {"title": f"{{{{trigger.n}}}} step {i}"}}}
        for i in range(5)
    ]  # fmt: skip
    graph = {"trigger": {"type": "manual", "settings": {}, "next": ["s0"]}, "steps": chain}
    workflow = services.create_workflow(workspace, "Round trips", graph=graph)
    services.publish(workflow)
    queue.start_runs(workflow.active_version, [{"n": i} for i in range(3)], "manual")
    worker.drain(owner="warm-up", seconds=None)
    queue.start_runs(workflow.active_version, [{"n": i} for i in range(runs)], "manual")

    statements, commits = Counter(), [0]

    def count(execute, sql, params, many, context):
        shape = re.sub(r"\s+", " ", sql)
        shape = re.sub(r"\(%s(, %s)*\)", "(...)", shape)
        statements[shape[:110]] += 1
        return execute(sql, params, many, context)

    real_commit = connection._commit

    def counted_commit():
        idle = getattr(getattr(connection.connection, "pgconn", None), "transaction_status", 1)
        commits[0] += idle != 0  # psycopg sends nothing on an idle connection
        return real_commit()

    connection._commit = counted_commit
    try:
        with connection.execute_wrapper(count):
            worker.drain(owner="round-trips", seconds=None)
    finally:
        connection._commit = real_commit
    total = sum(statements.values())
    print(f"{connection.vendor}: {total / runs:.1f} statements + {commits[0] / runs:.1f} COMMITs"
          f" = {(total + commits[0]) / runs:.1f} round trips per run")  # fmt: skip
    for shape, n in statements.most_common(20):
        print(f"{n / runs:6.2f}  {shape}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
