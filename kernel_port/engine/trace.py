# SPDX-License-Identifier: GPL-2.0-only
"""Traces in CPU columns, as races are drawn in kernel mail.

Time goes down; each row sits in the column of the CPU that acted.  Kernel
functions open as ``name()`` rows, nested by indentation; interrupt entry and
exit show the vector (``<IRQ_WORK_VECTOR>``); each primitive shows its object
and value; faults are marked ``!!``.  A legend maps every function shown to
its upstream file and version, and the verdict closes the trace.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sys
from dataclasses import dataclass
from typing import Any

from .core import Frame, Machine


@dataclass
class Row:
    step: int
    cpu: int
    depth: int
    text: str
    kind: str
    irqs_on: bool
    func: str  # innermost kernel function, "" if none
    file: str
    rec: int = -1  # the index of its record in Machine.trace (-1: a function's opening row)


def rows(m: Machine) -> list[Row]:
    """Flatten a machine's raw trace into rows with function-entry rows added."""
    out: list[Row] = []
    last: dict[int, list[str]] = {}
    for rec, (kind, cpu, kstack, _ctxd, text, step, irqs_on) in enumerate(m.trace):
        if kind == "source":
            # An event source fires beside the CPU, not inside what the CPU runs: the CPU's
            # call stack stays open (no function re-opened after it).
            out.append(Row(step, cpu, 0, "~~ " + text, kind, irqs_on, "", "", rec))
            continue
        path: list[Frame] = list(kstack)
        names = [f.name for f in path]
        prev = last.get(cpu, [])
        common = 0
        while common < len(prev) and common < len(names) and prev[common] == names[common]:
            common += 1
        for d in range(common, len(path)):
            fr = path[d]
            if fr.name.startswith("<"):
                continue
            out.append(Row(step, cpu, d, f"{fr.name}()", "func", irqs_on, fr.name, fr.file))
        last[cpu] = names
        inner = next((f for f in reversed(path) if not f.name.startswith("<")), None)
        depth = len(path)
        if kind == "call":
            text = "= " + text
        elif kind in ("fault", "violation"):
            text = "!! " + text
        elif kind == "source":
            text = "~~ " + text
        out.append(
            Row(step, cpu, depth, text, kind, irqs_on, inner.name if inner else "", inner.file if inner else "", rec)
        )
    return out


# Where a line may break: between words (an arrow or an "=" stays with the value after it),
# after a comma or an opening parenthesis; inside a struct path longer than the line, before
# a "." (never inside a name, never between a name and its index).
_WORD = re.compile(r"(?:->|=|!!|~~) \S+|\S+")
_INNER = re.compile(r"(?<=[,(])(?=[^)\s])")
_PATH_BREAKS = re.compile(r"(?<=[\w\])])(?=\.[A-Za-z_])")


def _pieces(text: str, pattern: re.Pattern[str]) -> list[str]:
    cuts = [0] + [mo.start() for mo in pattern.finditer(text) if 0 < mo.start() < len(text)] + [len(text)]
    return [text[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def words(text: str, width: int = 10**6) -> list[str]:
    """The pieces :func:`wrap` never cuts (for a column that is ``width`` wide)."""
    out: list[str] = []
    for mo in _WORD.finditer(text):
        for piece in _pieces(mo.group(0), _INNER):
            out += _pieces(piece, _PATH_BREAKS) if len(piece) > width else [piece]
    return out


def wrap(text: str, width: int) -> list[str]:
    """``text`` (with its leading indentation) in lines of at most ``width`` characters, cut at
    token boundaries only: between words (keeping "-> value" and "= value" together), after a
    comma or "(", and inside a struct path longer than the line before a ".".  A continuation
    line is indented two more than the first.  A name longer than the line is never cut: its
    line is longer instead."""
    if len(text) <= width:
        return [text]
    lead = len(text) - len(text.lstrip(" "))
    cont = " " * min(lead + 2, max(width // 2, 1))
    room = max(width - len(cont), 1)
    tokens: list[str] = []  # each with the space that precedes it
    for mo in _WORD.finditer(text[lead:]):
        word = mo.group(0)
        sep = " " if tokens else ""
        for j, piece in enumerate(_pieces(word, _INNER)):
            parts = _pieces(piece, _PATH_BREAKS) if len(piece) > room else [piece]
            for k, part in enumerate(parts):
                tokens.append((sep if j == 0 and k == 0 else "") + part)
    lines: list[str] = []
    cur = text[:lead]
    for tok in tokens:
        if cur.strip() and len(cur) + len(tok) > width:
            lines.append(cur.rstrip())
            cur = cont + tok.lstrip()
        else:
            cur += tok
    if cur.strip():
        lines.append(cur.rstrip())
    return lines or [text]


def terminal_width(requested: int | None) -> int | None:
    """The width traces are fitted to: ``requested`` (``--width``), else ``$COLUMNS``, else the
    terminal's when standard output is one; None when there is none to fit."""
    if requested:
        return requested
    env = os.environ.get("COLUMNS", "").strip()
    if env.isdigit() and 20 <= int(env) <= 1000:
        return int(env)
    if sys.stdout.isatty():
        return max(40, min(1000, shutil.get_terminal_size((100, 24)).columns))
    return None


def column_width(ncols: int, total: int | None, *, gutter: int = 5, sep: int = 3, default: int = 44) -> int:
    """The width of one CPU column when the whole line is ``total`` wide (None: ``default``)."""
    if total is None:
        return default
    return max(12, (total - gutter - sep * (ncols - 1)) // max(ncols, 1))


def render_text(
    m: Machine,
    verdict: str = "",
    *,
    width: int = 44,
    legend: bool = True,
    title: str = "",
    total: int | None = None,
) -> str:
    """The trace of ``m`` in CPU columns, with a legend and the verdict.  ``width`` is one
    column's width; ``total`` (the terminal's) overrides it with what fits that line."""
    rs = rows(m)
    n = m.ncpus
    if total is not None:
        width = column_width(n, total)
    sep = " | "
    gutter = 5
    out: list[str] = []
    if title:
        out.append(title)
        out.append("")
    out.append(" " * gutter + sep.join(f"CPU{c}".ljust(width) for c in range(n)).rstrip())
    out.append(" " * gutter + sep.join(("-" * len(f"CPU{c}")).ljust(width) for c in range(n)).rstrip())
    last_step = None
    for r in rs:
        text = "  " * r.depth + r.text
        lines = wrap(text, width)
        for i, line in enumerate(lines):
            cells = [""] * n
            cells[r.cpu] = line
            g = ""
            if i == 0 and r.step != last_step:
                g = f"{r.step:>4} "
                last_step = r.step
            out.append(g.ljust(gutter) + sep.join(c.ljust(width) for c in cells).rstrip())
    if verdict:
        out.append("")
        out.append(verdict)
    if legend:
        funcs = legend_of(m)
        if funcs:
            out.append("")
            out.append("Functions (upstream file, version):")
            for fname, ffile, fversion, fline in funcs:
                where = f"{ffile}:{fline}" if fline else ffile
                out.append(f"  {fname:<34} {where} ({fversion})" if fversion else f"  {fname:<34} {where}")
    return "\n".join(out) + "\n"


def legend_of(m: Machine) -> list[tuple[str, str, str, int | None]]:
    seen: dict[str, tuple[str, str, str, int | None]] = {}
    for _kind, _cpu, kstack, *_ in m.trace:
        for fr in kstack:
            if fr.name.startswith("<") or fr.name in seen:
                continue
            seen[fr.name] = (fr.name, fr.file, fr.version, fr.line)
    return [seen[k] for k in seen]


def rows_json(m: Machine) -> list[dict[str, Any]]:
    return [
        {
            "step": r.step,
            "cpu": r.cpu,
            "depth": r.depth,
            "text": r.text,
            "kind": r.kind,
            "irqs_on": r.irqs_on,
            "function": r.func,
            "file": r.file,
        }
        for r in rows(m)
    ]
