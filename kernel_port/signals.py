# SPDX-License-Identifier: GPL-2.0-only
"""Signals: what ``kport`` does when it is asked to stop, and workers that die with it.

* SIGINT (Ctrl-C) and SIGTERM (what ``timeout``, CI runners and ``kill`` send) raise
  :class:`~kernel_port.engine.errors.Signalled` (a ``KeyboardInterrupt``) in the main
  thread while a command runs (:func:`installed`): the search stops, what was found so far
  is printed and saved, and kport exits 128 + the signal's number (130 for SIGINT, 143 for
  SIGTERM; :func:`exit_status`).
* While a result is being saved (:func:`deferred`), a signal is only noted: the save
  finishes, and the signal is raised right after it.  Signals after the first are noted
  and never interrupt the printing and saving of the partial result.
* Because kport's handlers raise :class:`Signalled`, a plain ``KeyboardInterrupt`` raised by
  scenario code is told apart from the user's interrupt: it is the scenario's defect
  (verdict ``error``; ``Signalled.is_stop`` in engine/errors.py).
* Worker processes (``--jobs N``, forked while a command runs) ignore SIGINT (the parent
  handles the terminal's Ctrl-C and shuts its pool down), take SIGTERM's default action,
  and die with their parent however it dies -- SIGKILL included, which runs no handler:
  on Linux the kernel kills them when the parent exits (``prctl(PR_SET_PDEATHSIG,
  SIGKILL)``); elsewhere a thread in each worker watches the parent's pid and exits when it
  changes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from .engine.errors import Signalled

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    active = False  # kport's handlers are installed (a command is running)
    parent = 0  # the pid of the process running the command
    received: int | None = None  # the first stop signal received
    defer = 0  # depth of deferred() sections
    pending = False  # a signal arrived inside a deferred() section
    hook = False  # the at-fork hook is registered


def _handler(signum: int, frame: Any) -> None:
    if _State.received is not None:
        return  # already stopping: printing and saving what was found are not interrupted
    _State.received = signum
    if _State.defer:
        _State.pending = True
        return
    raise Signalled(signum)


@contextlib.contextmanager
def installed() -> Iterator[None]:
    """kport's SIGINT and SIGTERM handlers for the duration of a command (main thread only;
    elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    _State.received, _State.defer, _State.pending = None, 0, False
    _State.parent = os.getpid()
    if not _State.hook and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _State.hook = True
    for s in STOP_SIGNALS:
        signal.signal(s, _handler)
    _State.active = True
    try:
        yield
    finally:
        _State.active = False
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)


def received() -> int | None:
    """The stop signal received during this command, if any."""
    return _State.received


def exit_status(signum: int | None = None) -> int:
    """128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM)."""
    s = signum if signum is not None else (_State.received or signal.SIGINT)
    return 128 + int(s)


def describe(signum: int | None = None) -> str:
    """The signal's name: ``SIGINT``, ``SIGTERM``."""
    s = signum if signum is not None else (_State.received or signal.SIGINT)
    try:
        return signal.Signals(s).name
    except ValueError:
        return f"signal {s}"


def stopped() -> str:
    """How the command was stopped, for its last line: ``interrupted`` (Ctrl-C) or
    ``terminated (SIGTERM)``."""
    s = _State.received or signal.SIGINT
    return "interrupted" if s == signal.SIGINT else f"terminated ({describe(s)})"


@contextlib.contextmanager
def deferred(reraise: bool = True) -> Iterator[None]:
    """A section (a save) that a stop signal does not cut short: the signal is raised after
    it (or, with ``reraise=False``, only noted: the caller looks at :func:`received`)."""
    _State.defer += 1
    try:
        yield
    finally:
        _State.defer -= 1
    if not _State.defer and _State.pending:
        _State.pending = False
        if reraise:
            raise Signalled(_State.received or signal.SIGINT)


# -- worker processes ---------------------------------------------------------------------


def _after_fork_in_child() -> None:
    if not _State.active:
        return  # a fork outside a kport command: none of our business
    parent = _State.parent
    _State.active = False
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except (ValueError, OSError):  # pragma: no cover - not the main thread of the child
        pass
    die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """Make this process exit when ``parent`` does, however it ends."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            pr_set_pdeathsig = 1
            if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # the parent died before the prctl
                    os._exit(1)
                return
        except (OSError, AttributeError):  # pragma: no cover - no prctl: watch instead
            pass
    threading.Thread(target=_watch_parent, args=(parent,), name="kport-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:  # pragma: no cover - used where prctl is missing
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
