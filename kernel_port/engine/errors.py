# SPDX-License-Identifier: GPL-2.0-only
"""Exceptions of the engine and the tools around it.

Two families, never mixed up:

* ``KernelViolation`` and its subclasses are *findings*: something the modelled
  kernel did (BUG_ON fired, a sleeping lock in hard interrupt context, a failed
  scenario assertion).  They end an execution with verdict ``bug``.
* ``KportError`` and its subclasses are *user or input errors*: a malformed
  token, an unknown scenario, a patch named on a tree it does not apply to, an
  option value out of range.  The command line turns every one of them into a
  single line on stderr and exit status 2, never a traceback::

      KportError                 anything the user can fix by changing the input
        UsageError               bad command line usage
          OptionError            a bad option value, naming where it came from
          UnknownNameError       unknown scenario, tree, patch or saved result
            PatchDoesNotApply    a patch named on a tree it does not apply to
        TokenError               malformed, truncated, foreign or other-version token
        ReplayDivergence         a schedule that does not fit the program it replays on
        ProjectError             the project folder, or one of its modules, cannot be used
        StoreError               the results store cannot be read or written

Anything else raised while a CPU runs ported or scenario code is an ``error``
verdict (the port or the scenario is broken), never a kernel bug.

``Interrupted`` is a ``KeyboardInterrupt`` that carries the partial result of
a search stopped by Ctrl-C, so that a caller that knows about it can print and
save what was found so far, and every other caller stops as usual.
``Signalled`` is the ``KeyboardInterrupt`` kport's own SIGINT/SIGTERM handlers
raise (kernel_port/signals.py): while they are installed, any other
``KeyboardInterrupt`` comes from scenario code and is its defect (``error``).
``ScenarioError`` and ``WatchdogTimeout`` are such defects found around the
scenario's code (an assertion in ``setup()``; code that ran too long without
reaching a step, kernel_port/hangcheck.py).
"""

from __future__ import annotations

import signal
import threading
from typing import Any


class KportError(Exception):
    """A user-facing error: reported in one line, exit status 2."""

    def one_line(self) -> str:
        text = " ".join(str(self).split()) if str(self) else type(self).__name__
        return text


class UsageError(KportError):
    """Bad command-line usage."""


class OptionError(UsageError):
    """A bad option value; the message says where the value came from.

    ``source`` is how the user gave it: ``"--faults"`` (a flag), ``"kp_seed in
    pyproject.toml"`` (an ini file), ``"$KPORT_STORE"`` (the environment),
    ``"the token"``.
    """

    def __init__(self, source: str, value: object, problem: str) -> None:
        super().__init__(f"{source} {value!s}: {problem}" if value != "" else f"{source}: {problem}")
        self.source = source
        self.value = value
        self.problem = problem


class UnknownNameError(UsageError):
    """An unknown scenario, tree, patch, variant or saved result (the message names the closest)."""


class PatchDoesNotApply(UnknownNameError):
    """A variant names a patch on a tree (or partial variant) it does not apply to."""


class TokenError(KportError):
    """A replay token that is malformed, truncated, foreign or of another version."""


class ReplayDivergence(KportError):
    """A recorded schedule does not fit the program it is replayed on."""


class ProjectError(KportError):
    """The project folder cannot be found, or one of its scenario or patch modules does not load."""


class StoreError(KportError):
    """The results store (``.kport/``) cannot be read or written, or holds a damaged file."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a search; ``partial`` is the result found so far (or None)."""

    def __init__(self, partial: Any = None, message: str = "interrupted") -> None:
        super().__init__(message)
        self.partial = partial


class Signalled(KeyboardInterrupt):
    """A stop asked for by a signal (SIGINT, SIGTERM) through kport's handlers."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum

    @staticmethod
    def is_stop(e: BaseException) -> bool:
        """Whether ``e`` asks the run to stop (a user's interrupt), rather than being raised by
        the scenario's own code.  Under Python's default SIGINT handler a plain
        ``KeyboardInterrupt`` may be a Ctrl-C, so it stops the run too."""
        if not isinstance(e, KeyboardInterrupt):
            return False
        return isinstance(e, Signalled) or signal.getsignal(signal.SIGINT) is signal.default_int_handler


class ScenarioError(Exception):
    """A scenario's own defect found around its code (verdict ``error``, never ``bug``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class WatchdogTimeout(BaseException):
    """Raised by the wall-clock watchdog in a thread whose scenario or port code has not reached
    a step for too long (verdict ``error``).  A BaseException, so that the scenario's own
    ``except Exception`` does not swallow it; raised asynchronously, so its message is left in
    ``pending`` under the thread's id."""

    kind = "watchdog"
    pending: dict[int, str] = {}

    def __init__(self, *args: object) -> None:
        if not args:
            args = (self.pending.pop(threading.get_ident(), "no step for too long (wall-clock watchdog)"),)
        super().__init__(*args)


class KernelViolation(Exception):
    """A property violation found in the modelled kernel (verdict ``bug``)."""

    kind = "assertion"

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind
        self.message = message


class KernelBUG(KernelViolation):
    kind = "BUG"


class KernelWARN(KernelViolation):
    kind = "WARN"


class SleepingInAtomic(KernelViolation):
    kind = "sleeping-in-atomic"


class StepBudgetExceeded(Exception):
    """One execution ran more steps than its budget (verdict ``inconclusive``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
