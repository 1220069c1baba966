# SPDX-License-Identifier: GPL-2.0-only
"""The mainline kernel (v6.17) as the composition of the ported files.

Each ported file (kernel_port/kernel/irq_work.py, kernel_port/lib/llist.py,
...) contributes one class whose methods carry the kernel's function names.
Python's method resolution stands in for the kernel's single global
namespace: any ported function calls any other as ``self.<name>(...)``.
Ports are added to ``PORTS`` as they land.
"""

from __future__ import annotations

from .variants import KernelBase

PORTS: tuple[type, ...] = ()


def compose(*ports: type) -> type:
    """The mainline class made of ``ports`` (in order) on top of KernelBase."""
    inits: list[str] = []
    for p in ports:
        for name in getattr(p, "OWN_INITS", ()):
            if name not in inits:
                inits.append(name)
    return type("Linux", (*ports, KernelBase), {"INITS": tuple(inits), "TREE_NAME": "v6.17"})


Linux = compose(*PORTS)
