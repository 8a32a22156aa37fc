from django.urls import include, path, re_path

from . import intake_views, views, webhooks
from .builder import views as builder_views
from .secrets import views as secret_views

urlpatterns = [
    path("workflows/", views.workflow_list, name="workflow-list"),
    path("workflows/new/", views.workflow_create, name="workflow-create"),
    path("workflows/<uuid:pk>/", builder_views.builder_page, name="workflow-detail"),
    path("workflows/<uuid:pk>/builder/", include("workflows.builder.urls")),
    path("workflows/<uuid:pk>/draft/", views.workflow_save_draft, name="workflow-save-draft"),
    path(
        "workflows/<uuid:pk>/draft/discard/",
        views.workflow_discard_draft,
        name="workflow-discard-draft",
    ),
    path("workflows/<uuid:pk>/publish/", views.workflow_publish, name="workflow-publish"),
    path("workflows/<uuid:pk>/activate/", views.workflow_activate, name="workflow-activate"),
    path("workflows/<uuid:pk>/deactivate/", views.workflow_deactivate, name="workflow-deactivate"),
    path(
        "workflows/<uuid:pk>/versions/<int:number>/restore/",
        views.workflow_restore,
        name="workflow-restore",
    ),
    path("workflows/<uuid:pk>/duplicate/", views.workflow_duplicate, name="workflow-duplicate"),
    path("workflows/<uuid:pk>/delete/", views.workflow_delete, name="workflow-delete"),
    path("workflows/<uuid:pk>/test/", views.workflow_test, name="workflow-test"),
    path("workflows/<uuid:pk>/run/", views.workflow_run, name="workflow-run"),
    path("runs/", views.run_list, name="run-list"),
    path("runs/<uuid:pk>/", views.run_detail, name="run-detail"),
    path("runs/<uuid:pk>/canvas/", builder_views.run_canvas, name="run-canvas"),
    path(
        "runs/<uuid:pk>/steps/<slug:step_id>/",
        builder_views.run_step_details,
        name="run-step-details",
    ),
    path("runs/<uuid:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<uuid:pk>/retry/", views.run_retry, name="run-retry"),
    path("forms/", views.form_inbox, name="form-inbox"),
    path("forms/<uuid:pk>/submit/", views.form_submit, name="form-submit"),
    path("forms/<uuid:pk>/card/", views.form_card, name="form-card"),
    path("settings/secrets/", secret_views.secrets_settings, name="secrets-settings"),
    # Under daphne crm/asgi.py answers these before Django (workflows/webhooks.py).
    path("f/<str:token>/", intake_views.intake_form, name="intake-form"),
    re_path(r"^webhooks/(?P<token>[^/]+)/?$", webhooks.webhook, name="webhook"),
]
