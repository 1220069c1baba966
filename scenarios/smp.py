# SPDX-License-Identifier: GPL-2.0-only
"""smp_call_function and CPU hotplug (family ``smp.``).

Two corpus scenarios and a scftorture-style generator of random mixes.
"""

from __future__ import annotations

import random
from typing import Any

from kernel_port.engine import Machine, Struct, cpu_online, field, preempt_disable, preempt_enable, smp_processor_id
from kernel_port.kernel.smp import INIT_CSD, smp_call_func_t
from kernel_port.scenario import BUG, OK, Scenario
from kernel_port.scenario_helpers import call_async

CALL_FUNCTION_SINGLE_VECTOR = 0xFB
CALL_FUNCTION_VECTOR = 0xFC
ENXIO = 6


class Vars(Struct):
    queued = field(0)
    ran_async = field(0)
    ran_f = field(0)


class HotplugLostIpi(Scenario):
    """A callback queued to a CPU that goes offline is lost, and every later IPI with it.

    CPU 0 takes CPU 2 offline and brings it back.  Just before its stopper
    runs, CPU 1 completes a block request and, as the block layer does,
    raises the completion on CPU 2 if CPU 2 is online: an asynchronous call
    (``__smp_call_function_single(2, csd, 0)`` on v3.10,
    ``smp_call_function_single_async`` from v3.15 on).  The IPI is still in
    flight -- pending, not yet taken -- when CPU 2 turns its interrupts off
    in stop_machine; CPU 2 then dies and its APIC state is discarded.  On
    v3.10 and on 8d056c48's parent (pre-8d056c48, the v3.15 cycle's lockless
    queue) the callback stays on CPU 2's call_single_queue across offline
    and online; when CPU 0 then calls ``smp_call_function_single(2, f, NULL,
    1)`` it finds the queue non-empty, assumes an IPI is on its way, sends
    none and spins in ``csd_lock_wait()`` forever (Heiko Carstens' 2013
    report, on the 3.10-era list; the llist of v3.14 changed nothing).
    8d056c48 drains the queue on the outgoing CPU in its CPU_DYING step
    (v3.10+8d056c48 is its backport onto the spinlocked list); v6.17 does
    the same in ``smpcfd_dying_cpu``.

    | variant | verdict |
    |---|---|
    | v3.10 | BUG |
    | v3.10+8d056c48 | OK |
    | v6.17 | OK |
    | pre-8d056c48 | BUG |
    | pre-8d056c48+8d056c48 | OK |

    Property: the waiter returns, and the callback queued to CPU 2 runs.

    Bounds: no preemption (a stated bound: the OK cells are complete
    searches of every schedule in which a CPU gives way only when it waits,
    halts or finishes; interrupt arrival points are still explored at every
    step).  Every CPU's four stop_machine acknowledgements are dependent
    atomic decrements, so each extra preemption multiplies the schedules:
    with one preemption the v6.17 search takes about 10,700 executions (over
    half a minute), with none 389 (about a second per cell).  Every
    CPU idles in a plain ``hlt`` loop: the nohz tick is not part of this
    scenario.
    """

    name = "smp.hotplug-lost-ipi"
    cpus = 3
    preemptions = 0
    expect = {
        "v3.10": BUG,
        "v3.10+8d056c48": OK,
        "v6.17": OK,
        "pre-8d056c48": BUG,
        "pre-8d056c48+8d056c48": OK,
    }

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")
        self.blk_csd = INIT_CSD("rq->csd", smp_call_func_t(self.trigger_softirq), "rq")
        self.f = smp_call_func_t(self._f, "f")
        for c in m.cpus:
            c.idle = None  # plain safe_halt() loop
        m.eventually(
            "the completion queued to CPU 2 ran",
            lambda: self.v.raw("queued") == 0 or self.v.raw("ran_async") == 1,
        )

    def trigger_softirq(self, info: Any) -> None:
        self.v.ran_async = 1

    def _f(self, info: Any) -> None:
        assert smp_processor_id() == 2, "f ran on the wrong CPU"
        self.v.ran_f = 1

    def raise_blk_irq(self, k: Any, cpu: int) -> None:
        # Complete on the submitting CPU if it is online.
        if cpu_online(cpu):
            self.v.queued = 1
            call_async(k, cpu, self.blk_csd)

    def cpu0(self, k: Any) -> None:
        k.cpu_down(2)
        k.cpu_up(2)
        k.smp_call_function_single(2, self.f, None, 1)
        assert self.v.ran_f == 1, "smp_call_function_single(wait=1) returned before f ran"

    def cpu1(self, k: Any) -> None:
        self.raise_blk_irq(k, 2)
        k.cpu_stopper_thread()

    def cpu2(self, k: Any) -> None:
        k.cpu_stopper_thread()
        k.do_idle_offline_check()


class LostIpiWaiter(Scenario):
    """A waiter in csd_lock_wait() spins forever when its IPI is lost.

    CPU 0 calls ``smp_call_function_single(1, f, NULL, 1)``.  The
    CALL_FUNCTION_SINGLE IPI to CPU 1 is lost (fault budget 1; seen on
    virtual machines).  CPU 1's queue now holds the request and nothing will
    ever drain it; CPU 0 spins in ``csd_lock_wait()`` waiting for CPU 1.
    With CONFIG_CSD_LOCK_WAIT_DEBUG and csdlock_debug=1 the waiter notices
    the timeout, reports, and -- CPU 1 not being inside any callback --
    sends the IPI again, which drains the queue.

    Property: the waiter returns (a waiter spinning forever is a deadlock).
    """

    name = "smp.lost-ipi-waiter"
    cpus = 2
    faults = 1
    fault_kinds = ("lost-ipi",)
    expect = {"v6.17": BUG, "v6.17+csdlock-debug": OK}

    def setup(self, k: Any, m: Machine) -> None:
        self.v = Vars(name="v")
        m.lossy_vectors = frozenset({CALL_FUNCTION_SINGLE_VECTOR})
        self.f = smp_call_func_t(self._f, "f")

    def _f(self, info: Any) -> None:
        self.v.ran_f = 1

    def cpu0(self, k: Any) -> None:
        err = k.smp_call_function_single(1, self.f, None, 1)
        assert err == 0
        assert self.v.ran_f == 1, "the waiter returned before f ran"


# --------------------------------------------------------------------------
# scftorture-style random mixes (kernel/scftorture.c)

SCF_PRIMS = ("single", "single_wait", "single_rpc", "async", "many", "many_wait", "all", "all_wait")


class ScfCheck(Struct):
    """scf_check: what the caller stored before the call and what the handler stored."""

    scfc_in = field(False)
    scfc_out = field(False)
    ran_on = field(-1)


class ScfTorture(Scenario):
    """A seeded random mix of cross-CPU calls after kernel/scftorture.c.

    Each CPU but the last runs a few operations drawn from the scftorture
    primitives (single without and with wait, async, many without and with
    wait, all without and with wait); with ``hotplug`` CPU 0 also takes the
    last CPU offline and back online, and every CPU's stopper runs at a
    random point of its program.  Checked, as scftorture checks: the
    handler runs on the CPU asked for (scf_handler_1); the caller's store
    before the call is seen by the handler (n_mb_in_errs); a waiting caller
    sees the handler's store (n_mb_out_errs); -ENXIO only for offline
    targets (counted, not an error); every call that was accepted completes.
    Not a corpus scenario: built by ``scf_torture(seed, ...)`` and run with
    the random/pct strategies in the tests and exhaustively in bench
    (bench/scftorture.py, 4 CPUs; any CPU count works: the last one is the
    one taken offline).
    """

    name = ""  # built classes get one; the base is not registered
    cpus = 3
    preemptions = 0
    seed = 0
    nops = 2
    hotplug = True

    def setup(self, k: Any, m: Machine) -> None:
        rng = random.Random(self.seed)
        n = self.cpus
        self.victim = n - 1
        self.plan: dict[int, list[tuple[str, int]]] = {}
        for c in range(n - 1 if self.hotplug else n):
            ops = []
            for _ in range(self.nops):
                prim = rng.choice(SCF_PRIMS)
                target = rng.choice([t for t in range(n) if t != c])
                ops.append((prim, target))
            self.plan[c] = ops
        self.stop_at = {c: rng.randrange(self.nops + 1) for c in range(n)}
        self.checks: list[ScfCheck] = []
        self.csds: dict[int, Any] = {}
        self.pending: list[ScfCheck] = []
        for c in range(n):
            self.csds[c] = INIT_CSD(f"scf_csd[{c}]", smp_call_func_t(self.scf_handler_async, "scf_handler"), None)
        for c in m.cpus:
            c.idle = None
        self.handler = smp_call_func_t(self.scf_handler_1, "scf_handler_1")
        self.handler_many = smp_call_func_t(self.scf_handler, "scf_handler")
        m.eventually("every accepted call ran", lambda: all(x.raw("ran_on") >= 0 for x in self.pending))

    def _new_check(self, c: int, i: int) -> ScfCheck:
        return ScfCheck(name=f"scfc[{c}.{i}]")

    def scf_handler_1(self, scfcp: Any) -> None:
        want, chk = scfcp
        assert smp_processor_id() == want, f"handler for CPU{want} ran on CPU{smp_processor_id()}"
        self.scf_handler(chk)

    def scf_handler(self, chk: Any) -> None:
        assert chk.scfc_in, "the handler did not see the caller's store (n_mb_in_errs)"
        chk.ran_on = smp_processor_id()
        chk.scfc_out = True

    def scf_handler_async(self, chk: Any) -> None:
        self.scf_handler(chk)

    def _op(self, k: Any, c: int, i: int, prim: str, target: int) -> None:
        chk = self.op_checks[(c, i)]
        chk.scfc_in = True
        if prim in ("single", "single_wait", "single_rpc"):
            wait = prim != "single"
            err = k.smp_call_function_single(target, self.handler, (target, chk), int(wait))
            if err == -ENXIO:
                return  # counted as *_ofl by scftorture
            assert err == 0
            self.pending.append(chk)
            if wait:
                assert chk.scfc_out, "a waiting caller did not see the handler's store (n_mb_out_errs)"
        elif prim == "async":
            csd = self.csds[c]
            csd.info = chk
            err = call_async(k, target, csd)
            if err == 0:
                self.pending.append(chk)
        else:
            wait = prim.endswith("_wait")
            # Preemption off: this CPU's stopper cannot run, so the target's
            # online state cannot change until the call has returned.
            preempt_disable()
            online = cpu_online(target)
            if prim.startswith("many"):
                k.smp_call_function_many({target}, self.handler_many, chk, wait)
            else:
                k.smp_call_function(self.handler_many, chk, int(wait))
            preempt_enable()
            if online:
                self.pending.append(chk)
                if wait:
                    assert chk.scfc_out, "a waiting caller did not see the handler's store (n_mb_out_errs)"

    def _program(self, k: Any, c: int) -> None:
        ops = self.plan.get(c, [])
        for i, (prim, target) in enumerate(ops):
            if self.hotplug and i == self.stop_at[c] and c != 0:
                k.cpu_stopper_thread()
            if self.hotplug and c == 0 and i == self.stop_at[0]:
                k.cpu_down(self.victim)
                k.cpu_up(self.victim)
            self._op(k, c, i, prim, target)
        if self.hotplug and self.stop_at[c] >= len(ops):
            if c == 0:
                k.cpu_down(self.victim)
                k.cpu_up(self.victim)
            else:
                k.cpu_stopper_thread()

    def _cpu(self, k: Any, c: int) -> None:
        if self.hotplug and self.victim == c:
            # The CPU taken offline: its stopper thread, then the idle loop's
            # offline check.
            k.cpu_stopper_thread()
            k.do_idle_offline_check()
        else:
            self._program(k, c)

    def cpu0(self, k: Any) -> None:
        self._cpu(k, 0)

    def cpu1(self, k: Any) -> None:
        self._cpu(k, 1)

    def cpu2(self, k: Any) -> None:
        self._cpu(k, 2)


def scf_torture(seed: int, *, cpus: int = 3, nops: int = 2, hotplug: bool = True) -> type[ScfTorture]:
    """A torture scenario class built from ``seed`` (not registered in the corpus)."""

    def setup(self: ScfTorture, k: Any, m: Machine) -> None:
        ScfTorture.setup(self, k, m)
        self.op_checks = {(c, i): self._new_check(c, i) for c, ops in self.plan.items() for i in range(len(ops))}

    attrs: dict[str, Any] = {"seed": seed, "cpus": cpus, "nops": nops, "hotplug": hotplug, "setup": setup}
    for c in range(3, cpus):
        attrs[f"cpu{c}"] = lambda self, k, c=c: self._cpu(k, c)
    attrs["__doc__"] = ScfTorture.__doc__
    cls = type(f"ScfTorture_{seed}", (ScfTorture,), attrs)
    cls.name = f"smp.scftorture-{seed}"
    return cls
