"""ASGI entry point: HTTP through Django, websockets through Channels; webhook calls
(/webhooks/...) through a lean intake in front of Django (workflows/webhooks.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django_asgi_app = get_asgi_application()

from crm.checks import refuse_to_start_without_secret_key  # noqa: E402

# Daphne runs no system checks: refuse here what `manage.py check` refuses (crm.E001).
refuse_to_start_without_secret_key()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from workflows.live.routing import websocket_urlpatterns  # noqa: E402
from workflows.webhooks import route_webhooks  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": route_webhooks(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
