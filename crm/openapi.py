"""The OpenAPI document served at /api/schema/ (SPEC section 7), made to be true for the tools
that read it (client generators, validators, schemathesis).

What every endpoint shares lives here: the one `Error` shape and the responses that use it,
the API key scheme, and `finish_document`, the hook that tidies what drf-spectacular derives
from the serialisers. An endpoint documents itself beside its view with `extend_schema`, its
errors with `error_responses(...)`: see crm/api.py and workflows/api.py.
"""

from django.http import JsonResponse
from django.urls import Resolver404, resolve
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from .api_common import error_body
from .objects import OBJECTS


class AutoSchema(SpectacularAutoSchema):
    """Our serialisers always write every field: in a response each one is present (null where
    nullable), so it is marked required and generated clients need no "unset" checks. A
    serialiser whose output may leave a key out names it in `Meta.optional_in_response`."""

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response" and schema.get("properties"):
            meta = getattr(serializer, "Meta", None)
            optional = set(getattr(meta, "optional_in_response", ()))
            schema["required"] = [name for name in schema["properties"] if name not in optional]
        return schema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "crm.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A workspace API key: `Authorization: Bearer <api key>`. "
            "Issue one with `python manage.py create_api_key --workspace SLUG`.",
        }


# --- The one error shape ---------------------------------------------------------------------


class ErrorItemSerializer(serializers.Serializer):
    step = serializers.CharField(
        allow_null=True, help_text="The step id (or `trigger`) the problem is about, if any."
    )
    field = serializers.CharField(
        allow_null=True, help_text="The field or setting the problem is about, if any."
    )
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in one sentence a person can read.")
    errors = ErrorItemSerializer(
        many=True, help_text="Every problem, each with its field (and step); empty when none."
    )

    class Meta:
        ref_name = "Error"


ERROR_DESCRIPTIONS = {
    400: "The request is invalid: `detail` says why, `errors` lists each problem.",
    401: "No valid API key or session.",
    403: "The caller's role may not do this (owners and admins only).",
    404: "No such object in the caller's workspace.",
    405: "This method is not allowed here.",
    409: "The object is not in a state that allows this.",
    413: "The request body is too large.",
    415: "Unsupported content type: send JSON.",
}


def error_responses(*codes: int, **meanings: str) -> dict[int, OpenApiResponse]:
    """The `Error` response for each status code, with what that code means here;
    `error_responses(409, on_409="...")` says what it means for one operation."""
    return {
        code: OpenApiResponse(
            ErrorSerializer, description=meanings.get(f"on_{code}", ERROR_DESCRIPTIONS[code])
        )
        for code in codes
    }


def api_not_found(request, unknown_path=""):
    """Unknown `/api/v1/...` paths answer the same JSON error as an unknown id."""
    detail = f"No API endpoint at {request.path}."
    if not request.path.endswith("/"):
        try:
            resolve(request.path + "/")
            detail += f" Did you mean {request.path}/ (with the trailing slash)?"
        except Resolver404:
            pass
    return JsonResponse(error_body(detail), status=404)


# --- Postprocessing --------------------------------------------------------------------------

# Component descriptions: what a record or resource is, for a person reading /api/docs/
# (the serialisers' docstrings are about their implementation, and are not published).
RECORD_DESCRIPTION = (
    "Relations are ids, each followed by a read-only `<relation>_name`. `created_by` is null "
    "for records created by an API key, an import or a workflow."
)


def finish_document(result, generator, request, public):
    """drf-spectacular postprocessing hook (after its own enum hook)."""
    result["servers"] = [
        {
            "url": request.build_absolute_uri("/").rstrip("/") if request else "/",
            "description": "This server",
        }
    ]
    schemas = result.get("components", {}).get("schemas", {})
    for component in schemas.values():
        _tidy_properties(component)
    for obj in OBJECTS.values():
        if obj.model.__name__ in schemas:
            schemas[obj.model.__name__]["description"] = f"A {obj.name}. {RECORD_DESCRIPTION}"
    if "Error" in schemas:  # field errors also keyed by field, as DRF writes them
        schemas["Error"]["additionalProperties"] = {"type": "array", "items": {"type": "string"}}
    return result


BLANK_KINDS = {"email": "An email address", "uri": "A URL"}


def _tidy_properties(component: dict) -> None:
    for prop in component.get("properties", {}).values():
        blank_one_of = prop.get("oneOf")
        # A blank-allowed email or URL: drf-spectacular says `oneOf [format, maxLength 0]`,
        # which "" matches twice (format is not enforced), so strict validators reject "".
        if (
            isinstance(blank_one_of, list)
            and len(blank_one_of) == 2
            and blank_one_of[1] == {"type": "string", "maxLength": 0}
        ):
            described = {**blank_one_of[0]}
            kind = described.pop("format", "")
            prop.pop("oneOf")
            prop.update(described)
            prop.setdefault("description", f"{BLANK_KINDS.get(kind, 'A value')}, or empty.")
    if component.get("properties", {}).get("custom") == {}:  # records' extra fields
        component["properties"]["custom"] = {"type": "object", "additionalProperties": {}}
