"""The Code step: JavaScript in a V8 isolate with time and memory limits (SPEC sections 4, 5
and 6). The limit tests also check that the next call works, i.e. that the worker survived."""

import os

import pytest
from django.db import connection

from tests.workflows.factories import execute
from tests.workflows.helpers import graph, run_workflow, step, steps_of
from workflows.models import RunStatus
from workflows.steps import get_handler
from workflows.steps.base import GraphInfo, LimitExceeded, StepError
from workflows.steps.code import sandbox


def run_code(source, input=None, **settings):
    return execute("code", {"source": source, "input": input or {}, **settings})


def assert_the_next_call_works():
    assert run_code("function main(input) { return input.n * 2 }", {"n": 21}) == 42


def test_main_returns_json():
    output = run_code(
        "function main(input) { return {ok: true, items: [1, 'two', null], nested: {n: 1.5}} }"
    )
    assert output == {"ok": True, "items": [1, "two", None], "nested": {"n": 1.5}}


def test_the_input_setting_is_resolved_and_passed_to_main():
    output = execute(
        "code",
        {"source": "function main(input) { return [input.name, input.count + 1, input.tags] }",
         "input": {"name": "{{trigger.name}}", "count": "{{trigger.count}}",
                   "tags": "{{trigger.tags}}"}},
        trigger={"name": "Ada", "count": 41, "tags": ["a", "b"]},
    )  # fmt: skip
    assert output == ["Ada", 42, ["a", "b"]]


def test_the_source_is_never_templated():
    output = execute(
        "code",
        {"source": "function main() { return '{{trigger.name}}' }"},
        trigger={"name": "'; throw 1; '"},
    )
    assert output == "{{trigger.name}}"


def test_main_may_be_an_arrow_function_and_undefined_becomes_null():
    assert run_code("const main = (input) => undefined") is None


def test_a_returned_promise_is_awaited():
    source = """
    async function main(input) {
      const later = await new Promise((resolve) => setTimeout(() => resolve(input.n), 10));
      return {later};
    }"""
    assert run_code(source, {"n": 7}) == {"later": 7}


def test_a_syntax_error_comes_back_with_its_message_and_line():
    with pytest.raises(StepError) as failure:
        run_code("function main(input) {\n  return 1 +;\n}")
    assert str(failure.value) == "SyntaxError: Unexpected token ';' (line 2)"


def test_a_thrown_error_comes_back_with_its_message_and_line():
    with pytest.raises(StepError) as failure:
        run_code("function main(input) {\n  const x = 1;\n  throw new Error('no ' + x);\n}")
    assert str(failure.value) == "Error: no 1 (line 3)"


def test_a_type_error_names_its_line():
    with pytest.raises(StepError) as failure:
        run_code("function main(input) {\n  return input.missing.field;\n}")
    assert str(failure.value) == (
        "TypeError: Cannot read properties of undefined (reading 'field') (line 2)"
    )


def test_a_rejected_promise_comes_back_with_its_message_and_line():
    with pytest.raises(StepError) as failure:
        run_code("async function main() {\n  await null;\n  throw new Error('later');\n}")
    assert str(failure.value) == "Error: later (line 3)"


def test_code_without_main_fails_clearly():
    with pytest.raises(StepError, match=r"must define function main\(input\)"):
        run_code("function helper() {}", timeout_ms=1000)


def test_a_result_that_is_not_json_fails_clearly():
    with pytest.raises(StepError, match="Converting circular structure to JSON"):
        run_code("function main() { const o = {}; o.self = o; return o }")


def test_require_fs_fails_with_a_clear_error():
    with pytest.raises(StepError) as failure:
        run_code(
            "function main() {\n  const fs = require('fs');\n  return fs.readFileSync('/etc/passwd');\n}"
        )
    assert str(failure.value) == "ReferenceError: require is not defined (line 2)"


def test_there_is_no_file_system_network_or_process():
    names = ["require", "process", "fetch", "XMLHttpRequest", "WebSocket", "Deno", "Bun",
             "module", "importScripts"]  # fmt: skip
    source = "function main(input) { return input.names.map((name) => typeof globalThis[name]) }"
    assert run_code(source, {"names": names}) == ["undefined"] * len(names)


def test_calls_do_not_share_state():
    run_code("function main() { globalThis.leak = 'secret'; return 1 }")
    assert run_code("function main() { return typeof globalThis.leak }") == "undefined"


def test_an_endless_loop_fails_the_step_and_the_next_call_works():
    with pytest.raises(LimitExceeded, match="ran longer than 300 ms"):
        run_code("function main() { while (true) {} }", timeout_ms=300)
    assert_the_next_call_works()


def test_an_endless_loop_after_an_await_is_stopped_too():
    with pytest.raises(LimitExceeded, match="ran longer than 200 ms"):
        run_code("async function main() { await null; while (true) {} }", timeout_ms=200)
    assert_the_next_call_works()


def test_a_memory_bomb_fails_the_step_and_the_next_call_works():
    source = """
    function main() {
      const hoard = [];
      while (true) hoard.push('x'.repeat(1024) + hoard.length);
    }"""
    with pytest.raises(LimitExceeded, match="used more than 32 MB"):
        run_code(source, memory_mb=32, timeout_ms=20_000)
    assert_the_next_call_works()


def test_an_array_buffer_memory_bomb_fails_the_step_and_the_next_call_works():
    """ArrayBuffer memory lives outside V8's heap, where only the OS limit sees it."""
    source = """
    function main() {
      const hoard = [];
      while (true) hoard.push(new Uint8Array(16 * 1024 * 1024).fill(1));
    }"""
    with pytest.raises(LimitExceeded, match="Out of memory"):
        run_code(source, memory_mb=32, timeout_ms=20_000)
    assert_the_next_call_works()


def test_one_typed_array_over_the_limit_fails_the_step():
    with pytest.raises(LimitExceeded, match="Out of memory: the code used more than 64 MB"):
        run_code("function main() { return new Uint8Array(2 ** 28).fill(3)[5] }", memory_mb=64)
    assert_the_next_call_works()


def test_typed_arrays_within_the_limit_work():
    source = "function main() { return new Uint8Array(32 * 1024 * 1024).fill(7)[12345] }"
    assert run_code(source, memory_mb=64) == 7


def test_a_run_whose_code_exhausts_memory_or_loops_fails_and_the_next_run_completes(workspace):
    bomb = "function main() { const b = []; for (;;) b.push(new ArrayBuffer(1 << 24)) }"
    loop = "function main() { for (;;) {} }"
    fine = "function main(input) { return {doubled: input.n * 2} }"
    runs = [
        run_workflow(workspace, graph(step("code", "code", {"source": source, "input": {"n": 4},
                                                             "timeout_ms": 2000})))
        for source in (bomb, loop, fine)
    ]  # fmt: skip
    assert [run.status for run in runs] == [RunStatus.FAILED, RunStatus.FAILED, RunStatus.COMPLETED]
    assert "Out of memory" in runs[0].error
    assert "ran longer than 2,000 ms" in runs[1].error
    assert steps_of(runs[2])[("code", "")].output == {"doubled": 8}


def test_the_helper_cannot_read_the_apps_environment_or_database(settings):
    os.environ["SANDBOX_TEST_CANARY"] = "secret-canary"
    try:
        helper = sandbox._take_helper()
    finally:
        del os.environ["SANDBOX_TEST_CANARY"]
    try:
        proc = f"/proc/{helper.process.pid}"
        assert open(f"{proc}/environ", "rb").read() == b""
        # What the helper sees as "/" is an empty directory: no app file, no database.
        assert os.listdir(f"{proc}/root") == []
        database = str(connection.settings_dict["NAME"])
        assert not os.path.exists(f"{proc}/root/{database}")
        assert not os.path.exists(f"{proc}/root/{settings.BASE_DIR}/manage.py")
        assert "empty root" in helper.confined
        if os.getuid() == 0:  # root drops to nobody, so the chroot cannot be undone
            assert "Uid:\t65534" in open(f"{proc}/status").read()
        if "network" in helper.confined:
            assert os.readlink(f"{proc}/ns/net") != os.readlink("/proc/self/ns/net")
    finally:
        sandbox._give_back(helper)


def test_code_that_crashes_v8_fails_the_step_and_the_worker_survives():
    """In this process V8 would abort it: "Fatal JavaScript invalid size error"."""
    worker = os.getpid()
    with pytest.raises(LimitExceeded, match="JavaScript engine crashed"):
        run_code("function main() { return 'x'.repeat(2 ** 28).split('').length }")
    assert os.getpid() == worker
    assert_the_next_call_works()


def test_a_builtin_that_ignores_the_timeout_is_stopped_by_the_watchdog():
    """V8 does not interrupt Array.prototype.fill; the helper's watchdog ends it."""
    with pytest.raises(LimitExceeded, match="ran longer than 500 ms"):
        run_code(
            "function main() { return new Array(1e9).fill(1).length }",
            timeout_ms=500, memory_mb=512,
        )  # fmt: skip
    assert_the_next_call_works()


def test_an_output_over_10_mb_fails_the_step():
    with pytest.raises(LimitExceeded, match="Output too large"):
        run_code("function main() { return 'x'.repeat(11 * 1000 * 1000) }")
    assert_the_next_call_works()


# --- Settings validation ---------------------------------------------------------------------


def problems(**settings):
    return get_handler("code").settings_problems(settings, GraphInfo(set(), {}))


def test_valid_settings_have_no_problems():
    assert (
        problems(
            source="function main(input) { return 1 }",
            input={"a": "{{trigger.a}}"},
            timeout_ms=60_000,
        )
        == []
    )
    assert problems(source="async function main(input) {}") == []
    assert problems(source="const main = async (input) => 1") == []


@pytest.mark.parametrize(
    ("bad_settings", "problem"),
    [
        ({"source": "function helper() {}"}, "source must define function main(input)."),
        ({}, "source is required."),
        ({"source": "function main() {}", "timeout_ms": 0}, "timeout_ms must be"),
        ({"source": "function main() {}", "timeout_ms": 60_001}, "timeout_ms must be"),
        ({"source": "function main() {}", "timeout_ms": "5s"}, "timeout_ms must be"),
        ({"source": "function main() {}", "memory_mb": 4096}, "memory_mb must be"),
        ({"source": "function main() {}", "input": [1]}, "input must be an object"),
    ],
)
def test_bad_settings_are_reported(bad_settings, problem):
    found = problems(**bad_settings)
    assert any(problem in message for message in found), found
