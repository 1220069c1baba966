# SPDX-License-Identifier: GPL-2.0-only
"""The one scenario of tests/data/invalid that loads: it must keep working beside the others."""

from __future__ import annotations

from typing import Any

from kernel_port.engine import Machine, Struct, field
from kernel_port.scenario import OK, Scenario


class V(Struct):
    x = field(0)


class Fine(Scenario):
    """Nothing wrong."""

    name = "invalid.fine"
    cpus = 1
    expect = {"v6.17": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")

    def cpu0(self, k: Any) -> None:
        self.v.x = 1
