from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.search import register_provider

        from .search import workflow_hits
        from .triggers import connect_signals

        connect_signals(self)
        register_provider(workflow_hits)
