"""How fast records are written: the raw ORM (this machine's limit), the REST API, and CSV
import and export (SPEC section 7). Goal: the API reaches at least a fifth of the ORM rate."""

from bench.harness import BenchContext, Row, measure_rates_interleaved, timed

IMPORT_ROWS = 10_000


def run(ctx: BenchContext) -> list[Row]:
    from crm.models import ApiKey, Workspace

    workspace = Workspace.objects.create(slug="bench", name="Bench")
    _, key = ApiKey.issue(workspace)
    # Interleaved, so the ratio holds even when other processes load the machine.
    rates = measure_rates_interleaved(
        {"orm": orm_create(workspace), "api": api_create(key)}, ctx.seconds * 2
    )
    orm, api = rates["orm"].per_second, rates["api"].per_second
    imported, import_seconds = csv_import(workspace)
    exported, export_seconds = csv_export(workspace)
    return [
        ctx.row("records", "ORM Person.objects.create", orm, "records/s", "autocommit, 1 row/txn"),
        ctx.row(
            "records",
            "API POST /api/v1/people/",
            api,
            "records/s",
            f"API/ORM = {api / orm:.2f}; in-process DRF APIClient, Bearer key, all middleware",
        ),
        ctx.row(
            "records",
            f"CSV import, {IMPORT_ROWS:,} people",
            imported / import_seconds,
            "rows/s",
            f"{import_seconds:.2f} s; import_csv(): serializer per row, bulk_create",
        ),
        ctx.row(
            "records",
            f"CSV export, {exported:,} people",
            exported / export_seconds,
            "rows/s",
            f"{export_seconds:.2f} s; export_csv() streamed",
        ),
    ]


def orm_create(workspace):
    """Person.objects.create: this machine's raw limit for one record per transaction."""
    from crm.models import Person

    def create(index: int) -> None:
        Person.objects.create(
            workspace=workspace, first_name=f"Orm {index}", email=f"orm{index}@example.com"
        )

    return create


def api_create(key: str):
    """POST /api/v1/people/ through the whole stack (middleware, DRF, the record service),
    in-process with DRF's APIClient: no socket, so this is the API's own cost."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    def create(index: int) -> None:
        body = {"first_name": f"Api {index}", "email": f"api{index}@example.com"}
        response = client.post("/api/v1/people/", body, format="json")
        if response.status_code != 201:
            raise RuntimeError(f"POST answered {response.status_code}: {response.content[:200]}")

    return create


def csv_import(workspace) -> tuple[int, float]:
    from crm.csv_io import import_csv
    from crm.objects import OBJECTS

    lines = ["first_name,last_name,email,city,tags"]
    lines += [f'Csv,{i},csv{i}@example.com,Lyon,"a, b"' for i in range(IMPORT_ROWS)]
    text = "\n".join(lines) + "\n"
    result, seconds = timed(lambda: import_csv(OBJECTS["person"], workspace, text))
    if result.created != IMPORT_ROWS:
        raise RuntimeError(f"import created {result.created}: {result.errors[:3]}")
    return result.created, seconds


def csv_export(workspace) -> tuple[int, float]:
    from crm.csv_io import export_csv
    from crm.objects import OBJECTS

    person = OBJECTS["person"]
    lines, seconds = timed(lambda: list(export_csv(person, person.queryset(workspace), workspace)))
    return len(lines) - 1, seconds
