"""The `notify` step (SPEC section 4): notifications for members, roles, everyone, or the
user a record names, each published to that user's sockets."""

import pytest

from crm.models import Role
from tests.conftest import make_user, make_workspace
from workflows.live import events
from workflows.models import Notification
from workflows.steps import get_handler
from workflows.steps.base import GraphInfo, StepError

from .factories import execute, make_run
from .helpers import graph, run_workflow, step, steps_of

pytestmark = pytest.mark.django_db


def notify(run, **settings):
    return execute("notify", {"title": "Hello", **settings}, run=run)


def recipients_of(output):
    rows = Notification.objects.filter(pk__in=output["notification_ids"])
    return sorted(n.user.email for n in rows)


def test_notify_declares_its_label_group_and_settings():
    handler = get_handler("notify")
    assert (handler.label, handler.group) == ("Notify", "People")
    assert [s.name for s in handler.settings_schema] == ["to", "title", "message", "link"]
    assert handler.outputs == ("notification_ids",)


def test_notify_a_member_by_email_stores_the_rendered_notification(workspace, owner):
    run = make_run(workspace)
    output = execute(
        "notify",
        {
            "to": "owner@example.com",
            "title": "Call {{trigger.record.name}}",
            "message": "They asked for {{trigger.record.amount}}",
            "link": "/companies/{{trigger.record.id}}/",
        },
        run=run,
        trigger={"record": {"id": "c1", "name": "Acme", "amount": 5}},
    )
    (notification,) = Notification.objects.filter(pk__in=output["notification_ids"])
    assert (notification.user, notification.workspace) == (owner, workspace)
    assert notification.title == "Call Acme"
    assert notification.message == "They asked for 5"
    assert notification.link == "/companies/c1/"
    assert (notification.run, notification.read) == (run, False)


def test_role_admin_reaches_owners_and_admins_only(workspace, owner):
    make_user("admin@example.com", workspace, Role.ADMIN)
    make_user("member@example.com", workspace, Role.MEMBER)
    output = notify(make_run(workspace), to="role:admin")
    assert recipients_of(output) == ["admin@example.com", "owner@example.com"]


def test_everyone_reaches_every_member_of_the_workspace_and_nobody_else(workspace, owner):
    make_user("member@example.com", workspace, Role.MEMBER)
    make_user("stranger@example.com", make_workspace("other"), Role.OWNER)
    output = notify(make_run(workspace), to="everyone")
    assert recipients_of(output) == ["member@example.com", "owner@example.com"]


def test_the_owner_of_a_record_is_reached_through_a_template_of_its_user_id(workspace, owner):
    member = make_user("member@example.com", workspace, Role.MEMBER)
    output = execute(
        "notify",
        {"to": "{{trigger.record.owner}}", "title": "Yours"},
        run=make_run(workspace),
        trigger={"record": {"owner": member.pk}},
    )
    assert recipients_of(output) == ["member@example.com"]


def test_a_list_of_recipients_notifies_each_member_once(workspace, owner):
    output = notify(make_run(workspace), to=["owner@example.com", "role:admin", "everyone"])
    assert recipients_of(output) == ["owner@example.com"]


def test_a_recipient_outside_the_workspace_fails_the_step_with_its_name(workspace, owner):
    make_user("stranger@example.com", make_workspace("other"), Role.OWNER)
    with pytest.raises(StepError, match="stranger@example.com is not a member"):
        notify(make_run(workspace), to="owner@example.com, stranger@example.com")
    assert not Notification.objects.exists()


def test_a_record_without_an_owner_notifies_nobody_and_the_run_goes_on(workspace, owner):
    output = execute(
        "notify",
        {"to": "{{trigger.record.owner}}", "title": "Yours"},
        run=make_run(workspace),
        trigger={"record": {"owner": None}},
    )
    assert output == {"notification_ids": []}


def test_a_link_that_is_not_a_path_in_the_app_fails_the_step(workspace, owner):
    with pytest.raises(StepError, match="link must be a path in the app"):
        execute(
            "notify",
            {"to": "everyone", "title": "x", "link": "{{trigger.url}}"},
            run=make_run(workspace),
            trigger={"url": "//evil.example.com/"},
        )


def test_validation_refuses_a_missing_title_and_a_literal_link_outside_the_app():
    problems = get_handler("notify").settings_problems(
        {"to": "everyone", "link": "https://evil.example.com/"}, GraphInfo(set(), {})
    )
    assert any("title" in p for p in problems), problems
    assert any("link must be a path in the app" in p for p in problems), problems


def test_each_notification_is_published_to_its_user_with_the_unread_count(
    workspace, owner, published_events, django_capture_on_commit_callbacks
):
    member = make_user("member@example.com", workspace, Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        notify(make_run(workspace), to="everyone", message="Hi")
    sent = published_events.of_type("notification")
    assert sorted(group for group, _ in sent) == sorted(
        [events.user_group(workspace.pk, owner.pk), events.user_group(workspace.pk, member.pk)]
    )
    _, event = sent[0]
    assert (event["title"], event["message"], event["read"], event["unread"]) == (
        "Hello",
        "Hi",
        False,
        1,
    )


def test_a_run_with_a_notify_step_completes_with_its_notification_ids(workspace, owner):
    run = run_workflow(
        workspace, graph(step("tell", "notify", {"to": "everyone", "title": "Done"}))
    )
    assert run.status == "completed"
    ids = steps_of(run)[("tell", "")].output["notification_ids"]
    assert [str(n.pk) for n in Notification.objects.all()] == ids


def test_the_meeting_reminder_notifies_the_meeting_owner(workspace, owner):
    from datetime import timedelta

    from django.utils import timezone

    from crm.models import Meeting
    from workflows import defaults
    from workflows.triggers.dates import fire_due_date_triggers

    [(name, _, raw)] = [d for d in defaults.DEFAULT_WORKFLOWS if d[0] == "Meeting reminder"]
    from .helpers import published

    published(workspace, raw, name=name)
    start = timezone.now()
    Meeting.objects.create(
        workspace=workspace, title="Demo", owner=owner, starts_at=start + timedelta(days=1, hours=1)
    )
    assert fire_due_date_triggers(now=start + timedelta(hours=1, minutes=1)) == 1
    (notification,) = Notification.objects.filter(user=owner)
    assert "Demo" in notification.title
    assert notification.link.startswith("/meetings/")
