# SPDX-License-Identifier: GPL-2.0-only
"""Timed mode (engine/timed.py): clocks, busy loops stretched by interrupts, IPI latency,
timers, determinism, and the soft-lockup watchdog."""

from __future__ import annotations

from typing import Any

from kernel_port.engine import apic_eoi, apic_send_IPI, busy_loop, local_clock, preempt_disable
from kernel_port.engine.execution import SimpleProgram
from kernel_port.engine.memory import Struct, field
from kernel_port.engine.timed import CostModel, run_timed
from kernel_port.variants import parse_variant

VEC = 0xF0


class _S(Struct):
    ipis = field(0)


def _one_ipi_program(out: dict[str, Any]) -> SimpleProgram:
    def build(m: Any) -> dict[int, Any]:
        st = _S(name="st")

        def handler(vec: int) -> None:
            apic_eoi()

        m.register_vector(VEC, "TEST_VECTOR", handler)

        def cpu0() -> None:
            t = local_clock()
            busy_loop(100_000, "body")
            out["body"] = local_clock() - t

        def cpu1() -> None:
            busy_loop(10_000, "gap")
            apic_send_IPI(0, VEC)

        m.probe("ipis", lambda: st.raw("ipis"))
        return {0: cpu0, 1: cpu1}

    return SimpleProgram("one-ipi", 2, build)


def test_an_interrupt_stretches_a_busy_loop_by_its_own_duration() -> None:
    out: dict[str, Any] = {}
    cost = CostModel(step_ns=20, irq_entry_ns=500, irq_exit_ns=500, ipi_latency_ns=1000)
    res = run_timed(_one_ipi_program(out), cost, until_ns=1_000_000, sample_ns=100_000)
    # Sent at 10 us, arrives at 11 us, taken inside the loop: entry 500 + apic_eoi 20 + exit
    # 500 + the loop's re-entry step 20 -> the 100 us body takes 101.04 us... minus nothing.
    assert out["body"] == 100_000 + 500 + 20 + 500 + 20
    assert res.stop == "quiescent"


def test_no_interrupt_no_stretch_and_ipi_latency_counts() -> None:
    out: dict[str, Any] = {}
    # An IPI slower than the body arrives after it: the body is not stretched.
    cost = CostModel(step_ns=20, ipi_latency_ns=200_000)
    run_timed(_one_ipi_program(out), cost, until_ns=1_000_000, sample_ns=100_000)
    assert out["body"] == 100_000


def _timer_program(out: dict[str, Any]) -> SimpleProgram:
    def build(m: Any) -> dict[int, Any]:
        fired: list[int] = []

        def handler(vec: int) -> None:
            fired.append(local_clock())
            apic_eoi()

        m.register_vector(VEC, "TIMER", handler)
        m.add_source("timer", 0, VEC, budget=1 << 40, at_ns=750_000, period_ns=750_000)
        m.probe("fired", lambda: len(fired))
        out["fired"] = fired
        return {}

    return SimpleProgram("timer", 1, build)


def test_periodic_timer_fires_on_an_idle_cpu_at_its_times() -> None:
    out: dict[str, Any] = {}
    cost = CostModel(irq_entry_ns=0)
    res = run_timed(_timer_program(out), cost, until_ns=10_000_000, sample_ns=1_000_000)
    assert len(out["fired"]) == 13  # 0.75, 1.5, ..., 9.75 ms
    assert out["fired"][:2] == [750_000, 1_500_000]
    assert [v["fired"] for _, v in res.samples][:3] == [0.0, 1.0, 2.0]


def test_timed_runs_are_deterministic() -> None:
    a: dict[str, Any] = {}
    b: dict[str, Any] = {}
    r1 = run_timed(_timer_program(a), CostModel(), until_ns=5_000_000, sample_ns=500_000)
    r2 = run_timed(_timer_program(b), CostModel(), until_ns=5_000_000, sample_ns=500_000)
    assert a["fired"] == b["fired"]
    assert r1.samples == r2.samples and r1.steps == r2.steps


def test_watchdog_reports_a_cpu_that_never_schedules() -> None:
    variant = parse_variant("v6.17")

    def build(m: Any) -> dict[int, Any]:
        variant.instantiate(m)

        def stuck() -> None:
            preempt_disable()
            while True:
                busy_loop(1_000_000, "stuck in the kernel")

        return {0: stuck}

    prog = SimpleProgram("stuck", 2, build, config={"SOFTLOCKUP_DETECTOR": True})
    res = run_timed(prog, CostModel(), until_ns=50_000_000_000, sample_ns=1_000_000_000)
    lockups = [line for line in res.dmesg if "soft lockup" in line]
    # Sampled every 4 s: the first sample more than 20 s after the last touch is 24 s; the
    # report period restarts then, so the next is at 48 s.  The idle CPU 1 is never reported.
    assert len(lockups) == 2
    # "stuck for" is in units of 2**30 ns, as running_clock() >> 30 is.
    assert lockups[0].startswith("CPU0: [   24.") and "CPU#0 stuck for 22s" in lockups[0]
    assert lockups[1].startswith("CPU0: [   48.")


def _kernel_worker(config: dict[str, Any], *, cond_resched: bool) -> Any:
    """CPU 0 runs kernel code in 1 ms slices (preemption on), with or without cond_resched()
    between them; the soft-lockup watchdog watches.  ksoftirqd gives CPU 0 a scheduler."""
    variant = parse_variant("v6.17")

    def build(m: Any) -> dict[int, Any]:
        k = variant.instantiate(m)
        k.spawn_ksoftirqd()

        def worker() -> None:
            while True:
                busy_loop(1_000_000, "kernel work")
                if cond_resched:
                    k.cond_resched()

        return {0: worker}

    prog = SimpleProgram("worker", 2, build, config={"SOFTLOCKUP_DETECTOR": True, **config})
    res = run_timed(prog, CostModel(), until_ns=50_000_000_000, sample_ns=1_000_000_000)
    return [line for line in res.dmesg if "soft lockup" in line]


def test_voluntary_preemption_schedules_only_at_cond_resched() -> None:
    # PREEMPT_VOLUNTARY/NONE: no preemption on interrupt return.  Kernel code that never calls
    # cond_resched() is a soft lockup (24 s, 48 s); with cond_resched() between its slices the
    # stopper's wake-up (need_resched, set by watchdog_timer_fn) makes it schedule each time.
    for model in ("PREEMPT_VOLUNTARY", "PREEMPT_NONE"):
        lockups = _kernel_worker({model: True}, cond_resched=False)
        assert len(lockups) == 2 and "CPU#0 stuck for 22s" in lockups[0], lockups
        assert _kernel_worker({model: True}, cond_resched=True) == []


def test_full_preemption_needs_no_cond_resched() -> None:
    # The default model preempts on interrupt return: the stopper runs at the exit of the
    # watchdog's own interrupt, and cond_resched() is a no-op (it returns 0 under CONFIG_PREEMPT).
    assert _kernel_worker({}, cond_resched=False) == []


def test_cond_resched_follows_the_preemption_model() -> None:
    from kernel_port.engine import set_need_resched, smp_processor_id

    variant = parse_variant("v6.17")
    got: dict[str, Any] = {}

    for model in ("full", "PREEMPT_VOLUNTARY"):

        def build(m: Any, model: str = model) -> dict[int, Any]:
            k = variant.instantiate(m)
            k.spawn_ksoftirqd()
            passes: list[int] = []
            m.sched_hooks.append(lambda cpu: passes.append(cpu.id))

            def cpu0() -> None:
                set_need_resched(smp_processor_id())
                got[model] = (k.cond_resched(), list(passes))
                got[model + " again"] = k.cond_resched()  # nothing due any more

            return {0: cpu0}

        cfg = {} if model == "full" else {model: True}
        run_timed(SimpleProgram("cr", 1, build, config=cfg), CostModel(), until_ns=1_000_000, sample_ns=100_000)
    assert got["full"] == (0, [])  # CONFIG_PREEMPT: cond_resched() returns 0 at once
    assert got["PREEMPT_VOLUNTARY"] == (1, [0])  # __cond_resched(): one pass through __schedule()
    assert got["PREEMPT_VOLUNTARY again"] == 0


def test_interrupts_off_with_one_pending_is_a_hard_lockup() -> None:
    from kernel_port.engine import local_irq_disable

    def build(m: Any) -> dict[int, Any]:
        m.register_vector(VEC, "TIMER", lambda vec: apic_eoi())
        m.add_source("timer", 0, VEC, budget=1 << 40, at_ns=1_000_000, period_ns=1_000_000)

        def stuck() -> None:
            local_irq_disable()
            while True:
                busy_loop(100_000, "spinning with interrupts off")

        return {0: stuck}

    res = run_timed(SimpleProgram("stuck", 1, build), CostModel(), until_ns=1_000_000_000, sample_ns=10_000_000)
    assert res.stop == "bug" and "hard LOCKUP: CPU0 kept interrupts off for 10 ms with TIMER pending" in res.message
    assert 11_000_000 <= res.reached_ns <= 11_200_000


# -- the fast paths and the stand-in waits (kernel_port/engine/timed.py, primitives.timed_wait*) --


def _storm_json(variant: str, until_s: float, step_by_step: bool, monkeypatch: Any) -> str:
    import kernel_port.simulate as sim
    from kernel_port.engine import timed

    monkeypatch.setattr(sim, "run_timed", lambda *a, **k: timed.run_timed(*a, step_by_step=step_by_step, **k))
    rep = sim.simulate("rt.push-ipi-storm", variant, size="small", until_s=until_s)
    return sim.to_json_text([rep]) + "\n".join(rep.result.dmesg)


def test_running_ahead_and_handing_over_change_nothing(monkeypatch: Any) -> None:
    # Steps run in line, CPUs handed over greenlet to greenlet, interrupts delivered and
    # timers fired from a CPU's side: the same report, byte for byte, as one trip through the
    # driver loop per step.  (The storm: two targets interleaving, IPIs, timers, a waiting
    # stand-in; tejun-rfc also migrates tasks between many CPUs.)
    for variant in ("v6.17+94894c9c", "v6.17+94894c9c+tejun-rfc"):
        fast = _storm_json(variant, 0.4, False, monkeypatch)
        assert fast == _storm_json(variant, 0.4, True, monkeypatch)


def _stand_in_program(out: dict[str, Any], *, irq_at: int | None) -> SimpleProgram:
    from kernel_port.engine import timed_wait, timed_wait_for_change, timed_watch

    def build(m: Any) -> dict[int, Any]:
        st = _S(name="st")
        m.register_vector(VEC, "TEST_VECTOR", lambda vec: apic_eoi())
        if irq_at is not None:
            m.add_source("irq", 0, VEC, budget=1, at_ns=irq_at)

        def stand_in() -> None:
            mark = timed_watch()
            out["seen"] = st.ipis
            timed_wait_for_change(mark, "until st.ipis is written")
            out["woke_at"] = local_clock()
            timed_wait(st, "ipis", lambda v: v >= 2, "until st.ipis reaches 2")
            out["second_at"] = local_clock()

        def writer() -> None:
            busy_loop(50_000, "work")
            st.ipis = 1
            busy_loop(50_000, "work")
            st.ipis = 2

        return {0: stand_in, 1: writer}

    return SimpleProgram("stand-in", 2, build)


def test_a_stand_in_waits_for_a_change_without_steps_of_its_own() -> None:
    out: dict[str, Any] = {}
    res = run_timed(_stand_in_program(out, irq_at=None), CostModel(step_ns=20), until_ns=1_000_000, sample_ns=100_000)
    assert res.stop == "quiescent" and out["seen"] == 0
    # The writer stores at 50 us and at 100.02 us; the stand-in goes on at those moments (its
    # clock jumps there; the wait's one plain step is charged after).
    assert out["woke_at"] == 50_000
    assert out["second_at"] == 100_020


def test_an_interrupt_ends_a_stand_in_wait() -> None:
    out: dict[str, Any] = {}
    cost = CostModel(step_ns=20, irq_entry_ns=500, irq_exit_ns=500)
    run_timed(_stand_in_program(out, irq_at=10_000), cost, until_ns=1_000_000, sample_ns=100_000)
    # The interrupt at 10 us: entry, apic_eoi, exit, the delivery step; then the wait ends.
    assert out["woke_at"] == 10_000 + 500 + 20 + 500 + 20


def test_probes_read_the_machine_at_the_sample_time() -> None:
    def build(m: Any) -> dict[int, Any]:
        m.probe("now", lambda: m.now)

        def cpu0() -> None:
            busy_loop(1_000_000, "one long loop")

        return {0: cpu0}

    res = run_timed(SimpleProgram("probe", 1, build), CostModel(), until_ns=1_000_000, sample_ns=250_000)
    assert [(t, v["now"]) for t, v in res.samples] == [(t, float(t)) for t in range(0, 1_000_001, 250_000)]
