"""Records that look like the same one (issue 17): a person with the email of another person
of the workspace, a company with the domain of another company.

`find_duplicates` is the one lookup: the record pages warn with it before saving and offer
"Save anyway"; the API, imports and workflow steps do not refuse duplicates (a person may
share a team address), so crm/records.py never calls it.
"""

from dataclasses import dataclass

from django.db import models

from .objects import RecordObject

# The field two records of an object must not share, by object name.
DUPLICATE_KEYS = {"person": "email", "company": "domain"}
# The posted flag of the "Save anyway" button: the person has seen the warning.
CONFIRM_FIELD = "save_anyway"
MAX_DUPLICATES = 5


@dataclass(frozen=True)
class Duplicate:
    record: models.Model  # the other record, archived ones included (restore it instead?)
    field: str
    value: str

    @property
    def field_label(self) -> str:
        return str(self.record._meta.get_field(self.field).verbose_name)


def normalized_domain(value: str) -> str:
    """`https://www.Acme.com/about` and `acme.com` are one domain: `acme.com`."""
    domain = value.strip().lower()
    domain = domain.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    domain = domain.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    return domain.removeprefix("www.")


def find_duplicates(
    obj: RecordObject, workspace, values: dict, exclude=None, limit: int = MAX_DUPLICATES
) -> list[Duplicate]:
    """Other records of `obj` in `workspace` sharing the duplicate key found in `values` (the
    email of a person, the domain of a company); `exclude` is the record being edited."""
    key = DUPLICATE_KEYS.get(obj.name)
    value = values.get(key) if key else None
    if not isinstance(value, str) or not value.strip():
        return []
    others = obj.queryset(workspace, archived=None).order_by("archived_at", "-updated_at")
    if exclude is not None and exclude.pk:
        others = others.exclude(pk=exclude.pk)
    if key == "domain":
        wanted = normalized_domain(value)
        if not wanted:
            return []
        # Stored domains vary in form (www., a scheme): narrow in SQL, compare normalised.
        candidates = others.filter(domain__icontains=wanted)[: limit * 10]
        matches = [row for row in candidates if normalized_domain(row.domain) == wanted]
    else:
        matches = list(others.filter(**{f"{key}__iexact": value.strip()})[:limit])
    return [Duplicate(row, key, getattr(row, key)) for row in matches[:limit]]


def duplicates_to_confirm(form, data) -> list[Duplicate]:
    """What a page must show before saving a bound crm.forms.RecordForm: the duplicates of
    its submitted values, none once the person has pressed "Save anyway" (`data` is the POST)."""
    if not form.is_bound or data.get(CONFIRM_FIELD):
        return []
    return find_duplicates(form.obj, form.workspace, form.submitted_data(), exclude=form.instance)
