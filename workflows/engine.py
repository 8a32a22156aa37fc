"""The executor: advances one run step after step, persisting each step run (SPEC section 5).

A run is resumable by replay: when a worker (re)starts a run it loads the step runs already
stored and walks the graph again from the trigger; every step whose step run finished is not
executed again, its stored output is used instead. So a run killed at any moment continues from
its first unfinished step, and a `waiting` run resumes the same way when its delay ends or its
form is submitted.

Persistence per step kind:
- record steps (`writes_records`) commit their writes and their `succeeded` step run in one
  transaction: a crash before the commit leaves no trace, so the replay redoes the step once;
- slow steps (HTTP, email, code, form) store a `running` step run first, so it shows while they
  work;
- flow steps have no side effects, so their step runs are buffered and written in batches with
  the next commit (a crash only makes the replay recompute them).
"""

import logging
import time
from collections import ChainMap
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models.sql import InsertQuery
from django.utils import timezone

from crm.activity import acting_as

from . import runtime
from .graph import Graph
from .live import events
from .models import RunStatus, StepRun, WorkflowRun
from .sealed import seal, unseal
from .secrets.masking import WorkspaceSecretValues, masking_logs
from .steps import get_handler
from .steps.base import (
    LimitExceeded,
    NotRetryable,
    Park,
    RetryLater,
    StepContext,
    StepError,
    StepHandler,
    StepResult,
)
from .templating import missing_paths

logger = logging.getLogger(__name__)

MAX_STEPS_PER_RUN = 100_000
FLUSH_EVERY_SECONDS = 0.5
FLUSH_EVERY_ROWS = 500
# A step found `running` this many times had its worker die under it each time (SPEC 5).
MAX_INTERRUPTIONS = 3
# Database errors that say nothing about the run (locked, connection lost): release, go on.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# Retries with a longer backoff than this park the run instead of holding a worker.
INLINE_BACKOFF_SECONDS = 2.0
# Settings a handler reads raw (conditions, code, loop wiring): shown unrendered as input.
RAW_SETTINGS = {"when", "branches", "else_next", "loop", "source", "where"}


class RunParked(Exception):
    def __init__(self, resume_at: datetime | None, park: Park | None = None):
        self.resume_at = resume_at
        self.park = park


class RunFailed(Exception):
    pass


class RunCancelled(Exception):
    pass


class LeaseLost(Exception):
    """Another worker took this run over (our lease had expired): stop quietly."""


@dataclass
class StoredStep:
    """A step run already in the database (or buffered for it), as the replay needs it."""

    pk: int | None
    status: str
    output: object
    attempts: int
    started_at: datetime | None
    sequence: int


@lru_cache(maxsize=512)
def parsed_graph(version_id: int, graph_json: str) -> Graph:
    """Versions with runs never change, so their parsed graph can be shared."""
    import json

    return Graph.parse(json.loads(graph_json))


def graph_for(version) -> Graph:
    import json

    return parsed_graph(version.pk, json.dumps(version.graph, sort_keys=True))


def error_text(error: BaseException) -> str:
    if isinstance(error, StepError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class RunExecutor:
    """Runs one claimed run until it completes, fails, parks or is cancelled."""

    def __init__(self, run: WorkflowRun, owner: str, fresh: bool = False):
        self.run = run
        self.owner = owner
        self.fresh = fresh  # never started: no step runs to load (the claim knows)
        self.graph = graph_for(run.version)
        self.buffer: list[StepRun] = []
        self.buffer_events: list[tuple[str, dict]] = []  # published once `buffer` is stored
        self.stored: dict[tuple[str, str], StoredStep] = {}
        # Per (step id, scope): template paths of its settings that resolved to nothing.
        self.missing: dict[tuple[str, str], list[str]] = {}
        self.sequence = 0
        self.steps_executed = 0
        # Every secret of the workspace, masked in all the run stores and logs (SPEC 4).
        self.secret_values = WorkspaceSecretValues(run.workspace)
        self.last_flush = time.monotonic()
        self.cancel_seen = False  # read by every fence: acted on at the next step boundary
        self.last_statement = False  # see run_once and flush

    # --- the walk ------------------------------------------------------------------------

    def execute(self) -> str:
        self.load_stored_steps()
        self.base_data = self.make_base_data()
        try:
            try:
                self.run_scope(None, "", {})
            except RunParked as parked:
                return self.park(parked.resume_at, parked.park)
            except RunFailed as failed:
                return self.finish(RunStatus.FAILED, str(failed))
            except RunCancelled:
                return self.finish(RunStatus.CANCELLED, "Cancelled.")
            return self.finish(RunStatus.COMPLETED)
        except LeaseLost:
            logger.warning("Run %s was taken over by another worker", self.run.pk)
            return "lost"

    def run_scope(self, iterator: str | None, scope: str, steps_data) -> object:
        """Runs the steps of one scope (the top level, or one item of a loop body).

        Dead-path elimination gives merges their meaning: a step runs once every step that
        leads to it has finished or was skipped, and only if at least one of them chose it.
        Returns the output of the last step that ran (an iterator item's result).
        """
        graph = self.graph
        members = set(graph.scope_steps(iterator))
        entry = graph.entry if iterator is None else graph.loop_body_entry(iterator)
        waiting_on = {step_id: 0 for step_id in members}
        for step_id in members:
            for target in graph.successors(step_id):
                if target in waiting_on:
                    waiting_on[target] += 1
        chosen = set(entry)
        stack = [s for s in reversed(entry) if s in members and waiting_on[s] == 0]
        last_output = None
        while stack:
            step_id = stack.pop()
            taken: list[str] = []
            if step_id in chosen:
                taken, last_output = self.run_step(graph.steps[step_id], scope, steps_data)
            ready = []
            for target in graph.successors(step_id):
                if target not in waiting_on:
                    continue
                if target in taken:
                    chosen.add(target)
                waiting_on[target] -= 1
                if waiting_on[target] == 0:
                    ready.append(target)
            stack.extend(reversed(ready))
        return last_output

    def run_step(self, step: dict, scope: str, steps_data) -> tuple[list[str], object]:
        step_id = step["id"]
        handler = get_handler(step.get("type"))
        self.steps_executed += 1
        if self.steps_executed > MAX_STEPS_PER_RUN:
            self.record_failure(
                step,
                scope,
                None,
                1,
                timezone.now(),
                f"A run executes at most {MAX_STEPS_PER_RUN:,} steps.",
            )
            raise RunFailed(f"Step '{step_id}': the run went over {MAX_STEPS_PER_RUN:,} steps.")
        stored = self.stored.get((step_id, scope))
        if stored and stored.status in (
            StepRun.Status.SUCCEEDED,
            StepRun.Status.SKIPPED,
            StepRun.Status.FAILED,
        ):
            steps_data[step_id] = stored.output
            return handler.next_steps(step, stored.output), stored.output
        if getattr(handler, "loops", False):
            output = self.run_iterator(step, handler, scope, steps_data)
        else:
            output = self.run_attempts(step, handler, scope, steps_data, stored)
        if isinstance(output, StepResult):
            next_ids = (
                output.next if output.next is not None else handler.next_steps(step, output.output)
            )
            output = output.output
        else:
            next_ids = handler.next_steps(step, output)
        steps_data[step_id] = output
        self.maybe_flush()
        self.raise_if_cancelled()
        return next_ids, output

    def run_iterator(self, step, handler, scope, steps_data):
        """The body once per item. The iterator's `on_error` covers its own failure (items
        that are not a list, too many) and, with `continue`, a body that failed the run."""
        on_error = step.get("on_error") or {}
        retries = int(on_error.get("retry", 0) or 0)
        started, attempt = timezone.now(), 1
        while True:
            ctx = self.context(step, scope, steps_data, attempt, started)
            try:
                items = handler.items(ctx)
                break
            except StepError as error:
                if attempt <= retries and not isinstance(error, LimitExceeded):
                    attempt += 1
                    continue
                return self.iterator_failed(step, scope, attempt, started, error_text(error))
        results = []
        try:
            for index, item in enumerate(items):
                inner = ChainMap({step["id"]: {"item": item, "index": index}}, steps_data)
                child_scope = f"{scope}.{index}" if scope else str(index)
                results.append(self.run_scope(step["id"], child_scope, inner))
        except RunFailed as failed:
            if not on_error.get("continue"):
                raise
            return self.iterator_failed(step, scope, attempt, started, str(failed))
        output = {"count": len(items), "results": results}
        self.record(
            step,
            scope,
            StepRun.Status.SUCCEEDED,
            {"items": len(items)},
            output,
            attempts=attempt,
            started_at=started,
            buffered=True,
        )
        return output

    def iterator_failed(self, step, scope, attempt, started, message):
        if not (step.get("on_error") or {}).get("continue"):
            self.record_failure(step, scope, None, attempt, started, message)
            raise RunFailed(f"Step '{step['id']}': {message}")
        output = {"error": message}
        self.record(
            step, scope, StepRun.Status.FAILED, None, output,
            attempts=attempt, started_at=started, error=message,
        )  # fmt: skip
        return StepResult(output, next=list(step.get("next") or []))

    def run_attempts(self, step, handler: StepHandler, scope, steps_data, stored):
        on_error = step.get("on_error") or {}
        retries = int(on_error.get("retry", 0) or 0)
        backoff = float(on_error.get("backoff_s", 0) or 0)
        attempt, started = self.attempt_to_run(stored)
        interrupted = self.interruptions(stored)
        if interrupted >= MAX_INTERRUPTIONS:
            message = (
                f"The worker running this step stopped {interrupted} times while it ran (killed"
                " or crashed); the run fails instead of trying again."
            )
            self.record_failure(step, scope, None, attempt - 1, started, message)
            raise RunFailed(f"Step '{step['id']}' failed: {message}")
        while True:
            ctx = self.context(step, scope, steps_data, attempt, started)
            step_input = None
            try:
                step_input = self.display_input(step, ctx)
                result = self.run_once(step, handler, ctx, scope, step_input, interrupted)
                return result
            except Park as park:
                self.record(
                    step,
                    scope,
                    StepRun.Status.WAITING,
                    step_input,
                    park.output,
                    attempts=attempt,
                    started_at=started,
                    finished=False,
                )
                raise RunParked(park.resume_at, park) from None
            except (RunCancelled, LeaseLost, RunParked, RunFailed, *TRANSIENT_DB_ERRORS):
                raise
            except Exception as error:  # noqa: BLE001 - every step failure is shown on the step
                message = error_text(error)
                if not isinstance(error, StepError):
                    logger.exception("Step %s of run %s crashed", step["id"], self.run.pk)
                if attempt <= retries and not isinstance(
                    error, LimitExceeded | NotRetryable | IntegrityError
                ):
                    delay = backoff * (2 ** (attempt - 1))
                    if isinstance(error, RetryLater) and error.retry_after:
                        delay = max(delay, error.retry_after)  # the server's Retry-After
                    if delay > INLINE_BACKOFF_SECONDS:
                        self.record(
                            step,
                            scope,
                            StepRun.Status.WAITING,
                            step_input,
                            {"retry_at": (timezone.now() + timedelta(seconds=delay)).isoformat()},
                            attempts=attempt,
                            started_at=started,
                            error=message,
                            finished=False,
                        )
                        raise RunParked(timezone.now() + timedelta(seconds=delay)) from None
                    time.sleep(delay)
                    attempt += 1
                    continue
                if on_error.get("continue"):
                    output = {"error": message}
                    self.record(
                        step,
                        scope,
                        StepRun.Status.FAILED,
                        step_input,
                        output,
                        attempts=attempt,
                        started_at=started,
                        error=message,
                    )
                    return StepResult(output, next=list(step.get("next") or []))
                self.record_failure(step, scope, step_input, attempt, started, message)
                raise RunFailed(f"Step '{step['id']}' failed: {message}") from None

    def attempt_to_run(self, stored: StoredStep | None) -> tuple[int, datetime]:
        """The attempt number and start time of a step about to run.

        A step found `waiting` is being resumed (same attempt, unless a retry was parked); one
        found `running` was interrupted by a crash, so this is a new attempt.
        """
        if stored is None:
            return 1, timezone.now()
        started = stored.started_at or timezone.now()
        if stored.status == StepRun.Status.WAITING and not (
            isinstance(stored.output, dict) and "retry_at" in stored.output
        ):
            return stored.attempts, started
        return stored.attempts + 1, started

    @staticmethod
    def interruptions(stored: StoredStep | None) -> int:
        """How many times a worker died while this step ran: its `running` row counts them."""
        if stored is None or stored.status != StepRun.Status.RUNNING:
            return 0
        output = stored.output if isinstance(stored.output, dict) else {}
        return int(output.get("interrupted", 0) or 0) + 1

    def run_once(self, step, handler, ctx: StepContext, scope, step_input, interrupted=0):
        token = runtime.enter_step(
            runtime.RunningStep(str(self.run.pk), self.run.depth, step["id"])
        )
        try:
            if handler.slow:
                self.record(
                    step,
                    scope,
                    StepRun.Status.RUNNING,
                    step_input,
                    {"interrupted": interrupted} if interrupted else None,
                    attempts=ctx.attempt,
                    started_at=ctx.started_at,
                    finished=False,
                )
                self.renew_lease(
                    extra=float(ctx.settings.get("timeout_s") or 0)
                    + float(ctx.settings.get("timeout_ms") or 0) / 1000
                )
            if handler.writes_records:
                with transaction.atomic():
                    result = handler.execute(ctx)
                    self.last_statement = True  # the step run's insert ends this transaction
                    try:
                        self.record_result(step, scope, step_input, result, ctx)
                    finally:
                        self.last_statement = False
            else:
                result = handler.execute(ctx)
                self.record_result(step, scope, step_input, result, ctx, buffered=not handler.slow)
        finally:
            runtime.leave_step(token)
        return result

    def record_result(self, step, scope, step_input, result, ctx, buffered=False):
        output = result.output if isinstance(result, StepResult) else result
        notices = runtime.current_step().notices if runtime.current_step() else []
        if notices and isinstance(output, dict):
            output = {**output, "notices": notices}
            if isinstance(result, StepResult):
                result.output = output
        status = (
            StepRun.Status.SKIPPED
            if isinstance(result, StepResult) and result.skipped
            else StepRun.Status.SUCCEEDED
        )
        self.record(
            step,
            scope,
            status,
            step_input,
            output,
            attempts=ctx.attempt,
            started_at=ctx.started_at,
            buffered=buffered,
        )

    def record_failure(self, step, scope, step_input, attempts, started, message):
        self.record(
            step,
            scope,
            StepRun.Status.FAILED,
            step_input,
            None,
            attempts=attempts,
            started_at=started,
            error=message,
        )

    # --- data the steps see ----------------------------------------------------------------

    def make_base_data(self) -> dict:
        from .secrets import SecretsView

        run = self.run
        return {
            "trigger": run.trigger_payload or {},
            "run": {
                "id": str(run.pk),
                "started_at": (run.started_at or timezone.now()).isoformat(),
            },
            "workspace": {"name": run.workspace.name, "slug": run.workspace.slug},
            "secrets": SecretsView(run.workspace, used=self.secret_values),
            "now": timezone.now().isoformat(),
        }

    def context(self, step, scope, steps_data, attempt, started) -> StepContext:
        data = {**self.base_data, "steps": steps_data, "now": timezone.now().isoformat()}
        return StepContext(
            run=self.run,
            workspace=self.run.workspace,
            step=step,
            data=data,
            scope=scope,
            attempt=attempt,
            started_at=started,
            secret_values=self.secret_values,
        )

    def display_input(self, step, ctx: StepContext):
        """The step's settings as resolved; notes the paths that resolved to nothing."""
        settings_ = step.get("settings") or {}
        rendered = {k: v for k, v in settings_.items() if k not in RAW_SETTINGS}
        self.missing[(step["id"], ctx.scope)] = missing_paths(rendered, ctx.data)
        return ctx.resolve(rendered) | {k: v for k, v in settings_.items() if k in RAW_SETTINGS}

    # --- persistence ------------------------------------------------------------------------

    def load_stored_steps(self) -> None:
        if self.fresh:
            return
        rows = StepRun.objects.filter(run=self.run).values_list(
            "pk", "step_id", "scope", "status", "output", "attempts", "started_at", "sequence",
            "sealed_output",
        )  # fmt: skip
        for pk, step_id, scope, status, output, attempts, started_at, sequence, sealed in rows:
            if sealed:  # the real values, where `output` shows ***
                output = unseal(sealed, fallback=output)
            self.stored[(step_id, scope)] = StoredStep(
                pk, status, output, attempts, started_at, sequence
            )
            self.sequence = max(self.sequence, sequence)

    def record(
        self,
        step,
        scope,
        status,
        step_input,
        output,
        *,
        attempts,
        started_at,
        error="",
        finished=True,
        buffered=False,
    ) -> None:
        from .secrets import mask

        key = (step["id"], scope)
        existing = self.stored.get(key)
        now = timezone.now()
        masked_output = mask(output, self.secret_values)
        values = {
            "status": status,
            "input": mask(step_input, self.secret_values),
            "output": masked_output,
            "sealed_output": seal(output) if masked_output != output else "",
            "error": mask(error, self.secret_values) if error else "",
            "missing": self.missing.get(key, []),
            "attempts": attempts,
            "started_at": started_at,
            "finished_at": now if finished else None,
        }
        live = events.step_event(
            self.run,
            {**values, "step_id": step["id"], "scope": scope, "name": step.get("name") or "",
             "type": step.get("type") or "",
             "iteration": int(scope.rsplit(".", 1)[-1]) if scope else None},
        )  # fmt: skip
        if existing is not None and existing.pk is not None:
            with transaction.atomic(savepoint=False):
                self.flush()  # fences this write, and stores buffered rows before it
                StepRun.objects.filter(pk=existing.pk).update(**values)
            existing.status, existing.output, existing.attempts = status, output, attempts
            self.publish_step(live, buffered=False)
            return
        self.sequence += 1
        row = StepRun(
            run=self.run,
            step_id=step["id"],
            scope=scope,
            name=step.get("name") or "",
            type=step.get("type") or "",
            sequence=self.sequence,
            iteration=int(scope.rsplit(".", 1)[-1]) if scope else None,
            **values,
        )
        self.stored[key] = StoredStep(None, status, output, attempts, started_at, self.sequence)
        self.buffer.append(row)
        self.publish_step(live, buffered=True)
        if not buffered:
            self.flush(last_statement=self.last_statement)
            self.stored[key].pk = row.pk

    def publish_step(self, live, buffered: bool) -> None:
        """Step events leave after the step run is stored: buffered rows with their flush."""
        if buffered or self.buffer_events:
            self.buffer_events.append(live)
        else:
            events.publish(*live)

    def flush(self, last_statement: bool = False) -> None:
        """Stores the buffered step runs in one fenced transaction (every write of the
        executor goes through here, or is inside a transaction that does).

        `last_statement`: the caller's transaction ends with this insert, so on PostgreSQL it
        may carry the COMMIT (see fenced_insert)."""
        rows, self.buffer = self.buffer, []
        published, self.buffer_events = self.buffer_events, []
        outermost = not connection.in_atomic_block
        try:
            with transaction.atomic(savepoint=False):
                # A subclass with a fence of its own (dry runs) keeps it.
                if rows and connection.vendor == "postgresql" and self.fence_is_standard():
                    # Only when the transaction is ours alone: this one, or the record
                    # step's directly around it (not a test's or a caller's).
                    ours = outermost or (
                        last_statement
                        and len(connection.atomic_blocks) == 2
                        and not any(connection.savepoint_ids)
                    )
                    # Server-side binding (an opt-in OPTION) allows one statement per query.
                    client_side = not connection.settings_dict["OPTIONS"].get("server_side_binding")
                    self.fenced_insert(rows, commit=ours and client_side)
                else:
                    self.fence()
                    if rows:
                        StepRun.objects.bulk_create(rows)
                events.publish_many(published)
        except IntegrityError as error:
            if getattr(error, "at_commit", False):
                raise  # the transaction's own deferred check failed: the step's error
            # Another worker already stored these steps: it owns the run now.
            raise LeaseLost() from error
        for row in rows:
            stored = self.stored.get((row.step_id, row.scope))
            if stored is not None and stored.pk is None:
                stored.pk = row.pk
        self.last_flush = time.monotonic()

    def maybe_flush(self) -> None:
        """Flow steps only buffer; this timer also bounds how long a cancel or a lost lease
        goes unseen in a run of flow steps (record and slow steps fence at once)."""
        now = time.monotonic()
        if len(self.buffer) >= FLUSH_EVERY_ROWS or now - self.last_flush > FLUSH_EVERY_SECONDS:
            self.flush()

    def fence(self, extra: float = 0) -> None:
        """Renews our lease inside the current transaction, or raises LeaseLost so that the
        transaction commits nothing (SPEC 5: a worker that lost its run commits nothing more).

        The same statement reads `cancel_requested` (RETURNING, PostgreSQL and SQLite >= 3.35):
        seeing a cancel after every record step then costs no extra query (bench: record
        steps/s).
        """
        sql, params = self.fence_sql(extra)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            raise LeaseLost()
        self.cancel_seen = self.cancel_seen or bool(row[0])
        self.last_flush = time.monotonic()

    def fence_is_standard(self) -> bool:
        return type(self).fence is RunExecutor.fence

    def fence_sql(self, extra: float = 0) -> tuple[str, list]:
        meta = WorkflowRun._meta
        expires = timezone.now() + timedelta(seconds=lease_seconds() + extra)
        return (
            f"UPDATE {meta.db_table} SET lease_expires_at = %s"
            " WHERE id = %s AND lease_owner = %s AND status = %s RETURNING cancel_requested",
            [
                connection.ops.adapt_datetimefield_value(expires),
                meta.pk.get_db_prep_value(self.run.pk, connection),
                self.owner,
                RunStatus.RUNNING,
            ],
        )

    def fenced_insert(self, rows: list[StepRun], commit: bool = False) -> None:
        """PostgreSQL: the buffered step runs and the fence in one statement, the fence as a
        data-modifying CTE whose `cancel_requested` comes back with each inserted id. Buys
        one round trip per record step (bench: cluster throughput); same guarantee as
        fence(): when the fence matches nothing, `1 / count` fails the statement, so the
        transaction commits nothing.

        `commit`: the insert is the last statement of a transaction that is ours alone, so
        the COMMIT goes in the same query string (simple protocol, client-side binding) and
        Django's commit at the end of the atomic block finds nothing left to do (psycopg
        skips COMMIT on an idle connection). Buys the commit's round trip of every record
        step. The commit is exactly as durable; if it fails, the error surfaces here, inside
        the block, and rolls it back as before."""
        fields = [f for f in StepRun._meta.concrete_fields if f is not StepRun._meta.pk]
        query = InsertQuery(StepRun)
        query.insert_values(fields, rows)
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [StepRun._meta.pk]
        [(insert_sql, insert_params)] = compiler.as_sql()
        fence_sql, fence_params = self.fence_sql()
        sql = (
            f"WITH fence AS ({fence_sql}) {insert_sql}, (SELECT cancel_requested FROM fence),"
            " 1 / (SELECT count(*) FROM fence)" + ("; COMMIT" if commit else "")
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, [*fence_params, *insert_params])
                returned = cursor.fetchall()
        except DataError as error:
            if getattr(error.__cause__, "sqlstate", None) == "22012":  # the 1 / count
                raise LeaseLost() from error
            raise
        except IntegrityError as error:
            if commit and getattr(error.__cause__, "sqlstate", None) != "23505":
                error.at_commit = True  # a deferred foreign key of the step's writes
            raise
        if len(returned) != len(rows) or returned[0][1] is None:
            raise LeaseLost()
        for row, (pk, *_) in zip(rows, returned, strict=True):
            row.pk = pk
            row._state.adding, row._state.db = False, connection.alias
        self.cancel_seen = self.cancel_seen or bool(returned[0][1])
        self.last_flush = time.monotonic()

    def renew_lease(self, extra: float = 0) -> None:
        self.fence(extra)

    def raise_if_cancelled(self) -> None:
        if self.cancel_seen:
            raise RunCancelled()

    def finish(self, status: str, error: str = "") -> str:
        """Ends the run. The UPDATE of the run row is the fence (same conditions, and it reads
        `cancel_requested`): one statement where a fence and an update were (bench)."""
        try:
            with transaction.atomic():
                if self.buffer or self.buffer_events:
                    self.flush()  # buffered flow-step rows, fenced
                cancelled = self.finish_row(status, error)
                if status == RunStatus.COMPLETED and cancelled:
                    # Asked during the last step: the run ends cancelled, as after any step.
                    status, error = RunStatus.CANCELLED, "Cancelled."
                    self.finish_row(status, error)
                events.publish_many(events.run_events(self.run, status=status, waiting_for=""))
        except LeaseLost:
            return "lost"
        if status == RunStatus.CANCELLED:
            cancel_pending_forms(self.run)
        self.run.status = status
        return status

    def finish_row(self, status: str, error: str) -> bool:
        """Sets the run's final status if we still hold it (else LeaseLost); returns whether
        a cancel was asked."""
        from .secrets import mask

        self.run.error = mask(error, self.secret_values)
        meta = WorkflowRun._meta
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {meta.db_table} SET status = %s, finished_at = %s, error = %s,"
                " lease_owner = '', lease_expires_at = NULL, resume_at = NULL, waiting_for = ''"
                " WHERE id = %s AND lease_owner = %s AND status = %s RETURNING cancel_requested",
                [
                    status,
                    connection.ops.adapt_datetimefield_value(timezone.now()),
                    self.run.error,
                    meta.pk.get_db_prep_value(self.run.pk, connection),
                    self.owner,
                    RunStatus.RUNNING,
                ],
            )
            row = cursor.fetchone()
        if row is None:
            raise LeaseLost()
        return bool(row[0])

    def park(self, resume_at: datetime | None, park: Park | None = None) -> str:
        waiting_for = (park.waiting_for if park else "") or (
            f"delay until {resume_at:%Y-%m-%d %H:%M:%S} UTC" if resume_at else ""
        )
        with transaction.atomic():
            self.flush()  # the fence: our lease holds, and the run row is ours until commit
            if not self.cancel_seen:
                status = self.park_row(resume_at, park, waiting_for)
        if self.cancel_seen:  # asked while the step ran: no wait, no form left in the inbox
            return self.finish(RunStatus.CANCELLED, "Cancelled.")
        self.run.status = status
        if status == RunStatus.WAITING and resume_at is not None:
            from .queue import schedule_resume

            schedule_resume(resume_at)
        return RunStatus.WAITING

    def park_row(self, resume_at, park: Park | None, waiting_for: str) -> str:
        WorkflowRun.objects.filter(pk=self.run.pk, lease_owner=self.owner).update(
            status=RunStatus.WAITING,
            resume_at=resume_at,
            lease_owner="",
            lease_expires_at=None,
            waiting_for=waiting_for[:400],
        )
        # Asked after the run row is taken, so a submission either committed before (seen
        # here) or waits for this commit and then finds the run `waiting` (review 1.3).
        if park is not None and park.ready is not None and park.ready():
            from .queue import resume_run

            resume_run(self.run)
            return RunStatus.QUEUED
        events.publish_many(
            events.run_events(self.run, status=RunStatus.WAITING, waiting_for=waiting_for)
        )
        return RunStatus.WAITING


def lease_seconds() -> int:
    return settings.WORKFLOW_RUN_LEASE_SECONDS


def cancel_pending_forms(run: WorkflowRun) -> None:
    from .forms import close_pending_forms

    close_pending_forms(run)


def execute_claimed_run(run_id, owner: str, fresh: bool = False) -> str:
    """Executes a run this worker has claimed (status `running`, lease held by `owner`);
    `fresh`: the claim saw it never started, so it has no step runs yet."""
    run = (
        WorkflowRun.objects.select_related("version", "workspace", "workflow")
        .filter(pk=run_id, status=RunStatus.RUNNING, lease_owner=owner)
        .first()
    )
    if run is None:
        return "lost"
    if run.cancel_requested:
        return RunExecutor(run, owner).finish(RunStatus.CANCELLED, "Cancelled.")
    executor = executor_for(run, owner, fresh)
    try:
        # Record timelines name the workflow as who made the run's writes.
        with masking_logs(executor.secret_values), acting_as(f"workflow: {run.workflow.name}"):
            return executor.execute()
    except TRANSIENT_DB_ERRORS:
        logger.warning("Run %s: database error, released to the queue", run_id, exc_info=True)
        release_run(run_id, owner)
        return "released"
    except Exception as error:  # noqa: BLE001 - the worker must survive any run
        with masking_logs(executor.secret_values):
            logger.exception("Run %s crashed the executor", run_id)
        WorkflowRun.objects.filter(pk=run_id, lease_owner=owner).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=f"Internal error: {type(error).__name__}",
            lease_owner="",
            lease_expires_at=None,
        )
        return RunStatus.FAILED


def executor_for(run: WorkflowRun, owner: str, fresh: bool = False) -> RunExecutor:
    if run.dry_run:
        from .dry_run import DryRunExecutor  # it extends this module's RunExecutor

        return DryRunExecutor(run, owner)
    return RunExecutor(run, owner, fresh=fresh)


def release_run(run_id, owner: str) -> None:
    """Back to the queue after a transient database error; it continues by replay. When the
    database is still away, the lease expires and recovery does the same."""
    from .queue import kick

    try:
        if not connection.in_atomic_block:
            connection.close()  # a lost connection is reopened by the next query
        WorkflowRun.objects.filter(pk=run_id, lease_owner=owner).update(
            status=RunStatus.QUEUED, lease_owner="", lease_expires_at=None
        )
        kick()
    except TRANSIENT_DB_ERRORS:
        logger.warning("Run %s stays leased until its lease expires", run_id)
