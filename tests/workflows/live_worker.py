"""A worker process for the live tests: runs a workflow's engine (or notifies) in its own
process, as a django-q2 worker would, then waits until its events left the process.

    python tests/workflows/live_worker.py run <workflow id> [<record id>]
    python tests/workflows/live_worker.py drain
    python tests/workflows/live_worker.py notify <workspace id> <user id> <title>

`drain` runs the runs already queued (the test stored them and holds their run view open).
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from crm.models import Workspace  # noqa: E402
from workflows import notifications, queue  # noqa: E402
from workflows.live import events  # noqa: E402
from workflows.models import Workflow  # noqa: E402

if sys.argv[1] == "run":
    workflow = Workflow.objects.get(pk=sys.argv[2])
    payload = {"record": {"id": sys.argv[3]}} if len(sys.argv) > 3 else {}
    run = queue.start_run(workflow.active_version, payload, "manual")
    print(run.pk, flush=True)
elif sys.argv[1] == "drain":
    queue.kick()  # WORKFLOW_RUN_INLINE: drains the queue in this process
else:
    workspace = Workspace.objects.get(pk=sys.argv[2])
    user = get_user_model().objects.get(pk=sys.argv[3])
    notifications.notify_users(workspace, [user], sys.argv[4])
events.publisher().flush()
