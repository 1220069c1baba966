# SPDX-License-Identifier: GPL-2.0-only
"""The scenario-author helpers (kernel_port/scenario_helpers.py) and the late empty-queue IPI.

The late empty-queue IPI (issue 22): an IPI that is still pending when the outgoing CPU turns
its interrupts off in stop_machine is taken when stop_machine gives the interrupts back, on a
CPU that is already offline, after the CPU_DYING flush has run its callback.  Its queue is
empty, and no tree warns for it: 8d056c48 (2014) tested the queue after emptying it, 9e949a3
(2022, v6.17) tests what it took.  On the trees without the flush (v3.10, 8d056c48's parent)
that IPI is not empty -- it carries the stranded callback -- and they warn, as their C did.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kernel_port.engine import Machine, Struct, cpu_online, field, smp_processor_id
from kernel_port.engine.explorer import check
from kernel_port.kernel.irq_work import IRQ_WORK_INIT
from kernel_port.kernel.smp import INIT_CSD, smp_call_func_t
from kernel_port.scenario import Scenario, ScenarioProgram
from kernel_port.scenario_helpers import (
    call_async,
    call_queue,
    call_queue_empty,
    expect_warn,
    lists_holding,
    llist_chain,
    warnings,
)
from kernel_port.variants import parse_variant

OFFLINE_WARN = r"IPI on offline CPU"


class V(Struct):
    ran = field(0)


class LateIpi(Scenario):
    """CPU 1 queues an async call to CPU 2 just as CPU 0 takes CPU 2 offline (no online again)."""

    name = ""  # not a corpus scenario
    cpus = 3
    preemptions = 0

    def setup(self, k: Any, m: Machine) -> None:
        self.v = V(name="v")
        self.csd = INIT_CSD("csd", smp_call_func_t(self.func, "func"), None)
        for c in m.cpus:
            c.idle = None
        expect_warn(m, OFFLINE_WARN, fires=False, why="a late IPI whose callback already ran")

    def func(self, info: Any) -> None:
        self.v.ran = 1

    def cpu0(self, k: Any) -> None:
        k.cpu_down(2)

    def cpu1(self, k: Any) -> None:
        if cpu_online(2):
            call_async(k, 2, self.csd)
        k.cpu_stopper_thread()

    def cpu2(self, k: Any) -> None:
        k.cpu_stopper_thread()
        k.do_idle_offline_check()


def _probed(variant: str, seen: set[str]) -> Any:
    """The variant with its call-function handler watched: records, engine-side, each time
    the handler runs on an offline CPU whether the queue was empty."""
    v = parse_variant(variant)

    class Probe:
        def generic_smp_call_function_single_interrupt(self: Any) -> None:
            me = smp_processor_id()
            if not self.m.cpu_online[me]:
                seen.add("late, empty queue" if call_queue_empty(self, me) else "late, callback queued")
            super().generic_smp_call_function_single_interrupt()  # type: ignore[misc]

    return dataclasses.replace(v, cls=type(f"{variant}+probe", (Probe, v.cls), {}))


@pytest.mark.parametrize("variant", ["v6.17", "pre-8d056c48+8d056c48", "v3.10+8d056c48"])
def test_late_empty_queue_ipi_does_not_warn(variant: str) -> None:
    seen: set[str] = set()
    r = check(ScenarioProgram(LateIpi, _probed(variant, seen), 0, 0), preemptions=0)
    assert r.verdict == "ok" and r.complete, r.message
    # The search did take the late IPI, and found its queue empty every time.
    assert seen == {"late, empty queue"}, seen


@pytest.mark.parametrize("variant", ["v3.10", "pre-8d056c48"])
def test_without_the_flush_the_late_ipi_carries_the_callback_and_warns(variant: str) -> None:
    seen: set[str] = set()
    r = check(ScenarioProgram(LateIpi, _probed(variant, seen), 0, 0), preemptions=0)
    assert r.verdict == "bug" and r.kind == "WARN", r.message
    assert "IPI on offline CPU 2" in r.message and "must not fire" in r.message
    assert "late, empty queue" not in seen and "late, callback queued" in seen


# -- the helpers ------------------------------------------------------------------------------


class QueueShape(Scenario):
    """CPU 0 queues two async calls to CPU 1 with interrupts off on CPU 1: the queue, inspected."""

    name = ""
    cpus = 2

    def setup(self, k: Any, m: Machine) -> None:
        self.a = INIT_CSD("a", smp_call_func_t(lambda info: None, "fa"), None)
        self.b = INIT_CSD("b", smp_call_func_t(lambda info: None, "fb"), None)
        self.k = k
        self.snapshots: list[list[str]] = []
        for c in m.cpus:
            c.idle = None
        m.at_end(lambda: self._check_empty())

    def _check_empty(self) -> None:
        assert call_queue_empty(self.k, 1) and call_queue(self.k, 1) == []

    def cpu0(self, k: Any) -> None:
        from kernel_port.engine import local_irq_disable, local_irq_enable

        local_irq_disable()
        call_async(k, 1, self.a)
        call_async(k, 1, self.b)
        # Engine-side, no steps: both wait, oldest first, on every tree.
        assert [c.kp_name for c in call_queue(k, 1)] == ["a", "b"]
        assert not call_queue_empty(k, 1)
        local_irq_enable()


@pytest.mark.parametrize("variant", ["v3.10", "pre-8d056c48", "v6.17"])
def test_call_queue_reads_every_tree(variant: str) -> None:
    r = check(ScenarioProgram(QueueShape, parse_variant(variant), 0, 0), preemptions=0, executions=30)
    assert r.verdict in ("ok", "inconclusive"), r.message


class Warns(Scenario):
    """One WARN fires on CPU 0; expectations about it."""

    name = ""
    cpus = 1
    want: tuple[str, bool] = ("", True)

    def setup(self, k: Any, m: Machine) -> None:
        self.m = m
        pat, fires = self.want
        expect_warn(m, pat, fires=fires)

    def cpu0(self, k: Any) -> None:
        from kernel_port.engine import WARN_ON

        WARN_ON(True, "the expected one")
        assert warnings(self.m)[-1].endswith("the expected one")


def _warns(pat: str, fires: bool) -> Any:
    cls = type("W", (Warns,), {"want": (pat, fires)})
    return check(ScenarioProgram(cls, parse_variant("v6.17"), 0, None))


def test_expect_warn_per_message() -> None:
    assert _warns("expected one", True).verdict == "ok"
    r = _warns("another one", True)
    assert r.verdict == "bug" and "no WARN matching 'another one' fired" in r.message
    r = _warns("expected one", False)
    assert r.verdict == "bug" and r.kind == "WARN" and "must not fire" in r.message
    # A forbidden pattern leaves other warnings recorded only.
    assert _warns("another one", False).verdict == "ok"


def test_lists_holding_sees_a_node_linked_twice() -> None:
    seen: dict[str, Any] = {}

    def build(k: Any, m: Machine) -> dict[int, Any]:
        w = IRQ_WORK_INIT(lambda work: None, name="w")
        heads = {"raised_list[0]": k.raised_list[0], "lazy_list[0]": k.lazy_list[0]}

        def cpu0() -> None:
            from kernel_port.engine import local_irq_disable

            local_irq_disable()
            k.llist_add(w.node.llist, k.raised_list[0])
            seen["once"] = lists_holding(w.node.llist, heads)
            k.llist_add(w.node.llist, k.lazy_list[0])
            seen["twice"] = lists_holding(w.node.llist, heads)
            seen["chain"] = [n.owner.kp_name for n in llist_chain(k.lazy_list[0])]

        return {0: cpu0}

    from kernel_port.engine import SimpleProgram

    v = parse_variant("v6.17")

    def builder(m: Machine) -> dict[int, Any]:
        k = v.instantiate(m)
        m.kernel = k
        return build(k, m)

    r = check(SimpleProgram("helpers-lists", 1, builder), executions=5)
    assert r.verdict in ("ok", "inconclusive"), r.message
    assert seen["once"] == ["raised_list[0]"]
    assert seen["twice"] == ["raised_list[0]", "lazy_list[0]"]
    assert seen["chain"] == ["w"]
