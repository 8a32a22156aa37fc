"""What daphne serves in bench/bench_triggers.py: the real `crm.asgi.application` (the lean
webhook intake in front of Django), plus Django views to compare it with, mounted only here:

- /bench/ping/: a bare Django JSON view (the whole middleware stack, no database);
- /bench/store/<workspace id>/: a bare Django view storing one row (a note) per POST, the
  baseline of bench/bench_blackbox.py (which serves this URLconf through
  bench/blackbox_settings.py and `daphne crm.asgi:application`);
- /bench/django-webhook/<token>/: the webhook Django view (same checks, one run stored per
  request), i.e. the intake without the lean path and the group commit.
"""

import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from django.conf import settings  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

from crm.asgi import application  # noqa: E402, F401 - what daphne serves
from crm.models import Note  # noqa: E402
from workflows.webhooks import webhook  # noqa: E402


def ping(request):
    return JsonResponse({"ok": True})


@csrf_exempt
def store(request, workspace_id: int):
    """Parses the JSON body and inserts one row (autocommit): what any endpoint that takes
    data in does at the least."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "The body is not JSON."}, status=400)
    note = Note.objects.create(workspace_id=workspace_id, title=str(body.get("name", ""))[:300])
    return JsonResponse({"id": note.pk}, status=201)


urlpatterns = [
    path("bench/ping/", ping),
    path("bench/store/<int:workspace_id>/", store),
    path("bench/django-webhook/<str:token>/", webhook),
    path("", include("crm.urls")),
]
settings.ROOT_URLCONF = __name__
