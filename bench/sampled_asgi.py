"""An ASGI application (`$BENCH_SAMPLED_APP`, default `crm.asgi:application`) with a stack sampler, to see where a web process spends its time
under load (no profiler is installed in the venv): every 2 ms a thread notes, for every
other thread, the innermost frame of the project and the innermost frame of all; at exit the
counts go (every second, and at exit) to `$BENCH_STACKS` (default /tmp/bench_stacks.txt), most frequent first.

    BLACKBOX_APP=bench.sampled_asgi:application python -m bench blackbox
    LIVE_APP=bench.sampled_asgi:application BENCH_SAMPLED_APP=bench.counted_asgi:application \
        python -m bench live
"""

import atexit
import importlib
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

_module, _name = os.environ.get("BENCH_SAMPLED_APP", "crm.asgi:application").split(":")
application = getattr(importlib.import_module(_module), _name)  # what daphne serves

ROOT = str(Path(__file__).resolve().parent.parent)
INTERVAL = 0.002
samples: Counter = Counter()
taken = 0


def where(frame) -> str:
    leaf = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
    own = None
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(ROOT) and "/.venv/" not in name and "sampled_asgi" not in name:
            own = f"{Path(name).relative_to(ROOT)}:{frame.f_code.co_name}:{frame.f_lineno}"
            break
        frame = frame.f_back
    return f"{own or '-'}  <  {leaf}"


def sample() -> None:
    global taken
    me = threading.get_ident()
    names = {}
    while True:
        time.sleep(INTERVAL)
        taken += 1
        if taken % 500 == 1:  # and the counts so far: daphne may exit without atexit
            names = {thread.ident: thread.name for thread in threading.enumerate()}
            dump()
        for ident, frame in sys._current_frames().items():
            if ident != me:
                samples[f"{names.get(ident, ident)}  {where(frame)}"] += 1


def dump() -> None:
    lines = [f"{taken} samples every {INTERVAL * 1000:.0f} ms"]
    lines += [f"{count:7d}  {key}" for key, count in samples.most_common(80)]
    Path(os.environ.get("BENCH_STACKS", "/tmp/bench_stacks.txt")).write_text("\n".join(lines))


threading.Thread(target=sample, name="stack-sampler", daemon=True).start()
atexit.register(dump)
