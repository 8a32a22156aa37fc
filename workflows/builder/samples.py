"""The Test dialog's sample trigger payload (SPEC 8.1): the last real run's payload when there
is one, else shaped for the trigger (the webhook's `expected_body`, the trigger object's
fields, a form's fields)."""

import json

from crm.objects import OBJECTS

from ..models import WorkflowRun

SAMPLES = {"number": 1, "boolean": True, "object": {}, "list": []}


def sample_payload(workflow, graph: dict) -> str:
    last = (
        WorkflowRun.objects.filter(workflow=workflow)
        .exclude(source=WorkflowRun.Source.TEST)
        .order_by("-created_at")
        .values_list("trigger_payload", flat=True)
        .first()
    )
    if last:
        return json.dumps(last, indent=2, default=str)
    trigger = graph.get("trigger") if isinstance(graph.get("trigger"), dict) else {}
    settings = trigger.get("settings") if isinstance(trigger.get("settings"), dict) else {}
    kind = trigger.get("type") or ""
    payload: dict = {}
    if kind == "webhook":
        expected = settings.get("expected_body")
        expected = expected if isinstance(expected, dict) else {}
        payload = {"body": {k: SAMPLES.get(str(v), "") for k, v in expected.items()}}
    elif kind == "form_submitted":
        fields = settings.get("fields") if isinstance(settings.get("fields"), list) else []
        payload = {"values": {f.get("name"): "" for f in fields if isinstance(f, dict)}}
    elif settings.get("object") in OBJECTS:
        names = [n for n in OBJECTS[settings["object"]].field_names if n not in ("id",)]
        payload = {"record": {name: "" for name in names[:12]}}
    return json.dumps(payload, indent=2)
