# SPDX-License-Identifier: GPL-2.0-only
"""``kport source FUNCTION``: a ported function beside its C original from your own checkout.

The Python side is the ``@kfunc``-decorated method the variant runs (``inspect.getsource``).
The C side is read from the kernel tree the user points at (``--kernel-tree PATH`` or
``$KPORT_KERNEL_TREE``): the file named in the function's ``@kfunc`` metadata is parsed with
tree-sitter-c (the optional extra ``kernel-port[source]``) and the function definition of
that name is cut out.  This project never ships kernel sources: without a tree only the port
is shown.  When the checkout's version (its Makefile) or the function's line differs from
the one the port names, the header says so.
"""

from __future__ import annotations

import difflib
import inspect
import os
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine.errors import KportError, UsageError
from .engine.kfunc import kfunc_of
from .report import kfuncs_of, upstream_ref
from .variants import parse_variant


@dataclass
class CFunction:
    name: str
    path: Path
    line: int  # 1-based start line (the line of the return type)
    text: str


def _parser() -> Any:
    try:
        import tree_sitter_c
        from tree_sitter import Language, Parser
    except ImportError:
        raise KportError(
            "kport source needs tree-sitter and tree-sitter-c: pip install 'kernel-port[source]'"
        ) from None
    return Parser(Language(tree_sitter_c.language()))


def _declared_name(node: Any) -> str | None:
    """The identifier a function definition's declarator declares."""
    d = node.child_by_field_name("declarator")
    while d is not None:
        if d.type == "function_declarator":
            inner = d.child_by_field_name("declarator")
            while inner is not None and inner.type in ("parenthesized_declarator", "pointer_declarator"):
                inner = inner.child_by_field_name("declarator") or (
                    inner.named_children[0] if inner.named_children else None
                )
            return inner.text.decode() if inner is not None and inner.type == "identifier" else None
        d = d.child_by_field_name("declarator")
    return None


def find_c_function(path: Path, name: str) -> CFunction | None:
    """The definition of ``name`` in the C file ``path`` (tree-sitter-c), or None."""
    src = path.read_bytes()
    tree = _parser().parse(src)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition" and _declared_name(node) == name:
            text = src[node.start_byte : node.end_byte].decode(errors="replace")
            # Keep a leading storage-class line such as "static inline" that sits on the line before.
            return CFunction(name, path, node.start_point[0] + 1, text)
        stack.extend(reversed(node.children))
    return None


def find_c_text(text: str, name: str) -> str | None:
    """The definition of ``name`` in C source ``text`` (tree-sitter-c), or None."""
    src = text.encode()
    tree = _parser().parse(src)
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_definition" and _declared_name(node) == name:
            return src[node.start_byte : node.end_byte].decode(errors="replace")
        stack.extend(reversed(node.children))
    return None


def tree_version(root: Path) -> str:
    """``vX.Y`` of a kernel checkout, from its top-level Makefile ("" if unknown)."""
    mk = root / "Makefile"
    if not mk.is_file():
        return ""
    vals: dict[str, str] = {}
    for line in mk.read_text(errors="replace").splitlines()[:12]:
        if "=" in line:
            k, _, v = line.partition("=")
            vals[k.strip()] = v.strip()
    if "VERSION" in vals and "PATCHLEVEL" in vals:
        return f"v{vals['VERSION']}.{vals['PATCHLEVEL']}"
    return ""


def find_port(name: str, variant: str) -> tuple[Any, Any]:
    v = parse_variant(variant)
    table = kfuncs_of(v.cls)
    if name not in table:
        near = difflib.get_close_matches(name, list(table), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise UsageError(f"no ported function '{name}' in {variant}{hint}")
    return v, table[name][1]


def _side_by_side(left: list[str], right: list[str], lh: str, rh: str, width: int) -> str:
    out = [f"{lh[:width]:<{width}} | {rh[:width]}", f"{'-' * width} | {'-' * width}"]
    for i in range(max(len(left), len(right))):
        a = left[i].expandtabs(8) if i < len(left) else ""
        b = right[i].expandtabs(8) if i < len(right) else ""
        out.append(f"{a[:width]:<{width}} | {b[:width]}".rstrip())
    return "\n".join(out) + "\n"


def source(name: str, variant: str = "v6.17", kernel_tree: str | None = None, width: int = 0) -> str:
    v, fn = find_port(name, variant)
    fr = kfunc_of(fn)
    assert fr is not None
    ref = upstream_ref(fr.name, fr.file, fr.version, fr.line, v)
    py_lines, py_start = inspect.getsourcelines(fn)
    py_lines = textwrap.dedent("".join(py_lines)).splitlines(keepends=True)
    py_file = inspect.getsourcefile(inspect.unwrap(fn)) or "?"
    try:
        py_file = os.path.relpath(py_file)
    except ValueError:
        pass
    lh = f"Python: {py_file}:{py_start} ({variant})"
    tree = kernel_tree or os.environ.get("KPORT_KERNEL_TREE")
    notes: list[str] = [f"{name}(): upstream {ref.where}"]
    if not tree:
        notes.append("(pass --kernel-tree PATH, or set KPORT_KERNEL_TREE, to show the C original beside it)")
        return "\n".join(notes) + "\n\n" + "".join(py_lines)
    where = "--kernel-tree" if kernel_tree else "$KPORT_KERNEL_TREE"
    root = Path(tree).expanduser()
    if not root.is_dir():
        raise UsageError(f"{where} {tree}: not a directory")
    cpath = root / ref.file
    if not cpath.is_file():
        raise UsageError(f"{where} {tree}: {ref.file} is not in that kernel tree")
    cf = find_c_function(cpath, name)
    if cf is None:
        raise KportError(f"no definition of {name}() found in {cpath} (tree-sitter-c)")
    have = tree_version(root)
    if have and ref.version and have != ref.version:
        notes.append(f"note: your tree is {have}; the port follows {ref.version}")
    if ref.line and cf.line != ref.line:
        notes.append(f"note: {name}() starts at line {cf.line} in your tree; the port names line {ref.line}")
    if ref.patch:
        notes.append(f"note: the Python is {ref.patch}'s version of the function; the C is the tree's original")
    rh = f"C: {ref.file}:{cf.line}" + (f" ({have})" if have else "")
    if not width:
        width = max(40, (shutil.get_terminal_size((200, 40)).columns - 3) // 2)
    return (
        "\n".join(notes)
        + "\n\n"
        + _side_by_side([ln.rstrip("\n") for ln in py_lines], cf.text.splitlines(), lh, rh, width)
    )
