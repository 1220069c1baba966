/* SPDX-License-Identifier: GPL-2.0-only */

/*
 * smp.lost-ipi-waiter for SPIN: a side-by-side peer of
 *
 *     kport check smp.lost-ipi-waiter --variant V
 *
 * (bench/spin_peer.py runs both and compares).  A model of the *ported* code
 * (kernel_port/kernel/smp.py, lib/llist.py, arch/x86/kernel/smp.py and the engine's IPI,
 * interrupt and event-source semantics), not of kernel C.
 *
 * The question (scenarios/smp.py, class LostIpiWaiter): CPU0 calls
 * smp_call_function_single(1, f, NULL, 1); at most one CALL_FUNCTION_SINGLE_VECTOR send
 * may be lost; CPU1 has no program and idles in the plain safe_halt() loop.  Property:
 * the waiter returns (kport: a CPU spinning while no CPU can move is a deadlock), and it
 * returns only after f ran (the scenario's assert).  Here: CPU0's wait is a blocking
 * statement that is not an end state, so SPIN reports a waiter stuck forever as an
 * "invalid end state" (pan's own deadlock check, the same condition as kport's
 * Machine.finish()); the assert is an assert.  With -DLTL the LTL formula
 * <> waiter_returned is checked instead with pan -a.
 *
 * Variants (one switch each; none given: v6.17):
 *     spin -a                      v6.17                (kernel_port/kernel/smp.py)
 *     spin -DCSDLOCK_DEBUG -a      v6.17+csdlock-debug  (patches/csdlock_debug.py: the
 *                                  CONFIG_CSD_LOCK_WAIT_DEBUG paths of smp.py, csdlock_debug=1)
 * Expected as in the scenario: v6.17 BUG, v6.17+csdlock-debug OK.
 *
 * Processes:
 *     cpu0_task            CPU0's program: smp_call_function_single() and its wait
 *     cpu1_idle            CPU1's task context: the plain safe_halt() idle loop
 *     cpu1_hardirq         CPU1's hard interrupt context: CALL_FUNCTION_SINGLE_VECTOR
 *     csd_timeout_cpu0     (csdlock-debug only) the csd_lock_timeout@CPU0 event source
 * CPU0 gets no interrupt process: nothing in this scenario sends it a vector.
 *
 * What this model abstracts, compared with the port:
 *  - One CSD only (csd_stack[0]): the queue holds at most that one node, so the node's
 *    next pointer is always NULL and llist_reverse_order() is the identity; csd->func and
 *    csd->info are fixed (f, NULL) instead of stored (CPU1 reads them only after it has
 *    taken the node off the queue); src/dst are the constants 0/1.
 *  - cpu_online() is always true (no hotplug here); call_function_single_prep_ipi() /
 *    set_nr_if_polling() always decide to send (CPU1 halts with hlt, it never polls), so
 *    their reads of constant state are left out.
 *  - The APIC in-service register: the handler acknowledges (EOI) first and runs with
 *    interrupts off, so a vector sent during the drain is pending again and is taken after
 *    the handler returns; only IRR is modelled.
 *  - csdlock-debug: time is in units of model ticks (csd_lock_timeout = TIMEOUT units,
 *    the timeout source adds TIMEOUT + 1, as the port adds timeout + 1 ns); the messages
 *    (pr_alert, dump_stack, dump_cpu_task) and the counters only messages read
 *    (csd_bug_count, n_csd_lock_stuck, trigger_backtrace) are left out; with two CPUs the
 *    backoff factor is 1.  cpu_relax() in the port blocks until another actor *stores* to
 *    a location read since the last relax; here CPU0 blocks until a value it read
 *    changes.  The stores this misses (trigger_backtrace[1] by the flush, a cur_csd that
 *    goes back to the value read) only make the port's waiter re-check once more, which
 *    returns false without sending anything (the single timeout is used up by then).
 */

#define NIL            255
#define CSD            0        /* csd_stack[0] */

/* include/linux/smp_types.h */
#define CSD_FLAG_LOCK  1
#define CSD_TYPE_SYNC  16
#define CSD_TYPE_MASK  240

/* Budgets as in the scenario (faults = 1; CSD_TIMEOUT_BUDGET = 1); overridable. */
#ifndef FAULTS
#define FAULTS         1        /* lost CALL_FUNCTION_SINGLE_VECTOR sends */
#endif
#ifndef TIMEOUTS
#define TIMEOUTS       1        /* expiries of csd_lock_timeout per CPU and execution */
#endif
#define TIMEOUT        4        /* csd_lock_timeout, in model time units */

/* ---- shared state ------------------------------------------------------------------ */

byte csd_flags = 0;             /* csd_stack[0].node.u_flags */
byte q_first = NIL;             /* call_single_queue[1].first */
byte csd_next = NIL;            /* csd_stack[0].node.llist.next */
bool ran_f = 0;                 /* Vars.ran_f */
bool waiter_returned = 0;       /* CPU0's smp_call_function_single() returned */

bool irqs_on1 = 1;              /* CPU1's interrupt flag */
bool in_irq1 = 0;               /* CPU1 is running a hard interrupt handler */
bool halted1 = 1;               /* CPU1 is halted (from the start: it has no program) */
bool irr_cfs1 = 0;              /* CALL_FUNCTION_SINGLE_VECTOR pending in CPU1's IRR */
byte faults_used = 0;

#ifdef CSDLOCK_DEBUG
byte cur_csd1 = NIL;            /* per_cpu(cur_csd, 1) */
byte clock0 = 0;                /* CPU0's ktime_get_mono_fast_ns() (the port's ktime[0].ns) */
bool csd_waiting0 = 0;          /* CPU0 is inside __csd_lock_wait(): its timeout may fire */
byte timeout_budget0 = TIMEOUTS;
#endif

/* ---- ported functions as inlines ------------------------------------------------ */

/* send_call_function_single_ipi(1) -> arch_send_call_function_single_ipi(1) ->
 * native_send_call_func_single_ipi() (port: smp_c.send_call_function_single_ipi,
 * x86_smp_c.arch_send_call_function_single_ipi, the engine's Machine.send_ipi): one step;
 * lost while the fault budget lasts; otherwise pending in CPU1's IRR. */
inline send_call_function_single_ipi() {
    atomic {
        if
        :: faults_used < FAULTS ->
            faults_used++;
            printf("!! IPI LOST: send CALL_FUNCTION_SINGLE_VECTOR CPU0 -> CPU1\n")
        :: true ->
            irr_cfs1 = 1
        fi
    }
}

#ifdef CSDLOCK_DEBUG
/* __csd_lock_wait(csd) with csd_lock_wait_toolong() (port: smp_c._csd_lock_wait,
 * smp_c.csd_lock_wait_toolong, csd_lock_wait_getcpu): report after the timeout and, CPU1
 * not being inside any CSD callback (cur_csd NULL), send the IPI again. */
inline csd_lock_wait_debug() {
    atomic { ts1 = clock0; csd_waiting0 = 1 }       /* ts0 = ktime_get_mono_fast_ns() */
    do
    :: read_cur = 0;
       seen_flags = csd_flags;                      /* READ_ONCE(csd->node.u_flags) */
       if
       :: (seen_flags & CSD_FLAG_LOCK) == 0 ->
           break                                    /* unlocked: return true ("got unstuck") */
       :: else ->
           seen_clock = clock0;                     /* ts2 = ktime_get_mono_fast_ns() */
           if
           :: seen_clock - ts1 <= TIMEOUT * (nmsg + 1) ->
               skip                                 /* not overdue: return false */
           :: else ->
               /* bug_id = atomic_inc_return(&csd_bug_count); cpu = csd->node.dst = 1 */
               atomic { seen_cur = cur_csd1; read_cur = 1 }  /* smp_load_acquire(&per_cpu(cur_csd, 1)) */
               nmsg++;
               if
               :: seen_cur == NIL ->
                   printf("csd: Re-sending CSD lock IPI from CPU#00 to CPU#01\n");
                   send_call_function_single_ipi()  /* arch_send_call_function_single_ipi(1) */
               :: else ->
                   skip                             /* CPU1 is handling a request */
               fi;
               ts1 = seen_clock
           fi;
           /* cpu_relax(): block until something read since the last relax changes */
           (csd_flags != seen_flags || clock0 != seen_clock || (read_cur && cur_csd1 != seen_cur))
       fi
    od;
    csd_waiting0 = 0
}
#endif

/* ---- processes -------------------------------------------------------------------- */

/* CPU0: LostIpiWaiter.cpu0() -> smp_call_function_single(1, f, NULL, 1)
 * (port: smp_c.smp_call_function_single, generic_exec_single, _smp_call_single_queue,
 * llist_c.llist_add_batch, csd_lock_wait). */
active proctype cpu0_task()
{
    byte first;
#ifdef CSDLOCK_DEBUG
    byte ts1, seen_flags, seen_clock, seen_cur, nmsg;
    bool read_cur;
#endif

    /* wait=1: the on-stack CSD starts out locked and SYNC */
    csd_flags = CSD_FLAG_LOCK | CSD_TYPE_SYNC;

    /* generic_exec_single(1, csd): not this CPU, CPU1 online ->
     * __smp_call_single_queue(1, &csd->node.llist) -> llist_add() */
    first = q_first;
    do
    :: csd_next = first;
       atomic {
           if
           :: q_first == first -> q_first = CSD; break
           :: else -> first = q_first
           fi
       }
    od;
    if
    :: first == NIL ->                   /* the queue was empty: kick CPU1 */
        printf("llist_add(&csd_stack[0].node.llist, &call_single_queue[1]) -> true\n");
        send_call_function_single_ipi()
    :: else ->
        printf("llist_add(&csd_stack[0].node.llist, &call_single_queue[1]) -> false\n")
    fi;

    /* csd_lock_wait(csd) */
#ifdef CSDLOCK_DEBUG
    csd_lock_wait_debug();
#else
    (csd_flags & CSD_FLAG_LOCK) == 0;    /* smp_cond_load_acquire(): a spin reduced to a wait */
#endif
    assert(ran_f);                       /* "the waiter returned before f ran" */
    waiter_returned = 1
    /* then CPU0 idles; nothing is ever sent to it */
}

/* CPU1 in task context: no program, the engine's plain idle loop (safe_halt() with
 * interrupts on: halt again after every interrupt). */
active proctype cpu1_idle() provided (!in_irq1)
{
end_idle:
    do
    :: !halted1 -> halted1 = 1
    od
}

/* CPU1 in hard interrupt context (port: CPU.take_interrupt, x86_smp_c.sysvec_call_function_single
 * -> apic_eoi(); smp_c.generic_smp_call_function_single_interrupt ->
 * _flush_smp_call_function_queue(True): llist_del_all, pass 1 for SYNC entries with
 * csd_lock_record / csd_do_func / csd_unlock). */
active proctype cpu1_hardirq()
{
    byte entry;

end_wait:
    do
    :: atomic { irqs_on1 && irr_cfs1 ->
           irr_cfs1 = 0; irqs_on1 = 0; in_irq1 = 1; halted1 = 0;
           printf("CPU1: <CALL_FUNCTION_SINGLE_VECTOR>\n") }
       atomic { entry = q_first; q_first = NIL }   /* llist_del_all(): xchg(&head->first, NULL) */
       if
       :: entry != NIL && (csd_flags & CSD_TYPE_MASK) == CSD_TYPE_SYNC ->
#ifdef CSDLOCK_DEBUG
           cur_csd1 = entry;             /* __csd_lock_record(csd) */
#endif
           ran_f = 1;                    /* csd_do_func(): f */
           printf("CPU1: f ran\n");
           csd_flags = 0;                /* csd_unlock(): smp_store_release(&csd->node.u_flags, 0) */
#ifdef CSDLOCK_DEBUG
           cur_csd1 = NIL;               /* __csd_lock_record(NULL) */
#endif
       :: else ->
           skip                          /* nothing queued (a re-sent IPI after the drain) */
       fi;
       atomic { in_irq1 = 0; irqs_on1 = 1 }
    od
}

#ifdef CSDLOCK_DEBUG
/* csd_lock_timeout@CPU0 (port: the event source smp_c.init_smp adds): enabled while CPU0
 * waits in __csd_lock_wait(), at most TIMEOUTS times; advances CPU0's clock past the
 * timeout.  (csd_lock_timeout@CPU1 is never enabled: CPU1 never waits.) */
active proctype csd_timeout_cpu0()
{
end_src:
    do
    :: atomic { csd_waiting0 && timeout_budget0 > 0 ->
           timeout_budget0--; clock0 = clock0 + TIMEOUT + 1;
           printf("~~ csd_lock_timeout@CPU0 expires\n") }
    od
}
#endif

#ifdef LTL
ltl waiter_returns { <> waiter_returned }
#endif
