"""Tags steps: `add_tags` and `remove_tags` on companies, people and opportunities.

The new tag list is written through the record service (`update_record`), so it is validated
like any edit and record triggers fire as for any update.
"""

from crm import records
from crm.objects import OBJECTS, serialize
from crm.serializers import TagsField

from ..settings_schema import Setting
from . import register
from .base import StepError
from .records import OBJECT, RECORD_ID, RecordStep, _get, _save

TAGGED_OBJECTS = tuple(name for name, obj in OBJECTS.items() if "tags" in obj.field_names)

TAGS = Setting(
    "tags",
    "tags",
    label="Tags",
    required=True,
    templates=True,
    help="A list, or text split on commas (vip, partner).",
)


def _tag_list(value) -> list[str]:
    """A resolved `tags` setting as clean tags: text split on commas, blanks dropped."""
    if value is None:
        return []
    if not isinstance(value, str | list):
        value = str(value)
    try:
        return TagsField().to_internal_value(value)
    except Exception as error:  # noqa: BLE001 - DRF's ValidationError, read by the user
        detail = getattr(error, "detail", error)
        raise StepError(f"tags: {detail}") from error


class TagsStep(RecordStep):
    group = "Records"
    outputs = ("record", "tags")
    settings_schema = (
        Setting(
            OBJECT.name,
            "object",
            label=OBJECT.label,
            required=True,
            help="A company, person or opportunity.",
        ),
        RECORD_ID,
        TAGS,
    )

    def validate_settings(self, settings, graph):
        name = settings.get("object")
        if isinstance(name, str) and name in OBJECTS and name not in TAGGED_OBJECTS:
            return [
                f"object must be one with tags: company, person or opportunity ({name} has none)."
            ]
        return []

    def change(self, current: list[str], given: list[str]) -> list[str]:
        raise NotImplementedError

    def execute(self, ctx):
        obj = self.object(ctx)
        instance = _get(ctx, obj, ctx.resolve(ctx.settings.get("id")))
        # The engine runs record steps in a transaction: lock the row so two runs tagging
        # the same record at once both keep their tags.
        instance = type(instance).objects.select_for_update().get(pk=instance.pk)
        tags = self.change(
            list(instance.tags or []), _tag_list(ctx.resolve(ctx.settings.get("tags")))
        )
        if tags != list(instance.tags or []):
            instance = _save(records.update_record, obj, instance, {"tags": tags}, partial=True)
        return {"record": serialize(instance, ctx.workspace), "tags": list(instance.tags)}


@register
class AddTags(TagsStep):
    type = "add_tags"
    label = "Add tags"

    def change(self, current, given):
        return current + [tag for tag in dict.fromkeys(given) if tag not in current]


@register
class RemoveTags(TagsStep):
    type = "remove_tags"
    label = "Remove tags"

    def change(self, current, given):
        return [tag for tag in current if tag not in set(given)]
