"""Pagination and error shapes shared by every API endpoint (SPEC section 7)."""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


def error_body(detail: str, errors: list[dict] | None = None, **fields) -> dict:
    """The JSON body of every API error, the `Error` component of crm/openapi.py."""
    return {"detail": detail, "errors": errors or [], **fields}


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response(self, data):
        return Response(
            {"results": data, "next": self.get_next_link(), "count": self.page.paginator.count}
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True},
                "count": {"type": "integer"},
            },
            "required": ["results", "next", "count"],
        }


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object is not in a state that allows this."
    default_code = "conflict"


def exception_handler(exc, context):
    """Every error answers the one `Error` shape of crm/openapi.py: `detail` (a sentence),
    `errors` (each problem with its field), and for field errors also `<field>: [messages]`
    as DRF writes them. Unexpected errors are logged and never show a trace."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    if isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields, a path outside a root...
        exc = exceptions.ValidationError({"detail": str(exc) or "Malformed request."})
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response(
            error_body("Internal error. It has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        response.data = validation_error_body(exc.detail)
    else:
        response.data = error_body(_flatten(response.data.get("detail", response.data))[0])
    return response


def validation_error_body(detail) -> dict:
    """DRF's `{field: [messages]}` (or a list, or a string) as the one error shape."""
    if not isinstance(detail, dict):
        detail = {"detail": detail}
    fields = {
        key: _flatten(value) for key, value in detail.items() if key not in ("detail", "errors")
    }
    errors = [
        {"step": None, "field": None if key == "non_field_errors" else key, "message": message}
        for key, messages in fields.items()
        for message in messages
    ]
    if "detail" in detail:
        sentence = " ".join(_flatten(detail["detail"]))
        if not fields:
            errors.insert(0, {"step": None, "field": None, "message": sentence})
    else:
        sentence = "Invalid input: " + "; ".join(
            f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors[:5]
        )
    return error_body(sentence, errors, **fields)


def _flatten(value) -> list[str]:
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, item in value.items() for message in _flatten(item)]
    if isinstance(value, list | tuple):
        return [message for item in value for message in _flatten(item)] or [""]
    return [str(value)]
