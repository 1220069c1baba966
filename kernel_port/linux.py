# SPDX-License-Identifier: GPL-2.0-only
"""The mainline kernel (v6.17) as the composition of the ported files.

Each ported file (kernel_port/kernel/irq_work.py, kernel_port/lib/llist.py,
...) defines one class whose methods carry the kernel's function names and
exports it as ``PORT``.  Python's method resolution stands in for the
kernel's single global namespace: any ported function calls any other as
``self.<name>(...)``.  Ports are found by walking kernel_port/kernel,
kernel_port/lib, kernel_port/arch and kernel_port/drivers in sorted module order, so the
composition is the same on every machine.

A port class lists in ``OWN_INITS`` the names of its methods that create its
per-execution state (per-CPU variables, locks); they run when a machine is
set up, in the same order.
"""

from __future__ import annotations

import importlib
import pkgutil

from .variants import KernelBase

_PACKAGES = ("kernel_port.lib", "kernel_port.kernel", "kernel_port.arch", "kernel_port.drivers")


def discover() -> tuple[type, ...]:
    found: list[tuple[str, type]] = []
    for pkgname in _PACKAGES:
        pkg = importlib.import_module(pkgname)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=pkgname + "."):
            mod = importlib.import_module(info.name)
            port = getattr(mod, "PORT", None)
            if isinstance(port, type):
                found.append((info.name, port))
    found.sort(key=lambda t: t[0])
    return tuple(p for _, p in found)


def compose(*ports: type) -> type:
    """The mainline class made of ``ports`` (in order) on top of KernelBase."""
    inits: list[str] = []
    for p in ports:
        for name in getattr(p, "OWN_INITS", ()):
            if name not in inits:
                inits.append(name)
    return type("Linux", (*ports, KernelBase), {"INITS": tuple(inits), "TREE_NAME": "v6.17"})


PORTS: tuple[type, ...] = discover()
Linux = compose(*PORTS)
