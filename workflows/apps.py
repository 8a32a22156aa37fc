from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .secrets.masking import install_log_masking
        from .triggers import connect_signals

        install_log_masking()
        connect_signals(self)
