"""Runs workflow JavaScript in V8 (mini-racer), in helper processes (SPEC section 6).

Why V8 through mini-racer rather than QuickJS: both stop endless loops (QuickJS with an
interrupt handler it polls, V8 with TerminateExecution from a timer) and both cap memory
(QuickJS refuses allocations past JS_SetMemoryLimit; mini-racer's hard limit terminates the
isolate when the heap is over it after a GC, so neither is exact). V8 wins on the rest: the
full modern language with Promises, a JIT compiler where QuickJS interprets, and maintained
wheels for current Pythons, which the Python quickjs binding has shipped irregularly.

Why a helper process: V8 answers some code with a *fatal* error that aborts the whole process
(`'x'.repeat(2 ** 28).split('')`: "Fatal JavaScript invalid size error"), and some builtins
(`new Array(1e9).fill(1)`) or a loop in a Promise continuation are not interrupted by
mini-racer's timeout. In a django-q worker either would kill or wedge the worker and every
run it holds. So the isolate lives in a small child process (stdlib + py_mini_racer, no
Django, no secrets in its environment) with a watchdog thread: a crash or overrun fails the
step clearly and the next call gets a fresh helper. Each call also gets a fresh V8 isolate,
so nothing leaks from one run (or workspace) to the next; a helper that hit a limit exits
rather than be reused.

Protocol: one JSON line per request, {source, input, timeout_ms, memory_bytes}; one JSON line
per reply, {ok: true, result: <JSON text>} or {ok: false, kind, message}. POSIX only (select
on a pipe).

This file is also the helper's program: `python -I sandbox.py`. Keep its imports to the
standard library at module level.
"""

import json
import os
import select
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

SCRIPT_NAME = "code.js"  # how the user's source is named in error messages
GRACE_SECONDS = 1.0  # past the timeout, the helper kills itself; 1 s later the parent does
START_SECONDS = 30.0
MAX_IDLE_HELPERS = 4
MAX_OUTPUT_CHARS = 10_000_000  # the output is stored on the step run and read by later steps
# Over a call's memory limit, what the OS limit leaves for V8's own bookkeeping: a heap
# commits up to about twice what it uses, and with less than 128 MB V8 hit the OS limit
# (a fatal crash) before its own limit (a clean "Out of memory") at 32 and 512 MB.
HEADROOM_BYTES = 128 * 1024 * 1024
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x08000000, 0x10000000, 0x40000000
PR_SET_NO_NEW_PRIVS = 38
NOBODY = 65534
ARRAY_BUFFER_FAILED = "Array buffer allocation failed"

CALL_MAIN = """(function (input) {
  const encode = (value) => value === undefined ? "null" : JSON.stringify(value);
  const result = main(input);
  return (result instanceof Promise) ? result.then(encode) : encode(result);
})(%s)"""


class JavaScriptError(Exception):
    """The code failed: syntax error, thrown error, no main. The message says where."""


class JavaScriptLimitExceeded(Exception):
    """The code ran over its time or memory, or crashed the engine."""


def run_javascript(source: str, input: Any, timeout_ms: int, memory_bytes: int) -> Any:
    """Calls `main(input)` defined by `source` and returns what it returns, JSON round-tripped
    (a returned Promise is awaited within the same timeout)."""
    request = {"source": source, "input": input, "timeout_ms": timeout_ms,
               "memory_bytes": memory_bytes}  # fmt: skip
    helper = _take_helper()
    try:
        reply = helper.call(
            request, deadline=time.monotonic() + timeout_ms / 1000 + GRACE_SECONDS + 1
        )
    except BaseException:
        helper.kill()
        raise
    if reply["ok"] or reply["kind"] == "error":
        _give_back(helper)
    else:
        helper.kill()  # a helper that hit a limit exits anyway: never hand it out again
    if reply["ok"] and len(reply["result"]) > MAX_OUTPUT_CHARS:
        raise JavaScriptLimitExceeded(
            f"Output too large: main returned more than {MAX_OUTPUT_CHARS // 1_000_000} MB of JSON."
        )
    if reply["ok"]:
        return json.loads(reply["result"])
    if reply["kind"] == "error":
        raise JavaScriptError(reply["message"])
    raise JavaScriptLimitExceeded(_limit_message(reply["kind"], timeout_ms, memory_bytes))


def _limit_message(kind: str, timeout_ms: int, memory_bytes: int) -> str:
    megabytes = memory_bytes // (1024 * 1024)
    if kind == "timeout":
        return f"Timed out: the code ran longer than {timeout_ms:,} ms."
    if kind == "memory":
        return f"Out of memory: the code used more than {megabytes} MB."
    return (f"Out of memory: the JavaScript engine crashed while running the code, most "
            f"likely on an allocation over the {megabytes} MB limit.")  # fmt: skip


# --- The parent side: a small pool of helpers --------------------------------------------------


class _Helper:
    """One child process running `_serve`."""

    def __init__(self):
        self.owner_pid = os.getpid()
        self.buffer = bytearray()
        # An empty directory that becomes the helper's root; nothing of the app is in reach.
        root = tempfile.mkdtemp(prefix="code-sandbox-")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", os.path.abspath(__file__)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={}, cwd=root,
                close_fds=True,
            )  # fmt: skip
            ready = self._read_line(time.monotonic() + START_SECONDS)
        finally:
            os.rmdir(root)  # the helper keeps it as its root; no one else can find it
        if ready is None or not ready.get("ready"):
            self.kill()
            raise JavaScriptError(
                "Could not start the JavaScript sandbox (is mini-racer installed?)."
            )
        self.confined: list[str] = ready.get("confined", [])

    @property
    def alive(self) -> bool:
        return self.owner_pid == os.getpid() and self.process.poll() is None

    def call(self, request: dict, deadline: float) -> dict:
        started = time.monotonic()
        try:
            self.process.stdin.write(json.dumps(request, default=str).encode() + b"\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            self.kill()
            return {"ok": False, "kind": "crash", "message": ""}
        reply = self._read_line(deadline)
        if reply is not None:
            return reply
        # No answer: the helper died (fatal OOM) or overran even its own watchdog.
        self.kill()
        elapsed_ms = (time.monotonic() - started) * 1000
        kind = "timeout" if elapsed_ms >= request["timeout_ms"] else "crash"
        return {"ok": False, "kind": kind, "message": ""}

    def _read_line(self, deadline: float) -> dict | None:
        """The next reply, or None when the helper died or the deadline passed."""
        descriptor, searched = self.process.stdout.fileno(), 0
        while (end := self.buffer.find(b"\n", searched)) < 0:
            searched = len(self.buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([descriptor], [], [], remaining)[0]:
                return None
            chunk = os.read(descriptor, 1 << 16)
            if not chunk:
                return None
            self.buffer.extend(chunk)
        line = bytes(self.buffer[:end])
        del self.buffer[: end + 1]
        return json.loads(line)

    def kill(self) -> None:
        if self.owner_pid == os.getpid() and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.close_pipes()

    def close_pipes(self) -> None:
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


_idle: list[_Helper] = []
_idle_lock = threading.Lock()


def _take_helper() -> _Helper:
    with _idle_lock:
        while _idle:
            helper = _idle.pop()
            if helper.alive:
                return helper
            helper.kill()
    return _Helper()


def _give_back(helper: _Helper) -> None:
    with _idle_lock:
        if helper.alive and len(_idle) < MAX_IDLE_HELPERS:
            _idle.append(helper)
            return
    helper.kill()


def stop_helpers() -> None:
    """Stops the idle helper processes (benchmarks measuring a cold start, shutdown)."""
    with _idle_lock:
        helpers, _idle[:] = list(_idle), []
    for helper in helpers:
        helper.kill()


def _forget_helpers_after_fork() -> None:
    """A forked worker must not share its parent's helpers (their pipes would interleave)."""
    for helper in _idle:
        helper.close_pipes()
    _idle.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers_after_fork)


# --- The helper side ---------------------------------------------------------------------------


def _serve() -> None:
    import asyncio

    confinement = _Confinement()
    confinement.before_threads()
    # One event-loop thread for every isolate: mini-racer would start a thread per isolate.
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    isolate = _Isolate(loop)  # loads V8 (library, ICU data) before the files go away
    _warm_up(isolate.racer)
    devnull = os.open(os.devnull, os.O_WRONLY)  # before the chroot, which has no /dev
    confinement.after_loading()
    _write({"ready": True, "confined": confinement.applied})
    # V8 prints fatal out-of-memory reports on stderr; the parent reports the crash itself.
    os.dup2(devnull, 2)
    os.close(devnull)
    for line in sys.stdin.buffer:
        request = json.loads(line)
        watchdog = threading.Timer(request["timeout_ms"] / 1000 + GRACE_SECONDS, os._exit, [70])
        watchdog.daemon = True
        watchdog.start()
        confinement.limit_memory(request["memory_bytes"])
        reply = _run(isolate.racer, request)
        _write(reply)
        if not reply["ok"] and reply["kind"] != "error":
            # Freeing an isolate that may still be spinning would hang: exit, start clean.
            os._exit(0)
        watchdog.cancel()
        isolate.free()
        confinement.unlimit_memory()
        # Creating an isolate is most of a call's cost: make the next one while idle.
        isolate = _Isolate(loop)


def _warm_up(racer) -> None:
    """Runs the paths a call takes once, so nothing is loaded from disk after the files go."""
    from py_mini_racer import JSEvalException, JSPromise

    promise = racer.eval("Promise.resolve(1)")
    if isinstance(promise, JSPromise):
        promise.get(timeout=5)
    try:
        racer.eval("throw new Error('warm-up')")
    except JSEvalException:
        pass


class _Confinement:
    """What the operating system takes away from the helper (SPEC section 6), as far as this
    machine allows; `applied` names what it could do, for the tests and the logs.

    - Memory: RLIMIT_DATA, set before each call to what the helper uses then plus the call's
      limit and HEADROOM. It counts the writable memory actually mapped, which is where
      ArrayBuffer backing stores live (V8's own heap limit does not count them). RLIMIT_AS
      cannot work: V8 reserves about 1.4 TB of address space for its sandbox when an isolate
      starts (measured: VmSize 1,459,456,048 kB, VmData about 556 MB, RSS 66 MB).
    - Network and IPC: new namespaces (unshare), so no interface but a down loopback.
    - Files: the helper starts in an empty directory of its own (the parent removes it once
      the helper is ready) and, once V8 is loaded, makes it its root (chroot): no app file,
      no database, no /proc of the parent to read. Root drops to `nobody` after that, so the
      chroot cannot be undone; others get the chroot inside a user namespace.
    - No files written (RLIMIT_FSIZE 0), no core dumps, few descriptors, no new privileges.
    The environment is empty already (the parent starts it so).
    """

    HARD_DATA_BYTES = 4 * 1024**3  # a ceiling the soft, per-call limit never goes above

    def __init__(self):
        self.applied: list[str] = []
        self._status = None

    def before_threads(self) -> None:
        """Namespaces: unshare refuses a user namespace once a process has threads."""
        import resource

        for limit, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, 0)):
            resource.setrlimit(limit, (value, value))
        flags = CLONE_NEWNET | CLONE_NEWIPC
        if os.geteuid() != 0:
            flags |= CLONE_NEWUSER
        if _libc().unshare(flags) == 0:
            self.applied.append("network")
            if flags & CLONE_NEWUSER:
                self._map_user()
        self._status = open("/proc/self/status", "rb", buffering=0)  # read after the chroot

    def _map_user(self) -> None:
        uid, gid = os.getuid(), os.getgid()
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                           ("gid_map", f"0 {gid} 1")):  # fmt: skip
            with open(f"/proc/self/{name}", "w") as file:
                file.write(text)
        self.applied.append("user namespace")

    def after_loading(self) -> None:
        import resource

        root = os.getcwd()
        try:
            os.chroot(root)
            os.chdir("/")
            self.applied.append("empty root")
        except OSError:
            pass
        if os.getuid() == 0 and "user namespace" not in self.applied:
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            self.applied.append("nobody")
        _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        hard = max(self._data_bytes() + self.HARD_DATA_BYTES, self.HARD_DATA_BYTES)
        resource.setrlimit(resource.RLIMIT_DATA, (hard, hard))
        self.applied.append("memory")

    def limit_memory(self, memory_bytes: int) -> None:
        import resource

        soft = min(self._data_bytes() + memory_bytes + HEADROOM_BYTES, self._hard())
        resource.setrlimit(resource.RLIMIT_DATA, (soft, self._hard()))

    def unlimit_memory(self) -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, (self._hard(), self._hard()))

    def _hard(self) -> int:
        import resource

        return resource.getrlimit(resource.RLIMIT_DATA)[1]

    def _data_bytes(self) -> int:
        """VmData: the writable private memory mapped now (what RLIMIT_DATA counts)."""
        self._status.seek(0)
        for line in self._status.read().splitlines():
            if line.startswith(b"VmData:"):
                return int(line.split()[1]) * 1024
        return 0


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


class _Isolate:
    """A fresh V8 isolate (mini-racer context) on the shared event loop."""

    def __init__(self, loop):
        from py_mini_racer import mini_racer

        self._manager = mini_racer(event_loop=loop)
        self.racer = self._manager.__enter__()

    def free(self) -> None:
        self._manager.__exit__(None, None, None)


def _run(racer, request: dict) -> dict:
    from py_mini_racer import (
        JSEvalException,
        JSOOMException,
        JSParseException,
        JSPromise,
        JSPromiseError,
        JSTimeoutException,
    )

    deadline = time.monotonic() + request["timeout_ms"] / 1000

    def remaining() -> float:
        return max(deadline - time.monotonic(), 0.001)

    racer.set_hard_memory_limit(request["memory_bytes"])
    source = request["source"] + f"\n//# sourceURL={SCRIPT_NAME}"
    try:
        try:
            racer.eval(source, timeout_sec=remaining())
        except JSParseException as error:  # named <anonymous>: V8 had not read the sourceURL yet
            names = (SCRIPT_NAME, "<anonymous>")
            return _failure("error", _describe_exception(str(error), names=names))
        if racer.eval("typeof main") != "function":
            return _failure("error", "The code must define function main(input).")
        result = racer.eval(CALL_MAIN % json.dumps(request["input"]), timeout_sec=remaining())
        if isinstance(result, JSPromise):
            result = result.get(timeout=remaining())
        return {"ok": True, "result": result if isinstance(result, str) else "null"}
    except JSOOMException:
        return _failure("memory")
    except JSTimeoutException:
        return _failure("memory" if racer.was_hard_memory_limit_reached() else "timeout")
    except JSPromiseError as error:
        if ARRAY_BUFFER_FAILED in str(error.reason):
            return _failure("memory")
        return _failure("error", _describe_rejection(str(error.reason)))
    except JSEvalException as error:
        if ARRAY_BUFFER_FAILED in str(error):  # the OS limit refused a typed array's memory
            return _failure("memory")
        return _failure("error", _describe_exception(str(error)))


def _failure(kind: str, message: str = "") -> dict:
    return {"ok": False, "kind": kind, "message": message}


def _describe_exception(text: str, names: tuple[str, ...] = (SCRIPT_NAME,)) -> str:
    """The message and line of a V8 error ("code.js:3: TypeError: x is not a function" then
    the source line), the line only when it is the user's (a script named in `names`)."""
    first = text.split("\n", 1)[0]
    location, separator, message = first.partition(": ")
    name, _, line = location.rpartition(":")
    if not separator or not line.isdigit():
        return first
    if name in names:
        return f"{message} (line {line})"
    return message


def _describe_rejection(stack: str) -> str:
    """A rejected Promise's stack: its first line, and the first line number in the code."""
    message = stack.split("\n", 1)[0]
    marker = f"{SCRIPT_NAME}:"
    if marker in stack:
        line = stack.split(marker, 1)[1].split(":", 1)[0]
        if line.isdigit():
            return f"{message} (line {line})"
    return message


def _write(reply: dict) -> None:
    sys.stdout.buffer.write(json.dumps(reply).encode() + b"\n")
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
