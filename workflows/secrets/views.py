"""The secrets settings page, /settings/secrets/ (SPEC sections 2 and 4).

Everyone in the workspace sees the names (to write `{{secrets.NAME}}`); owners and admins
add, replace and delete. Values are write-only: the page never renders one back, not even
in a form that failed validation. Writes go through workflows.secrets, like the API's.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render

from crm.views import member_required

from .. import secrets
from ..models import Secret


def _value_field() -> forms.CharField:
    return forms.CharField(
        strip=False, max_length=secrets.VALUE_MAX_CHARS,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )  # fmt: skip


class NewSecretForm(forms.Form):
    name = forms.CharField(
        max_length=secrets.NAME_MAX_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "API_KEY", "autocomplete": "off",
                                      "spellcheck": "false"}),
    )  # fmt: skip
    value = _value_field()


class ReplaceValueForm(forms.Form):
    value = _value_field()


@member_required
def secrets_settings(request):
    workspace, can_manage = request.workspace, request.membership.can_manage
    new_form, replace_form, replacing = NewSecretForm(), ReplaceValueForm(), None
    if request.method == "POST":
        if not can_manage:
            return HttpResponseForbidden("Only owners and admins can change secrets.")
        action = request.POST.get("action")
        if action == "create":
            new_form = NewSecretForm(request.POST)
            if _create(request, workspace, new_form):
                return redirect("secrets-settings")
        elif action in ("replace", "delete"):
            secret = get_object_or_404(Secret, workspace=workspace, pk=request.POST.get("secret"))
            if action == "delete":
                secrets.delete_secret(secret)
                messages.success(request, f"Deleted the secret {secret.name}.")
                return redirect("secrets-settings")
            replace_form, replacing = ReplaceValueForm(request.POST), secret
            if _replace(request, secret, replace_form):
                return redirect("secrets-settings")
        else:
            return HttpResponseBadRequest("Unknown action.")
    context = {
        "secrets": Secret.objects.filter(workspace=workspace).order_by("name"),
        "can_manage": can_manage,
        "new_form": new_form,
        "replace_form": replace_form,
        "replacing": replacing,
    }
    return render(
        request, "workflows/secrets.html", context, status=400 if request.method == "POST" else 200
    )


def _create(request, workspace, form: NewSecretForm) -> bool:
    if not form.is_valid():
        return False
    try:
        secret = secrets.create_secret(
            workspace, form.cleaned_data["name"], form.cleaned_data["value"]
        )
    except ValidationError as error:
        form.add_error(None, error)
        return False
    messages.success(
        request, f"Saved the secret {secret.name}. Use it as {{{{secrets.{secret.name}}}}}."
    )
    return True


def _replace(request, secret: Secret, form: ReplaceValueForm) -> bool:
    if not form.is_valid():
        return False
    try:
        secrets.replace_secret_value(secret, form.cleaned_data["value"])
    except ValidationError as error:
        form.add_error(None, error)
        return False
    messages.success(request, f"Replaced the value of {secret.name}.")
    return True
