"""Pagination and error shapes shared by every API endpoint (SPEC section 7)."""

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, pagination, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


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
                "next": {"type": "string", "nullable": True},
                "count": {"type": "integer"},
            },
        }


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def exception_handler(exc, context):
    """Every error is JSON with a `detail` message; unexpected errors never show a trace."""
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
    if response is not None:
        if isinstance(response.data, list):
            response.data = {"detail": response.data}
        return response
    logger.exception("Unhandled API error", exc_info=exc)
    return Response(
        {"detail": "Internal error. It has been logged."},
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
