"""Each person sees times in their browser's time zone.

Nothing stores a zone per user or workspace: static/app/app.js writes the browser's IANA zone
(`Intl.DateTimeFormat().resolvedOptions().timeZone`) into the `tz` cookie, and this middleware
activates it for the request. Without the cookie (the very first page, a script-less client)
times are in UTC, the server's zone (docs/choices.md)."""

import zoneinfo
from functools import lru_cache
from urllib.parse import unquote

from django.utils import timezone

COOKIE = "tz"


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone_named(name: str | None) -> zoneinfo.ZoneInfo | None:
    """The zone called `name`, or None for anything that is not a known IANA name (a cookie is
    user input: no file paths, no made-up names)."""
    if not name or name not in _known_zones():
        return None
    return zoneinfo.ZoneInfo(name)


class BrowserTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # app.js percent-encodes the name (Europe%2FParis).
        zone = zone_named(unquote(request.COOKIES.get(COOKIE, "")))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
