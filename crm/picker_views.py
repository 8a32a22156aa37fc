"""The HTMX answers of the record forms' pickers (crm/pickers.py): the listbox options of a
relation's combobox and the tag suggestions. Both are fragments of <li role="option">."""

from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .objects import OBJECTS
from .pickers import PickerQuery, pick_records, pick_tags
from .views import member_required


def _bad_query(query: PickerQuery) -> HttpResponseBadRequest:
    message = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in query.errors.items())
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


@require_GET
@member_required
def record_picker(request, object_name: str):
    """`?q=` the words typed, `company=` the company chosen on the form (its records first)."""
    obj = OBJECTS.get(object_name)
    if obj is None:
        raise Http404(f"No record object is called “{object_name}”.")
    query = PickerQuery(request.GET)
    if not query.is_valid():
        return _bad_query(query)
    text = query.cleaned_data["q"]
    results = pick_records(obj, request.workspace, text, query.cleaned_data["company"])
    context = {"obj": obj, "results": results, "q": text}
    return render(request, "crm/_picker_options.html", context)


@require_GET
@member_required
def tag_picker(request):
    """`?q=` the tag being typed, `chosen=` the tags already on the record, comma-separated."""
    query = PickerQuery(request.GET)
    if not query.is_valid():
        return _bad_query(query)
    chosen = request.GET.get("chosen", "")[:5000].split(",")
    text = query.cleaned_data["q"]
    context = {"tags": pick_tags(request.workspace, text, exclude=chosen), "q": text}
    return render(request, "crm/_tag_options.html", context)
