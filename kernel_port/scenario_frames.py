# SPDX-License-Identifier: GPL-2.0-only
"""A scenario's own functions as rows of its traces.

Kernel code calls back into a scenario: a work item's function, an hrtimer callback, a hook
(``IRQ_WORK_INIT(self.work_func)``).  Ported functions open a row in a trace because their
``@kfunc`` pushes a frame on the CPU's call stack; a scenario's method had none, so what it did
(the ``spin_lock()`` a callback takes, the field it stores) showed under the kernel function that
called it, and only the final message named it.  :func:`frame_methods` gives each method of a
scenario instance that frame: called on a CPU it opens a row ``work_func()`` under its caller,
with the primitives it calls nested beneath; called from set-up or a final check (no CPU) it is a
plain call.  The frame names the scenario's file and line (no upstream version: it is not kernel
code).  A violation raised inside it (a sleeping lock in atomic context, a scenario ``assert``)
also leaves a row there, naming the primitive that raised it, so that the trace ends where the
violation happened.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from typing import Any

from .engine import core
from .engine.core import Frame
from .engine.errors import KernelViolation

# Methods of the Scenario protocol itself: never kernel callbacks.
_API = frozenset({"setup", "summary", "expected", "describe_state", "timed_build"})
_CPU = re.compile(r"cpu\d+")


def frame_methods(sc: Any, base: type) -> None:
    """Give every plain method of scenario instance ``sc`` (defined below ``base``) a frame."""
    seen: set[str] = set()
    for klass in type(sc).__mro__:
        if klass is base or klass is object:
            break
        for name, fn in vars(klass).items():
            if name in seen or name.startswith("__") or name in _API or _CPU.fullmatch(name):
                continue
            seen.add(name)
            if not inspect.isfunction(fn) or name in sc.__dict__:
                continue
            try:
                file = inspect.getsourcefile(fn) or ""
                line = inspect.getsourcelines(fn)[1]
            except (OSError, TypeError):
                file, line = "", None
            frame = Frame(name, _short(file), "", line)
            sc.__dict__[name] = _framed(fn.__get__(sc, type(sc)), frame)


def _short(path: str) -> str:
    """``scenarios/irq_work.py`` rather than an absolute path."""
    parts = path.replace("\\", "/").split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in ("scenarios", "tests", "bench"):
            return "/".join(parts[i:])
    return parts[-1] if parts else path


def _framed(bound: Any, frame: Frame) -> Any:
    @functools.wraps(bound)
    def call(*args: Any, **kw: Any) -> Any:
        cpu = core.CUR
        if cpu is None:
            return bound(*args, **kw)
        st = cpu.kstack
        st.append(frame)
        try:
            return bound(*args, **kw)
        except KernelViolation as e:
            if cpu.m.tracing and st and st[-1] is frame:
                cpu.m.emit(cpu, "violation", f"{e.kind}: {_raiser(e) or e.kind}")
            raise
        except AssertionError as e:
            if cpu.m.tracing and st and st[-1] is frame and _raised_here(e, bound):
                text = str(e).split(",")[0]
                if len(text) > 48:
                    text = text[:48].rsplit(" ", 1)[0] + " ..."
                cpu.m.emit(cpu, "violation", f"assert fails{': ' + text if text else ''}")
            raise
        finally:
            if st and st[-1] is frame:
                st.pop()

    call.__kfunc__ = frame  # type: ignore[attr-defined]
    return call


def _raiser(e: BaseException) -> str:
    """The kernel primitive the violation came from (the last ``kernel_port`` function the
    traceback passes through before the engine's checks), as ``name()``."""
    tb = e.__traceback__
    names = []
    while tb is not None:
        f = tb.tb_frame
        mod = str(f.f_globals.get("__name__", ""))
        names.append((mod, f.f_code.co_name))
        tb = tb.tb_next
    prims = [n for mod, n in names if mod.startswith("kernel_port.engine") and not n.startswith("_")]
    for n in prims:
        if n not in ("might_sleep", "call", "park", "BUG_ON", "WARN_ON", "WARN_ON_ONCE"):
            return f"{n}()"
    return f"{prims[-1]}()" if prims else ""


def _raised_here(e: BaseException, bound: Any) -> bool:
    """Whether the assertion was raised by the scenario's own code (not a port's)."""
    tb = e.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    mod = str(last.tb_frame.f_globals.get("__name__", ""))
    return not mod.startswith("kernel_port.") or mod not in sys.modules
