from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from crm.activity import record_timeline
        from crm.search import register_provider
        from crm.signals import record_page_shown, workspace_created

        from .search import workflow_hits
        from .secrets.masking import install_log_masking
        from .timeline import record_timeline_entries
        from .triggers import connect_signals

        install_log_masking()
        connect_signals(self)
        workspace_created.connect(_install_defaults, dispatch_uid="default-workflows")
        record_page_shown.connect(_record_runs, dispatch_uid="record-runs")
        record_timeline.connect(record_timeline_entries, dispatch_uid="record-timeline")
        register_provider(workflow_hits)


def _install_defaults(sender, workspace, owner=None, **kwargs) -> None:
    from .defaults import install_default_workflows

    install_default_workflows(workspace, user=owner)


def _record_runs(sender, workspace, record, **kwargs) -> dict:
    """The runs shown on a record's page (templates/crm/_record_runs.html)."""
    from .selectors import runs_for_record

    return {"record_runs": runs_for_record(workspace, record)}
