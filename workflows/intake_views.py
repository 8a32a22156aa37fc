"""The public intake form at `/f/<token>/` (SPEC section 8): no login, CSRF-protected,
rate-limited per address (429), inline errors, then the `thank_you` text."""

from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from .forms import options
from .triggers.form import (
    FormInvalid,
    find_intake_form,
    intake_limiter,
    submit_intake_form,
    values_from_post,
)


@csrf_protect
@require_http_methods(["GET", "POST"])
def intake_form(request, token: str):
    form = find_intake_form(token)
    if form is None:
        raise Http404("No form at this address.")
    context = {"form": form, "rows": _rows(form, {}, {})}
    if request.method == "GET":
        return render(request, "workflows/intake_form.html", context)
    wait = intake_limiter.retry_after(request.META.get("REMOTE_ADDR", ""))
    if wait is not None:
        context["limited"] = True
        response = render(request, "workflows/intake_form.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    values = values_from_post(form, request.POST)
    try:
        submit_intake_form(form, values)
    except FormInvalid as invalid:
        context.update(rows=_rows(form, values, invalid.errors), has_errors=True)
        return render(request, "workflows/intake_form.html", context, status=400)
    return render(request, "workflows/intake_form.html", {"form": form, "done": True})


def _rows(form, values: dict, errors: dict) -> list[dict]:
    """One entry per field: what the template draws, with the value typed so far."""
    rows = []
    for field in form.fields:
        name = field.get("name")
        value = values.get(name, field.get("default"))
        rows.append(
            {
                "field": field,
                "id": f"field-{name}",
                "value": "" if value is None else value,
                "error": errors.get(name),
                "options": [(str(v), label) for v, label in options(field)],
            }
        )
    return rows
