"""OpenAPI description of how to authenticate (served at /api/schema/, SPEC section 7)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
