# SPDX-License-Identifier: GPL-2.0-only
"""Traces in CPU columns, as races are drawn in kernel mail.

Time goes down; each row sits in the column of the CPU that acted.  Kernel
functions open as ``name()`` rows, nested by indentation; interrupt entry and
exit show the vector (``<IRQ_WORK_VECTOR>``); each primitive shows its object
and value; faults are marked ``!!``.  A legend maps every function shown to
its upstream file and version, and the verdict closes the trace.
"""

from __future__ import annotations

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


def rows(m: Machine) -> list[Row]:
    """Flatten a machine's raw trace into rows with function-entry rows added."""
    out: list[Row] = []
    last: dict[int, list[str]] = {}
    for kind, cpu, kstack, _ctxd, text, step, irqs_on in m.trace:
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
        elif kind == "fault":
            text = "!! " + text
        elif kind == "source":
            text = "~~ " + text
        out.append(Row(step, cpu, depth, text, kind, irqs_on, inner.name if inner else "", inner.file if inner else ""))
    return out


def _wrap(text: str, width: int) -> list[str]:
    if len(text) <= width:
        return [text]
    lines = []
    indent = len(text) - len(text.lstrip(" "))
    first = True
    while text:
        w = width if first else width
        lines.append(text[:w])
        text = text[w:]
        if text:
            text = " " * min(indent + 2, width // 2) + text
        first = False
    return lines


def render_text(
    m: Machine,
    verdict: str = "",
    *,
    width: int = 44,
    legend: bool = True,
    title: str = "",
) -> str:
    """The trace of ``m`` in CPU columns, with a legend and the verdict."""
    rs = rows(m)
    n = m.ncpus
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
        lines = _wrap(text, width)
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
