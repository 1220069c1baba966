# SPDX-License-Identifier: GPL-2.0-only
"""``kport source FUNCTION --variant V --patch FILE``: the port of a patch, checked line by line.

Three panels, each two columns (C on the left, Python on the right), aligned by statement where
the two sides name the same things (identifiers, constants, ``if``/``return``):

* **the change**: the patch's lines for the function (``-`` removed, ``+`` added, with their
  context) beside the diff between the Python before and after the patch's mixin;
* **before**: the C function before the patch beside the Python the variant without the patch
  runs;
* **after**: the C function after the patch beside the Python the variant runs.

The C comes from the user's files only, at run time: the patch file, and (``--kernel-tree`` or
``$KPORT_KERNEL_TREE``) the kernel checkout, where the whole function is cut out with
tree-sitter-c before and after applying the patch's hunks in memory.  Without a tree the C side
shows the hunks' own lines.

Then the check: each hunk that touches a ported function must have an override of it in the
variant, and that override must differ from the Python the variant without the patch runs.
Exit status 1 when a hunk has no override, or its override is still the base's code; else 0.
"""

from __future__ import annotations

import argparse
import difflib
import inspect
import os
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine.errors import UsageError
from .engine.kfunc import kfunc_of
from .patchmail import FileDiff, Hunk, PatchInputError, map_from_headers, map_with_tree, read
from .ports import body_dump, ports_of
from .variants import parse_variant

_WORD = re.compile(r"[A-Za-z_]\w*|\d+")
_NOISE = frozenset(
    [
        "self",
        "struct",
        "void",
        "int",
        "bool",
        "unsigned",
        "long",
        "static",
        "const",
        "inline",
        "def",
        "none",
        "null",
        "and",
        "or",
        "not",
        "in",
        "is",
        "u8",
        "u16",
        "u32",
        "u64",
        "s32",
        "s64",
        "char",
    ]
)


# The same thing spelt differently in the ports: the kernel's config tests.
_SAME = {"is_enabled": "config", "kconfig": "config", "if_enabled": "config"}


def tokens(line: str) -> set[str]:
    """What a line of C or Python names, for alignment: identifiers, numbers and the control
    words both languages share, lower-cased, without type words and ``self``."""
    words = {w.lower() for w in _WORD.findall(line.split("#")[0].split("//")[0])}
    words = {_SAME.get(w, w.removeprefix("config_")) for w in words}
    return {w for w in words if w not in _NOISE}


def similarity(a: str, b: str) -> float:
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


@dataclass
class Line:
    tag: str  # ' ', '-', '+', or '' (a plain listing)
    text: str

    def show(self) -> str:
        return f"{self.tag}{self.text}" if self.tag else self.text


def align(left: list[Line], right: list[Line], threshold: float = 0.34) -> list[tuple[Line | None, Line | None]]:
    """Rows pairing a left and a right line where they say the same thing (the most similar
    order-preserving matching, lines of one kind of change only with their own kind), the
    other lines on rows of their own, each side in its order."""
    n, m = len(left), len(right)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best = max(score[i + 1][j], score[i][j + 1])
            if left[i].tag == right[j].tag:
                s = similarity(left[i].text, right[j].text)
                if s >= threshold:
                    best = max(best, s + score[i + 1][j + 1])
            score[i][j] = best
    rows: list[tuple[Line | None, Line | None]] = []
    i = j = 0
    while i < n and j < m:
        s = similarity(left[i].text, right[j].text) if left[i].tag == right[j].tag else 0.0
        if s >= threshold and abs(score[i][j] - (s + score[i + 1][j + 1])) < 1e-9:
            rows.append((left[i], right[j]))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            rows.append((left[i], None))
            i += 1
        else:
            rows.append((None, right[j]))
            j += 1
    rows += [(ln, None) for ln in left[i:]]
    rows += [(None, ln) for ln in right[j:]]
    return rows


def _panel(title: str, lh: str, rh: str, rows: list[tuple[Line | None, Line | None]], width: int) -> list[str]:
    out = [title, f"{lh[:width]:<{width}} | {rh[:width]}", f"{'-' * width} | {'-' * width}"]
    for a, b in rows:
        ta = a.show().expandtabs(8) if a else ""
        tb = b.show() if b else ""
        out.append(f"{ta[:width]:<{width}} | {tb[:width]}".rstrip())
    return out


def _py_lines(fn: Any) -> list[str]:
    raw = inspect.unwrap(fn)
    return textwrap.dedent(inspect.getsource(raw)).splitlines()


def _py_diff(before: list[str], after: list[str]) -> list[Line]:
    """The Python diff, each change as its removed lines, then its added ones (as a patch reads)."""
    out: list[Line] = []
    sm = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out += [Line(" ", t) for t in before[i1:i2]]
            continue
        out += [Line("-", t) for t in before[i1:i2]]
        out += [Line("+", t) for t in after[j1:j2]]
    return out


def _without(variant: str, patch: str) -> str:
    parts = variant.split("+")
    return "+".join(p for p in parts if p.split(":")[0] != patch)


def _owner(v: Any, name: str) -> str:
    """The last patch of variant ``v`` whose mixin overrides kernel function ``name`` ("" if none)."""
    from .variants import overrides

    return next((p.name for p in reversed(v.patches) if name in overrides(p)), "")


@dataclass
class HunkCheck:
    hunk: Hunk
    function: str
    status: str  # "override" | "unedited" | "missing"
    owner: str = ""

    def line(self, variant: str) -> str:
        where = f"hunk {self.hunk.index} ({self.hunk.file} {self.hunk.header}) changes {self.function}()"
        if self.status == "override":
            return f"{where}: overridden by {self.owner}"
        if self.status == "unedited":
            return f"{where}: {self.owner} overrides it, but with the base's Python unchanged (not ported yet)"
        return f"{where}: NO override in {variant} (the port runs the unpatched function)"


def check_hunks(variant: str, hunks: list[Hunk], ported_files: dict[str, set[str]]) -> list[HunkCheck]:
    """For each (hunk, ported function it touches): does ``variant`` override it, and has the
    override been edited?"""
    from .report import kfuncs_of

    v = parse_variant(variant)
    table = kfuncs_of(v.cls)
    out = []
    for h in hunks:
        for f in h.functions:
            if f not in ported_files.get(h.file, set()):
                continue
            owner = _owner(v, f)
            if not owner:
                out.append(HunkCheck(h, f, "missing"))
                continue
            base = _without(variant, owner)
            before = kfuncs_of(parse_variant(base).cls).get(f)
            after = table[f]
            same = before is not None and body_dump(before[1]) == body_dump(after[1])
            out.append(HunkCheck(h, f, "unedited" if same else "override", owner))
    return out


def source_patch(
    name: str, variant: str, patch_file: str, kernel_tree: str | None = None, width: int = 0
) -> tuple[str, int]:
    from .report import kfuncs_of
    from .source import find_port, tree_version

    v, fn = find_port(name, variant)
    fr = kfunc_of(fn)
    assert fr is not None
    try:
        mails = read(patch_file)
    except PatchInputError as e:
        raise PatchInputError(f"--patch {e.one_line()}") from None
    tree = kernel_tree or os.environ.get("KPORT_KERNEL_TREE")
    where = "--kernel-tree" if kernel_tree else "$KPORT_KERNEL_TREE"
    root = Path(tree).expanduser() if tree else None
    if root is not None and not root.is_dir():
        raise UsageError(f"{where} {tree}: not a directory")
    hunks_by_file: dict[str, list[Hunk]] = {}
    for mail in mails:
        for fd in mail.files:
            hunks_by_file.setdefault(fd.path, []).extend(fd.hunks)
    notes: list[str] = []
    c_before: list[str] = []
    c_after: list[str] = []
    texts: dict[str, tuple[str, str]] = {}
    for path, hunks in hunks_by_file.items():
        cpath = root / path if root is not None else None
        if cpath is not None and cpath.is_file():
            old = cpath.read_text(encoding="utf-8", errors="replace")
            fd = FileDiff(path, path, hunks)
            texts[path] = (old, map_with_tree(fd, old, str(cpath)))
        else:
            for h in hunks:
                map_from_headers(h)
    mine = [h for h in hunks_by_file.get(fr.file, []) if name in h.functions]
    if not mine:
        notes.append(f"no hunk of {Path(patch_file).name} changes {name}() (in {fr.file})")
    if fr.file in texts:
        from .source import find_c_text

        old, new = texts[fr.file]
        b, a = find_c_text(old, name), find_c_text(new, name)
        c_before = b.splitlines() if b else []
        c_after = a.splitlines() if a else []
        have = tree_version(root) if root is not None else ""
        c_head = f"C: {fr.file} in your tree" + (f" ({have})" if have else "")
    else:
        for h in mine:
            c_before += h.old_text()
            c_after += h.new_text()
        why = "pass --kernel-tree PATH for the whole function" if root is None else f"{fr.file} is not in your tree"
        c_head = f"C: the hunks' lines ({why})"
    # The patch of the variant that overrides the function, and the variant without it
    owner = _owner(v, name)
    base = _without(variant, owner) if owner else variant
    before_fn = kfuncs_of(parse_variant(base).cls).get(name)
    py_before = _py_lines(before_fn[1]) if before_fn is not None else []
    py_after = _py_lines(fn)
    if not width:
        width = max(40, (shutil.get_terminal_size((200, 40)).columns - 3) // 2)
    out = [f"{name}(): upstream {fr.file}; Python of {variant}" + (f" (the patch's mixin: {owner})" if owner else "")]
    out += [f"note: {n}" for n in notes]
    if not owner:
        out.append(f"note: no patch of {variant} overrides {name}(): before and after are the same Python")
    # the change
    c_change = [Line(tag, text) for h in mine for tag, text in h.lines]
    if len(mine) > 1:
        c_change = []
        for h in mine:
            c_change.append(Line(" ", f"... hunk {h.index} {h.header}"))
            c_change += [Line(tag, text) for tag, text in h.lines]
    py_change = _py_diff(py_before, py_after)
    out.append("")
    out += _panel(
        "The change (the patch's lines beside the mixin's diff):",
        f"C: {Path(patch_file).name}",
        f"Python: {base} -> {variant}",
        align(c_change, py_change),
        width,
    )
    for title, cl, pl, ph in (
        ("Before:", c_before, py_before, f"Python: {base}"),
        ("After:", c_after, py_after, f"Python: {variant}"),
    ):
        out.append("")
        out += _panel(title, c_head, ph, align([Line("", x) for x in cl], [Line("", x) for x in pl]), width)
    # the check
    ports = {f: set(t) for f, t in ports_of(v).items()}
    every = [h for hs in hunks_by_file.values() for h in hs]
    checks = check_hunks(variant, every, ports)
    out.append("")
    out.append(f"Hunks of {Path(patch_file).name} and {variant}'s overrides:")
    for c in checks:
        out.append(f"  {c.line(variant)}")
    unported = [(h, f) for h in every for f in h.functions if f not in ports.get(h.file, set())]
    for h, f in unported:
        out.append(f"  hunk {h.index} ({h.file} {h.header}) changes {f}(): no port (the model cannot judge it)")
    if not checks and not unported:
        out.append("  (no hunk touches a function)")
    bad = [c for c in checks if c.status != "override"]
    return "\n".join(out) + "\n", 1 if bad else 0


def cmd_source(args: argparse.Namespace) -> int:
    """``kport source FUNCTION``: the C beside the Python (kernel_port/source.py); with
    ``--patch FILE``, before and after the patch (here)."""
    from .source import source

    if getattr(args, "patch", None):
        text, rc = source_patch(args.function, args.variant, args.patch, args.kernel_tree, args.width)
        print(text, end="")
        return rc
    print(source(args.function, args.variant, args.kernel_tree, args.width), end="")
    return 0
