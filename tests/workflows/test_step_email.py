"""The Send Email step against a real SMTP server (aiosmtpd) on 127.0.0.1 (SPEC sections 1,
4 and 5): what arrives, what the outbox keeps, and that an attempt never sends twice."""

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from tests.workflows.factories import execute, make_run
from workflows.models import OutboxEmail, Secret
from workflows.steps import get_handler
from workflows.steps.base import GraphInfo, StepError


class Sink:
    """Keeps every message the SMTP server accepts."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted"

    def parsed(self, index=-1):
        return message_from_bytes(self.messages[index].content, policy=policy.default)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def use_smtp(settings, port):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


@pytest.fixture
def smtp(settings):
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    use_smtp(settings, controller.port)
    yield sink
    controller.stop()


@pytest.fixture
def smtp_down(settings):
    use_smtp(settings, free_port())  # nobody listens there


@pytest.fixture
def run(workspace):
    return make_run(workspace)


def send(run, attempt=1, **settings):
    settings = {"to": "ada@example.com", "subject": "Hello", "body": "Hi Ada", **settings}
    return execute("send_email", settings, run=run, step_id="notify", attempt=attempt)


def test_the_email_arrives_with_its_subject_body_recipients_and_copies(smtp, run):
    send(
        run,
        to="ada@example.com, Grace Hopper <grace@example.com>",
        cc=["team@example.com"],
        subject="Welcome aboard",
        body="Glad to have you.",
    )
    envelope = smtp.messages[0]
    assert sorted(envelope.rcpt_tos) == ["ada@example.com", "grace@example.com", "team@example.com"]
    message = smtp.parsed()
    assert message["Subject"] == "Welcome aboard"
    assert message["To"] == "ada@example.com, Grace Hopper <grace@example.com>"
    assert message["Cc"] == "team@example.com"
    assert message.get_content().strip() == "Glad to have you."


def test_an_html_email_carries_the_html_and_a_plain_text_version(smtp, run):
    send(run, body="<p>Hello <b>Ada</b></p>", html=True)
    message = smtp.parsed()
    assert message.get_body(("html",)).get_content().strip() == "<p>Hello <b>Ada</b></p>"
    assert message.get_body(("plain",)).get_content().strip() == "Hello Ada"


def test_the_outbox_records_the_sent_email_and_its_message_id(smtp, run):
    output = send(run, cc="boss@example.com")
    row = OutboxEmail.objects.get(run=run, step_id="notify")
    assert row.status == OutboxEmail.Status.SENT
    assert row.sent_at is not None
    assert (row.to, row.cc, row.subject, row.body, row.html) == (
        ["ada@example.com"],
        ["boss@example.com"],
        "Hello",
        "Hi Ada",
        False,
    )
    assert row.workspace == run.workspace
    assert output == {"message_id": row.message_id, "to": ["ada@example.com"]}
    assert smtp.parsed()["Message-ID"] == row.message_id


def test_running_the_same_attempt_twice_sends_once(smtp, run):
    first = send(run, attempt=1)
    second = send(run, attempt=1)
    assert len(smtp.messages) == 1
    assert second == first
    assert OutboxEmail.objects.filter(run=run).count() == 1


def test_a_new_attempt_after_a_failed_send_sends_again(smtp, run):
    first = send(run, attempt=1)
    OutboxEmail.objects.filter(run=run).update(status=OutboxEmail.Status.FAILED)
    second = send(run, attempt=2)
    assert len(smtp.messages) == 2
    assert second["message_id"] != first["message_id"]
    assert list(
        OutboxEmail.objects.filter(run=run).values_list("attempt", flat=True).order_by("attempt")
    ) == [1, 2]


def test_an_attempt_being_sent_elsewhere_is_not_sent_again(smtp, run):
    OutboxEmail.objects.create(
        workspace=run.workspace,
        run=run,
        step_id="notify",
        attempt=1,
        to=["ada@example.com"],
        subject="Hello",
    )
    with pytest.raises(StepError, match="not sent twice"):
        send(run, attempt=1)
    assert smtp.messages == []


def test_smtp_down_marks_the_outbox_row_failed_and_fails_the_step(smtp_down, run):
    with pytest.raises(StepError, match="Could not send the email"):
        send(run)
    row = OutboxEmail.objects.get(run=run)
    assert row.status == OutboxEmail.Status.FAILED
    assert "refused" in row.error.lower()


def test_a_failed_send_goes_out_when_the_same_attempt_runs_again(settings, run):
    use_smtp(settings, free_port())
    with pytest.raises(StepError):
        send(run)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        use_smtp(settings, controller.port)
        send(run)
    finally:
        controller.stop()
    assert len(sink.messages) == 1
    assert OutboxEmail.objects.get(run=run).status == OutboxEmail.Status.SENT


def test_recipients_may_be_separated_by_commas_or_semicolons_or_given_as_a_list(smtp, run):
    assert send(run, to="a@example.com; b@example.com")["to"] == ["a@example.com", "b@example.com"]
    OutboxEmail.objects.filter(run=run).update(status=OutboxEmail.Status.FAILED)
    assert send(run, attempt=2, to=["a@example.com", '"Lovelace, Ada" <ada@example.com>'])[
        "to"
    ] == ["a@example.com", '"Lovelace, Ada" <ada@example.com>']


@pytest.mark.parametrize(
    ("to", "cc", "message"),
    [
        ("not-an-address", "", "to: 'not-an-address' is not a valid email address."),
        ("ada@example.com", "bad@", "cc: 'bad@' is not a valid email address."),
        ("", "", "to: give at least one recipient."),
        ("ada@example.com\nBcc: eve@example.com", "", "to: addresses cannot contain line breaks."),
    ],
)
def test_bad_addresses_fail_the_step_before_anything_is_sent(smtp, run, to, cc, message):
    with pytest.raises(StepError) as failure:
        send(run, to=to, cc=cc)
    assert str(failure.value) == message
    assert smtp.messages == []
    assert not OutboxEmail.objects.filter(run=run).exists()


def test_templates_are_resolved_from_the_run(smtp, run):
    execute("send_email",
            {"to": "{{trigger.email}}", "subject": "Deal {{trigger.deal}} won",
             "body": "Amount: {{trigger.amount}}"},
            run=run, trigger={"email": "sales@example.com", "deal": "Acme", "amount": 1200})  # fmt: skip
    message = smtp.parsed()
    assert message["To"] == "sales@example.com"
    assert message["Subject"] == "Deal Acme won"
    assert message.get_content().strip() == "Amount: 1200"


def test_a_secret_goes_out_in_the_email_but_is_masked_in_the_outbox(smtp, run):
    Secret.objects.create(workspace=run.workspace, name="COUPON", value="SPRING-7731-XQ")
    execute("send_email",
            {"to": "ada@example.com", "subject": "Your code", "body": "Code: {{secrets.COUPON}}"},
            run=run)  # fmt: skip
    assert "SPRING-7731-XQ" in smtp.parsed().get_content()
    assert OutboxEmail.objects.get(run=run).body == "Code: ***"


def test_without_smtp_the_console_backend_prints_it_and_the_outbox_keeps_it(settings, run, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    send(run, subject="On the console")
    assert "Subject: On the console" in capsys.readouterr().out
    assert OutboxEmail.objects.get(run=run).status == OutboxEmail.Status.SENT


def problems(**settings):
    return get_handler("send_email").settings_problems(settings, GraphInfo(set(), {}))


def test_valid_settings_have_no_problems():
    assert (
        problems(
            to="a@example.com, {{trigger.email}}",
            cc=["b@example.com"],
            subject="Hi",
            body="x",
            html=True,
        )
        == []
    )


@pytest.mark.parametrize(
    ("bad_settings", "problem"),
    [
        ({"subject": "x"}, "to is required"),
        ({"to": "a@example.com, nope"}, "to: 'nope' is not a valid email address."),
        ({"to": "a@example.com", "cc": ["x@"]}, "cc: 'x@' is not a valid email address."),
        ({"to": "a@example.com", "html": "yes"}, "html must be true or false."),
        ({"to": "a@example.com", "subject": ["x"]}, "subject must be text."),
    ],
)
def test_bad_settings_are_reported(bad_settings, problem):
    assert any(problem in message for message in problems(**bad_settings)), problems(**bad_settings)
