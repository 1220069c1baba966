# SPDX-License-Identifier: GPL-2.0-only
"""The task model: kernel threads woken, preempting on interrupt exit, sleeping."""

from __future__ import annotations

from typing import Any

from kernel_port.engine import (
    TASK_INTERRUPTIBLE,
    SimpleProgram,
    Struct,
    apic_eoi,
    apic_send_IPI,
    field,
    kthread_create_on_cpu,
    rt_prio,
    schedule,
    set_current_state,
    wake_up_process,
)
from kernel_port.engine.dpor import explore
from kernel_port.engine.explorer import check

VEC = 0xF5


class V(Struct):
    work = field(0)
    done = field(0)
    x = field(0)


def worker_program(prio: int, program_steps: int = 0) -> Any:
    def b(m: Any) -> Any:
        v = V(name="v")
        log: list[str] = []  # engine-invisible: appended in the step it follows

        def thread_fn() -> None:
            # The smpboot shape: sleep until there is work, do it, sleep again.
            while True:
                set_current_state(TASK_INTERRUPTIBLE)
                if v.work == 0:
                    schedule()
                    continue
                set_current_state(0)
                v.work = 0
                v.done = v.done + 1
                log.append("T")

        t = kthread_create_on_cpu(m, 1, thread_fn, "worker/1", prio)

        def handler(vec: int) -> None:
            apic_eoi()
            v.work = 1
            wake_up_process(t)

        m.register_vector(VEC, "TEST_VECTOR", handler)
        m.eventually("the worker did the work", lambda: v.raw("done") == 1)
        m.at_end(lambda: orders.add("".join(log)))

        def cpu1() -> None:
            for i in range(program_steps):
                v.x = i
                log.append("p")

        return {0: lambda: apic_send_IPI(1, VEC), 1: cpu1}

    orders: set[str] = set()
    prog = SimpleProgram("tasks", 2, b)
    prog.orders = orders  # type: ignore[attr-defined]
    return prog


def test_thread_woken_from_an_interrupt_runs_on_an_idle_cpu() -> None:
    p = worker_program(120)
    r = check(p)
    assert r.verdict == "ok", r.message
    assert p.orders == {"T"}  # type: ignore[attr-defined]


def test_rt_thread_preempts_the_program_at_interrupt_exit() -> None:
    p = worker_program(rt_prio(1), program_steps=2)
    st = explore(p)
    assert st.bugs == 0 and st.errors == 0, [o.message for o in st.outcomes]
    # The interrupt can land before, between or after the program's steps;
    # the RT thread then runs at once, before the rest of the program.
    assert p.orders == {"Tpp", "pTp", "ppT"}  # type: ignore[attr-defined]


def test_normal_thread_waits_for_the_program() -> None:
    p = worker_program(120, program_steps=2)
    st = explore(p)
    assert st.bugs == 0 and st.errors == 0, [o.message for o in st.outcomes]
    assert p.orders == {"ppT"}  # type: ignore[attr-defined]


def test_schedule_in_hard_interrupt_context_is_reported() -> None:
    def b(m: Any) -> Any:
        def handler(vec: int) -> None:
            apic_eoi()
            schedule()

        m.register_vector(VEC, "TEST_VECTOR", handler)
        kthread_create_on_cpu(m, 1, lambda: None, "t", 120)
        return {0: lambda: apic_send_IPI(1, VEC)}

    r = check(SimpleProgram("bad-schedule", 2, b))
    assert r.verdict == "bug" and r.kind == "sleeping-in-atomic"
    assert "hard interrupt context" in r.message
