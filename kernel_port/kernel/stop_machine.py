# SPDX-License-Identifier: GPL-2.0-only
"""stop_machine: kernel/stop_machine.c of Linux v6.17, the multi-CPU stop.

Read at Kingxukai/linux 0291023e7330da28f2f7453c87c2ab7082d8360f (v6.17-rc;
the file is not stored at 9b44fff6).  Line numbers are those of that snapshot.

The state machine
-----------------
``stop_machine_cpuslocked(fn, data, cpus)`` queues ``multi_cpu_stop`` on the
stopper of every online CPU.  Each stopper walks the same states: PREPARE
(everyone has arrived), DISABLE_IRQ, RUN (``fn`` runs on the active CPUs),
EXIT.  A CPU acts on a state when *it* notices it: each CPU disables its
interrupts at its own step, so between the first and the last CPU noticing
DISABLE_IRQ some CPUs still take interrupts (and may queue work to a CPU
that already has interrupts off).  The last CPU to acknowledge a state moves
everyone to the next one, so RUN starts only when every CPU has interrupts
off.

What is abstracted, and why
---------------------------
* **No scheduler.**  There are no stopper threads: a scenario says on each
  CPU where its stopper runs by calling ``cpu_stopper_thread()`` in that
  CPU's program (the stopper preempts whatever the CPU was doing at that
  point; a CPU only gets there between two of its own operations, never
  inside a preemption-disabled section, as in the kernel).  The thread waits
  for its work and takes it off its list in one step that can be taken only
  once the work slot is filled (``await_field``: the CPU is not schedulable
  before), standing for sleeping until ``cpu_stop_queue_work()`` wakes it
  and for the dequeue the kernel makes under the stopper lock with
  interrupts off; it runs the work once and returns.  (It used to spin on
  the slot with ``cpu_relax()``: a stopper that looked before the control
  CPU queued its work then added an interleaving of its own -- a read that
  found the slot empty -- to every schedule, about three times as many
  executions for the same behaviours.)
  The control CPU's own stopper runs inline in ``stop_machine_cpuslocked``
  where the caller would sleep in ``wait_for_completion``.  The wait for the
  *other* stoppers (``cpu_stop_done``: a counter every stopper decrements
  and a completion) is left out: the caller's own stopper returns only
  after every CPU has acknowledged RUN, and what the other stoppers still do
  then (acknowledge EXIT, restore their interrupts) touches nothing the
  caller reads next.
  The stop function cannot fail on the modelled paths, so no error is
  collected.  (Modelling it costs a contended counter and a spin, which
  multiplies the schedules without adding behaviour.)
* **The stopper's work list** is a single slot written with one store: only
  one multi-CPU stop is in flight at a time (``stop_cpus_mutex``), so the
  list never holds more than this work; the stopper lock is left out.
* **The state spin is reduced to a wait.**  ``multi_cpu_stop`` spins
  (``stop_machine_yield()``, i.e. ``cpu_relax()``, then a re-read of the
  state) until the state changes.  Re-reads that find the same state change
  nothing another CPU can see, so the model waits for the next state in one
  step (``smp_cond_load_relaxed``); the sequence of state changes and
  acknowledgements, and so every interleaving that matters, is the kernel's.
* ``msdata``'s fn/data/num_threads/active_cpus are written by the caller
  before any stopper can see the work and never change during the stop:
  plain attributes.  ``touch_nmi_watchdog``/``rcu_momentary_eqs`` and
  ``hard_irq_disable`` (a no-op on x86) are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import (
    READ_ONCE,
    WARN_ON_ONCE,
    WRITE_ONCE,
    PerCpu,
    Struct,
    atomic_dec_and_test,
    atomic_set,
    atomic_t,
    await_field,
    cpu_online,
    cpu_relax,
    field,
    irqs_disabled,
    kfunc,
    local_irq_disable,
    local_irq_enable,
    preempt_disable,
    preempt_enable,
    smp_cond_load_relaxed,
    smp_processor_id,
    smp_wmb,
)

STOP_MACHINE_C = "kernel/stop_machine.c"

# enum multi_stop_state
MULTI_STOP_NONE = 0
MULTI_STOP_PREPARE = 1
MULTI_STOP_DISABLE_IRQ = 2
MULTI_STOP_RUN = 3
MULTI_STOP_EXIT = 4

STATE_NAMES = ("NONE", "PREPARE", "DISABLE_IRQ", "RUN", "EXIT")


class multi_stop_data(Struct):
    fn = field(None, shared=False)
    data = field(None, shared=False)
    num_threads = field(0, shared=False)
    active_cpus = field(None, shared=False)
    state = field(MULTI_STOP_NONE)
    thread_ack = field(None, shared=False)  # atomic_t, created with the struct


class cpu_stop_done(Struct):
    nr_todo = field(None, shared=False)  # atomic_t
    ret = field(0)
    completion = field(0)  # struct completion: done count


class cpu_stop_work(Struct):
    fn = field(None, shared=False)
    arg = field(None, shared=False)
    done = field(None, shared=False)


class cpu_stopper(Struct):
    enabled = field(True)
    work = field(None)  # the pending work (one slot, see the module docstring)


def complete(x: cpu_stop_done) -> None:
    """complete(): the waiter's flag (kernel/sched/completion.c, modelled)."""
    x.completion = x.completion + 1


def wait_for_completion(x: cpu_stop_done, hint: str) -> None:
    while READ_ONCE(x.completion) == 0:
        cpu_relax(hint)
    x.completion = x.completion - 1


class stop_machine_c:
    """Port of the multi-CPU stop (stop_machine_cpuslocked, multi_cpu_stop)."""

    OWN_INITS: tuple[str, ...] = ("init_stop_machine",)

    m: Any

    def init_stop_machine(self) -> None:
        self.cpu_stopper = PerCpu(cpu_stopper, "cpu_stopper")
        self.stop_work = PerCpu(cpu_stop_work, "stop_work")
        # The caller's on-stack msdata and done, one set per machine (one
        # stop at a time).
        self.stop_msdata = multi_stop_data(name="msdata")
        self.stop_msdata.thread_ack = atomic_t(name="msdata.thread_ack")
        self.stop_done = cpu_stop_done(name="stop_done")
        self.stop_done.nr_todo = atomic_t(name="stop_done.nr_todo")
        self.stop_machine_initialized = True

    # -- the state machine ------------------------------------------------------
    @kfunc(STOP_MACHINE_C, line=179)
    def set_state(self, msdata: multi_stop_data, newstate: int) -> None:
        # Reset the ack counter before publishing the new state.
        atomic_set(msdata.thread_ack, msdata.num_threads)
        smp_wmb()
        WRITE_ONCE(msdata, "state", newstate)

    @kfunc(STOP_MACHINE_C, line=189)
    def ack_state(self, msdata: multi_stop_data) -> None:
        # The last CPU to acknowledge moves everyone on.
        if atomic_dec_and_test(msdata.thread_ack):
            self.set_state(msdata, msdata.state + 1)

    @kfunc(STOP_MACHINE_C, line=195)
    def stop_machine_yield(self, cpumask: Any) -> None:
        cpu_relax("waiting for the other CPUs in stop_machine to reach the next state")

    @kfunc(STOP_MACHINE_C, line=201)
    def multi_cpu_stop(self, msdata: multi_stop_data) -> int:
        curstate = MULTI_STOP_NONE
        cpu = smp_processor_id()
        err = 0
        flags = not irqs_disabled()  # local_save_flags()
        if msdata.active_cpus is None:
            cpumask = "cpu_online_mask"
            first = next(c for c in range(self.m.ncpus) if cpu_online(c))
            is_active = cpu == first
        else:
            cpumask = msdata.active_cpus
            is_active = cpu in cpumask

        while True:
            # The kernel spins here: pause, re-read the state, act when it
            # changed.  Re-reads that find the same state change nothing, so
            # the spin is reduced to a wait for the next state (one step).
            newstate = smp_cond_load_relaxed(
                msdata,
                "state",
                lambda s, cur=curstate: s != cur,
                hint="waiting for the other CPUs in stop_machine to reach the next state",
            )
            curstate = newstate
            if curstate == MULTI_STOP_DISABLE_IRQ:
                # Each CPU turns its interrupts off when it notices.
                local_irq_disable()
            elif curstate == MULTI_STOP_RUN and is_active:
                err = msdata.fn(msdata.data)
            self.ack_state(msdata)
            if curstate == MULTI_STOP_EXIT:
                break

        if flags:
            local_irq_enable()  # local_irq_restore(flags)
        return err

    # -- the stopper threads -----------------------------------------------------
    @kfunc(STOP_MACHINE_C, line=78)
    def cpu_stop_signal_done(self, done: cpu_stop_done) -> None:
        if atomic_dec_and_test(done.nr_todo):
            complete(done)

    @kfunc(STOP_MACHINE_C, line=91)
    def cpu_stop_queue_work(self, cpu: int, work: cpu_stop_work) -> bool:
        stopper = self.cpu_stopper[cpu]
        preempt_disable()
        enabled = stopper.enabled
        if enabled:
            stopper.work = work  # list_add_tail + wake_up_process
        elif work.done is not None:
            self.cpu_stop_signal_done(work.done)
        preempt_enable()
        return bool(enabled)

    @kfunc(STOP_MACHINE_C, line=392)
    def queue_stop_cpus_work(self, cpumask: Any, fn: Callable[[Any], int], arg: Any, done: cpu_stop_done) -> bool:
        queued = False
        preempt_disable()
        for cpu in cpumask:
            work = self.stop_work[cpu]
            work.fn = fn
            work.arg = arg
            work.done = done
            if self.cpu_stop_queue_work(cpu, work):
                queued = True
        preempt_enable()
        return queued

    @kfunc(STOP_MACHINE_C, line=487)
    def cpu_stopper_thread(self) -> None:
        """One run of this CPU's stopper: wait for the queued work, run it."""
        cpu = smp_processor_id()
        stopper = self.cpu_stopper[cpu]
        # Asleep until woken with work, then take it off the list (one step:
        # the kernel dequeues under the stopper lock, interrupts off; see the
        # module docstring).
        work = await_field(
            stopper,
            "work",
            lambda w: w is not None,
            update=lambda w: None,  # list_del_init
            hint=f"CPU{cpu}'s stopper thread waiting to be woken with work",
        )
        fn, arg, done = work.fn, work.arg, work.done
        preempt_disable()  # preempt_count_inc(): stop callbacks are atomic
        ret = fn(arg)
        if done is not None:
            if ret:
                done.ret = ret
            self.cpu_stop_signal_done(done)
        preempt_enable()

    @kfunc(STOP_MACHINE_C, line=527)
    def stop_machine_park(self, cpu: int) -> None:
        # Lockless: the caller is this CPU's own stopper.
        self.cpu_stopper[cpu].enabled = False

    @kfunc(STOP_MACHINE_C, line=551)
    def stop_machine_unpark(self, cpu: int) -> None:
        self.cpu_stopper[cpu].enabled = True

    @kfunc(STOP_MACHINE_C, line=587)
    def stop_machine_cpuslocked(self, fn: Callable[[Any], int], data: Any, cpus: Any) -> int:
        online = [c for c in range(self.m.ncpus) if cpu_online(c)]
        msdata = self.stop_msdata
        msdata.fn = fn
        msdata.data = data
        msdata.num_threads = len(online)  # num_online_cpus()
        msdata.active_cpus = cpus
        WARN_ON_ONCE(not self.stop_machine_initialized)
        self.set_state(msdata, MULTI_STOP_PREPARE)
        return self.stop_cpus(online, self.multi_cpu_stop, msdata)

    @kfunc(STOP_MACHINE_C, line=464)
    def stop_cpus(self, cpumask: list[int], fn: Callable[[Any], int], arg: Any) -> int:
        # __stop_cpus(): queue on every CPU; the caller's own stopper runs.
        # The wait for the other stoppers is left out (see the docstring).
        if not self.queue_stop_cpus_work(cpumask, fn, arg, None):
            return -2  # -ENOENT
        if smp_processor_id() in cpumask:
            self.cpu_stopper_thread()
        return 0


PORT = stop_machine_c
