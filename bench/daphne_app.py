"""What daphne serves in bench/bench_triggers.py: the real `crm.asgi.application` (the lean
webhook intake in front of Django), plus two Django views to compare it with, mounted only here:

- /bench/ping/: a bare Django JSON view (the whole middleware stack, no database);
- /bench/django-webhook/<token>/: the webhook Django view (same checks, one run stored per
  request), i.e. the intake without the lean path and the group commit.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from django.conf import settings  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402

from crm.asgi import application  # noqa: E402, F401 - what daphne serves
from workflows.webhooks import webhook  # noqa: E402


def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/ping/", ping),
    path("bench/django-webhook/<str:token>/", webhook),
    path("", include("crm.urls")),
]
settings.ROOT_URLCONF = __name__
