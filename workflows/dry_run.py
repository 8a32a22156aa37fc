"""Dry runs: a test run whose record writes are rolled back and whose emails stay unsent.

The whole run executes in one database transaction, so a step sees the writes of the steps
before it (a find after a create finds the record), and that transaction is rolled back at
the end. What the run is for is kept: its step runs, its outbox rows (marked `dry_run`, never
sent) and its outcome are read before the rollback and written after it, in one transaction
fenced like every engine write (a worker that lost the run writes nothing).

Inside the run: HTTP, code and AI steps run (their answers are what a test is for), a delay
is not waited, a form step is answered by its fields' defaults, an email is not sent, and the
record triggers of the rolled-back writes start no run (`runtime.in_dry_run`). Events wait
for the commit, so the rolled-back transaction publishes nothing; the kept step runs and the
outcome are published after the rollback.

Inside the transaction nothing holds the run row (the fence only reads it), so a cancel is
seen at the next step as in any run. On PostgreSQL the lease is renewed on a second
connection when it would run out; SQLite serialises writers, so nobody can take the run over
while its transaction is open, and every other writer waits for it: there a dry run stops
at its first step boundary after `SQLITE_DRY_RUN_SECONDS`, rolled back and failed.
"""

import time
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from . import runtime
from .engine import LeaseLost, RunExecutor, lease_seconds
from .live import events
from .models import OutboxEmail, RunStatus, StepRun, WorkflowRun

# On SQLite the open transaction holds the database's one write lock; other writers give up
# after the 20 s busy timeout, so a dry run must end well before that.
SQLITE_DRY_RUN_SECONDS = 10
SQLITE_TOO_LONG = (
    f"A dry run on SQLite stops after {SQLITE_DRY_RUN_SECONDS} s: it holds the database's write "
    "lock while it runs. Test without dry run, or use PostgreSQL."
)

# What a stored step run's live event carries, as RunExecutor.record publishes it.
EVENT_FIELDS = (
    "status", "input", "output", "sealed_output", "error", "missing", "attempts", "started_at",
    "finished_at", "step_id", "scope", "name", "type", "iteration",
)  # fmt: skip


class DryRunExecutor(RunExecutor):
    """A RunExecutor whose run is rolled back; only its record of what happened is kept."""

    def __init__(self, run: WorkflowRun, owner: str):
        super().__init__(run, owner)
        self.rolling_back = False
        self.outcome: tuple[str, str] = (RunStatus.FAILED, "The dry run stopped early.")
        self.lease_until = run.lease_expires_at
        self.side_connection = None
        self.started = time.monotonic()
        self.too_long = False

    def execute(self) -> str:
        token = runtime.enter_dry_run()
        try:
            with transaction.atomic():
                self.rolling_back = True
                try:
                    outcome = super().execute()
                    if outcome != "lost":
                        steps, emails = self.kept_rows()
                finally:
                    transaction.set_rollback(True)  # whatever happened, nothing commits
        finally:
            self.rolling_back = False
            runtime.leave_dry_run(token)
            self.close_side_connection()
        if outcome == "lost":
            return outcome
        return self.write_kept(steps, emails)

    def run_once(self, step, handler, *args, **kwargs):
        # A failed statement aborts a PostgreSQL transaction: each step gets a savepoint so a
        # step's database error fails that step, as it would outside a transaction.
        return super().run_once(step, InSavepoint(handler), *args, **kwargs)

    # --- inside the transaction ----------------------------------------------------------

    def finish(self, status: str, error: str = "") -> str:
        if not self.rolling_back:
            return super().finish(status, error)
        self.flush()
        if self.too_long and status == RunStatus.CANCELLED:
            status, error = RunStatus.FAILED, SQLITE_TOO_LONG
        self.outcome = (status, error)
        return status

    def park(self, resume_at=None, park=None) -> str:
        if not self.rolling_back:
            return super().park(resume_at, park)
        # Delays and forms do not park a dry run; a retry that would wait does.
        message = "A dry run does not wait" + (
            f" (until {resume_at:%Y-%m-%d %H:%M:%S} UTC)" if resume_at else ""
        )
        self.flush()
        StepRun.objects.filter(run=self.run, status=StepRun.Status.WAITING).update(
            status=StepRun.Status.FAILED, error=message, finished_at=timezone.now()
        )
        return self.finish(RunStatus.FAILED, f"{message}: test without dry run to go on.")

    def fence(self, extra: float = 0) -> None:
        if not self.rolling_back:
            return super().fence(extra)
        # Read, not update: an update would hold the run row until the rollback, so a cancel
        # (and, on PostgreSQL, lease recovery) would wait for the whole run.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT cancel_requested FROM {WorkflowRun._meta.db_table}"
                " WHERE id = %s AND lease_owner = %s AND status = %s",
                [self.run_id_value(connection), self.owner, RunStatus.RUNNING],
            )
            row = cursor.fetchone()
        if row is None:
            raise LeaseLost()
        self.cancel_seen = self.cancel_seen or bool(row[0])
        self.last_flush = time.monotonic()
        if (
            connection.vendor == "sqlite"
            and self.last_flush - self.started > SQLITE_DRY_RUN_SECONDS
        ):
            self.too_long = self.cancel_seen = True  # stops at the next step, like a cancel
        self.keep_lease(extra)

    def keep_lease(self, extra: float) -> None:
        """Renews the lease, committed on a second connection, once less than half of it is
        left beyond what the next step may take (PostgreSQL only, see the module doc)."""
        if connection.vendor != "postgresql":
            return
        now = timezone.now()
        needed = now + timedelta(seconds=extra + lease_seconds() / 2)
        if self.lease_until is not None and self.lease_until >= needed:
            return
        until = now + timedelta(seconds=lease_seconds() + extra)
        side = self.side_connection or connections.create_connection(DEFAULT_DB_ALIAS)
        self.side_connection = side
        with side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {WorkflowRun._meta.db_table} SET lease_expires_at = %s"
                " WHERE id = %s AND lease_owner = %s AND status = %s",
                [
                    side.ops.adapt_datetimefield_value(until),
                    self.run_id_value(side),
                    self.owner,
                    RunStatus.RUNNING,
                ],
            )
            if cursor.rowcount != 1:
                raise LeaseLost()
        self.lease_until = until

    def run_id_value(self, conn):
        return WorkflowRun._meta.pk.get_db_prep_value(self.run.pk, conn)

    def close_side_connection(self) -> None:
        if self.side_connection is not None:
            self.side_connection.close()
            self.side_connection = None

    def kept_rows(self) -> tuple[list[StepRun], list[OutboxEmail]]:
        """What the run leaves after the rollback, as unsaved copies."""
        steps = list(StepRun.objects.filter(run=self.run).order_by("sequence"))
        emails = list(OutboxEmail.objects.filter(run=self.run).order_by("pk"))
        for row in [*steps, *emails]:
            row.pk = None
            row._state.adding = True
        for email in emails:
            email.dry_run = True
        return steps, emails

    # --- after the rollback ----------------------------------------------------------------

    def write_kept(self, steps: list[StepRun], emails: list[OutboxEmail]) -> str:
        """One fenced transaction: the step runs, the outbox rows and the run's outcome."""
        status, error = self.outcome
        self.buffer = steps
        self.buffer_events = [
            events.step_event(self.run, {name: getattr(row, name) for name in EVENT_FIELDS})
            for row in steps
        ]
        try:
            with transaction.atomic():
                self.fence()
                OutboxEmail.objects.bulk_create(emails)
                outcome = super().finish(status, error)
                if outcome == "lost":
                    transaction.set_rollback(True)
                return outcome
        except LeaseLost:
            return "lost"


class InSavepoint:
    """A step handler whose `execute` runs in a savepoint; everything else is the handler's."""

    def __init__(self, handler):
        self.handler = handler

    def __getattr__(self, name):
        return getattr(self.handler, name)

    def execute(self, ctx):
        with transaction.atomic():
            return self.handler.execute(ctx)
