"""Going back where a page action came from, without becoming an open redirect."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request, candidate: str | None, fallback: str) -> str:
    """`candidate` (a `next` field or the Referer) when it points into this site, else
    `fallback`: a link from elsewhere must not turn a form of ours into a hop to another host."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
