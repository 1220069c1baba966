# SPDX-License-Identifier: GPL-2.0-only
"""Port unit tests for kernel/softirq.c (issue 7, softirqs and tasklets).

A raise in a hard interrupt runs at that interrupt's exit, in softirq context with interrupts
on; a hard interrupt nested in softirq processing starts no nested processing and only leaves
a bit for the restart check; tasklets run once per schedule and never on two CPUs at once (a
tasklet running elsewhere is requeued and its softirq raised again); the restart limit and
need_resched() hand the rest to ksoftirqd; local_bh_enable() runs what was raised while bottom
halves were off.  Each property is checked over every schedule by the dfs explorer where the
program is finite; the requeue loop is a livelock under an unfair schedule (as on hardware
without fairness), so that test runs one execution under a fair round-robin driver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kernel_port.engine import (
    Machine,
    SimpleProgram,
    Struct,
    apic_eoi,
    await_field,
    busy_loop,
    current_task,
    field,
    in_hardirq,
    in_serving_softirq,
    irqs_disabled,
    kthread_create_on_cpu,
    preempt_count,
    rt_prio,
    wake_up_process,
)
from kernel_port.engine import core as engine_core
from kernel_port.engine.execution import run
from kernel_port.engine.explorer import check
from kernel_port.engine.trace import render_text
from kernel_port.kernel.softirq import (
    MAX_SOFTIRQ_RESTART,
    NET_RX_SOFTIRQ,
    TASKLET_SOFTIRQ,
    TASKLET_STATE_RUN,
    tasklet_struct,
)
from kernel_port.variants import parse_variant

DEV_VECTOR = 0xE5
DEV2_VECTOR = 0xD5


def _program(ncpus: int, build: Callable[[Any, Machine], dict[int, Any]], config: dict[str, Any] | None = None) -> Any:
    v = parse_variant("v6.17")

    def builder(m: Machine) -> dict[int, Any]:
        k = v.instantiate(m)
        m.kernel = k
        return build(k, m)

    return SimpleProgram("softirq-unit", ncpus, builder, config=dict(config or {}))


def _frames() -> list[str]:
    cpu = engine_core.current_cpu()
    return [f.name for f in cpu.kstack]


def _where() -> str:
    t = current_task()
    return t.name if t is not None else "base"


def _device(m: Machine, name: str, vector: int, handler: Callable[[], None], cpu: int = 0) -> None:
    def entry(vec: int) -> None:
        handler()
        apic_eoi()

    m.register_vector(vector, name.upper() + "_VECTOR", entry)
    m.add_source(name, cpu, vector, budget=1)


class Flag(Struct):
    v = field(0)


class RoundRobin:
    """A fair driver: the enabled actors in turn (no value choices: no faults)."""

    def __init__(self) -> None:
        self.last = -1

    def pick(self, m: Machine, enabled: list[int]) -> int:
        later = [a for a in enabled if a > self.last]
        self.last = later[0] if later else enabled[0]
        return self.last

    def value(self, n: int, what: str) -> int:
        return 0


# -- set-up ----------------------------------------------------------------------------------


def test_softirq_machinery_exists_only_where_a_scenario_uses_it() -> None:
    seen: dict[str, Any] = {}

    def plain(k: Any, m: Machine) -> dict[int, Any]:
        seen["plain"] = (list(k.ksoftirqd), list(m.irq_exit_hooks))
        return {}

    def used(k: Any, m: Machine) -> dict[int, Any]:
        k.tasklet_setup(tasklet_struct(name="t"), lambda t: None)
        seen["used"] = ([t.name for t in k.ksoftirqd], list(m.irq_exit_hooks))
        return {}

    for build in (plain, used):
        r = check(_program(2, build, {"NO_HZ_IDLE": True}))
        assert r.verdict == "ok", r.message
    ks, hooks = seen["plain"]
    assert ks == [None, None]
    assert all(getattr(h, "__name__", "") != "_softirq_irq_exit_hook" for h in hooks)
    names, hooks = seen["used"]
    assert names == ["ksoftirqd/0", "ksoftirqd/1"]
    # The softirq half of __irq_exit_rcu runs before the tick's tick_irq_exit().
    assert [h.__name__ for h in hooks] == ["_softirq_irq_exit_hook", "_irq_exit_hook"]


def test_raise_without_softirq_setup_is_a_scenario_error() -> None:
    def build(k: Any, m: Machine) -> dict[int, Any]:
        return {0: lambda: k.raise_softirq(NET_RX_SOFTIRQ)}

    r = check(_program(1, build))
    assert r.verdict == "error", r.message
    assert "did not set up softirqs" in r.message


# -- interrupt exit --------------------------------------------------------------------------


def test_raise_in_hardirq_runs_at_irq_exit_in_softirq_context_with_irqs_on() -> None:
    seen: set[tuple[Any, ...]] = set()

    def build(k: Any, m: Machine) -> dict[int, Any]:
        runs: list[tuple[Any, ...]] = []
        flag = Flag(name="flag")

        def net_rx_action() -> None:
            f = _frames()
            runs.append(
                (
                    in_serving_softirq(),
                    irqs_disabled(),
                    in_hardirq(),
                    _where(),
                    "<DEV_VECTOR>" in f,
                    f.index("__irq_exit_rcu") < f.index("handle_softirqs"),
                )
            )

        k.open_softirq(NET_RX_SOFTIRQ, net_rx_action)
        _device(m, "dev", DEV_VECTOR, lambda: k.raise_softirq_irqoff(NET_RX_SOFTIRQ))
        m.eventually("the raised softirq ran", lambda: len(runs) == 1)
        m.at_end(lambda: seen.update(runs))

        def cpu0() -> None:
            # A little task-context work for the interrupt to land in.
            flag.v = 1
            flag.v = 2

        return {0: cpu0}

    r = check(_program(1, build))
    assert r.verdict == "ok" and r.complete, r.message
    assert r.executions > 1
    assert seen == {(True, False, False, "base", True, True)}


def test_hardirq_nested_in_softirq_only_sets_the_pending_bit() -> None:
    outcomes: set[str] = set()

    def build(k: Any, m: Machine) -> dict[int, Any]:
        st: dict[str, Any] = {"active": 0, "invocations": [], "inside": 0, "nested_raise": False}
        orig = k.handle_softirqs

        def handle_softirqs(ksirqd: bool) -> None:
            assert st["active"] == 0, "softirq processing started inside softirq processing"
            st["active"] += 1
            st["invocations"].append(0)
            orig(ksirqd)
            st["active"] -= 1

        k.handle_softirqs = handle_softirqs

        def net_rx_action() -> None:
            assert st["inside"] == 0, "NET_RX ran nested in itself"
            st["inside"] += 1
            st["invocations"][-1] += 1
            busy_loop(10_000, "net_rx_action body")  # a step boundary: interrupts may land here
            st["inside"] -= 1

        def device() -> None:
            if in_serving_softirq():
                st["nested_raise"] = True
            k.raise_softirq_irqoff(NET_RX_SOFTIRQ)

        k.open_softirq(NET_RX_SOFTIRQ, net_rx_action)
        _device(m, "dev", DEV_VECTOR, device)
        _device(m, "dev2", DEV2_VECTOR, device)

        def done() -> None:
            inv = st["invocations"]
            assert sum(inv) == 2, inv
            if st["nested_raise"]:
                # The nested interrupt's bit was found by the restart check of the same call.
                assert inv == [2], inv
                outcomes.add("restart")
            else:
                assert inv == [1, 1], inv
                outcomes.add("separate")

        m.at_end(done)
        return {}

    r = check(_program(1, build))
    assert r.verdict == "ok" and r.complete, r.message
    assert outcomes == {"restart", "separate"}


# -- tasklets --------------------------------------------------------------------------------


def test_tasklet_scheduled_twice_before_it_runs_runs_once() -> None:
    where: set[str] = set()

    def build(k: Any, m: Machine) -> dict[int, Any]:
        runs: list[str] = []
        t = tasklet_struct(name="t")
        k.tasklet_setup(t, lambda t: runs.append("irq" if "<DEV_VECTOR>" in _frames() else "bh_enable"))

        def twice() -> None:
            k.tasklet_schedule(t)
            k.tasklet_schedule(t)

        _device(m, "dev", DEV_VECTOR, twice)
        m.at_end(lambda: where.update(runs))

        def cpu0() -> None:
            k.local_bh_disable()
            twice()
            k.local_bh_enable()

        def check_runs() -> None:
            # Twice from the task, twice from the interrupt: once or twice in all, never more.
            assert 1 <= len(runs) <= 2, runs

        m.at_end(check_runs)
        return {0: cpu0}

    r = check(_program(1, build))
    assert r.verdict == "ok" and r.complete, r.message
    assert where == {"irq", "bh_enable"}


def test_tasklet_running_on_another_cpu_is_requeued_and_runs_serially() -> None:
    log: dict[str, Any] = {"runs": [], "failed_trylock": [], "raises": []}

    def build(k: Any, m: Machine) -> dict[int, Any]:
        t = tasklet_struct(name="t")
        first_requeue = Flag(name="first_requeue")
        st = {"inside": 0}

        def body(t: tasklet_struct) -> None:
            assert st["inside"] == 0, "tasklet running on two CPUs at once"
            st["inside"] += 1
            cpu = engine_core.current_cpu().id
            log["runs"].append(cpu)
            if len(log["runs"]) == 1:
                # Keep running until the other CPU has found the tasklet busy once.
                await_field(first_requeue, "v", lambda v: v == 1, what="wait")
            busy_loop(10_000, "tasklet body")
            st["inside"] -= 1

        k.tasklet_setup(t, body)

        trylock = k.tasklet_trylock

        def tasklet_trylock(t: tasklet_struct) -> bool:
            ok = trylock(t)
            if not ok:
                log["failed_trylock"].append(engine_core.current_cpu().id)
                if first_requeue.v == 0:
                    first_requeue.v = 1
            return ok

        k.tasklet_trylock = tasklet_trylock
        raise_irqoff = k._raise_softirq_irqoff

        def _raise_softirq_irqoff(nr: int) -> None:
            log["raises"].append((engine_core.current_cpu().id, nr, len(log["failed_trylock"])))
            raise_irqoff(nr)

        k._raise_softirq_irqoff = _raise_softirq_irqoff

        def cpu0() -> None:
            k.local_bh_disable()
            k.tasklet_schedule(t)
            k.local_bh_enable()

        def cpu1() -> None:
            # Schedule it again once it runs on CPU0 with SCHED clear (its callback started).
            await_field(t.state, "counter", lambda v: v == 1 << TASKLET_STATE_RUN, what="wait")
            k.local_bh_disable()
            k.tasklet_schedule(t)
            k.local_bh_enable()

        return {0: cpu0, 1: cpu1}

    out = run(_program(2, build), RoundRobin())
    assert out.status == "complete", out.message
    assert log["runs"] == [0, 1]
    assert log["failed_trylock"] and set(log["failed_trylock"]) == {1}
    # After CPU1 found it busy, CPU1 raised TASKLET_SOFTIRQ again (the requeue).
    assert any(cpu == 1 and nr == TASKLET_SOFTIRQ and failed >= 1 for cpu, nr, failed in log["raises"])


# -- the restart limit and ksoftirqd -------------------------------------------------------


def _restarts(wake_rt: bool) -> set[tuple[Any, ...]]:
    """A NET_RX action that raises itself again until it ran 25 times; returns, per
    execution, the runs of each handle_softirqs() call and who made it."""
    total = 25
    seen: set[tuple[Any, ...]] = set()

    def build(k: Any, m: Machine) -> dict[int, Any]:
        calls: list[list[Any]] = []
        orig = k.handle_softirqs

        def handle_softirqs(ksirqd: bool) -> None:
            calls.append([_where(), 0])
            orig(ksirqd)

        k.handle_softirqs = handle_softirqs
        rt = kthread_create_on_cpu(m, 0, lambda: calls.append(["rt"]), "rt", rt_prio(50))
        runs = [0]

        def net_rx_action() -> None:
            runs[0] += 1
            calls[-1][1] += 1
            if wake_rt and runs[0] == 1:
                wake_up_process(rt)  # an RT task becomes runnable: need_resched()
            if runs[0] < total:
                k.raise_softirq(NET_RX_SOFTIRQ)

        k.open_softirq(NET_RX_SOFTIRQ, net_rx_action)
        _device(m, "dev", DEV_VECTOR, lambda: k.raise_softirq_irqoff(NET_RX_SOFTIRQ))
        m.eventually("every raise ran", lambda: runs[0] == total)
        m.at_end(lambda: seen.add(tuple(tuple(c) for c in calls)))
        return {}

    r = check(_program(1, build))
    assert r.verdict == "ok" and r.complete, r.message
    return seen


def test_restart_limit_hands_the_rest_to_ksoftirqd() -> None:
    assert MAX_SOFTIRQ_RESTART == 10
    # Untimed: jiffies do not move, so the restart count ends each call after 10 rounds.
    assert _restarts(wake_rt=False) == {
        (("base", 10), ("ksoftirqd/0", 10), ("ksoftirqd/0", 5)),
    }


def test_need_resched_stops_restarting() -> None:
    # The RT task woken by the first round is due: no second round at interrupt exit; the RT
    # task runs on the way out of the interrupt, then ksoftirqd does the rest.
    assert _restarts(wake_rt=True) == {
        (("base", 1), ("rt",), ("ksoftirqd/0", 10), ("ksoftirqd/0", 10), ("ksoftirqd/0", 4)),
    }


def test_raise_from_task_context_wakes_ksoftirqd() -> None:
    where: set[str] = set()

    def build(k: Any, m: Machine) -> dict[int, Any]:
        runs: list[str] = []
        k.open_softirq(NET_RX_SOFTIRQ, lambda: runs.append(_where()))
        m.eventually("the softirq ran", lambda: len(runs) == 1)
        m.at_end(lambda: where.update(runs))
        return {0: lambda: k.raise_softirq(NET_RX_SOFTIRQ)}

    r = check(_program(1, build))
    assert r.verdict == "ok" and r.complete, r.message
    assert where == {"ksoftirqd/0"}


# -- local_bh_enable -------------------------------------------------------------------------


def test_local_bh_enable_runs_pending_softirqs() -> None:
    where: set[str] = set()

    def build(k: Any, m: Machine) -> dict[int, Any]:
        runs: list[str] = []
        st = {"bh_off": False}

        def net_rx_action() -> None:
            assert not st["bh_off"], "a softirq ran while bottom halves were disabled"
            assert in_serving_softirq() and not irqs_disabled()
            f = _frames()
            runs.append("local_bh_enable" if "__local_bh_enable_ip" in f else "irq_exit")

        k.open_softirq(NET_RX_SOFTIRQ, net_rx_action)
        # A device interrupt raising NET_RX may land inside or outside the BH-off section.
        _device(m, "dev", DEV_VECTOR, lambda: k.raise_softirq_irqoff(NET_RX_SOFTIRQ))
        m.at_end(lambda: where.update(runs))

        def cpu0() -> None:
            k.local_bh_disable()
            st["bh_off"] = True
            k.raise_softirq(NET_RX_SOFTIRQ)
            assert not runs
            st["bh_off"] = False
            k.local_bh_enable()
            assert runs and runs[0] == "local_bh_enable"
            assert preempt_count() == 0 and current_task() is None

        m.at_end(lambda: _assert(1 <= len(runs) <= 2, runs))
        return {0: cpu0}

    r = check(_program(1, build))
    assert r.verdict == "ok" and r.complete, r.message
    assert where == {"local_bh_enable", "irq_exit"}


def _assert(cond: bool, what: Any) -> None:
    assert cond, what


# -- trace -----------------------------------------------------------------------------------


def test_trace_shows_the_softirq_under_the_interrupt_exit() -> None:
    def build(k: Any, m: Machine) -> dict[int, Any]:
        t = tasklet_struct(name="t")
        k.tasklet_setup(t, lambda t: busy_loop(500_000, "tasklet body"))
        _device(m, "dev", DEV_VECTOR, lambda: k.tasklet_schedule(t))
        return {}

    out = run(_program(1, build), RoundRobin(), tracing=True)
    assert out.status == "complete", out.message
    assert out.machine is not None
    text = render_text(out.machine, width=200)
    order = [
        "<DEV_VECTOR>",
        "softirq_raise: TASKLET_SOFTIRQ",
        "apic_eoi()",
        "__irq_exit_rcu()",
        "handle_softirqs()",
        "local_irq_enable()",
        "softirq_entry: TASKLET_SOFTIRQ",
        "tasklet_trylock(&t) -> true",
        "tasklet_entry: t",
        "tasklet body (500000 ns)",
        "tasklet_exit: t",
        "</DEV_VECTOR>",
    ]
    pos = [text.index(s) for s in order]
    assert pos == sorted(pos), text
