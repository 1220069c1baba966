# SPDX-License-Identifier: GPL-2.0-only
"""CPU hotplug: the offline and online paths of kernel/cpu.c (v6.17).

Read at Kingxukai/linux 9b44fff655e2c6f4cc53cb499dd2c038e99cb013 (v6.17-rc);
line numbers from take_cpu_down on were counted on a rebuilt copy (see the
porting notes).  The architecture side (``__cpu_disable``, ``play_dead``,
``start_secondary``) is arch/x86/kernel/smpboot.c
(kernel_port/arch/x86/kernel/smpboot.py).

Offline, as the kernel does it
------------------------------
The control CPU calls ``takedown_cpu(cpu)``, which runs ``take_cpu_down`` on
the outgoing CPU through ``stop_machine_cpuslocked`` (every online CPU's
stopper joins; see kernel_port/kernel/stop_machine.py).  In stop_machine's
RUN state, with every CPU's interrupts off, the outgoing CPU clears its
online bit (``__cpu_disable``), runs the former CPU_DYING callbacks
(``smpcfd_dying_cpu`` is the one modelled) and parks its stopper.  After the
stop it returns to its idle task, which finds itself offline, reports dead
and stops (``cpu_die()``: its APIC state is discarded).  The control CPU
waits for that report.  Online: the control CPU boots the CPU again (empty
APIC) and waits until it has marked itself online.

What is abstracted, and why
---------------------------
* Only the CPUHP states that matter here are modelled: the DYING section
  (AP states between CPUHP_AP_OFFLINE and CPUHP_AP_ONLINE, run by
  ``take_cpu_down``) contains ``smpcfd_dying_cpu``; the other DYING
  callbacks (tick, hrtimers, RCU, sched) and all PREPARE/ONLINE-section
  callbacks (run by the hotplug threads) are left out, and so are the
  hotplug threads themselves: ``cpu_down()``/``cpu_up()`` call the
  teardown/bring-up step directly.  The enum values below keep only the
  kernel's order.
* ``wait_for_ap_thread()`` in ``takedown_cpu`` (completed by the dead CPU
  through an ``smp_call_function_single(..., wait=0)`` to the first online
  CPU in ``cpuhp_report_idle_dead``) is left out, with the ``BUG_ON`` that
  follows it; the control CPU waits instead in ``cpuhp_bp_sync_dead`` for
  the AP's DEAD report (CONFIG_HOTPLUG_CORE_SYNC_DEAD, selected by x86),
  which comes later on the same path.  The bring-up handshake is likewise a
  spin on the AP's cpuhp state.  Completions are spins (no scheduler).
* The offline check of ``do_idle()`` (kernel/sched/idle.c) is
  ``do_idle_offline_check()``: the idle loop port (kernel_port/kernel/sched/
  idle.py) does not make it, so a scenario calls it on the outgoing CPU
  after that CPU's stopper has returned -- the point where the idle task
  would next run.
"""

from __future__ import annotations

from typing import Any

from ..engine import (
    BUG_ON,
    WARN_ON,
    PerCpu,
    Struct,
    apic_irr_pending,
    atomic_read,
    atomic_t,
    atomic_try_cmpxchg,
    atomic_xchg,
    cpu_boot,
    cpu_is_offline,
    cpu_online,
    cpu_relax,
    field,
    kfunc,
    local_irq_disable,
    local_irq_enable,
    smp_processor_id,
)

CPU_C = "kernel/cpu.c"
IDLE_C = "kernel/sched/idle.c"

# enum cpuhp_state: the modelled states, in the kernel's order.
CPUHP_OFFLINE = 0
CPUHP_SMPCFD_PREPARE = 10
CPUHP_BRINGUP_CPU = 20
CPUHP_AP_IDLE_DEAD = 30
CPUHP_AP_OFFLINE = 31
CPUHP_AP_SMPCFD_DYING = 40
CPUHP_AP_ONLINE = 50
CPUHP_TEARDOWN_CPU = 51
CPUHP_AP_ONLINE_IDLE = 52
CPUHP_ONLINE = 100

# enum cpuhp_sync_state
SYNC_STATE_DEAD = 0
SYNC_STATE_KICKED = 1
SYNC_STATE_SHOULD_DIE = 2
SYNC_STATE_ALIVE = 3
SYNC_STATE_SHOULD_ONLINE = 4
SYNC_STATE_ONLINE = 5


class cpuhp_cpu_state(Struct):
    state = field(CPUHP_ONLINE)
    # Set by the control CPU before the AP can look at it, fixed meanwhile.
    target = field(CPUHP_ONLINE, shared=False)
    ap_sync_state = field(None, shared=False)  # atomic_t


class cpu_c:
    """Port of the hotplug core on the modelled paths."""

    OWN_INITS: tuple[str, ...] = ("init_cpu",)

    m: Any

    def init_cpu(self) -> None:
        self.cpuhp_state = PerCpu(cpuhp_cpu_state, "cpuhp_state")
        for c, st in enumerate(self.cpuhp_state):
            st.ap_sync_state = atomic_t(name=f"cpuhp_state[{c}].ap_sync_state", counter=SYNC_STATE_ONLINE)
        # Model-only: code a scenario wants a freshly onlined CPU to run
        # (a CPU's entry after boot), by CPU number.
        self.kp_after_online: dict[int, Any] = {}

    def cpuhp_dying_teardowns(self) -> list[tuple[int, str, Any]]:
        """The modelled DYING-section teardown callbacks, highest state first."""
        return [(CPUHP_AP_SMPCFD_DYING, "smpcfd:dying", self.smpcfd_dying_cpu)]

    @kfunc(CPU_C, line=995)
    def cpuhp_invoke_callback_range_nofail(self, bringup: bool, cpu: int, st: cpuhp_cpu_state, target: int) -> None:
        # Teardown walks the states downwards from st.state to target
        # (exclusive), skipping states without a teardown callback.
        for state, _name, teardown in self.cpuhp_dying_teardowns():
            if target < state <= st.state:
                teardown(cpu)
                st.state = state - 1
        st.state = target

    # -- offline -----------------------------------------------------------------
    @kfunc(CPU_C, line=1271)
    def take_cpu_down(self, _param: Any) -> int:
        cpu = smp_processor_id()
        st = self.cpuhp_state[cpu]
        target = max(st.target, CPUHP_AP_OFFLINE)
        # No more interrupts for this CPU: it leaves cpu_online_mask.
        err = self._cpu_disable()
        if err < 0:
            return err
        WARN_ON(st.state != CPUHP_TEARDOWN_CPU - 1)
        # The former CPU_DYING callbacks; they must not fail.
        self.cpuhp_invoke_callback_range_nofail(False, cpu, st, target)
        self.stop_machine_park(cpu)
        return 0

    @kfunc("arch/x86/include/asm/smp.h", name="__cpu_disable", line=71)
    def _cpu_disable(self) -> int:
        # smp_ops.cpu_disable()
        return self.native_cpu_disable()  # type: ignore[no-any-return]

    @kfunc(CPU_C, line=1298)
    def takedown_cpu(self, cpu: int) -> int:
        err = self.stop_machine_cpuslocked(self.take_cpu_down, None, {cpu})
        if err:
            return err  # type: ignore[no-any-return]
        BUG_ON(cpu_online(cpu))
        # wait_for_ap_thread() + BUG_ON(st->state != IDLE_DEAD): see above.
        self.cpuhp_bp_sync_dead(cpu)
        return 0

    @kfunc(CPU_C, line=361)
    def cpuhp_bp_sync_dead(self, cpu: int) -> None:
        st = self.cpuhp_state[cpu].ap_sync_state
        sync = atomic_read(st)
        while True:
            # The AP may have reported dead already: keep that.
            if sync == SYNC_STATE_DEAD:
                break
            ok, sync = atomic_try_cmpxchg(st, sync, SYNC_STATE_SHOULD_DIE)
            if ok:
                break
        # cpuhp_wait_for_sync_state(cpu, DEAD, DEAD), without its 10 s timeout.
        while atomic_read(st) != SYNC_STATE_DEAD:
            cpu_relax(f"waiting for CPU{cpu} to report dead")

    @kfunc(CPU_C, line=350)
    def cpuhp_ap_report_dead(self) -> None:
        atomic_xchg(self.cpuhp_state[smp_processor_id()].ap_sync_state, SYNC_STATE_DEAD)

    @kfunc(CPU_C, line=1360)
    def cpuhp_report_idle_dead(self) -> None:
        st = self.cpuhp_state[smp_processor_id()]
        BUG_ON(st.state != CPUHP_AP_OFFLINE)
        st.state = CPUHP_AP_IDLE_DEAD
        # The smp_call_function_single() that completes the control CPU's
        # wait_for_ap_thread() is not modelled (see the module docstring).

    @kfunc(IDLE_C, name="do_idle")
    def do_idle_offline_check(self) -> None:
        """The offline check of do_idle()'s loop (the loop itself is
        kernel/sched/idle.py's); a scenario calls it on the outgoing CPU."""
        cpu = smp_processor_id()
        local_irq_disable()
        if cpu_is_offline(cpu):
            self.cpuhp_report_idle_dead()
            self.arch_cpu_idle_dead()
        local_irq_enable()

    def arch_cpu_idle_dead(self) -> None:
        # arch/x86/kernel/process.c: play_dead() -> smp_ops.play_dead()
        self.native_play_dead()

    @kfunc(CPU_C)
    def cpu_down(self, cpu: int) -> int:
        """Offline ``cpu`` (model entry point for remove_cpu()/_cpu_down())."""
        st = self.cpuhp_state[cpu]
        st.target = CPUHP_OFFLINE
        st.state = CPUHP_TEARDOWN_CPU - 1  # the AP-online states are not modelled
        err = self.takedown_cpu(cpu)
        if err:
            return err
        st.state = CPUHP_OFFLINE
        return 0

    # -- online --------------------------------------------------------------------
    @kfunc(CPU_C)
    def cpu_up(self, cpu: int) -> int:
        """Online ``cpu`` again (model entry point for add_cpu()/_cpu_up())."""
        st = self.cpuhp_state[cpu]
        st.target = CPUHP_ONLINE
        st.state = CPUHP_BRINGUP_CPU
        self.bringup_cpu(cpu)
        return 0

    @kfunc(CPU_C)
    def bringup_cpu(self, cpu: int) -> int:
        # __cpu_up() -> native_kick_ap(): INIT/SIPI, the CPU starts afresh.
        atomic_xchg(self.cpuhp_state[cpu].ap_sync_state, SYNC_STATE_KICKED)
        # INIT/SIPI resets the CPU wherever it is; the engine can only boot a
        # CPU that has died.  After reporting DEAD the AP only turns its
        # interrupts off and halts, so waiting for it to get there changes
        # nothing another CPU can see.
        while True:
            apic_irr_pending(cpu, 0)
            if self.m.cpus[cpu].dead:
                break
            cpu_relax(f"waiting for CPU{cpu} to halt in play_dead")
        cpu_boot(cpu, self.start_secondary)
        # bringup_wait_for_ap_online(): until the AP runs its idle task.
        while self.cpuhp_state[cpu].state != CPUHP_AP_ONLINE_IDLE:
            cpu_relax(f"waiting for CPU{cpu} to come online")
        return 0

    @kfunc(CPU_C)
    def cpuhp_online_idle(self) -> None:
        cpu = smp_processor_id()
        st = self.cpuhp_state[cpu]
        self.stop_machine_unpark(cpu)
        st.state = CPUHP_AP_ONLINE_IDLE


PORT = cpu_c
