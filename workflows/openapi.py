"""The shapes the workflow API takes and returns that are not a model (SPEC sections 4 and 7):
the graph, validation results, run ids, form submissions. Each is a DRF serialiser so the
OpenAPI document describes it (crm/openapi.py explains the conventions); `GraphSerializer`
also checks the shape of a draft before it is stored.

Step and trigger types are enums in the document, read from the step registry and the trigger
kinds when the document is generated (`add_type_enums`): a new type appears by itself.
"""

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from .steps import REGISTRY
from .triggers.kinds import KINDS as TRIGGER_KINDS

STEP_TYPE_ENUM = "StepTypeEnum"
TRIGGER_TYPE_ENUM = "TriggerTypeEnum"


def _known_or_any(enum: str, what: str) -> dict:
    # A draft may hold a type that does not exist (validation reports it): the document says
    # so, instead of an enum that a stored draft could contradict.
    return {
        "anyOf": [{"$ref": f"#/components/schemas/{enum}"}, {"type": "string"}],
        "description": f"The {what} type; a draft may hold an unknown one, which validation "
        "reports.",
    }


@extend_schema_field(_known_or_any(STEP_TYPE_ENUM, "step"))
class StepTypeField(serializers.CharField):
    pass


@extend_schema_field(_known_or_any(TRIGGER_TYPE_ENUM, "trigger"))
class TriggerTypeField(serializers.CharField):
    pass


def add_type_enums(result, generator, request, public):
    """drf-spectacular postprocessing hook: the enums of step and trigger types."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas[STEP_TYPE_ENUM] = {"type": "string", "enum": sorted(REGISTRY)}
    schemas[TRIGGER_TYPE_ENUM] = {"type": "string", "enum": list(TRIGGER_KINDS)}
    return result


def _settings_field():
    return serializers.DictField(
        required=False, help_text="The type's settings (SPEC section 4); templates allowed."
    )


def _next_field():
    return serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Ids of the steps that follow."
    )


class OnErrorSerializer(serializers.Serializer):
    retry = serializers.IntegerField(
        min_value=0, max_value=10, required=False, help_text="Extra attempts (0-10)."
    )
    backoff_s = serializers.FloatField(
        min_value=0, required=False, help_text="Seconds between attempts."
    )
    # `continue` is a Python keyword: declared below.

    class Meta:
        ref_name = "OnError"
        optional_in_response = ("retry", "backoff_s", "continue")  # a graph holds what was set


OnErrorSerializer._declared_fields["continue"] = serializers.BooleanField(
    required=False, help_text='Go on after the last failure, output `{"error"}`.'
)


class TriggerSerializer(serializers.Serializer):
    type = TriggerTypeField()
    settings = _settings_field()
    next = _next_field()


class StepSerializer(serializers.Serializer):
    id = serializers.RegexField(
        r"^[a-z][a-z0-9_]*$", help_text="A slug, unique in the graph, stable across edits."
    )
    name = serializers.CharField(required=False, allow_blank=True)
    type = StepTypeField()
    settings = _settings_field()
    next = _next_field()
    on_error = OnErrorSerializer(required=False)

    class Meta:
        optional_in_response = ("on_error",)


class PositionSerializer(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()


class GraphSerializer(serializers.Serializer):
    """The graph of SPEC section 4. As a request body it may be incomplete (a draft): only its
    shape is checked here; `validate/` tells what publishing would refuse."""

    trigger = TriggerSerializer(allow_null=True, required=False)
    steps = StepSerializer(many=True, required=False)
    layout = serializers.DictField(
        child=PositionSerializer(), required=False, help_text="Canvas positions by step id."
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        name: [f"Unknown key; a graph has {', '.join(self.fields)}."]
                        for name in unknown
                    }
                )
        return super().to_internal_value(data)


def check_graph(data) -> None:
    """Raises ValidationError unless `data` has the shape of a graph (unknown top-level keys,
    steps that are not objects with an id and a type...)."""
    GraphSerializer(data=data).is_valid(raise_exception=True)


def graph_for_api(graph: dict | None) -> dict:
    """A stored graph with every key the `Graph` component promises."""
    graph = graph if isinstance(graph, dict) else {}
    trigger = graph.get("trigger")
    return {
        "trigger": {"settings": {}, "next": [], **trigger} if isinstance(trigger, dict) else None,
        "steps": [
            {"name": "", "settings": {}, "next": [], **step} if isinstance(step, dict) else step
            for step in graph.get("steps") or []
        ],
        "layout": graph.get("layout") or {},
    }


class ValidationProblemSerializer(serializers.Serializer):
    step = serializers.CharField(allow_null=True, help_text="A step id, `trigger`, or null.")
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = ValidationProblemSerializer(many=True)


class ManualRunSerializer(serializers.Serializer):
    record_id = serializers.UUIDField(required=False, help_text="One run for this record.")
    record_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=10_000,
        help_text="One run per record (`single` mode) or one run with all (`bulk`).",
    )
    payload = serializers.DictField(required=False, help_text="Seen as `{{trigger.payload}}`.")


class TestRunSerializer(serializers.Serializer):
    payload = serializers.DictField(
        required=False, help_text="The sample trigger payload the test run starts with."
    )
    dry_run = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Roll the run's record writes back at its end and keep its emails unsent in "
        "the outbox (marked `dry_run`); delays are not waited, forms are answered by their "
        "fields' defaults, record triggers start nothing. HTTP and code steps still run.",
    )


class RunIdsSerializer(serializers.Serializer):
    run_ids = serializers.ListField(child=serializers.UUIDField())


class RunIdSerializer(serializers.Serializer):
    run_id = serializers.UUIDField()


class FormSubmitSerializer(serializers.Serializer):
    values = serializers.DictField(help_text="A value for each field of the form, by name.")


class WorkflowCreateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=200, required=False, help_text="Required unless `template` is given."
    )
    description = serializers.CharField(required=False, allow_blank=True)
    graph = GraphSerializer(required=False, help_text="The first draft; empty when not given.")
    template = serializers.CharField(
        required=False,
        help_text="The slug of a template (GET /api/v1/templates/) whose graph becomes the "
        "draft, instead of `graph`; `name` then defaults to the template's.",
    )


class WorkflowUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)


class WebhookSecretSerializer(serializers.Serializer):
    """`webhook-secret/`: a sender-issued secret to set, or nothing to rotate."""

    secret = serializers.CharField(
        required=False,
        min_length=8,
        max_length=200,
        trim_whitespace=True,
        help_text="The secret the sender issued (Stripe and Svix `whsec_...`, Shopify's client "
        "secret, Slack's signing secret); leave out for a new random one.",
    )


WebhookSecretResultSerializer = inline_serializer(
    "WebhookSecretResult",
    {
        "webhook_secret": serializers.CharField(
            allow_null=True,
            help_text="The new random secret, shown this once; null when you set your own "
            "(never shown back).",
        ),
        "previous_secret_valid_until": serializers.DateTimeField(
            help_text="The former secret is still accepted until then (one hour)."
        ),
    },
)
