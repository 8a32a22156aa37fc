"""The HTTP Request step against real servers on 127.0.0.1 (SPEC sections 4, 5 and 6).

No test connects anywhere but loopback: `outbound` turns any other connect into a refused
connection and records it, and every test checks that nothing was attempted."""

import datetime
import socket
import ssl
import time

import pytest

from tests.workflows.factories import execute
from tests.workflows.http_peer import Peer
from workflows import runtime
from workflows.models import Secret
from workflows.steps import get_handler
from workflows.steps.base import GraphInfo, LimitExceeded, StepError
from workflows.steps.http import METHODS, guard
from workflows.steps.http.guard import address_kind

# --- Fixtures --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def outbound(monkeypatch):
    """Records (and refuses) every connect to a non-loopback address."""
    attempts = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            if address_kind(address[0]) != "loopback":
                attempts.append(address[:2])
                raise ConnectionRefusedError(111, "blocked by the test: not loopback")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == [], f"the test tried to connect outside loopback: {attempts}"


@pytest.fixture
def peer():
    server = Peer()
    yield server
    server.stop()


@pytest.fixture
def other_peer():
    server = Peer()
    yield server
    server.stop()


@pytest.fixture
def allow_loopback(settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def allow_nothing(settings):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []


def http(**settings):
    return execute("http_request", settings)


# --- Methods, bodies, query ------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_every_method_reaches_the_server(allow_loopback, peer, method):
    output = http(method=method, url=peer.url("/echo"))
    assert output["status"] == 200
    assert peer.received == [(method, "/echo")]
    if method != "HEAD":
        assert output["body"]["method"] == method


def test_a_json_object_body_is_sent_as_json(allow_loopback, peer):
    output = http(method="POST", url=peer.url("/echo"), body={"name": "Ada", "tags": [1, 2]})
    echoed = output["body"]
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["body"] == '{"name": "Ada", "tags": [1, 2]}'


def test_a_json_list_body_is_sent_as_json(allow_loopback, peer):
    echoed = http(method="PUT", url=peer.url("/echo"), body=[{"id": 1}, {"id": 2}])["body"]
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["body"] == '[{"id": 1}, {"id": 2}]'


def test_an_object_body_with_a_form_content_type_is_sent_as_form_fields(allow_loopback, peer):
    echoed = http(
        method="POST", url=peer.url("/echo"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body={"name": "Ada Lovelace", "tags": ["a", "b"], "active": True},
    )["body"]  # fmt: skip
    assert echoed["body"] == "name=Ada+Lovelace&tags=a&tags=b&active=true"


def test_a_text_body_is_sent_as_it_is(allow_loopback, peer):
    echoed = http(
        method="PATCH", url=peer.url("/echo"), headers={"Content-Type": "text/csv"},
        body="id,name\n1,Ada\n",
    )["body"]  # fmt: skip
    assert echoed["headers"]["Content-Type"] == "text/csv"
    assert echoed["body"] == "id,name\n1,Ada\n"


def test_query_parameters_are_added_to_the_url(allow_loopback, peer):
    echoed = http(url=peer.url("/echo?page=2"), query={"q": "a b", "tag": ["x", "y"], "limit": 10})[
        "body"
    ]
    assert echoed["query"] == {"page": ["2"], "q": ["a b"], "tag": ["x", "y"], "limit": ["10"]}


def test_headers_are_sent(allow_loopback, peer):
    echoed = http(url=peer.url("/echo"), headers={"X-Api-Key": "k1", "Accept": "text/plain"})
    assert echoed["body"]["headers"]["X-Api-Key"] == "k1"
    assert echoed["body"]["headers"]["Accept"] == "text/plain"


def test_templates_in_the_settings_are_resolved_from_the_run(allow_loopback, peer):
    output = execute(
        "http_request",
        {"method": "POST", "url": "{{trigger.base}}/echo", "query": {"id": "{{trigger.id}}"},
         "body": {"email": "{{trigger.email}}", "count": "{{trigger.count}}"}},
        trigger={"base": peer.url("").rstrip("/"), "id": 7, "email": "ada@example.com",
                 "count": 3},
    )  # fmt: skip
    assert output["body"]["query"] == {"id": ["7"]}
    assert output["body"]["body"] == '{"email": "ada@example.com", "count": 3}'


# --- Responses -------------------------------------------------------------------------------


def test_a_json_response_body_is_parsed(allow_loopback, peer):
    output = http(url=peer.url("/echo"))
    assert output["body"]["path"] == "/echo"
    assert output["headers"]["X-Peer"] == "yes"
    assert set(output) == {"status", "headers", "body"}


def test_a_text_response_body_stays_text(allow_loopback, peer):
    assert http(url=peer.url("/text"))["body"] == "hello"


def test_text_without_a_charset_is_read_as_utf8(allow_loopback, peer):
    assert http(url=peer.url("/unicode"))["body"] == "Grüße, Zoë"


def test_an_error_status_fails_the_step_with_the_status_and_the_body(allow_loopback, peer):
    with pytest.raises(StepError) as failure:
        http(url=peer.url("/status?code=500"))
    assert not isinstance(failure.value, LimitExceeded)  # so on_error retries it
    assert "HTTP 500" in str(failure.value)
    assert "boom 500" in str(failure.value)


def test_an_error_status_is_an_output_when_fail_on_status_is_false(allow_loopback, peer):
    output = http(url=peer.url("/status?code=404"), fail_on_status=False)
    assert output["status"] == 404
    assert output["body"] == "boom 404"


def test_a_server_that_does_not_answer_in_time_fails_the_step(allow_loopback, peer):
    started = time.monotonic()
    with pytest.raises(StepError, match="Timed out"):
        http(url=peer.url("/slow?seconds=5"), timeout_s=0.5)
    assert time.monotonic() - started < 2


def test_a_server_dripping_bytes_cannot_outlast_the_timeout(allow_loopback, peer):
    started = time.monotonic()
    with pytest.raises(StepError, match="did not finish within 0.6 s"):
        http(url=peer.url("/drip"), timeout_s=0.6)
    assert time.monotonic() - started < 2


def test_a_body_over_10_mb_is_cut_off_while_streaming(allow_loopback, peer):
    with pytest.raises(LimitExceeded, match="10 MB"):
        http(url=peer.url("/huge?mb=11"))


def test_a_body_declared_over_10_mb_is_refused_before_reading(allow_loopback, peer):
    with pytest.raises(LimitExceeded, match="declares 11,534,336 bytes"):
        http(url=peer.url("/declared?mb=11"))


def test_a_head_request_is_not_refused_for_the_length_it_declares(allow_loopback, peer):
    output = http(method="HEAD", url=peer.url("/declared?mb=11"))
    assert output["status"] == 200
    assert output["headers"]["Content-Length"] == str(11 * 1024 * 1024)


def test_a_body_under_10_mb_is_read_whole(allow_loopback, peer):
    output = http(url=peer.url("/huge?mb=9.5"))
    assert len(output["body"]) == int(9.5 * 1024 * 1024)


def test_a_server_that_is_down_fails_with_a_readable_error(allow_loopback):
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with pytest.raises(StepError, match=r"Could not reach 127.0.0.1: Connection refused"):
        http(url=f"http://127.0.0.1:{port}/")


# --- Redirects -------------------------------------------------------------------------------


def test_a_relative_redirect_is_followed(allow_loopback, peer):
    output = http(url=peer.url("/redirect?to=/echo"))
    assert output["body"]["path"] == "/echo"
    assert peer.received == [("GET", "/redirect?to=/echo"), ("GET", "/echo")]


def test_a_303_after_a_post_continues_as_a_get_without_the_body(allow_loopback, peer):
    output = http(method="POST", url=peer.url("/redirect?code=303&to=/echo"), body={"a": 1})
    assert output["body"]["method"] == "GET"
    assert output["body"]["body"] == ""


def test_a_307_keeps_the_method_and_the_body(allow_loopback, peer):
    output = http(method="POST", url=peer.url("/redirect?code=307&to=/echo"), body={"a": 1})
    assert output["body"]["method"] == "POST"
    assert output["body"]["body"] == '{"a": 1}'


def test_a_redirect_to_another_allowed_server_is_followed(allow_loopback, peer, other_peer):
    target = other_peer.url("/echo")
    output = http(url=peer.url(f"/redirect?to={target}"))
    assert output["body"]["path"] == "/echo"
    assert other_peer.received == [("GET", "/echo")]


def test_more_than_five_redirects_fail_the_step(allow_loopback, peer):
    with pytest.raises(StepError, match="Too many redirects"):
        http(url=peer.url("/loop"))
    assert len(peer.received) == 6


def test_a_redirect_to_another_scheme_is_refused(allow_loopback, peer):
    with pytest.raises(StepError, match="only http and https"):
        http(url=peer.url("/redirect?to=file:///etc/passwd"))


def test_a_redirect_to_another_host_carries_no_header_that_held_a_secret(
    settings, peer, other_peer, workspace
):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    Secret.objects.create(workspace=workspace, name="API_KEY", value="sk_live_123456")
    target = other_peer.url("/echo")  # 127.0.0.1: another host than localhost
    output = execute(
        "http_request",
        {"url": peer.url(f"/redirect?to={target}", host="localhost"),
         "headers": {"X-Api-Key": "{{secrets.API_KEY}}", "X-Signed": "v1 {{secrets.API_KEY}}",
                     "Authorization": "Basic abc", "X-Plain": "kept"}},
        workspace=workspace,
    )  # fmt: skip
    received = output["body"]["headers"]
    assert other_peer.received == [("GET", "/echo")]
    assert received["X-Plain"] == "kept"
    assert not {"X-Api-Key", "X-Signed", "Authorization"} & set(received)


def test_a_redirect_to_the_same_host_keeps_the_secret_headers(allow_loopback, peer, workspace):
    Secret.objects.create(workspace=workspace, name="API_KEY", value="sk_live_123456")
    output = execute(
        "http_request",
        {"url": peer.url("/redirect?to=/echo"), "headers": {"X-Api-Key": "{{secrets.API_KEY}}"}},
        workspace=workspace,
    )
    assert output["body"]["headers"]["X-Api-Key"] == "sk_live_123456"


def test_a_redirect_from_https_to_http_is_refused(settings, tls_peer, other_peer):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    target = other_peer.url("/echo")
    with pytest.raises(StepError, match="redirects from https to plain http"):
        http(url=tls_peer.url(f"/redirect?to={target}"))
    assert other_peer.received == []


@pytest.fixture
def loopback_counts_as_public(monkeypatch):
    """Stands in for a public server: the guard judges loopback addresses public, so a host
    outside the allowlist can be reached at all."""
    monkeypatch.setattr(guard, "address_kind", lambda address: None)


def test_a_redirect_from_outside_the_allowlist_into_it_is_refused(
    settings, loopback_counts_as_public, peer, other_peer
):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = [f"127.0.0.1:{other_peer.port}"]
    target = other_peer.url("/echo")
    with pytest.raises(StepError, match="redirects to 127.0.0.1, an allowed internal host"):
        http(url=peer.url(f"/redirect?to={target}", host="localhost"))
    assert len(peer.received) == 1
    assert other_peer.received == []


def test_an_allowlisted_host_may_be_named_by_the_steps_own_url(
    settings, loopback_counts_as_public, other_peer
):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = [f"127.0.0.1:{other_peer.port}"]
    assert http(url=other_peer.url("/echo"))["status"] == 200


def test_a_port_outside_a_host_port_entry_is_refused(settings, peer, other_peer):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = [f"127.0.0.1:{other_peer.port}"]
    assert http(url=other_peer.url("/echo"))["status"] == 200
    with pytest.raises(StepError, match=r"Refused: 127\.0\.0\.1 is a loopback address"):
        http(url=peer.url("/echo"))
    assert peer.received == []


@pytest.mark.parametrize(
    ("entry", "host", "port", "allowed"),
    [
        ("127.0.0.1", "127.0.0.1", 5432, True),
        ("127.0.0.1:8105", "127.0.0.1", 8105, True),
        ("127.0.0.1:8105", "127.0.0.1", 5432, False),
        ("[::1]:8000", "::1", 8000, True),
        ("[::1]:8000", "::1", 8001, False),
        ("::1", "::1", 6379, True),
        ("Tools.Local.:81", "tools.local", 81, True),
    ],
)
def test_allowlist_entries_are_hosts_or_host_and_port(settings, entry, host, port, allowed):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = entry
    assert guard.is_allowed_host(host, port) is allowed


def test_name_resolution_counts_against_the_timeout(allow_loopback, peer, monkeypatch):
    real_getaddrinfo = socket.getaddrinfo

    def slow_resolver(host, *args, **kwargs):
        time.sleep(3)  # a resolver that hangs
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    started = time.monotonic()
    with pytest.raises(StepError, match="Timed out"):
        http(url=peer.url("/echo"), timeout_s=0.5)
    assert time.monotonic() - started < 2
    assert peer.received == []


def test_every_request_carries_the_runs_depth_and_a_step_cannot_set_it(allow_loopback, peer):
    token = runtime.enter_step(runtime.RunningStep("run", 3, "call"))
    try:
        output = http(url=peer.url("/redirect?to=/echo"), headers={"X-Workflow-Depth": "0"})
    finally:
        runtime.leave_step(token)
    assert output["body"]["headers"]["X-Workflow-Depth"] == "3"


# --- The SSRF guard --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("127.0.0.1", "Refused: 127.0.0.1 is a loopback address."),
        ("localhost", "Refused: localhost resolves to "),
        ("[::1]", "Refused: ::1 is a loopback address."),
        ("[::ffff:127.0.0.1]", "Refused: ::ffff:127.0.0.1 is a loopback address."),
        ("2130706433", "Refused: 2130706433 resolves to 127.0.0.1, a loopback address."),
        ("10.0.0.1", "Refused: 10.0.0.1 is a private address."),
        ("169.254.169.254", "Refused: 169.254.169.254 is a link-local address."),
    ],
)
def test_non_public_hosts_are_refused_before_connecting(allow_nothing, peer, host, message):
    with pytest.raises(StepError) as failure:
        http(url=peer.url("/echo", host=host))
    assert str(failure.value).startswith(message)
    assert peer.received == []


def test_localhost_is_named_as_a_loopback_address(allow_nothing, peer):
    with pytest.raises(StepError, match=r"a loopback address\.$"):
        http(url=peer.url("/echo", host="localhost"))


def test_a_redirect_from_an_allowed_host_to_a_refused_one_is_refused(settings, peer, other_peer):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["localhost"]  # the name, not 127.0.0.1 itself
    target = other_peer.url("/echo")  # http://127.0.0.1:<port>/echo
    with pytest.raises(StepError, match=r"Refused: 127\.0\.0\.1 is a loopback address"):
        http(url=peer.url(f"/redirect?to={target}", host="localhost"))
    assert len(peer.received) == 1
    assert other_peer.received == []


def test_allowed_hosts_are_read_at_call_time(settings, peer):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    assert http(url=peer.url("/echo"))["status"] == 200
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = []
    with pytest.raises(StepError, match="Refused"):
        http(url=peer.url("/echo"))


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://a:70/"])
def test_only_http_and_https_urls_are_allowed(allow_loopback, url):
    with pytest.raises(StepError, match="only http and https"):
        http(url=url)


def test_dns_rebinding_cannot_swap_the_address_after_the_check(
    allow_nothing, peer, outbound, monkeypatch
):
    """The host answers a public address once, then 127.0.0.1: the connection goes to the
    address that was checked (and the test refuses it), never to the second answer."""
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1"])

    def rebinding_resolver(host, port, *args, **kwargs):
        if host == "rebind.test":
            return real_getaddrinfo(next(answers), port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_resolver)
    with pytest.raises(StepError, match="Could not reach rebind.test"):
        http(url=peer.url("/echo", host="rebind.test"))
    assert outbound == [("93.184.215.14", peer.port)]
    assert peer.received == []
    outbound.clear()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
    ],
)
def test_address_kinds(address, kind):
    assert address_kind(address) == kind


# --- HTTPS: the socket is pinned, the certificate is still checked against the name ---------


@pytest.fixture
def tls_peer(tmp_path, monkeypatch):
    certificate, key = _self_signed_certificate(tmp_path, "localhost")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
    server = Peer(tls=context, host_name="localhost")
    yield server
    server.stop()


def test_https_verifies_the_certificate_against_the_host_name(settings, tls_peer):
    settings.WORKFLOW_HTTP_ALLOWED_HOSTS = ["localhost"]
    output = http(url=tls_peer.url("/echo"))
    assert output["body"]["headers"]["Host"] == f"localhost:{tls_peer.port}"


def test_https_to_a_name_the_certificate_does_not_cover_fails(allow_loopback, tls_peer):
    with pytest.raises(StepError, match="certificate"):
        http(url=tls_peer.url("/echo", host="127.0.0.1"))


def _self_signed_certificate(directory, host_name):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host_name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    certificate_path, key_path = directory / "cert.pem", directory / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))  # fmt: skip
    return certificate_path, key_path


# --- Settings validation ---------------------------------------------------------------------


def problems(**settings):
    return get_handler("http_request").settings_problems(settings, GraphInfo(set(), {}))


def test_valid_settings_have_no_problems():
    assert (
        problems(
            method="POST",
            url="https://api.example.com/x",
            timeout_s=120,
            headers={},
            query={},
            fail_on_status=False,
        )
        == []
    )
    assert problems(url="{{trigger.url}}", timeout_s="{{trigger.timeout}}") == []


@pytest.mark.parametrize(
    ("bad_settings", "problem"),
    [
        ({"url": "https://a.example", "method": "FETCH"}, "method must be one of"),
        ({}, "url is required"),
        ({"url": "  "}, "url is required"),
        ({"url": "ftp://a.example"}, "url must start with http"),
        ({"url": "https://a.example", "timeout_s": 0}, "timeout_s must be"),
        ({"url": "https://a.example", "timeout_s": 121}, "timeout_s must be"),
        ({"url": "https://a.example", "timeout_s": "soon"}, "timeout_s must be"),
        ({"url": "https://a.example", "headers": ["X-A: 1"]}, "headers must be an object"),
        ({"url": "https://a.example", "query": "a=1"}, "query must be an object"),
        ({"url": "https://a.example", "fail_on_status": 3}, "fail_on_status must be"),
    ],
)
def test_bad_settings_are_reported(bad_settings, problem):
    found = problems(**bad_settings)
    assert any(problem in message for message in found), found


def test_a_template_that_resolves_to_a_bad_value_fails_when_run(allow_loopback):
    with pytest.raises(StepError, match="timeout_s must be"):
        execute(
            "http_request",
            {"url": "http://127.0.0.1/", "timeout_s": "{{trigger.t}}"},
            trigger={"t": 500},
        )
