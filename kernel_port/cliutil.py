# SPDX-License-Identifier: GPL-2.0-only
"""What every command of ``kport`` says and checks the same way: one-line messages on stderr,
cleaned for a terminal, and the check that an output file can be written before any work.

A module of its own, below the commands, so that a command's module (matrix.py, simulate.py)
can use them without importing cli.py, which imports every command."""

from __future__ import annotations

import sys
from pathlib import Path

from .engine.errors import OptionError

MAX_MESSAGE = 400


def clean(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` safe to echo on a terminal in one line: control characters (and any other
    unprintable character) escaped, and cut to ``limit`` characters (the middle goes)."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    if len(text) > limit:
        keep = limit - 5
        text = text[: keep * 2 // 3] + " ... " + text[-(keep - keep * 2 // 3) :]
    return text


def say(text: str) -> None:
    """One line on stderr, cleaned (:func:`clean`)."""
    print(clean(" ".join(text.split())), file=sys.stderr)


def warn(text: str) -> None:
    say(f"kport: warning: {text}")


def writable(path: str, flag: str) -> None:
    """Check, before any work, that the file ``path`` named by ``flag`` can be written (an
    :class:`OptionError` otherwise); nothing is left behind."""
    p = Path(path).expanduser()
    existed = p.exists()
    if p.is_dir():
        raise OptionError(flag, path, "is a folder (name a file)")
    try:
        with open(p, "ab"):
            pass
    except OSError as e:
        raise OptionError(flag, path, f"cannot be written: {e.strerror or e}") from None
    if not existed:
        try:
            p.unlink()
        except OSError:
            pass
