"""django-q2 entry points of the crm app: each a few lines calling a service."""

from . import imports


def run_import(job_id: str) -> None:
    """A CSV import started from a list page (crm/imports.py)."""
    imports.run(job_id)
