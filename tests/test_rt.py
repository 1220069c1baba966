# SPDX-License-Identifier: GPL-2.0-only
"""Port tests for the RT push IPI (kernel/sched/rt.c) and its 2026 patches.

Each test builds a tiny machine on a variant's composed kernel and checks one behaviour over
every schedule (dfs): the walk's scan and rescan in ``rto_next_cpu()`` with and without
94894c9c, the overload bookkeeping behind ``rto_mask``/``rto_count``, the priority bail, a push
that moves a task, tejun-rfc's relay push, dd29c017's feature default, and what peterz-retry's
"return 1" does to the relay's loop.  Two pinned trace fragments check that the scenarios'
counterexamples show the mechanism.
"""

from __future__ import annotations

from typing import Any

from kernel_port.engine import SimpleProgram, local_irq_disable, local_irq_enable, raw_spin_lock, raw_spin_unlock
from kernel_port.engine.explorer import check, replay
from kernel_port.engine.tasks import rt_prio
from kernel_port.engine.trace import render_text
from kernel_port.kernel.sched.rt import MAX_RT_PRIO, NICE_0_PRIO
from kernel_port.scenario import program
from kernel_port.variants import parse_variant

FIFO1 = rt_prio(1)


def kernel_program(ncpus: int, body: Any, variant: str = "v6.17", config: dict[str, Any] | None = None) -> Any:
    """``body(k, m)`` sets up state and returns the CPU entries; the result of ``check``."""
    var = parse_variant(variant)

    def build(m: Any) -> dict[int, Any]:
        k = var.cls(m)
        m.kernel = k
        return body(k, m)  # type: ignore[no-any-return]

    cfg = dict(var.config)
    cfg.update(config or {})
    return check(SimpleProgram(f"rt-unit@{variant}", ncpus, build, config=cfg))


def assert_ok(r: Any) -> None:
    assert r.verdict == "ok", r.message
    assert r.complete


def overloaded_cpu(k: Any, cpu: int, curr_prio: int, waiting_prio: int = FIFO1) -> Any:
    """``cpu`` runs a task of ``curr_prio`` with an RT task of ``waiting_prio`` queued behind it."""
    curr = k.new_task(f"curr/{cpu}", curr_prio, cpu)
    k.setup_queue_task(cpu, curr, running=True)
    waiting = k.new_task(f"waiting/{cpu}", waiting_prio, cpu)
    k.setup_queue_task(cpu, waiting)
    return waiting


# -- rto_next_cpu -------------------------------------------------------------------------


def _walk(variant: str, bump_after: int | None) -> list[int]:
    """rto_next_cpu() called repeatedly on CPU 0 with CPUs 0 and 2 overloaded (of 3); with
    ``bump_after``, rto_loop_next is bumped after that many calls (a pull during the walk)."""
    seen: list[int] = []

    def body(k: Any, m: Any) -> dict[int, Any]:
        overloaded_cpu(k, 0, NICE_0_PRIO)
        overloaded_cpu(k, 2, NICE_0_PRIO)
        rd = k.def_root_domain

        def cpu0() -> None:
            for i in range(6):
                if bump_after is not None and i == bump_after:
                    rd.rto_loop_next.counter = rd.rto_loop_next.counter + 1
                raw_spin_lock(rd.rto_lock)
                cpu = k.rto_next_cpu(rd)
                raw_spin_unlock(rd.rto_lock)
                seen.append(cpu)

        return {0: cpu0}

    assert_ok(kernel_program(3, body, variant))
    return seen


def test_rto_next_cpu_scans_the_mask_then_stops() -> None:
    # From rto_cpu -1: the first overloaded CPU, then the next, then the end (no new pass).
    assert _walk("v6.17", None)[:3] == [0, 2, -1]


def test_rto_next_cpu_rescans_when_rto_loop_next_moved_and_returns_this_cpu() -> None:
    # rto_loop_next moved during the pass: at the end of the mask the walk starts over from
    # the first bit -- CPU 0, the CPU running the walk.
    assert _walk("v6.17", 2)[:5] == [0, 2, 0, 2, -1]


def test_rto_next_cpu_with_94894c9c_skips_this_cpu_in_the_scan_and_the_rescan() -> None:
    # On CPU 0 the scan steps past CPU 0, also in the rescan.
    assert _walk("v6.17+94894c9c", None)[:2] == [2, -1]
    assert _walk("v6.17+94894c9c", 1)[:4] == [2, 2, -1, 2]


# -- overload bookkeeping --------------------------------------------------------------------


def test_pushable_tasks_drive_rto_mask_and_rto_count() -> None:
    def body(k: Any, m: Any) -> dict[int, Any]:
        r0, rd = k.cpu_rq(0), k.def_root_domain
        a = k.new_task("a", rt_prio(20), 0)
        b = k.new_task("b", rt_prio(10), 0)

        def cpu0() -> None:
            local_irq_disable()
            k.raw_spin_rq_lock(r0)
            k.enqueue_pushable_task(r0, b)
            assert r0.rt.overloaded == 1 and rd.rto_count.counter == 1 and rd.rto_mask.counter == 1
            assert r0.rt.highest_prio.next == b.prio
            k.enqueue_pushable_task(r0, a)
            # Still one overloaded CPU; the list is ordered by priority.
            assert rd.rto_count.counter == 1
            assert r0.rt.pushable_tasks.node_list == (a, b) and r0.rt.highest_prio.next == a.prio
            k.dequeue_pushable_task(r0, a)
            assert r0.rt.highest_prio.next == b.prio and r0.rt.overloaded == 1
            k.dequeue_pushable_task(r0, b)
            assert r0.rt.overloaded == 0 and rd.rto_count.counter == 0 and rd.rto_mask.counter == 0
            assert r0.rt.highest_prio.next == MAX_RT_PRIO - 1
            k.raw_spin_rq_unlock(r0)
            local_irq_enable()

        return {0: cpu0}

    assert_ok(kernel_program(2, body))


def test_pull_returns_early_when_this_cpu_is_the_only_overloaded_one() -> None:
    def body(k: Any, m: Any) -> dict[int, Any]:
        overloaded_cpu(k, 0, NICE_0_PRIO)
        r0, rd = k.cpu_rq(0), k.def_root_domain

        def cpu0() -> None:
            local_irq_disable()
            k.raw_spin_rq_lock(r0)
            k.pull_rt_task(r0)
            k.raw_spin_rq_unlock(r0)
            local_irq_enable()
            assert rd.rto_loop_next.counter == 0, "no push was asked for"

        return {0: cpu0}

    assert_ok(kernel_program(2, body))


# -- push_rt_task ------------------------------------------------------------------------------


def _push_once(variant: str, curr_prio: int, pull: bool) -> dict[str, Any]:
    """CPU 0 runs a task of ``curr_prio`` with a FIFO-1 task waiting; CPU 1 is idle.  CPU 0
    calls push_rt_task(rq, pull) once under its rq lock."""
    got: dict[str, Any] = {}

    def body(k: Any, m: Any) -> dict[int, Any]:
        waiting = overloaded_cpu(k, 0, curr_prio)
        r0, r1 = k.cpu_rq(0), k.cpu_rq(1)
        sent: list[int] = []
        send = k.smp_send_reschedule

        def smp_send_reschedule(cpu: int) -> None:
            sent.append(cpu)
            send(cpu)

        k.smp_send_reschedule = smp_send_reschedule

        def cpu0() -> None:
            local_irq_disable()
            k.raw_spin_rq_lock(r0)
            got["ret"] = k.push_rt_task(r0, pull)
            k.raw_spin_rq_unlock(r0)
            local_irq_enable()

        def final() -> None:
            got["overloaded0"] = r0.rt.raw("overloaded")
            got["resched0"] = r0.raw("curr").raw("need_resched")
            got["resched1"] = r1.raw("curr").raw("need_resched")
            got["task_cpu"] = waiting.raw("cpu")
            got["rq1_active"] = r1.rt.raw("active")
            got["rq1_pushable"] = r1.rt.pushable_tasks.raw("node_list")
            got["resched_ipis"] = list(sent)
            got["waiting"] = waiting

        m.at_end(final)
        return {0: cpu0}

    assert_ok(kernel_program(2, body, variant))
    return got


def test_priority_bail_asks_for_a_reschedule_and_leaves_the_cpu_overloaded() -> None:
    got = _push_once("v6.17", NICE_0_PRIO, pull=True)
    assert got["ret"] == 0
    assert got["resched0"] == 1, "resched_curr() set TIF_NEED_RESCHED on CPU 0's current task"
    assert got["overloaded0"] == 1
    assert got["task_cpu"] == 0


def test_push_moves_the_task_to_the_lowest_cpu_and_kicks_it() -> None:
    # The running task outranks the waiting one (FIFO-50 vs FIFO-1): no bail, push it to CPU 1.
    got = _push_once("v6.17", rt_prio(50), pull=False)
    assert got["ret"] == 1
    assert got["task_cpu"] == 1
    assert got["overloaded0"] == 0
    assert got["rq1_active"] == (got["waiting"],)
    # Queued, not running, may run elsewhere: pushable on its new run queue.
    assert got["rq1_pushable"] == (got["waiting"],)
    assert got["resched1"] == 1 and got["resched_ipis"] == [1], "resched_curr() of a remote rq sends the IPI"


def test_tejun_rfc_skips_the_bail_only_in_the_relay() -> None:
    relay = _push_once("v6.17+94894c9c+tejun-rfc", NICE_0_PRIO, pull=True)
    assert relay["ret"] == 1 and relay["task_cpu"] == 1 and relay["overloaded0"] == 0
    other = _push_once("v6.17+94894c9c+tejun-rfc", NICE_0_PRIO, pull=False)
    assert other["ret"] == 0 and other["overloaded0"] == 1 and other["resched0"] == 1


def test_peterz_retry_return_1_makes_the_relay_loop_forever() -> None:
    """At the sketch's limit push_rt_task() returns 1 without changing anything, and the relay
    calls it again while it returns 1: the tool reports an execution that never ends (step
    budget exhausted) in push_rt_task(), in hard interrupt context with the rq lock held."""

    def body(k: Any, m: Any) -> dict[int, Any]:
        overloaded_cpu(k, 0, NICE_0_PRIO)
        r0 = k.cpu_rq(0)
        r0.raw("curr").need_resched = 1
        # 16 bails since the last context switch (the storm has been going on).
        r0.rt_switches = r0.raw("nr_switches")
        r0.rt_push_resched = 16

        def cpu0() -> None:
            local_irq_disable()
            # What the relay does on this CPU.
            k.rto_push_irq_work_func(k.def_root_domain.rto_push_work)
            local_irq_enable()

        return {0: cpu0}

    var = parse_variant("v6.17+94894c9c+peterz-retry")

    def build(m: Any) -> dict[int, Any]:
        k = var.cls(m)
        m.kernel = k
        return body(k, m)

    r = check(SimpleProgram("peterz-limit", 2, build, step_budget=2000))
    assert r.verdict == "inconclusive", r.message
    assert "step budget" in r.coverage and "push_rt_task" in r.message


def test_peterz_retry_counts_bails_per_context_switch() -> None:
    got: dict[str, Any] = {}

    def body(k: Any, m: Any) -> dict[int, Any]:
        overloaded_cpu(k, 0, NICE_0_PRIO)
        r0 = k.cpu_rq(0)

        def cpu0() -> None:
            local_irq_disable()
            k.raw_spin_rq_lock(r0)
            rets = [k.push_rt_task(r0, True) for _ in range(3)]
            k.raw_spin_rq_unlock(r0)
            local_irq_enable()
            got["rets"] = rets
            got["count"] = r0.rt_push_resched

        return {0: cpu0}

    assert_ok(kernel_program(2, body, "v6.17+94894c9c+peterz-retry"))
    # The first bail sets the flag; each later one (flag already set) counts.
    assert got["rets"] == [0, 0, 0]
    assert got["count"] == 2


# -- the feature switch ---------------------------------------------------------------------------


def test_dd29c017_turns_rt_push_ipi_off_unless_preempt_rt() -> None:
    feats: dict[str, bool] = {}

    def body(k: Any, m: Any) -> dict[int, Any]:
        feats[m.config.get("PREEMPT_RT", False)] = k.sched_feat("RT_PUSH_IPI")
        return {}

    kernel_program(1, body, "v6.17+dd29c017")
    kernel_program(1, body, "v6.17+dd29c017", {"PREEMPT_RT": True})
    assert feats == {False: False, True: True}
    feats.clear()
    kernel_program(1, body, "v6.17")
    assert feats == {False: True}


def test_legacy_pull_leaves_a_task_that_outranks_the_source_cpus_current_task() -> None:
    """With RT_PUSH_IPI off, CPU 1 locks CPU 0's run queue itself and leaves the FIFO-1 task
    there (it outranks what runs there); no IPI is sent."""

    def body(k: Any, m: Any) -> dict[int, Any]:
        waiting = overloaded_cpu(k, 0, NICE_0_PRIO)
        overloaded_cpu(k, 2, NICE_0_PRIO)
        sleeper = k.new_task("fifo50/1", rt_prio(50), 1)
        r1 = k.cpu_rq(1)

        def cpu1() -> None:
            local_irq_disable()
            k.raw_spin_rq_lock(r1)
            k.balance_rt(r1, sleeper)
            k.raw_spin_rq_unlock(r1)
            local_irq_enable()

        def final() -> None:
            assert waiting.raw("cpu") == 0
            assert k.def_root_domain.rto_push_work.node.a_flags.raw("counter") == 8, "the work was never queued"

        m.at_end(final)
        return {1: cpu1}

    assert_ok(kernel_program(3, body, "v6.17+dd29c017"))


# -- the scenarios' counterexamples ---------------------------------------------------------------


def _counterexample(name: str, variant: str) -> tuple[Any, str]:
    p = program(name, variant)
    r = check(p, preemptions=p.preemption_bound)
    assert r.verdict == "bug", r.message
    out, div = replay(p, r.counterexample.choices)
    assert div is None
    assert out.machine is not None
    return r, render_text(out.machine, width=200)


def test_self_ipi_loop_trace_shows_the_walk_handing_itself_back() -> None:
    r, text = _counterexample("rt.self-ipi-loop", "v6.17")
    assert "= push_rt_task(&runqueues[0], true) -> 0" in text
    assert "= rto_next_cpu(&rd) -> 0" in text
    assert "send IRQ_WORK_VECTOR -> CPU0" in text
    assert "<IRQ_WORK_VECTOR>" in text
    assert "CPU0 takes push IPI #" in r.message


def test_push_ipi_storm_trace_shows_the_walk_revisiting_a_stuck_cpu() -> None:
    r, text = _counterexample("rt.push-ipi-storm", "v6.17+94894c9c")
    assert text.count("= push_rt_task(&runqueues[0], true) -> 0") >= 2
    assert "= rto_next_cpu(&rd) -> 1" in text
    assert "<softirq>" in text
    assert "the push walk visited CPU0 2 times" in r.message
