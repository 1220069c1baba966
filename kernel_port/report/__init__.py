# SPDX-License-Identifier: GPL-2.0-only
"""Renderers for reviewers: the matrix (terminal, markdown, HTML) and annotated traces.

This package turns what the engine records into things a reviewer reads:

* :func:`upstream_ref` links a kernel function shown in a trace to its C original (file,
  function, line, version, and an Elixir URL) at the variant's pinned tree.  A function a
  patch overrides links to the tree's original and says which patch changed it.
* :func:`annotated_trace` replays a counterexample and returns its rows with that link and
  the objects each row touches (for "highlight this object" in the HTML viewer).

``table`` renders the matrix for a terminal (rich), plain text and markdown; ``html``
writes the self-contained HTML report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..engine.core import Frame
from ..engine.explorer import Result, replay
from ..engine.kfunc import kfunc_of
from ..engine.trace import legend_of, render_text, rows

_VERSION = re.compile(r"^v\d+\.\d+")
ELIXIR = "https://elixir.bootlin.com/linux/{version}/source/{file}"


@dataclass(frozen=True)
class Ref:
    """Where a ported function comes from upstream."""

    name: str
    file: str
    version: str  # a kernel tag (v6.17), or "" when unknown
    line: int | None
    patch: str = ""  # the patch (or tree) whose version of the function ran, if not upstream's

    @property
    def url(self) -> str:
        if not self.version or not self.file or (self.file.startswith("arch/x86/entry") and not self.line):
            return ""
        u = ELIXIR.format(version=self.version, file=self.file)
        return u + (f"#L{self.line}" if self.line else "")

    @property
    def where(self) -> str:
        loc = f"{self.file}:{self.line}" if self.line else self.file
        txt = f"{loc} {self.name}() ({self.version or 'version unknown'})"
        return txt + (f", as changed by {self.patch}" if self.patch else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "function": self.name,
            "file": self.file,
            "line": self.line,
            "version": self.version,
            "patch": self.patch,
            "url": self.url,
        }


@cache
def kfuncs_of(cls: type) -> dict[str, tuple[str, Any]]:
    """Kernel name -> (Python attribute name, function) for every kfunc of ``cls`` (MRO order)."""
    out: dict[str, tuple[str, Any]] = {}
    for klass in cls.__mro__:
        for attr, fn in vars(klass).items():
            fr = kfunc_of(fn)
            if fr is not None and fr.name not in out:
                out[fr.name] = (attr, fn)
    return out


def upstream_ref(name: str, file: str, version: str, line: int | None, variant: Any = None) -> Ref:
    """The upstream C reference for a function shown in a trace of ``variant``."""
    if _VERSION.match(version or "") or variant is None:
        return Ref(name, file, version if _VERSION.match(version or "") else "", line)
    # A patch labels its functions with its own name: link the tree's original.
    tree_cls = variant.tree.cls
    found = kfuncs_of(tree_cls).get(name)
    if found is not None:
        fr = kfunc_of(found[1])
        assert fr is not None
        if _VERSION.match(fr.version):
            return Ref(name, fr.file, fr.version, fr.line, patch=version)
    return Ref(name, file, "", line, patch=version)


_LABEL = re.compile(r"(?<![\w&.])([A-Za-z_]\w*(?:\[\d+\])?)\.[A-Za-z_]\w*")
_POINTER = re.compile(r"&([A-Za-z_]\w*(?:\[\d+\])?)")


def objects_in(text: str) -> tuple[str, list[str]]:
    """(the object a trace row accesses, every object it names) from a row's text."""
    acc = _LABEL.findall(text)
    seen: list[str] = []
    for o in acc + _POINTER.findall(text):
        if o not in seen:
            seen.append(o)
    return (acc[0] if acc else ""), seen


def verdict_line(r: Result) -> str:
    """The verdict in one line, ending with the memory model it holds under (issue 18)."""
    from ..memory_model import memory_model_of

    mm = f"memory model {memory_model_of(r)}"
    if r.verdict == "bug":
        ce = r.counterexample
        extra = f"{ce.steps} steps, {ce.preemptions} preemption(s), {ce.faults} fault(s), " if ce else ""
        return f"BUG ({r.kind}): {r.message} [{extra}{mm}]"
    if r.verdict == "ok":
        return f"OK: {r.coverage} [{mm}]"
    if r.verdict == "error":
        return f"ERROR ({r.kind}): {r.message} [{mm}]"
    return f"INCONCLUSIVE: {r.message}; {r.coverage} [{mm}]"


def annotated_trace(prog: Any, r: Result) -> dict[str, Any] | None:
    """Replay ``r``'s counterexample with tracing: rows with C references and objects."""
    if r.counterexample is None:
        return None
    out, _div = replay(prog, r.counterexample.choices)
    m = out.machine
    if m is None:
        return None
    variant = getattr(prog, "variant_obj", None)
    legend: dict[str, Ref] = {}
    for name, file, version, line in legend_of(m):
        legend[name] = upstream_ref(name, file, version, line, variant)
    result_rows = []
    for row in rows(m):
        ref = legend.get(row.func)
        access, objs = ("", []) if row.kind == "func" else objects_in(row.text)
        result_rows.append(
            {
                "step": row.step,
                "cpu": row.cpu,
                "depth": row.depth,
                "text": row.text,
                "kind": row.kind,
                "irqs_on": row.irqs_on,
                "function": row.func,
                "ref": ref.to_json() if ref is not None else None,
                "access": access,
                "objects": objs,
            }
        )
    objects = sorted({o for rr in result_rows for o in rr["objects"]})
    return {
        "scenario": prog.name,
        "variant": prog.variant,
        "ncpus": m.ncpus,
        "verdict": verdict_line(r),
        "token": r.token,
        "rows": result_rows,
        "objects": objects,
        "legend": [ref.to_json() for ref in legend.values()],
        "text": render_text(m, verdict_line(r), title=f"{prog.name} on {prog.variant}"),
        "machine": m,
    }


def frame_of(fn: Any) -> Frame | None:
    return kfunc_of(fn)
