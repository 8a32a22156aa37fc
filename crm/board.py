"""The opportunities board (SPEC 8): a column per stage; moving a card is a normal record
update through the record service, so validation and record triggers are as for any edit."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from . import records
from .models import Stage
from .objects import OBJECTS
from .views import member_required

CARDS_PER_COLUMN = 200


def board_columns(workspace) -> list[dict]:
    """The stages in order, each with its live opportunities (newest change first)."""
    by_stage = {value: [] for value in Stage.values}
    opportunities = (
        OBJECTS["opportunity"].queryset(workspace).select_related("company").order_by("-updated_at")
    )
    for opportunity in opportunities:
        cards = by_stage.setdefault(opportunity.stage, [])
        if len(cards) < CARDS_PER_COLUMN:
            cards.append(opportunity)
    return [
        {
            "stage": value,
            "label": label,
            "cards": by_stage[value],
            "total": sum(o.amount or 0 for o in by_stage[value]),
        }
        for value, label in Stage.choices
    ]


@member_required
def opportunity_board(request):
    context = {"obj": OBJECTS["opportunity"], "columns": board_columns(request.workspace)}
    return render(request, "crm/opportunity_board.html", context)


@member_required
@require_POST
def move_opportunity(request, pk):
    """POST `stage`: 200 {id, stage}, 400 with the message when the stage is not one."""
    obj = OBJECTS["opportunity"]
    opportunity = get_object_or_404(obj.queryset(request.workspace), pk=pk)
    try:
        opportunity = records.update_record(
            obj, opportunity, {"stage": request.POST.get("stage", "")}, workspace=request.workspace
        )
    except ValidationError as error:
        detail = (
            error.detail.get("stage", error.detail)
            if isinstance(error.detail, dict)
            else error.detail
        )
        message = " ".join(str(m) for m in detail) if isinstance(detail, list) else str(detail)
        return JsonResponse({"detail": message}, status=400)
    return JsonResponse({"id": str(opportunity.pk), "stage": opportunity.stage})
