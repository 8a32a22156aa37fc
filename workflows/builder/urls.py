"""The builder's routes, included from workflows/urls.py under workflows/<id>/builder/."""

from django.urls import path

from . import views

try:  # the settings panel's routes (steps/<step_id>/panel/), when present
    from .panel import urlpatterns as panel_urlpatterns
except ImportError:  # pragma: no cover
    panel_urlpatterns = []

urlpatterns = [
    path("canvas/", views.builder_canvas, name="builder-canvas"),
    path("insert/", views.insert, name="builder-insert"),
    path("trigger/", views.choose_trigger, name="builder-trigger"),
    path("paste/", views.paste, name="builder-paste"),
    path("undo/", views.undo, name="builder-undo"),
    path("redo/", views.redo, name="builder-redo"),
    path("edit/", views.start_draft, name="builder-edit"),
    path("rename/", views.rename, name="builder-rename"),
    path("versions/<int:number>/restore/", views.restore, name="builder-restore"),
    path("steps/<slug:step_id>/delete/", views.delete, name="builder-delete"),
    path("steps/<slug:step_id>/duplicate/", views.duplicate, name="builder-duplicate"),
    path("steps/<slug:step_id>/move/", views.move, name="builder-move"),
    *panel_urlpatterns,
]
