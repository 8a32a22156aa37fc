"""Addresses of the record pages: /companies/, /companies/<id>/, /companies/new/, ...

Spelled out per object (not a catch-all `<plural>/`) so they never shadow other apps' pages.
URL names are `<object>-list`, `<object>-detail`, `<object>-new`, `<object>-edit`, ...
"""

from django.urls import path
from django.views.generic import RedirectView

from . import board, bulk_views, csv_views, picker_views, settings_views, views
from .objects import OBJECTS
from .serializers import LINKS


def _record_pages(name: str, plural: str) -> list:
    kwargs = {"object_name": name}
    pages = [
        path(f"{plural}/", views.record_list, kwargs, name=f"{name}-list"),
        path(f"{plural}/new/", views.record_create, kwargs, name=f"{name}-new"),
        path(
            f"{plural}/bulk-delete/", views.record_bulk_delete, kwargs, name=f"{name}-bulk-delete"
        ),
        path(
            f"{plural}/bulk-archive/",
            views.record_bulk_archive,
            kwargs,
            name=f"{name}-bulk-archive",
        ),
        path(
            f"{plural}/bulk-restore/",
            views.record_bulk_restore,
            kwargs,
            name=f"{name}-bulk-restore",
        ),
        path(f"{plural}/bulk-edit/", bulk_views.record_bulk_edit, kwargs, name=f"{name}-bulk-edit"),
        *_csv_pages(name, plural),
        path(f"{plural}/<uuid:pk>/", views.record_detail, kwargs, name=f"{name}-detail"),
        path(f"{plural}/<uuid:pk>/archive/", views.record_archive, kwargs, name=f"{name}-archive"),
        path(f"{plural}/<uuid:pk>/restore/", views.record_restore, kwargs, name=f"{name}-restore"),
        path(f"{plural}/<uuid:pk>/edit/", views.record_edit, kwargs, name=f"{name}-edit"),
        path(
            f"{plural}/<uuid:pk>/fields/<str:name>/",
            views.record_field,
            kwargs,
            name=f"{name}-field",
        ),
        path(f"{plural}/<uuid:pk>/delete/", views.record_delete, kwargs, name=f"{name}-delete"),
    ]
    if name in LINKS:  # tasks and notes link to companies, people and opportunities
        pages += [
            path(f"{plural}/<uuid:pk>/notes/", views.add_note, kwargs, name=f"{name}-add-note"),
            path(f"{plural}/<uuid:pk>/tasks/", views.add_task, kwargs, name=f"{name}-add-task"),
        ]
    return pages


def _csv_pages(name: str, plural: str) -> list:
    kwargs = {"object_name": name}
    job = f"{plural}/import/<uuid:pk>"
    return [
        path(f"{plural}/export/", csv_views.record_export, kwargs, name=f"{name}-export"),
        path(f"{plural}/import/", csv_views.import_upload, kwargs, name=f"{name}-import"),
        path(f"{job}/", csv_views.import_job, kwargs, name=f"{name}-import-job"),
        path(f"{job}/start/", csv_views.import_start, kwargs, name=f"{name}-import-start"),
        path(f"{job}/progress/", csv_views.import_progress, kwargs, name=f"{name}-import-progress"),
        path(f"{job}/errors.csv", csv_views.import_errors, kwargs, name=f"{name}-import-errors"),
    ]


urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("pickers/tags/", picker_views.tag_picker, name="tag-picker"),
    path("pickers/<str:object_name>/", picker_views.record_picker, name="record-picker"),
    path("opportunities/board/", board.opportunity_board, name="opportunity-board"),
    path("opportunities/<uuid:pk>/stage/", board.move_opportunity, name="opportunity-move"),
    path("tasks/<uuid:pk>/toggle/", views.toggle_task, name="task-toggle"),
    path("settings/", RedirectView.as_view(pattern_name="settings-workspace"), name="settings"),
    path("settings/general/", settings_views.workspace_settings, name="settings-workspace"),
    path("settings/members/", settings_views.members_settings, name="settings-members"),
    path("settings/api-keys/", settings_views.api_keys_settings, name="settings-api-keys"),
]
for obj in OBJECTS.values():
    urlpatterns += _record_pages(obj.name, obj.plural)
