# SPDX-License-Identifier: GPL-2.0-only
"""Port tests for kernel/smp.c, stop_machine and CPU hotplug, and the scftorture family."""

from __future__ import annotations

from typing import Any

import pytest

from kernel_port.engine import SimpleProgram, Struct, field, local_irq_disable, local_irq_enable
from kernel_port.engine.explorer import check, replay
from kernel_port.engine.trace import render_text
from kernel_port.kernel.smp import CSD_FLAG_LOCK, INIT_CSD, smp_call_func_t
from kernel_port.scenario import ScenarioProgram, load_by_path, program
from kernel_port.variants import parse_variant, project_root

EBUSY = 16
ENXIO = 6


def trace_rows(m: Any) -> list[str]:
    """The text of every trace row (without the column layout)."""
    return [row[4] for row in m.trace]


def smp_scenarios() -> Any:
    return load_by_path(project_root() / "scenarios" / "smp.py", "kernel_port_scenarios")


class V(Struct):
    ran = field(0)
    where = field(-1)
    err = field(0)


def kernel_program(ncpus: int, body: Any, variant: str = "v6.17", faults: int = 0) -> SimpleProgram:
    """A tiny program on the composed kernel: ``body(k, m)`` returns the CPU entries."""
    var = parse_variant(variant)

    def build(m: Any) -> dict[int, Any]:
        k = var.instantiate(m)
        for c in m.cpus:
            c.idle = None
        return body(k, m)  # type: ignore[no-any-return]

    p = SimpleProgram(f"smp-unit-{variant}", ncpus, build)
    p.config = dict(var.config)
    p.faults = faults
    if faults:
        p.fault_kinds = ("lost-ipi",)
    return p


def test_local_call_runs_with_irqs_off_and_unlocks_first() -> None:
    def body(k: Any, m: Any) -> dict[int, Any]:
        v = V(name="v")

        def f(info: Any) -> None:
            from kernel_port.engine import irqs_disabled, smp_processor_id

            assert irqs_disabled()
            v.where = smp_processor_id()

        def cpu0() -> None:
            assert k.smp_call_function_single(0, smp_call_func_t(f), None, 1) == 0
            assert v.where == 0
            assert k.csd_stack[0][0].node.u_flags == 0  # unlocked before the call

        return {0: cpu0}

    r = check(kernel_program(1, body))
    assert r.verdict == "ok", r.message


def test_remote_wait_call_runs_on_target_and_returns() -> None:
    def body(k: Any, m: Any) -> dict[int, Any]:
        v = V(name="v")

        def f(info: Any) -> None:
            from kernel_port.engine import smp_processor_id

            v.where = smp_processor_id()

        def cpu0() -> None:
            assert k.smp_call_function_single(1, smp_call_func_t(f), None, 1) == 0
            assert v.where == 1

        return {0: cpu0}

    r = check(kernel_program(2, body))
    assert r.verdict == "ok" and r.complete, r.message


def test_offline_target_gives_enxio_and_unlocks() -> None:
    def body(k: Any, m: Any) -> dict[int, Any]:
        from kernel_port.engine import set_cpu_online

        set_cpu_online(1, False)

        def cpu0() -> None:
            assert k.smp_call_function_single(1, smp_call_func_t(lambda i: None), None, 0) == -ENXIO
            assert not k.csd_data[0].node.u_flags & CSD_FLAG_LOCK

        return {0: cpu0}

    r = check(kernel_program(2, body))
    assert r.verdict == "ok", r.message


def test_async_busy_csd_is_refused() -> None:
    def body(k: Any, m: Any) -> dict[int, Any]:
        csd = INIT_CSD("my_csd", smp_call_func_t(lambda i: None), None)
        v = V(name="v")

        def cpu0() -> None:
            # Interrupts off: CPU 1 may not have run the first call yet.
            local_irq_disable()
            assert k.smp_call_function_single_async(1, csd) == 0
            v.err = k.smp_call_function_single_async(1, csd)
            local_irq_enable()
            assert v.err in (0, -EBUSY)

        return {0: cpu0}

    r = check(kernel_program(2, body))
    assert r.verdict == "ok", r.message


def test_second_sender_sends_no_ipi_while_queue_is_non_empty() -> None:
    """Only the add that finds call_single_queue empty raises the interrupt."""

    def body(k: Any, m: Any) -> dict[int, Any]:
        a = INIT_CSD("a", smp_call_func_t(lambda i: None, "fa"), None)
        b = INIT_CSD("b", smp_call_func_t(lambda i: None, "fb"), None)

        def cpu0() -> None:
            local_irq_disable()
            k.smp_call_function_single_async(1, a)
            k.smp_call_function_single_async(1, b)
            local_irq_enable()

        def cpu1() -> None:
            local_irq_disable()  # CPU 1 takes nothing until CPU 0 is done

        return {0: cpu0, 1: cpu1}

    p = kernel_program(2, body)
    out, _ = replay(p, [0] * 200)
    rows = trace_rows(out.machine)
    assert sum(r.startswith("send CALL_FUNCTION_SINGLE_VECTOR -> CPU1") for r in rows) == 1
    assert "llist_add(&a.node.llist, &call_single_queue[1]) -> true" in rows
    assert "llist_add(&b.node.llist, &call_single_queue[1]) -> false" in rows


def test_lost_ipi_waiter_trace_names_csd_lock_wait_and_target() -> None:
    r = check(program("smp.lost-ipi-waiter", "v6.17"))
    assert r.verdict == "bug" and r.kind == "deadlock"
    assert "csd_lock_wait()" in r.message and "CPU1" in r.message
    out, _ = replay(program("smp.lost-ipi-waiter", "v6.17"), r.counterexample.choices)  # type: ignore[union-attr]
    assert "IPI LOST: send CALL_FUNCTION_SINGLE_VECTOR -> CPU1" in trace_rows(out.machine)
    assert render_text(out.machine, r.message)


def test_csdlock_debug_resends_the_ipi() -> None:
    p = program("smp.lost-ipi-waiter", "v6.17+csdlock-debug")
    r = check(p, "random", seed=3, executions=300)
    assert r.verdict == "inconclusive"  # sampling never proves; dfs does (matrix)
    r = check(p)
    assert r.verdict == "ok" and r.complete


def test_hotplug_trace_shows_the_lost_ipi_mechanism() -> None:
    p = program("smp.hotplug-lost-ipi", "v3.10")
    r = check(p)
    assert r.verdict == "bug" and "csd_lock_wait()" in r.message and "CPU2" in r.message
    out, _ = replay(p, r.counterexample.choices)  # type: ignore[union-attr]
    rows = trace_rows(out.machine)
    assert "CPU2 dead (pending CALL_FUNCTION_SINGLE_VECTOR discarded)" in rows
    assert "set_cpu_online(2, false)" in rows
    assert "take_cpu_down()" in render_text(out.machine, r.message)


# -- the scftorture family ---------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_scftorture_no_violation_on_mainline(seed: int, strategy: str) -> None:
    cls = smp_scenarios().scf_torture(seed, nops=3)
    p = ScenarioProgram(cls, parse_variant("v6.17"), 0, None)
    r = check(p, strategy, seed=1234, executions=60)
    assert r.verdict == "inconclusive", r.message  # no violation in the sample


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_scftorture_finds_the_v3_10_hotplug_bug(strategy: str) -> None:
    cls = smp_scenarios().scf_torture(5, nops=3)
    p = ScenarioProgram(cls, parse_variant("v3.10"), 0, None)
    r = check(p, strategy, seed=1234, executions=300)
    assert r.verdict == "bug", r.message


def test_scftorture_is_deterministic_per_seed() -> None:
    mod = smp_scenarios()
    a, b = mod.scf_torture(7, nops=3), mod.scf_torture(7, nops=3)
    pa = ScenarioProgram(a, parse_variant("v6.17"), 0, None)
    pb = ScenarioProgram(b, parse_variant("v6.17"), 0, None)
    ra = check(pa, "random", seed=9, executions=5)
    rb = check(pb, "random", seed=9, executions=5)
    assert ra.executions == rb.executions and ra.verdict == rb.verdict


def test_scftorture_at_four_cpus() -> None:
    """Any CPU count: the last CPU is the one taken offline (its stopper runs)."""
    cls = smp_scenarios().scf_torture(5, cpus=4, nops=2)
    r617 = check(ScenarioProgram(cls, parse_variant("v6.17"), 0, None), "random", seed=3, executions=80)
    assert r617.verdict == "inconclusive", r617.message
    r310 = check(ScenarioProgram(cls, parse_variant("v3.10"), 0, cls.preemptions), "dfs", executions=400)
    assert r310.verdict == "bug" and "csd_lock_wait" in r310.message, r310.message
