# SPDX-License-Identifier: GPL-2.0-only
"""Scenarios with one mistake each, caught when the module loads (each names its line)."""

from __future__ import annotations

from typing import Any

from kernel_port.scenario import OK, Scenario


class ExtraCpu(Scenario):
    """A cpu2() method in a 2-CPU scenario: it would never run."""

    name = "invalid.extra-cpu"
    cpus = 2
    expect = {"v6.17": OK}

    def cpu0(self, k: Any) -> None:
        pass

    def cpu2(self, k: Any) -> None:  # MARK extra-cpu
        pass


class ConfigTypo(Scenario):
    """A configuration key no port reads (PREEMPT-RT for PREEMPT_RT): it would read as False."""

    name = "invalid.config-typo"
    cpus = 1
    config = {"PREEMPT-RT": True}  # MARK config-typo
    expect = {"v6.17": OK}


class UnknownPatch(Scenario):
    """An expected cell naming a patch that does not exist."""

    name = "invalid.unknown-patch"
    cpus = 1
    expect = {"v6.17": OK, "v6.17+nonesuch": OK}  # MARK unknown-patch


class TooManyCpus(Scenario):
    """cpus = 100000: a machine that large would never finish setting up."""

    name = "invalid.too-many-cpus"
    cpus = 100000  # MARK too-many-cpus
    expect = {"v6.17": OK}


class NotANumber(Scenario):
    """A machine description that cannot be built (cpus is not a number)."""

    name = "invalid.bad-machine"
    cpus = "two"  # type: ignore[assignment]  # MARK bad-machine
    expect = {"v6.17": OK}


class BadSetup(Scenario):
    """setup() without the machine argument."""

    name = "invalid.bad-setup"
    cpus = 1
    expect = {"v6.17": OK}

    def setup(self, k: Any) -> None:  # type: ignore[override]  # MARK bad-setup
        pass


class BadVerdict(Scenario):
    """An expected verdict that is neither BUG, OK nor find."""

    name = "invalid.bad-verdict"
    cpus = 1
    expect = {"v6.17": "ok"}  # MARK bad-verdict


class Twice(Scenario):
    """The same name as another scenario."""

    name = "invalid.fine"  # MARK twice
    cpus = 1
    expect = {"v6.17": OK}
