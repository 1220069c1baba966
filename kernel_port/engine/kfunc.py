# SPDX-License-Identifier: GPL-2.0-only
"""The ``kfunc`` decorator: a ported function names its upstream origin.

Every ported kernel function is decorated with the upstream file, function
name and version it ports.  On a CPU the decorator keeps that CPU's stack of
kernel functions, which traces show as nesting and which diagnostics name
("CPU1 spins in csd_lock_wait()").  Off a CPU it is a plain call.

``name`` gives the kernel spelling where Python needs another (leading double
underscores are mangled inside classes): ``@kfunc("kernel/irq_work.c",
name="__irq_work_queue_local")`` on a method ``_irq_work_queue_local``.
``show=True`` adds a trace row with the call's arguments and return value,
for the few functions a reviewer wants to see that way (``llist_add``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from . import core
from .core import Frame, fmt

F = TypeVar("F", bound=Callable[..., Any])


def kfunc(
    file: str,
    version: str = "v6.17",
    *,
    name: str | None = None,
    line: int | None = None,
    show: bool = False,
) -> Callable[[F], F]:
    def deco(fn: F) -> F:
        kname = name or fn.__name__
        frame = Frame(kname, file, version, line)

        if show:

            @functools.wraps(fn)
            def wrapper(*args: Any, **kw: Any) -> Any:
                cpu = core.CUR
                if cpu is None:
                    return fn(*args, **kw)
                st = cpu.kstack
                st.append(frame)
                try:
                    res = fn(*args, **kw)
                finally:
                    st.pop()
                if cpu.m.tracing:
                    shown = ", ".join(fmt(a) for a in args[1:] if _showable(a)) if args else ""
                    cpu.m.emit(cpu, "call", f"{kname}({shown}) -> {fmt(res)}")
                return res

        else:

            @functools.wraps(fn)
            def wrapper(*args: Any, **kw: Any) -> Any:
                cpu = core.CUR
                if cpu is None:
                    return fn(*args, **kw)
                st = cpu.kstack
                st.append(frame)
                try:
                    return fn(*args, **kw)
                finally:
                    st.pop()

        wrapper.__kfunc__ = frame  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return deco


def _showable(a: Any) -> bool:
    return not callable(a) or hasattr(a, "_oid")


def kfunc_of(fn: Any) -> Frame | None:
    return getattr(fn, "__kfunc__", None)
