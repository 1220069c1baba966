# SPDX-License-Identifier: GPL-2.0-only
"""The ports a variant runs, by C file and kernel name, and whether a patch's overrides are
still the base's Python: what ``kport patch import`` (kernel_port/patch_import.py), ``kport
source --patch`` (kernel_port/source_patch.py) and ``kport review`` (kernel_port/review.py)
all need, below the three of them."""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any

from .engine.kfunc import kfunc_of
from .variants import Patch, Variant, overrides, parse_variant


@dataclass
class Port:
    name: str  # kernel name
    attr: str  # Python attribute
    fn: Any  # as found on the class (the kfunc wrapper)
    file: str
    line: int | None
    version: str


def ports_of(v: Variant) -> dict[str, dict[str, Port]]:
    """file -> kernel name -> the port the variant runs."""
    from .report import kfuncs_of

    out: dict[str, dict[str, Port]] = {}
    for name, (attr, fn) in kfuncs_of(v.cls).items():
        fr = kfunc_of(fn)
        assert fr is not None
        out.setdefault(fr.file, {})[name] = Port(name, attr, fn, fr.file, fr.line, fr.version)
    return out


def function_node(fn: Any) -> tuple[ast.FunctionDef, list[str]]:
    raw = inspect.unwrap(fn)
    lines = textwrap.dedent(inspect.getsource(raw)).splitlines()
    tree = ast.parse("\n".join(lines))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    return node, lines


def body_dump(fn: Any) -> str:
    node, _ = function_node(fn)
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:] or body
    return ast.dump(ast.Module(body=body, type_ignores=[])) + ast.dump(node.args)


def unedited(p: Patch, base: str) -> list[str]:
    """The overrides of patch ``p`` whose Python is still the base's (as ``kport patch import``
    wrote them): the same statements, comments and decorators aside."""
    from .report import kfuncs_of

    applied = p.for_base(base)
    table = kfuncs_of(parse_variant(base).cls)
    out = []
    for name, attr in overrides(applied).items():
        if name not in table:
            continue
        try:
            if body_dump(vars(applied.cls)[attr]) == body_dump(table[name][1]):
                out.append(name)
        except (OSError, TypeError, SyntaxError):
            continue
    return out
