"""CSV export and import of record objects (SPEC section 7).

Export writes every field of the API shape, one record per row, relations as ids followed by
their `<relation>_name`. Import reads the same format: each row is validated by the object's
serialiser exactly like an API create (`records.validate_new_record`), and the valid rows are
inserted in batches. Columns that only describe a record (`id`, `created_at`, `updated_at`,
`created_by` and the `*_name` columns) are accepted and ignored, so an export can be imported
again, into any workspace.

With `match` (`id`, or a field the object names in `match_fields`, e.g. `email` of people), a
row whose key matches a record of the workspace updates that record instead of creating a new
one: its non-empty cells replace the fields' values, empty cells leave them as they are.
"""

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.db import transaction
from django.db.models.functions import Lower
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from . import activity
from .ids import parse_uuid
from .objects import RecordObject
from .records import new_record, save_many_relations, update_record, validate_new_record
from .signals_control import records_bulk_created, triggers_suppressed

MAX_IMPORT_BYTES = 50 * 1024 * 1024
# Rows validated before each INSERT batch: large enough for bulk speed, small enough that one
# batch holds SQLite's write lock only briefly.
BATCH_SIZE = 500

ProgressCallback = Callable[[int, int], None]


class CsvFormatError(ValueError):
    """The file as a whole cannot be imported (not UTF-8, no header, unknown columns...).
    Nothing was created. The message is meant for the person who sent the file."""


class CsvTooLarge(CsvFormatError):
    pass


@dataclass
class ImportResult:
    """`errors` lists each rejected row as {"row": n, "errors": {field: [messages]}}, where n is
    the row as a spreadsheet numbers it (the header is row 1)."""

    created: int = 0
    updated: int = 0
    total: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "errors": self.errors,
            "total": self.total,
        }


# --- Export ---------------------------------------------------------------------------------


def export_columns(obj: RecordObject) -> list[str]:
    """Every field of the API shape, each relation followed by its `<relation>_name`."""
    named = {*obj.serializer.relations, *obj.serializer.users, *obj.serializer.many, "created_by"}
    columns = []
    for name in obj.field_names:
        columns.append(name)
        if name in named:
            columns.append(f"{name}_name")
    return columns


def export_csv(obj: RecordObject, queryset, workspace) -> Iterator[str]:
    """Yields the CSV text of `queryset`, header first, a chunk per row: made for a
    StreamingHttpResponse, so a large export never sits in memory."""
    columns = export_columns(obj)
    buffer = _LineBuffer()
    writer = csv.writer(buffer)
    yield writer.writerow(columns)
    serializer = obj.serializer(context={"workspace": workspace})
    for instance in queryset.iterator(chunk_size=1000):
        data = serializer.to_representation(instance)
        yield writer.writerow([_cell(data.get(column)) for column in columns])


class _LineBuffer:
    """A file whose write() returns what it was given, so csv.writer can feed a generator."""

    def write(self, value: str) -> str:
        return value


# A cell a spreadsheet would run as a formula starts with one of these (SPEC section 7); it is
# written as text with a leading ' (which spreadsheets hide), and the import takes it off. A
# value that itself starts with ' gets one more, so every text round-trips exactly.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # tags, which import splits on commas again
        return _as_text(", ".join(str(item) for item in value))
    if isinstance(value, dict):  # custom
        return json.dumps(value, ensure_ascii=False) if value else ""
    if isinstance(value, str):
        return _as_text(value)
    return str(value)  # numbers, dates: a spreadsheet reads them as values, never formulas


def _as_text(text: str) -> str:
    return TEXT_MARK + text if text.startswith((*FORMULA_STARTS, TEXT_MARK)) else text


def safe_cell(text: str) -> str:
    """Text as a spreadsheet should show it, never run it as a formula (for other reports)."""
    return _as_text(text)


def _from_text(cell: str) -> str:
    """The value `_as_text` wrote: a leading ' before a formula start (or another ') goes."""
    if cell.startswith(TEXT_MARK) and cell[1:].startswith((*FORMULA_STARTS, TEXT_MARK)):
        return cell[1:]
    return cell


# --- Import ---------------------------------------------------------------------------------


def import_csv(
    obj: RecordObject,
    workspace,
    file: IO | bytes | str,
    user=None,
    fire_triggers: bool = True,
    progress: ProgressCallback | None = None,
    match: str | None = None,
) -> ImportResult:
    """Creates a record of `obj` for every valid row of the CSV `file` (bytes, text or a file
    opened in either mode) and reports every invalid row; nothing is silently dropped.

    Raises CsvFormatError, before creating anything, when the file cannot be read as a CSV of
    this object. `progress(done, total)` is called after each batch. With
    `fire_triggers=False` the import runs inside `triggers_suppressed()`. With `match`, rows
    matching an existing record update it (see the module docstring).
    """
    check_match(obj, match)
    text = _decode(_read(file))
    header, rows = _parse(text)
    columns = _check_header(obj, header)
    matcher = _Matcher(obj, workspace, match, header) if match else None
    if fire_triggers:
        return _import_rows(obj, workspace, columns, rows, user, progress, matcher)
    with triggers_suppressed():
        return _import_rows(obj, workspace, columns, rows, user, progress, matcher)


@dataclass
class CsvPreview:
    """What an import page shows before importing: each column with the field it sets (None
    for a column that is ignored), the first rows, and how many rows the file holds."""

    header: list[str]
    fields: list[str | None]
    rows: list[list[str]]
    total: int


def preview_csv(obj: RecordObject, file: IO | bytes | str, sample: int = 5) -> CsvPreview:
    """Reads the whole file as `import_csv` would, without importing anything; raises the same
    CsvFormatError for a file it would refuse."""
    header, rows = _parse(_decode(_read(file)))
    columns = _check_header(obj, header)
    return CsvPreview(
        header=[cell.strip() for cell in header],
        fields=[column or None for column in columns],
        rows=[cells for _, cells in rows[:sample]],
        total=len(rows),
    )


def original_rows(file: IO | bytes | str, numbers: set[int]) -> dict[int, list[str]]:
    """The cells of the given rows (numbered as `ImportResult.errors` numbers them), for an
    error report that shows each rejected row as the file had it."""
    _, rows = _parse(_decode(_read(file)))
    return {number: cells for number, cells in rows if number in numbers}


def check_match(obj: RecordObject, match: str | None) -> None:
    if match and match not in obj.match_fields:
        raise CsvFormatError(
            f"A {obj.name} import can match on {' or '.join(obj.match_fields)}, not '{match}'."
        )


def _read(file) -> bytes | str:
    if isinstance(file, bytes | str):
        content = file
    else:
        content = file.read(MAX_IMPORT_BYTES + 1)
    if len(content) > MAX_IMPORT_BYTES:
        raise CsvTooLarge(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
    return content


def _decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CsvFormatError(
            f"The file is not UTF-8 text (invalid byte at position {error.start}). "
            "Save it as 'CSV UTF-8' and import it again."
        ) from error


def _parse(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows, each with its row number (header = row 1)."""
    # strict: an unclosed quote is an error, not a cell that swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            if header is None:
                if any(cell.strip() for cell in cells):
                    header = cells
                    header_row = number
                continue
            if any(cell.strip() for cell in cells):  # a blank line is not a record
                rows.append((number - header_row + 1, cells))
    except csv.Error as error:
        raise CsvFormatError(
            f"The file is not valid CSV near line {reader.line_num}: {error}."
        ) from error
    if header is None:
        raise CsvFormatError(
            "The file is empty. Its first line must name the columns, e.g. 'name,city'."
        )
    return header, rows


def _delimiter(text: str) -> str:
    """Comma, unless the header clearly uses semicolons or tabs (spreadsheets in some
    locales save 'CSV' that way)."""
    first_line = text.split("\n", 1)[0]
    if "," in first_line:
        return ","
    for candidate in (";", "\t"):
        if candidate in first_line:
            return candidate
    return ","


def _check_header(obj: RecordObject, header: list[str]) -> list[str | None]:
    """Maps each column to the field it sets, or None for a column to ignore."""
    writable = _writable_fields(obj)
    ignored = set(export_columns(obj)) - set(writable)
    names = [cell.strip().lower() for cell in header]
    unknown = [name for name in names if name and name not in writable and name not in ignored]
    if unknown:
        raise CsvFormatError(
            f"Unknown columns: {', '.join(unknown)}. The first line must name the columns; "
            f"a {obj.name} has: {', '.join(writable)}."
        )
    duplicates = sorted({name for name in names if name and names.count(name) > 1})
    if duplicates:
        raise CsvFormatError(f"Columns named more than once: {', '.join(duplicates)}.")
    if not any(name in writable for name in names):
        raise CsvFormatError(f"No column to import. A {obj.name} has: {', '.join(writable)}.")
    return [name if name in writable else ("" if not name else None) for name in names]


def _writable_fields(obj: RecordObject) -> list[str]:
    read_only = set(obj.serializer.Meta.read_only_fields)
    return [name for name in obj.field_names if name not in read_only]


class _Matcher:
    """Finds the existing record a row names by its `match` column, a batch at a time."""

    def __init__(self, obj: RecordObject, workspace, match: str, header: list[str]):
        names = [cell.strip().lower() for cell in header]
        if match not in names:
            raise CsvFormatError(f"To match on {match}, the file needs a '{match}' column.")
        self.obj, self.workspace, self.match = obj, workspace, match
        self.index = names.index(match)
        self.rows_by_key: dict[str, int] = {}  # key -> the row that first used it

    def key(self, cells: list[str]) -> str:
        cell = cells[self.index].strip() if self.index < len(cells) else ""
        return cell if self.match == "id" else cell.lower()

    def existing(self, keys: Iterable[str]) -> dict[str, object]:
        keys = {key for key in keys if key}
        records = self.obj.queryset(self.workspace).order_by("created_at")
        if self.match == "id":
            ids = [record_id for key in keys if (record_id := parse_uuid(key))]
            found = records.filter(pk__in=ids)
            return {str(record.pk): record for record in found}
        found = records.annotate(match_key=Lower(self.match)).filter(match_key__in=keys)
        by_key: dict[str, object] = {}
        for record in found:  # the oldest record wins if the workspace already has duplicates
            by_key.setdefault(record.match_key, record)
        return by_key

    def repeated(self, key: str, number: int) -> dict | None:
        """An error when an earlier row of the file already used this key."""
        if not key:
            return None
        first = self.rows_by_key.setdefault(key, number)
        if first == number:
            return None
        return {self.match: [f"Row {first} already has this {self.match}; this row is skipped."]}


def _import_rows(obj, workspace, columns, rows, user, progress, matcher=None) -> ImportResult:
    result = ImportResult(total=len(rows))
    json_fields = _json_fields(obj)
    for start in range(0, len(rows), BATCH_SIZE):
        chunk = rows[start : start + BATCH_SIZE]
        existing = matcher.existing(matcher.key(cells) for _, cells in chunk) if matcher else {}
        batch = []
        for number, cells in chunk:
            key = matcher.key(cells) if matcher else ""
            try:
                repeated = matcher.repeated(key, number) if matcher else None
                if repeated:
                    raise ValidationError(repeated)
                data = _row_data(columns, cells, json_fields)
                if key in existing:
                    update_record(obj, existing[key], data, partial=True, workspace=workspace)
                    result.updated += 1
                    continue
                values = validate_new_record(obj, workspace, data)
            except ValidationError as error:
                result.errors.append({"row": number, "errors": _messages(error.detail)})
                continue
            batch.append(new_record(obj, workspace, values, user))
        _insert(obj, batch)
        result.created += len(batch)
        if progress is not None:
            progress(min(start + BATCH_SIZE, len(rows)), len(rows))
    if progress is not None and not rows:
        progress(0, 0)
    return result


def _json_fields(obj: RecordObject) -> set[str]:
    """Fields whose CSV cell holds JSON text (`custom`)."""
    fields = obj.serializer(context={}).fields
    return {name for name, f in fields.items() if isinstance(f, serializers.JSONField)}


def _row_data(columns: list[str | None], cells: list[str], json_fields: set[str]) -> dict:
    """The row as serialiser input; an empty cell is left out so the field's default applies."""
    if len(cells) > len(columns):
        raise ValidationError(
            {"detail": [f"This row has {len(cells)} cells but the header names {len(columns)}."]}
        )
    data = {}
    for column, cell in zip(columns, cells, strict=False):
        if column is None or cell == "":
            continue
        if column == "":
            raise ValidationError({"detail": ["A column without a name holds a value."]})
        data[column] = _json_cell(column, cell) if column in json_fields else _from_text(cell)
    return data


def _json_cell(column: str, cell: str):
    try:
        return json.loads(cell)
    except ValueError as error:
        raise ValidationError({column: [f"Not valid JSON: {error}."]}) from error


def _insert(obj: RecordObject, batch: list) -> None:
    if not batch:
        return
    with transaction.atomic():
        obj.model.objects.bulk_create(batch)
        save_many_relations(batch)
        activity.log_created_in_bulk(batch)
        records_bulk_created(obj.model, batch)


def _messages(detail) -> dict:
    """DRF's error detail as plain JSON: {field: [message, ...]}."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return {"detail": _flatten(detail)}


def _flatten(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, item in value.items() for message in _flatten(item)]
    if isinstance(value, Iterable) and not isinstance(value, str):
        return [message for item in value for message in _flatten(item)]
    return [str(value)]
