/* SPDX-License-Identifier: GPL-2.0-only */

/*
 * irq_work.lost-self-ipi for SPIN: a side-by-side peer of
 *
 *     kport check irq_work.lost-self-ipi --variant V
 *
 * (bench/spin_peer.py runs both and compares).  This is a model of the *ported* code
 * (kernel_port/kernel/irq_work.py, lib/llist.py, arch/x86/kernel/irq_work.py,
 * kernel/time/tick_sched.py, kernel/time/timer.py, kernel/sched/idle.py and the
 * variants in patches/ and kernel_port/trees/), written against the port's behaviour,
 * not against kernel C.
 *
 * The question (scenarios/irq_work.py, class LostSelfIpi): one CPU with a local APIC and
 * nohz idle queues three irq_works; at most one IRQ_WORK_VECTOR self-IPI may be lost; then
 * the CPU idles and its tick may fire once while it is halted.  Property: every queued
 * irq_work eventually runs.  kport checks it "when no CPU could move" (a stall); here a
 * monitor asserts it on SPIN's `timeout` (no statement of any process is executable),
 * which is the same condition.  With -DLTL the monitor is replaced by the LTL formula
 * <> (all works ran), checked with pan -a (SPIN extends a final state by stuttering).
 *
 * Variants (one switch each; none given: v6.17):
 *     spin -a                       v6.17
 *     spin -DHERTON_RFC -a          v6.17+herton-rfc   (patches/herton_rfc.py)
 *     spin -DTICK_RERAISE -a        v6.17+tick-reraise (patches/tick_reraise.py)
 *     spin -DPRE_76A33061 -a        pre-76a33061       (kernel_port/trees/pre_76a33061.py)
 * Expected as in the scenario: v6.17 BUG, the other three OK.
 * Probes (not corpus variants; bench/spin_peer.py builds the same halves for kport):
 *     spin -DHERTON_NEEDS_CPU_ONLY -a   v6.17 with only herton-rfc's irq_work_needs_cpu()
 *     spin -DHERTON_TICK_ONLY -a        v6.17 with only herton-rfc's irq_work_tick()
 *
 * Processes (all on CPU0, the only CPU):
 *     cpu0_task      task context: the scenario's cpu0() and then the idle loop
 *     cpu0_hardirq   hard interrupt context: one handler run per accepted vector
 *     tick_cpu0      the tick event source (tick_event_source(0, budget=1, idle_only=True))
 *     quiescence     the property monitor
 * `provided (!in_irq)` on cpu0_task: the task cannot run while a handler runs on its CPU.
 * An interrupt is taken at any point where the task has interrupts on (the port's
 * irq@CPU0 actor at every step boundary); a send of IRQ_WORK_VECTOR may be lost while
 * the fault budget lasts (the port's send_ipi with the lost-ipi fault).
 *
 * What this model abstracts, compared with the port:
 *  - The lazy list: no lazy work exists in this scenario and PREEMPT_RT is off, so it is
 *    always empty; irq_work_needs_cpu() and irq_work_run()/irq_work_tick() are written
 *    with it empty.
 *  - The APIC's in-service register and priority classes: both handlers acknowledge (EOI)
 *    first and run with interrupts off, so on one CPU no second vector can be accepted
 *    during a handler; only the order of acceptance between pending vectors matters
 *    (IRQ_WORK_VECTOR 0xf6 before LOCAL_TIMER_VECTOR 0xec).
 *  - Time, hrtimers and tick_sched: the tick hrtimer is one bit (armed or not) and
 *    TS_FLAG_STOPPED another.  The port's virtual clock, jiffies, the hrtimer base lock,
 *    timer_expires/next_tick bookkeeping and the timekeeping duty are folded into what
 *    they decide here: on this single CPU, which always holds (or retakes) the timekeeping
 *    duty, stopping the tick re-programs sched_timer (for the next period when irq_work
 *    asks for the tick, else for the timekeeping deferment), so sched_timer is armed
 *    whenever the CPU halts.  tick_nohz_idle_stop_tick() runs with interrupts off and is
 *    one atomic step here (many steps in the port, none of which another actor can see).
 *  - Interrupt exit (tick_irq_exit -> tick_nohz_irq_exit): in idle it only calls
 *    tick_nohz_start_idle(), which has no effect in the port; left out.
 *  - Step granularity: each port step that touches shared state is one Promela statement
 *    (or one atomic block with the purely local decision that follows it); statements
 *    that touch only the process's locals add interleaving points that change nothing.
 */

#define NWORK          3
#define NIL            255      /* NULL llist_node pointer */

/* include/linux/smp_types.h flag bits (irq_work side) */
#define IRQ_WORK_PENDING 1
#define IRQ_WORK_BUSY    2
#define IRQ_WORK_CLAIMED 3
#define IRQ_WORK_LAZY    4

/* Budgets as in the scenario (faults = 1; tick_event_source(0, budget=1)); -DFAULTS=n and
 * -DTICKS=n override them (bench/spin_peer.py's control rows use FAULTS=0 and 2). */
#ifndef FAULTS
#define FAULTS         1        /* fault budget: lost IRQ_WORK_VECTOR sends */
#endif
#ifndef TICKS
#define TICKS          1        /* budget of the tick event source */
#endif
#ifndef HAS_INTERRUPT
#define HAS_INTERRUPT  1        /* arch_irq_work_has_interrupt(): the scenario's config APIC=True */
#endif

/* ---- shared state ------------------------------------------------------------------ */

byte raised_first = NIL;        /* raised_list[0].first */
byte llnext[NWORK];             /* workN.llist.next */
byte wflags[NWORK];             /* workN.node.a_flags (PENDING | BUSY) */
bool ran[NWORK];                /* Ran.workN: the callbacks that ran */

bool irqs_on = 1;               /* CPU0's interrupt flag */
bool in_irq = 0;                /* CPU0 is running a hard interrupt handler */
bool halted = 0;                /* CPU0 is halted in safe_halt() */
bool irr_irq_work = 0;          /* IRQ_WORK_VECTOR pending in CPU0's APIC IRR */
bool irr_timer = 0;             /* LOCAL_TIMER_VECTOR pending in CPU0's APIC IRR */
byte faults_used = 0;

bool ts_stopped = 0;            /* TS_FLAG_STOPPED in tick_cpu_sched[0].flags */
bool timer_armed = 1;           /* sched_timer[0] enqueued (armed at boot for BOOT_NS + TICK_NSEC) */
byte tick_budget = TICKS;

/* ---- variant switches ------------------------------------------------------------ */

/* irq_work_needs_cpu() (port: irq_work_c.irq_work_needs_cpu; herton_rfc.py and
 * tick_reraise.py tick_runs_raised/tick_reraise.irq_work_needs_cpu; pre_76a33061.py):
 * does irq_work keep the tick?  Lazy list empty (see above). */
#if defined(HERTON_RFC) || defined(TICK_RERAISE) || defined(PRE_76A33061) || defined(HERTON_NEEDS_CPU_ONLY)
#define irq_work_needs_cpu()   (raised_first != NIL)
#else
#define irq_work_needs_cpu()   (raised_first != NIL && !HAS_INTERRUPT)
#endif

/* ---- ported functions as inlines ------------------------------------------------ */

/* arch_irq_work_raise() -> apic_send_IPI_self(IRQ_WORK_VECTOR)
 * (port: x86_irq_work_c.arch_irq_work_raise; the engine's Machine.send_ipi): one step;
 * lost while the fault budget lasts; otherwise pending in IRR (coalesced if already). */
inline arch_irq_work_raise() {
#if HAS_INTERRUPT
    atomic {
        if
        :: faults_used < FAULTS ->
            faults_used++;
            printf("!! IPI LOST: send IRQ_WORK_VECTOR -> CPU0\n")
        :: true ->
            irr_irq_work = 1
        fi
    }
#else
    skip
#endif
}

/* llist_add(&work->llist, &raised_list[0]) -> llist_add_batch()
 * (port: llist_c.llist_add_batch): READ_ONCE(first); loop { node->next = first;
 * try_cmpxchg(&head->first, &first, node) }; returns whether the list was empty. */
inline llist_add_raised(w, was_empty) {
    first = raised_first;
    do
    :: llnext[w] = first;
       atomic {
           if
           :: raised_first == first ->
               raised_first = w;
               was_empty = (first == NIL);
               break
           :: else ->
               first = raised_first
           fi
       }
    od
}

/* irq_work_queue(work) -> irq_work_claim() and __irq_work_queue_local()
 * (port: irq_work_c.irq_work_queue, irq_work_claim, _irq_work_queue_local, irq_work_raise). */
inline irq_work_queue(w) {
    /* irq_work_claim(): atomic_fetch_or(CLAIMED | CSD_TYPE_IRQ_WORK); fails if PENDING was set */
    atomic { claimed = ((wflags[w] & IRQ_WORK_PENDING) == 0); wflags[w] = wflags[w] | IRQ_WORK_CLAIMED }
    if
    :: claimed ->
        /* __irq_work_queue_local(): READ the flags: not LAZY (and no PREEMPT_RT): raised_list */
        assert((wflags[w] & IRQ_WORK_LAZY) == 0);
        llist_add_raised(w, was_empty);
        if
        :: was_empty ->
            printf("llist_add(&work%d.llist, &raised_list[0]) -> true\n", w);
            arch_irq_work_raise()           /* irq_work_raise() */
        :: else ->
            printf("llist_add(&work%d.llist, &raised_list[0]) -> false\n", w)
        fi
    :: else -> skip
    fi
}

/* irq_work_single(work) (port: irq_work_c.irq_work_single): clear PENDING with a plain
 * atomic_set of the read value, run the callback, then cmpxchg BUSY away if nobody
 * re-claimed the work meanwhile. */
inline irq_work_single(w) {
    fl = wflags[w] & ~IRQ_WORK_PENDING;
    wflags[w] = fl;
    ran[w] = 1;                             /* work->func(work): LostSelfIpi.work_func */
    printf("work%d ran\n", w);
    atomic {
        if
        :: wflags[w] == fl -> wflags[w] = fl & ~IRQ_WORK_BUSY
        :: else -> skip
        fi
    }
}

/* irq_work_run_list(&raised_list[0]) (port: irq_work_c.irq_work_run_list): llist_empty(),
 * llist_del_all() (xchg), then the safe walk (next read before the callback). */
inline irq_work_run_raised() {
    if
    :: raised_first == NIL -> skip
    :: else ->
        atomic { node = raised_first; raised_first = NIL }
        do
        :: node == NIL -> break
        :: else ->
            nxt = llnext[node];
            irq_work_single(node);
            node = nxt
        od
    fi
}

/* irq_work_tick(), called by update_process_times() in the tick handler
 * (port: irq_work_c.irq_work_tick and its variants). */
inline irq_work_tick() {
#if defined(HERTON_RFC) || defined(HERTON_TICK_ONLY)
    /* herton-rfc: run a non-empty raised list from the tick */
    if
    :: raised_first != NIL -> irq_work_run_raised()
    :: else -> skip
    fi
#elif defined(TICK_RERAISE)
    /* tick-reraise: re-raise the irq_work interrupt instead of running the list */
    if
    :: raised_first != NIL ->
# if HAS_INTERRUPT
        arch_irq_work_raise()
# else
        irq_work_run_raised()
# endif
    :: else -> skip
    fi
#elif defined(PRE_76A33061)
    /* 2014 (3.17 irq_work_run() from the tick): every list, raised included */
    irq_work_run_raised()
#else
    /* v6.17 (76a33061): with an irq_work interrupt, raised work is left to it */
    if
    :: raised_first != NIL && !HAS_INTERRUPT -> irq_work_run_raised()
    :: else -> printf("irq_work_tick(): raised list skipped\n")
    fi
#endif
    /* irq_work_run_list(&lazy_list[0]): empty */
}

/* tick_nohz_idle_stop_tick() with interrupts off (port: tick_sched_c.tick_nohz_idle_stop_tick,
 * can_stop_idle_tick, tick_nohz_next_event, tick_nohz_stop_tick / tick_nohz_retain_tick):
 * keep the periodic tick if irq_work needs it and it is running; otherwise stop it, which
 * (re)programs sched_timer (see the header). */
inline tick_nohz_idle_stop_tick() {
    d_step {
        if
        :: irq_work_needs_cpu() -> printf("irq_work_needs_cpu() -> true\n")
        :: else -> printf("irq_work_needs_cpu() -> false\n")
        fi;
        if
        :: irq_work_needs_cpu() && !ts_stopped ->
            skip                            /* tick_nohz_retain_tick() */
        :: else ->
            ts_stopped = 1;                 /* tick_nohz_stop_tick() */
            timer_armed = 1
        fi
    }
}

/* ---- processes -------------------------------------------------------------------- */

/* CPU0 in task context: LostSelfIpi.cpu0() (irq_work_queue() of work0..2), then the idle
 * loop do_idle() (port: idle_c.do_idle, tick_sched_c.tick_nohz_idle_enter,
 * idle_c.default_idle_call -> the engine's safe_halt()). */
active proctype cpu0_task() provided (!in_irq)
{
    byte first;
    bool claimed, was_empty;

    irq_work_queue(0);
    irq_work_queue(1);
    irq_work_queue(2);

    /* do_idle(): tick_nohz_idle_enter() sets TS_FLAG_INIDLE with interrupts off
     * (read only by the interrupt-exit hook, a no-op here) */
    irqs_on = 0;
    irqs_on = 1;
    do
    :: irqs_on = 0;                         /* local_irq_disable() */
       tick_nohz_idle_stop_tick();
       atomic { irqs_on = 1; halted = 1 }   /* safe_halt(): sti; hlt */
end_halted:
       !halted                              /* an interrupt ended the halt */
    od
}

/* CPU0 in hard interrupt context: accepts the highest pending vector while interrupts are
 * on (the port's irq@CPU0 actor, CPU.take_interrupt) and runs its handler with interrupts
 * off:
 *   IRQ_WORK_VECTOR    sysvec_irq_work(): apic_eoi(); irq_work_run()
 *                      (port: x86_irq_work_c.sysvec_irq_work, irq_work_c.irq_work_run)
 *   LOCAL_TIMER_VECTOR sysvec_apic_timer_interrupt() -> local_apic_timer_interrupt() ->
 *                      hrtimer_interrupt() -> __run_hrtimer(sched_timer) ->
 *                      tick_nohz_handler() -> tick_sched_handle() ->
 *                      update_process_times() -> irq_work_tick()
 *                      (port: apic.py, hrtimer.py, tick_sched_c.tick_nohz_handler,
 *                      timer_c.update_process_times; pre-76a33061: tick_sched_timer) */
active proctype cpu0_hardirq()
{
    byte node, nxt, fl;

end_wait:
    do
    :: atomic { irqs_on && irr_irq_work ->
           irr_irq_work = 0; irqs_on = 0; in_irq = 1; halted = 0; printf("<IRQ_WORK_VECTOR>\n") }
       irq_work_run_raised();               /* irq_work_run(): raised, then lazy (empty) */
       atomic { in_irq = 0; irqs_on = 1 }
    :: atomic { irqs_on && irr_timer && !irr_irq_work ->
           irr_timer = 0; irqs_on = 0; in_irq = 1; halted = 0; printf("<LOCAL_TIMER_VECTOR>\n") }
       /* the tick source advanced the clock to sched_timer's expiry: it is due; it leaves
        * the queue and its callback runs */
       timer_armed = 0;
       irq_work_tick();
#if defined(PRE_76A33061)
       timer_armed = 1;                     /* tick_sched_timer() always restarts */
#else
       if                                   /* tick_nohz_handler(): NORESTART when stopped */
       :: !ts_stopped -> timer_armed = 1
       :: else -> skip
       fi;
#endif
       atomic { in_irq = 0; irqs_on = 1 }
    od
}

/* The tick: an event source enabled while sched_timer[0] is armed and CPU0 is halted
 * (idle_only), at most TICKS times; it raises LOCAL_TIMER_VECTOR
 * (port: tick_sched_c.tick_event_source, the engine's Source). */
active proctype tick_cpu0()
{
end_src:
    do
    :: atomic { tick_budget > 0 && timer_armed && halted ->
           tick_budget--; irr_timer = 1; printf("~~ tick CPU0: raise LOCAL_TIMER_VECTOR\n") }
    od
}

#ifndef LTL
/* The property, checked where kport checks it (Machine.finish(), the eventually()
 * obligation of LostSelfIpi): when nothing can move, every queued irq_work ran. */
active proctype quiescence()
{
    timeout -> assert(ran[0] && ran[1] && ran[2])
}
#else
ltl every_queued_irq_work_runs { <> (ran[0] && ran[1] && ran[2]) }
#endif
