# SPDX-License-Identifier: GPL-2.0-only
"""The wall-clock watchdog: scenario or port code that never reaches a step is stopped.

The step budget stops an execution that takes too many steps, and ``--seconds`` a search
that runs too long; both are checked between steps, so code that never reaches a step --
a CPU looping on local variables, a ``setup()`` that does not return -- escapes them.

The watchdog is a daemon thread, one per process, started by the first execution of a
scenario in that process (``arm``, called when a scenario program builds its machine:
ScenarioProgram.build, TimedProgram.build).  About four times per period it looks at the
execution each thread is running: when the machine's step count has not moved for
``seconds()`` of wall time while that execution is still running, it raises
:class:`~kernel_port.engine.errors.WatchdogTimeout` in the thread
(``PyThreadState_SetAsyncExc``), with where the thread was: the CPU (or the set-up), the
function, file and line.  The execution ends with verdict ``error`` (kind ``watchdog``),
never ``bug``; its token replays to the same hang.  The exception is a BaseException, so
the scenario's own ``except Exception`` does not swallow it (and it is raised again every
period if something does).

The period is 10 s, ``$KPORT_WATCHDOG`` seconds when set (``0`` turns the watchdog off).
No step of a real scenario comes anywhere near it: steps take microseconds.

Limits: code blocked inside one C call (``time.sleep``, a read from a socket) is stopped
only when that call returns -- Python delivers the exception between bytecodes.  A report
replays the failing schedule (the trace, the token's labels), and each replay waits for
the watchdog again.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from .engine import core, memory
from .engine.errors import OptionError, WatchdogTimeout

ENV = "KPORT_WATCHDOG"
DEFAULT_SECONDS = 10.0


def seconds() -> float | None:
    """The watchdog's period in seconds, None when turned off; a bad ``$KPORT_WATCHDOG`` is
    an :class:`OptionError` naming the variable."""
    text = os.environ.get(ENV)
    if text is None:
        return DEFAULT_SECONDS
    try:
        v = float(text)
    except ValueError:
        raise OptionError(f"${ENV}", text, "expected seconds (0 turns the watchdog off)") from None
    if not 0 <= v < 1e9:
        raise OptionError(f"${ENV}", text, "expected seconds >= 0 and finite (0 turns the watchdog off)")
    return v or None


def _period() -> float | None:
    try:
        return seconds()
    except OptionError:
        return DEFAULT_SECONDS  # the command line reports the bad value before any work


class _Watch:
    __slots__ = ("machine", "since", "steps")

    def __init__(self, machine: Any) -> None:
        self.machine = machine
        self.steps = getattr(machine, "nsteps", 0)
        self.since = time.monotonic()


_WATCHES: dict[int, _Watch] = {}
_STARTED = [0]  # the pid whose watchdog thread runs


def arm(m: Any) -> None:
    """Watch the execution of machine ``m`` that the calling thread is starting."""
    _WATCHES[threading.get_ident()] = _Watch(m)
    if _STARTED[0] != os.getpid():
        _STARTED[0] = os.getpid()
        threading.Thread(target=_loop, name="kport-watchdog", daemon=True).start()


def _running() -> Any:
    """The machine whose execution is in progress in this process (None between executions)."""
    return memory.BUILDING[0]


def _loop() -> None:
    while True:
        limit = _period()
        time.sleep(min(1.0, (limit or 4.0) / 4))
        if limit is None:
            continue
        try:
            _look(limit)
        except Exception:  # pragma: no cover - never let the watchdog itself die noisily
            continue


def _look(limit: float) -> None:
    now = time.monotonic()
    for tid, w in list(_WATCHES.items()):
        m = w.machine
        if _running() is not m:
            if _WATCHES.get(tid) is w:
                del _WATCHES[tid]
            continue
        steps = getattr(m, "nsteps", 0)
        if steps != w.steps:
            w.steps, w.since = steps, now
        elif now - w.since >= limit:
            w.since = now  # again after another period if the exception is swallowed
            _fire(tid, m, limit)


def _fire(tid: int, m: Any, limit: float) -> None:
    frame = sys._current_frames().get(tid)
    cpu = core.CUR
    who = f"CPU{cpu.id}" if cpu is not None and getattr(cpu, "m", None) is m else "the scenario's set-up"
    WatchdogTimeout.pending[tid] = (
        f"no step for {limit:g} s of wall time: {who} was in {where(frame)} "
        "(scenario or port code that never reaches a step: a loop on local state, or a set-up that never returns)"
    )
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), ctypes.py_object(WatchdogTimeout))


_HERE = Path(__file__).resolve().parent


def where(frame: FrameType | None) -> str:
    """``function() at file:line`` of the innermost frame outside the engine and this module
    (the scenario's or the port's code), relative to the project when it is inside it."""
    f = frame
    while f is not None:
        path = Path(f.f_code.co_filename)
        inside = path.parent == _HERE / "engine" or path == Path(__file__) or "threading" in path.name
        if not inside:
            break
        f = f.f_back
    f = f or frame
    if f is None:
        return "an unknown place"
    return f"{f.f_code.co_name}() at {_short(f.f_code.co_filename)}:{f.f_lineno}"


def _short(filename: str) -> str:
    p = Path(filename)
    for base in (_HERE.parent, Path.cwd()):
        try:
            return str(p.resolve().relative_to(base.resolve()))
        except (ValueError, OSError):
            continue
    return filename
