# SPDX-License-Identifier: GPL-2.0-only
"""The RT push IPI (family ``rt.``): the self-IPI loop and the 2026 soft-lockup storm.

Both scenarios use the port of kernel/sched/rt.c (kernel_port/kernel/sched/rt.py), whose run
queues are data: each CPU program plays the task that runs there and says where that task
reaches a preemption point (``__schedule()``).  A *pull* is what a CPU does when its
SCHED_FIFO-50 task goes to sleep: ``__schedule()`` has dequeued the task and calls the RT
class's balance hook with it as ``prev``, under the rq lock with interrupts off
(``balance_rt()`` -> ``pull_rt_task()`` -> ``tell_cpu_to_push()``).  The task's wake-up and
short run before it sleeps again are not modelled: they touch nothing the push walk reads.

The push walk's hops are ``irq_work_queue_on()``: to another CPU through the CSD queue and
CALL_FUNCTION_SINGLE_VECTOR, to the CPU it runs on as the irq_work self-IPI
(IRQ_WORK_VECTOR).  Each scenario counts the visits of the walk by wrapping the root
domain's work function (bookkeeping, not machine state: it adds no steps).
"""

from __future__ import annotations

from typing import Any

from kernel_port.engine import (
    Machine,
    apic_eoi,
    busy_loop,
    local_clock,
    local_irq_disable,
    local_irq_enable,
    preempt_disable,
    preempt_enable,
    rt_prio,
    sched_point,
    smp_processor_id,
    softirq_enter,
    softirq_exit,
    timed_wait,
    timed_wait_for_change,
    timed_watch,
)
from kernel_port.engine.tasks import sched_state
from kernel_port.engine.timed import CostModel
from kernel_port.kernel.irq_work import IRQ_WORK_BUSY, IRQ_WORK_PENDING, irq_work
from kernel_port.kernel.sched.rt import NICE_0_PRIO, task_struct
from kernel_port.kernel.softirq import TASKLET_STATE_SCHED, tasklet_struct
from kernel_port.scenario import BUG, FIND, OK, Scenario
from kernel_port.simulate import TimedSpec

# The tasklet body of the storm reproducer: a 500 us busy loop.
TASKLET_NS = 500_000

# -- The timed storm (kport simulate rt.push-ipi-storm) ----------------------------------------
# Reproducer inputs (CORPUS): a pinned hard hrtimer every 750 us on each target schedules one
# tasklet, round robin from a pool of 20,000.
STORM_TIMER_NS = 750_000
STORM_POOL = {"full": 20_000, "small": 4_000}
# The cost model.  Fixed inputs (typical x86 figures, not fitted): 20 ns a step, 1 us to enter
# and 1 us to leave an interrupt, 2 us for an IPI to land (0.5 us for a self-IPI).  The one
# calibrated figure: an access to the root domain's cache lines (rd.*: rto_lock, rto_loop_next,
# rto_loop_start, rto_cpu, rto_mask, rto_count, the push work's flags), which the 190 pulling
# CPUs write all the time, costs RD_LINE_NS (see PushIpiStorm's docstring, "Calibration").
RD_LINE_NS = 40_000
STORM_COST = CostModel(
    step_ns=20,
    irq_entry_ns=1_000,
    irq_exit_ns=1_000,
    ipi_latency_ns=2_000,
    self_ipi_latency_ns=500,
    objects=(("rd.", RD_LINE_NS),),
)
STORM_TIMER_VECTOR = 0xEB  # the reproducer's hrtimer (a local timer interrupt of its own)
# The CFS task the targets run between softirqs: kernel work with no shared state, in slices
# of this length, each followed by cond_resched() (the voluntary preemption point of a long
# kernel loop).  With no preemption on interrupt return (the storm's PREEMPT_VOLUNTARY), the
# length is how much CPU time the task needs between two chances to schedule -- and so to let
# the watchdog's stopper run.  An input, not fitted to anything: the reproducer does not say
# what its targets ran in the kernel.  `python bench/storm_full.py --sensitivity` shows what the
# report does with slices from 10 us to 100 ms (bench/results/storm_full.md, its last section).
CFS_SLICE_NS = 10_000_000
# The stand-in for the 190 pulling CPUs pulls 1 us after the previous pull ends (a pull's own
# cost, its rd accesses, sets the rate), and skips the pulls that could change nothing
# (RtPushScenario._pullers).
PULL_GAP_NS = 1_000
# rt.self-ipi-loop's timed form: kworker/0's work in the kernel, in slices of this length.
KWORKER_SLICE_NS = 10_000


class RtPushScenario(Scenario):
    """Shared set-up: tasks on run queues, the pullers, and the walk's end-state checks."""

    def place(self, k: Any, comm: str, prio: int, cpu: int, *, running: bool = False) -> task_struct:
        p: task_struct = k.new_task(comm, prio, cpu)
        k.setup_queue_task(cpu, p, running=running)
        return p

    def add_sleeper(self, k: Any, cpu: int) -> None:
        # The FIFO-50 task of ``cpu``, already dequeued by __schedule() (it went to sleep).
        self.sleepers[cpu] = k.new_task(f"fifo50/{cpu}", rt_prio(50), cpu)

    def common_setup(self, k: Any, m: Machine) -> None:
        self.k = k
        self.sleepers: dict[int, task_struct] = {}
        self.pulls = 0  # pulls started by the pulling CPUs so far
        work: irq_work = k.def_root_domain.rto_push_work
        self.relay_func = work.func
        work.func = self.relay
        m.eventually("the push walk ended (rto_cpu is -1 and rto_push_work is idle)", self.walk_ended)
        m.at_end(self.rd_reference_balanced)

    def walk_ended(self) -> bool:
        rd = self.k.def_root_domain
        flags = rd.rto_push_work.node.a_flags.raw("counter")
        return bool(rd.raw("rto_cpu") == -1 and not flags & (IRQ_WORK_PENDING | IRQ_WORK_BUSY))

    def rd_reference_balanced(self) -> None:
        # Every walk took a reference on the root domain and must have dropped it.
        ref = self.k.def_root_domain.refcount.raw("counter")
        assert ref == 1, f"root domain refcount is {ref} after the walk ended, expected 1"

    def relay(self, work: irq_work) -> None:
        self.relay_func(work)

    # -- CPU programs (plain methods, reusable by a timed scenario) -----------------------

    def pull(self, k: Any, cpu: int) -> None:
        """The FIFO-50 task of ``cpu`` goes to sleep: __schedule() runs the RT balance with it
        as prev, under the rq lock and with interrupts off."""
        r = k.cpu_rq(cpu)
        self.pulls += 1
        local_irq_disable()
        k.raw_spin_rq_lock(r)
        k.balance_rt(r, self.sleepers[cpu])
        k.raw_spin_rq_unlock(r)
        local_irq_enable()

    # Whether _pullers() skips the pulls that could change nothing (see its docstring).
    COALESCE_PULLS = False

    def _pullers(self, k: Any) -> None:
        """The 190 FIFO-50 nanosleep loops as one stream of pulls from one CPU: a pull 1 us
        after the previous one ends; with COALESCE_PULLS (rt.push-ipi-storm), except for the
        pulls that could change nothing, which the stand-in skips by waiting (engine-side,
        primitives.timed_wait*):

        * A walk is running and has not read the last bump of ``rto_loop_next`` yet.  A pull
          then only bumps the counter again (under ``rto_lock`` it finds ``rto_cpu`` >= 0 and
          sends nothing), and the walk looks at the counter once per pass, only for a change:
          any number of such pulls does what the one before them did.  The stand-in waits
          until the walk reads it (``rto_loop`` is written then; a running walk always reads
          it before it ends).
        * Otherwise (no walk running, or the legacy pull of dd29c017): a pull whose reads all
          return what the previous pull read takes the same branches and writes the same
          values.  The stand-in waits until another CPU writes something its last pull read.

        Besides their writes, the skipped pulls would only have held ``rto_lock`` and
        ``rto_loop_start`` (or the targets' run-queue locks) for a few steps: contention of one
        CPU standing for 190, an artifact of the stand-in; what the 190 CPUs cost the root
        domain's cache lines is the calibrated RD_LINE_NS, which every rd access pays either
        way.  What skipping changes is when the pulls come, not what they do: a skipped pull
        still in flight when the walk read the counter (a pull takes about 370 us) could have
        found the walk ended and started the next one sooner, and skipped pulls take no locks
        the walk could meet.  Checked at full size against back-to-back pulls
        (bench/results/storm_coalescing_full.md): v6.17+94894c9c (its one walk never ends: a
        bump lands in every pass) reports the same growth, maximum backlog, walk visits, stall
        and lockups (its final backlog differs by 3 tasklets of 15,280), dd29c017 (no walk)
        the same everything; on tejun-rfc the one walk ends after moving both FIFO-1 tasks
        either way (2 visits, or 4 when a back-to-back pull lands during it).  rt.self-ipi-loop keeps
        back-to-back pulls: its walks end (on 94894c9c after every pass), so its IPI rate
        depends on when pulls come (skipping moved it by a tenth on v6.17 and a fifth on
        94894c9c), and its 2 s run is cheap anyway.
        The stand-in waits as the CPUs it stands for keep scheduling, so kport simulate's
        out-of-schedule() measure leaves it out meanwhile.  A task pushed to the stand-in's CPU
        (tejun-rfc) runs there: the __schedule() of its next pull picks it."""
        cpu = smp_processor_id()
        rd = k.def_root_domain
        while True:
            busy_loop(PULL_GAP_NS, "fifo50 tasks wake, run and sleep")
            # A pull runs inside __schedule() (the FIFO-50 task going to sleep).
            sched_point()
            if not self.COALESCE_PULLS:
                self.pull(k, cpu)
                continue
            # A task pushed to this CPU runs when its FIFO-50 tasks sleep: the __schedule() of
            # the next pull picks it (it outranks the idle task).
            self.preemption_point(k, cpu)
            mark = timed_watch()
            self.pull(k, cpu)
            loop = rd.raw("rto_loop")
            if rd.raw("rto_cpu") >= 0 and rd.rto_loop_next.raw("counter") != loop:
                timed_wait(rd, "rto_loop", lambda v, loop=loop: v != loop, "fifo50 pulls: the walk has a bump to read")
            else:
                timed_wait_for_change(mark, "fifo50 pulls: until what they read changes")

    def preemption_point(self, k: Any, cpu: int) -> None:
        """The running task reaches a preemption point: schedule if a reschedule is pending
        (need_resched(): one read of current's TIF_NEED_RESCHED)."""
        if k.test_tsk_need_resched(k.current()):
            k._schedule()


class SelfIpiLoop(RtPushScenario):
    """RT push IPI: the only overloaded CPU hands the push walk back to itself.

    CPU 0 runs a CFS task (kworker/0) in the kernel with preemption disabled; a SCHED_FIFO-1
    task (fifo1) that may run anywhere is queued behind it and outranks it, so CPU 0 is the
    only RT-overloaded CPU and a reschedule is already pending for when preemption comes
    back on.  CPU 1's FIFO-50 task goes to sleep twice; each time its balance pulls:
    ``tell_cpu_to_push()`` bumps ``rto_loop_next`` and, if no walk is running, starts one at
    CPU 0 with a call-function IPI.

    On CPU 0 the relay's ``push_rt_task()`` takes the priority bail (fifo1 outranks
    kworker/0: ask for a reschedule, stay overloaded).  Then ``rto_next_cpu()`` reaches the
    end of the mask, sees that ``rto_loop_next`` moved (the pull that started the walk
    bumped it), rescans from the first bit and returns CPU 0 -- itself.  The relay queues its
    own work locally: an irq_work self-IPI, taken as soon as this interrupt returns, before
    CPU 0 executes another instruction of its task.  Every pull that lands while the walk
    runs buys one more self-IPI; with pulls arriving steadily the CPU never returns to task
    context (the hard lockup of the 94894c9c report).

    Property: while the other CPUs pull, CPU 0 returns to task context within a bounded
    number of push IPIs -- it takes at most as many push IPIs in a row (between two steps
    of its task) as the other CPUs have made pulls; and after the pulls stop, the walk ends
    (``rto_cpu`` back to -1, the work idle, the root domain's reference dropped).  The bound
    is the right one because a pull is the only thing that asks for a push attempt, each
    pull starts at most one walk, and a walk has exactly one hop per overloaded CPU per
    pass: with one overloaded CPU, every push IPI CPU 0 takes must have been sent by
    another CPU.  A self-IPI is the walk charging CPU 0 for a request nobody made; without
    94894c9c the first pull already costs two IPIs in a row (one from CPU 1, one from CPU 0
    itself), and each further pull during the walk adds one more.  With 94894c9c the rescan
    skips CPU 0 and the walk ends; with dd29c017 the pull takes the legacy path (lock CPU
    0's run queue, see that fifo1 outranks kworker/0 and leave it), and no IPI is sent.

    Shape: kworker/0 makes one step of work with preemption off; the count of IPIs in a row
    covers the IPIs CPU 0 takes before that step, and the property is about that stretch
    (the CPU stuck in the kernel), not about the idle CPU afterwards.  The schedule() that
    preempt_enable() would then make --
    fifo1 runs, CPU 0 leaves ``rto_mask`` -- is after the property's window and is left out:
    with it every pull also races with the overload being cleared, and the searches grow
    tenfold.  Two pulls: the second one, landing during the walk, is what the bound must
    absorb in the fixed kernels.  No preemption bound: every schedule is searched.
    """

    name = "rt.self-ipi-loop"
    cpus = 2
    expect = {"v6.17": BUG, "v6.17+94894c9c": OK, "v6.17+dd29c017": OK}

    PULLS = 2

    def setup(self, k: Any, m: Machine) -> None:
        self.common_setup(k, m)
        self.kworker = self.place(k, "kworker/0", NICE_0_PRIO, 0, running=True)
        self.fifo1 = self.place(k, "fifo1", rt_prio(1), 0)
        # fifo1's wake-up found it outranks kworker/0 and asked for a reschedule.
        self.kworker.need_resched = 1
        self.add_sleeper(k, 1)
        self.in_row = 0  # push IPIs CPU 0 took since its task last made progress
        self.in_kernel = True  # kworker/0 is still in its preemption-off section

    def relay(self, work: irq_work) -> None:
        if self.__dict__.get("timed_run"):
            if smp_processor_id() == 0:
                self.ipis_cpu0 += 1
            self.relay_func(work)
            return
        if smp_processor_id() == 0 and self.in_kernel:
            self.in_row += 1
            assert self.in_row <= self.pulls, (
                f"CPU0 takes push IPI #{self.in_row} in a row without returning to task "
                f"context, but the other CPUs made only {self.pulls} pull(s)"
            )
        self.relay_func(work)

    # -- timed form (kport simulate) -------------------------------------------------------

    timed = TimedSpec(
        cost=STORM_COST,
        calibration=(
            "none of its own: the storm's cost model (rt.push-ipi-storm, calibrated on its 1.1 ms "
            "tasklet figure); this scenario has no figure to fit"
        ),
        cpus={"full": 192, "small": 8},
        until_ns={"full": 2_000_000_000, "small": 200_000_000},
        sample_ns={"full": 20_000_000, "small": 5_000_000},
        bounded_variants=("v6.17+94894c9c", "v6.17+dd29c017"),
    )

    def timed_build(self, k: Any, m: Machine, size: str) -> dict[int, Any]:
        """kworker/0 stays in the kernel with preemption off (fifo1 queued behind it) while the
        FIFO-50 tasks of the other CPUs keep pulling, for the whole run."""
        self.common_setup(k, m)
        self.timed_run = True
        self.kworker = self.place(k, "kworker/0", NICE_0_PRIO, 0, running=True)
        self.fifo1 = self.place(k, "fifo1", rt_prio(1), 0)
        self.kworker.need_resched = 1
        self.add_sleeper(k, 1)
        self.in_kernel = True
        self.ipis_cpu0 = 0
        self.work_ns = 0  # kworker/0's progress (task context)
        self.last_work = 0
        self.sample_window = self.timed.sample_ns[size]
        m.probe("push IPIs taken by CPU0", lambda: self.ipis_cpu0)
        m.probe("CPU0 in task context (%)", self._task_share)
        return {0: self._kworker, 1: self._pullers}

    def _task_share(self) -> float:
        done, self.last_work = self.work_ns - self.last_work, self.work_ns
        return round(100 * done / self.sample_window, 2)

    def _kworker(self, k: Any) -> None:
        preempt_disable()
        while True:
            busy_loop(KWORKER_SLICE_NS, "kworker/0 works in the kernel (preemption off)")
            self.work_ns += KWORKER_SLICE_NS

    def cpu0(self, k: Any) -> None:
        # kworker/0 works in the kernel with preemption off (one step of its task), then
        # turns preemption back on.  The schedule() that follows is left out (see the docstring).
        preempt_disable()
        busy_loop(0, "kworker/0 works in the kernel (preemption off)")
        self.in_row = 0
        preempt_enable()
        self.in_kernel = False

    def cpu1(self, k: Any) -> None:
        for _ in range(self.PULLS):
            self.pull(k, 1)


class PushIpiStorm(RtPushScenario):
    """RT push IPI storm: CPUs stuck in softirq stay overloaded and the walk keeps returning.

    The 2026 soft lockup (Tejun Heo's report, fixed by dd29c017): CPUs 0 and 1 each run a CFS
    task that a tasklet interrupted -- they are in softirq context, interrupts on, in the
    tasklet's busy loop -- and each has a SCHED_FIFO-1 kthread queued that outranks the CFS
    task and may run anywhere, so both are in ``rto_mask``; the kthread's wake-up has already
    asked for a reschedule, which the softirq holds off.  CPU 2's FIFO-50 task goes to sleep
    and its balance pulls (``tell_cpu_to_push()``).  (The reproducer has 2 such targets and 190
    pulling CPUs.)

    The walk visits CPU 0, then CPU 1; on each the relay's ``push_rt_task()`` takes the
    priority bail -- the FIFO-1 task outranks the running task, so it only asks for a
    reschedule and leaves the CPU overloaded -- and no reschedule can happen until the
    softirq work ends.  Then ``rto_next_cpu()`` reaches the end of the mask, finds that
    ``rto_loop_next`` moved (the pull that started the walk bumped it) and makes a second pass:
    CPU 0 and CPU 1 again, with nothing changed on either.  Every later pull sends the walk
    back once more (another pass if it lands during the walk, a new walk after it); each visit
    interrupts the softirq work, and under the reproducer's load the visits stretch it until
    the next tasklet is due before the CPU ever returns to task context (the timed half of
    this scenario, ``kport simulate``).

    Untimed property: the walk does not revisit a CPU whose overload state it could not
    change more than a bounded number of times.  The bound is one: a visit that leaves a CPU's
    run queue exactly as it found it (still overloaded, same pushable tasks, same current task)
    may not be followed by another visit while nothing on that CPU has changed.  Such a visit
    cannot do anything the first one could not; the patched kernels never make one (below);
    and 94894c9c makes one on every walk -- its second pass -- and one more for every pull
    after that, with no limit.  94894c9c does not help here: it only stops a CPU from handing
    the walk to itself, and with two stuck CPUs the walk alternates between them.  A single
    pull shows the violation; the growth with further pulls is the timed simulation's subject
    (more pulls here would put the tejun-rfc cell's search, below, far over its time budget).

    Bounds: no preemption (``preemptions = 0``): the searches cover every schedule in which a
    CPU gives way only when it halts, waits or finishes, with interrupt arrival explored at
    every step of the interrupted CPU.  The v6.17+94894c9c violation needs no race at all
    (every schedule has it); the bound is for the tejun-rfc search, whose migrations and
    reschedule IPIs interleave in thousands of ways once the walk's hops may overlap.  CPU 2
    idles in ``hlt``; when a task is pushed to it, it schedules that task on the way out of the
    reschedule interrupt, with interrupts still off (``idle_resched``: do_idle()'s
    need_resched() check and schedule_idle() folded into the interrupt's exit).  That leaves
    out the moment in which the walk's own IPI reaches the idle CPU first; it matters only
    with tejun-rfc (the relay would move the task on once more, which changes the overload
    state and so cannot violate the property).

    dd29c017 (RT_PUSH_IPI off without PREEMPT_RT) is OK: the legacy pull locks each overloaded
    run queue from CPU 2, sees that the FIFO-1 task outranks what runs there, leaves it, and
    never interrupts the targets.

    v6.17+94894c9c+tejun-rfc (find, recorded OK): with ``&& !pull`` the relay skips the bail
    and migrates the FIFO-1 task, so every visit changes the visited CPU's state and the
    complete search finds no violation.  The traces show where the tasks go, though: fifo1/0
    goes to the idle CPU 2, but for fifo1/1 the lowest CPU is CPU 0 -- just emptied of its own
    RT task, and running a CFS task in softirq context looks to cpupri exactly like an idle
    CPU -- so fifo1/1 is moved onto the other stuck CPU, and on each later visit back again,
    CPU 0 to CPU 1 to CPU 0, never running while the walk lasts.  The storm's interrupts stay
    (each visit now also takes both run-queue locks); what the patch removes is only the
    revisit that changes nothing.

    v6.17+94894c9c+peterz-retry (find, recorded BUG): the sketch's counter acts only after 16
    bails without a context switch; here the relay bails on its second visit exactly as in
    v6.17+94894c9c, so the same violation is found the same way.  At the limit the sketch
    returns 1, which the relay's ``while (push_rt_task(rq, true))`` takes as "moved a task" and
    calls again; nothing changes under the rq lock, so it returns 1 forever: an endless loop in
    hard interrupt context with the rq lock held.  tests/test_rt.py pins what the tool says
    when a run starts at the limit: the execution never ends (its step budget is exhausted in
    ``push_rt_task()``), verdict inconclusive.

    Timed: the soft lockups.  The reproducer's kernel is not PREEMPT_RT (its softirqs run at
    interrupt exit); which of the other preemption models it ran, the bug story does not say.
    The kernel code decides between them: under full (or lazy) preemption ``irqentry_exit()``
    (kernel/entry/common.c) preempts an interrupted task whose preemption count is zero as
    soon as the interrupt whose exit ran a tasklet snapshot returns, and the stopper thread
    the watchdog's hrtimer woke runs ``softlockup_fn()`` right there: a stall lasts one
    snapshot.  The reproducer reported stalls several times the threshold on one CPU, so its
    kernel did not preempt on interrupt return (PREEMPT_NONE or PREEMPT_VOLUNTARY, or
    PREEMPT_DYNAMIC booted so) and its targets were in kernel code between snapshots.  The
    timed form therefore runs with ``PREEMPT_VOLUNTARY`` (NONE gives the same run, step for
    step: nothing on these paths calls ``might_sleep()``).  What then runs after a snapshot
    (kernel_port/kernel/softirq.py, sched/core.py, watchdog.py): ``handle_softirqs()`` does not
    restart (need_resched is set -- by the bail's ``resched_curr()``, the FIFO-1 kthread's
    wake-up and the stopper's -- and its 2 ms are long gone), wakes ksoftirqd and leaves the
    tasklets that arrived meanwhile pending; the interrupt returns to the CFS task without
    preempting it; the next interrupt (the walk's next IPI, the hrtimer within 750 us) finds
    them pending and starts the next snapshot at its exit.  The CFS task schedules only at its
    own ``cond_resched()``, after ``CFS_SLICE_NS`` of its own CPU time, and gets only the gaps
    between a snapshot's end and the next interrupt: the stopper waits, and the watchdog
    reports again every 20-odd seconds with a growing "stuck for".  ksoftirqd, woken by every
    snapshot, is SCHED_NORMAL like the CFS task: it runs only when the task schedules (and
    in the model not even then: there is no fair-class scheduler, see the bug page).
    """

    name = "rt.push-ipi-storm"
    cpus = 3
    preemptions = 0
    expect = {
        "v6.17+94894c9c": BUG,
        "v6.17+94894c9c+tejun-rfc": FIND,
        "v6.17+94894c9c+peterz-retry": FIND,
        "v6.17+94894c9c+dd29c017": OK,
    }
    found = {
        "v6.17+94894c9c+tejun-rfc": OK,
        "v6.17+94894c9c+peterz-retry": BUG,
    }

    TARGETS = (0, 1)
    PULLERS = (2,)
    COALESCE_PULLS = True
    # Visits that change nothing, per CPU, before the property fails (see the docstring).
    MAX_UNCHANGED_VISITS = 1

    def setup(self, k: Any, m: Machine) -> None:
        self.common_setup(k, m)
        for cpu in self.TARGETS:
            cfs = self.place(k, f"cfs/{cpu}", NICE_0_PRIO, cpu, running=True)
            self.place(k, f"fifo1/{cpu}", rt_prio(1), cpu)
            # The FIFO-1 kthread's wake-up asked for a reschedule that the softirq holds off.
            cfs.need_resched = 1
        for cpu in self.PULLERS:
            self.add_sleeper(k, cpu)
        self.idle_cpus = frozenset(self.PULLERS)
        m.irq_exit_hooks.append(self.idle_resched)
        self.unchanged: dict[int, int] = {}
        self.last_state: dict[int, tuple[Any, ...]] = {}

    def idle_resched(self, cpu: Any) -> None:
        """An idle CPU asked to reschedule (a task was pushed to it) schedules on the way out
        of the reschedule interrupt, interrupts still off: do_idle()'s need_resched() check
        and schedule_idle(), folded into the interrupt's exit (see the docstring).  The
        untimed scenario's idle CPU is the puller once its program is done; the timed form's
        are every CPU that is neither a target nor the pullers' stand-in."""
        if cpu.id not in self.idle_cpus or len(cpu.ctx) != 1 or cpu.preempt_count or not cpu.program_done:
            return
        if self.k.test_tsk_need_resched(self.k.current()):
            self.k._schedule(from_irq_exit=True)

    def overload_state(self, cpu: int) -> tuple[Any, ...]:
        r = self.k.cpu_rq(cpu)
        return (r.rt.raw("overloaded"), r.rt.pushable_tasks.raw("node_list"), r.raw("curr"))

    def relay(self, work: irq_work) -> None:
        if self.__dict__.get("timed_run"):
            self.visits += 1
            self.relay_func(work)
            return
        cpu = smp_processor_id()
        before = self.overload_state(cpu)
        self.relay_func(work)
        after = self.overload_state(cpu)
        if after != before or not after[0]:
            self.last_state.pop(cpu, None)  # this visit changed something (or nothing waits)
            return
        if self.last_state.get(cpu) == after:
            self.unchanged[cpu] += 1
        else:
            self.unchanged[cpu] = 1
            self.last_state[cpu] = after
        assert self.unchanged[cpu] <= self.MAX_UNCHANGED_VISITS, (
            f"the push walk visited CPU{cpu} {self.unchanged[cpu]} times and could not change its "
            f"overload state (bound: {self.MAX_UNCHANGED_VISITS}); pulls so far: {self.pulls}"
        )

    def target(self, k: Any, cpu: int) -> None:
        """A target CPU, untimed: it enters softirq context to run the tasklet and stays there.

        The tasklet's busy loop touches no shared state, so without time it is the same as
        waiting for interrupts with interrupts on: the CPU takes the walk's IPIs inside the
        softirq and never reaches a preemption point within the scenario (the busy loop
        outlasts every pull).  The timed scenario runs ``tasklet()`` instead."""
        softirq_enter()

    def tasklet(self, k: Any, cpu: int) -> None:
        """One tasklet run on a target (for the timed scenario): the 500 us busy loop in
        softirq context with interrupts on, then back to the interrupted task's preemption
        point."""
        softirq_enter()
        busy_loop(TASKLET_NS, "tasklet: 500 us busy loop")
        softirq_exit()
        self.preemption_point(k, cpu)

    # -- timed form (kport simulate) -------------------------------------------------------

    timed = TimedSpec(
        cost=STORM_COST,
        calibration=(
            f"one parameter, the cost of an access to the root domain's contended cache lines "
            f"(rd.*), set to {RD_LINE_NS // 1000} us so that a 500 us tasklet body stretches to about "
            "1.1 ms under the storm on v6.17+94894c9c (CORPUS); everything else is a fixed input"
        ),
        cpus={"full": 192, "small": 8},
        until_ns={"full": 120_000_000_000, "small": 12_000_000_000},
        sample_ns={"full": 1_000_000_000, "small": 250_000_000},
        # The reproducer's kernel is not PREEMPT_RT (softirqs run at interrupt exit) and, by the
        # lockups it reported, does not preempt kernel code on interrupt return: see the
        # docstring, "Timed: the soft lockups".
        config={"SOFTLOCKUP_DETECTOR": True, "PREEMPT_VOLUNTARY": True},
        size_config={"small": {"watchdog_thresh": 1}},
        stall_ns={"full": 20_000_000_000, "small": 2_000_000_000},
        bounded_variants=("v6.17+94894c9c+dd29c017",),
    )

    def timed_build(self, k: Any, m: Machine, size: str) -> dict[int, Any]:
        """The reproducer at full size (192 CPUs) or scaled down (8 CPUs, a 2 s watchdog).

        CPU 2 is the pullers' stand-in; the other non-target CPUs idle (their FIFO-50 tasks
        sleep), and a task pushed to one runs there at once (``idle_resched``).  A FIFO-1
        kthread the walk migrates (tejun-rfc) then stays on that CPU: it runs there, and an
        RT task wakes on the CPU it last ran on (select_task_rq_rt()) unless an RT task runs
        there.  Only the targets' own kthreads stay queued on the targets' run queues (they run
        at each of the target's scheduling points and are woken again by its next hrtimer
        interrupt: ``_fifo1_runs``, ``_fifo1_wakes``), which is what keeps the targets in
        rto_mask.
        """
        self.common_setup(k, m)
        self.timed_run = True
        self.pool_size = STORM_POOL[size]
        self.queued = {cpu: 0 for cpu in self.TARGETS}  # tasklets the hrtimer actually queued
        self.ran = {cpu: 0 for cpu in self.TARGETS}  # tasklet bodies finished
        self.body_ns: list[int] = []  # durations of the bodies finished since the last sample
        self.visits = 0
        self.pool: dict[int, list[tasklet_struct]] = {}
        self.next_tasklet = dict.fromkeys(self.TARGETS, 0)
        self.fifo1_asleep = dict.fromkeys(self.TARGETS, False)
        for cpu in self.TARGETS:
            cfs = self.place(k, f"cfs/{cpu}", NICE_0_PRIO, cpu, running=True)
            self.place(k, f"fifo1/{cpu}", rt_prio(1), cpu)
            cfs.need_resched = 1
            sched_state(m.cpus[cpu])["need_resched"] = True
            self.pool[cpu] = []
            for i in range(self.pool_size):
                t = tasklet_struct(name=f"tasklet{cpu}.{i}")
                k.tasklet_setup(t, self._tasklet_body)
                self.pool[cpu].append(t)
            m.add_source(
                f"hrtimer CPU{cpu}",
                cpu,
                STORM_TIMER_VECTOR,
                budget=1 << 62,
                at_ns=STORM_TIMER_NS,
                period_ns=STORM_TIMER_NS,
            )
        m.register_vector(STORM_TIMER_VECTOR, "LOCAL_TIMER_VECTOR", lambda vec: self._storm_hrtimer(k))
        m.sched_hooks.append(self._fifo1_runs)
        self.add_sleeper(k, self.PULLERS[0])
        # The CPUs whose FIFO-50 tasks sleep (the stand-in pulls for them) are idle: a task
        # pushed to one runs there at once.
        self.idle_cpus = frozenset(range(m.ncpus)) - set(self.TARGETS) - {self.PULLERS[0]}
        m.irq_exit_hooks.append(self.idle_resched)
        m.probe("tasklet backlog", lambda: sum(self.queued[c] - self.ran[c] for c in self.TARGETS))
        m.probe("tasklet backlog CPU0", lambda: self.queued[0] - self.ran[0])
        m.probe("tasklet backlog CPU1", lambda: self.queued[1] - self.ran[1])
        m.probe("tasklet body (us)", self._mean_body_us)
        m.probe("push walk visits", lambda: self.visits)
        return {0: self._cfs_task, 1: self._cfs_task, self.PULLERS[0]: self._pullers}

    def _storm_hrtimer(self, k: Any) -> None:
        # The reproducer's hard hrtimer callback: queue the next tasklet of the pool.
        apic_eoi()
        cpu = smp_processor_id()
        if self.fifo1_asleep[cpu]:
            self._fifo1_wakes(cpu)
        i = self.next_tasklet[cpu]
        self.next_tasklet[cpu] = (i + 1) % self.pool_size
        t = self.pool[cpu][i]
        if not t.state.raw("counter") & (1 << TASKLET_STATE_SCHED):
            self.queued[cpu] += 1
        k.tasklet_schedule(t)

    def _tasklet_body(self, t: tasklet_struct) -> None:
        start = local_clock()
        busy_loop(TASKLET_NS, "tasklet: 500 us busy loop")
        self.body_ns.append(local_clock() - start)
        self.ran[smp_processor_id()] += 1

    def _mean_body_us(self) -> float:
        done, self.body_ns = self.body_ns, []
        return round(sum(done) / len(done) / 1000, 1) if done else 0.0

    def _fifo1_runs(self, cpu: Any) -> None:
        """A target reached a scheduling point: its FIFO-1 kthread runs (a negligible time) and
        sleeps, and __schedule() cleared the reschedule request (clear_tsk_need_resched(); the
        engine clears its own per-CPU state itself).  The kthread stays in the target's
        run-queue data, so the target stays in rto_mask, as the reproducer's kthreads keep it
        (what it does while it runs touches nothing the walk reads).  Engine-side: no steps."""
        if cpu.id in self.TARGETS:
            self.k.cpu_rq(cpu.id).curr.__dict__["need_resched"] = 0
            self.fifo1_asleep[cpu.id] = True

    def _fifo1_wakes(self, cpu: int) -> None:
        """The FIFO-1 kthread is woken again by the target's next hrtimer interrupt (what wakes
        the reproducer's kthreads is not stated; a wake-up within 750 us keeps the targets as
        loaded as a kthread woken at once would).  It outranks the running CFS task, so the
        wake-up asks the target to reschedule (ttwu -> wakeup_preempt() -> resched_curr()).
        Engine-side, as the wake-up of a task the model keeps as data: no steps."""
        self.fifo1_asleep[cpu] = False
        self.k.cpu_rq(cpu).curr.__dict__["need_resched"] = 1
        sched_state(self.k.m.cpus[cpu])["need_resched"] = True

    # The slice of kernel work between two cond_resched() calls (see CFS_SLICE_NS).
    CFS_SLICE_NS = CFS_SLICE_NS

    def _cfs_task(self, k: Any) -> None:
        """A target's CFS task, in the kernel: slices of work, each followed by cond_resched().
        That is its only way to the scheduler under PREEMPT_NONE/VOLUNTARY (the storm's
        configuration); under full preemption it is also preempted on interrupt return when
        a reschedule is pending, and cond_resched() returns 0."""
        while True:
            busy_loop(self.CFS_SLICE_NS, "cfs task: kernel work")
            k.cond_resched()

    def cpu0(self, k: Any) -> None:
        self.target(k, 0)

    def cpu1(self, k: Any) -> None:
        self.target(k, 1)

    def cpu2(self, k: Any) -> None:
        self.pull(k, 2)
