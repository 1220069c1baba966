# SPDX-License-Identifier: GPL-2.0-only
"""The engine never imports ported kernel code (it stays a machine, like loom's rt/)."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "kernel_port" / "engine"
ALLOWED_PREFIXES = ("kernel_port.engine",)
FORBIDDEN = ("kernel_port", "kernel_port_patches", "kernel_port_scenarios")


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative: resolve against kernel_port.engine.
                base = ["kernel_port", "engine"][: max(0, 2 - (node.level - 1))]
                mod = ".".join([*base, node.module] if node.module else base)
                out.append(mod)
            elif node.module:
                out.append(node.module)
    return out


def test_engine_imports_no_ported_code() -> None:
    files = sorted(ENGINE.glob("*.py"))
    assert files, "engine sources not found"
    bad = []
    for f in files:
        for mod in imports_of(f):
            if mod.startswith(FORBIDDEN) and not mod.startswith(ALLOWED_PREFIXES):
                bad.append(f"{f.name}: imports {mod}")
    assert not bad, "the engine must not import ported code:\n" + "\n".join(bad)


def test_the_check_would_catch_a_relative_escape(tmp_path: Path) -> None:
    p = tmp_path / "x.py"
    p.write_text("from ..kernel import irq_work\nfrom .core import Machine\n")
    mods = imports_of(p)
    assert "kernel_port.kernel" in mods and "kernel_port.engine.core" in mods
