# SPDX-License-Identifier: GPL-2.0-only
"""Parallel and distributed exploration: the serial DPOR search, in subtree tasks.

The serial search (dpor.py) is a depth-first walk of one tree of
executions.  Here the tree is cut at a *split depth* ``d``: the nodes above
``d`` (the *prefix*) are kept by the controller, and each *task* explores the
subtree below one branch of the prefix's last node, in a worker process,
with the serial code.  A task changes the prefix in three ways only, and
each is recorded in the task's log and replayed by the controller, in order:
a wakeup sequence inserted at a prefix node (a race with a prefix event), a
branch added there, and "the bound pruned something below this branch".

**Results identical to the serial search.**  What a task explores depends on
the prefix only through: the path (actors and value choices), the sleep,
done and covered sets and flags of each prefix node, the entries of each
node's wakeup tree up to its current branch, and the wakeup subtree below
the last node's current branch.  That is the task's *key*.  Insertions into
the prefix never reach below the last node except through the node the
search is exploring (``DporDriver._insert`` goes on in the next node of the
stack, never in a shared wakeup tree), so a task run with the right key does
exactly what the serial search does in that subtree, and its log, replayed
on the controller's prefix, leaves the prefix exactly as the serial search
would.  The controller commits tasks in the serial order, counts their
executions in that order and applies the serial stop rules (first error,
``after_bug``, execution budget), so verdicts, counterexamples, execution
counts and statistics are the serial ones.

**Speculation.**  The next task's key is known only once the previous task
has been committed (its log may extend the next branch's wakeup subtree).
The controller therefore guesses: it copies the prefix and walks ahead on
the copy as if the running tasks changed nothing, dispatching the tasks it
meets.  When the real next key is computed it is looked up among the
dispatched ones; a wrong guess costs the wasted work and a new guess from
the real state, never a wrong result.  Reaching a branch above the last
prefix node needs the new prefix nodes below it: the controller creates them
with a *probe* (one execution of the path, stopped at depth ``d``, exactly
as the serial search's first execution there would create them); a guess's
probe is kept and reused by the real walk when its inputs match.

**Hand-backs.**  A task still running after ``yield_after`` seconds stops
once its next branch is chosen and hands its stack back: that is the serial
state, so the controller takes the nodes down to the first one with other
branches waiting into its top (those branches become tasks) and sends the
rest on as a task that starts from the handed-back nodes.

Workers: a process pool on this machine (``jobs``), or a Dask distributed
cluster (:class:`DaskPool`; ``pip install kernel-port[dist]``).  Dask rather
than Ray: the task model here is plain futures over pickled arguments, which
Dask's ``Client.submit``/``wait`` give with a pure-Python install and a
loopback ``LocalCluster`` for tests, where Ray brings a large native runtime
and its own object store and scheduler daemons for no gain at this scale.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent import futures as cf
from dataclasses import dataclass, field
from typing import Any

from .dpor import DporDriver, DporStats, Limits, Node, Stopper, WNode, record, search
from .execution import Outcome, Program, run

# -- wakeup trees as flat data ---------------------------------------------------


def wflat(ws: list[WNode]) -> tuple[Any, ...]:
    """A wakeup forest in preorder as (actor, accesses, number of children)."""
    out: list[tuple[Any, ...]] = []
    todo = list(reversed(ws))
    while todo:
        w = todo.pop()
        out.append((w.actor, w.acc, len(w.children)))
        todo.extend(reversed(w.children))
    return (len(ws), tuple(out))


def wbuild(flat: tuple[Any, ...]) -> list[WNode]:
    n_top, items = flat
    roots: list[WNode] = []
    stack: list[list[Any]] = [[roots, n_top]]
    for actor, acc, nch in items:
        while stack[-1][1] == 0:
            stack.pop()
        top = stack[-1]
        top[1] -= 1
        w = WNode(actor, acc)
        top[0].append(w)
        if nch:
            stack.append([w.children, nch])
    return roots


def clone(stack: list[Node]) -> list[Node]:
    """A copy of exploration-stack nodes.  Wakeup-tree entries are shared:
    the search never changes an entry once made (dpor.py copies entries on
    the way down an insertion), only the nodes' own lists."""
    out = []
    for nd in stack:
        c = Node.__new__(Node)
        c.enabled = nd.enabled
        c.enabled_set = nd.enabled_set
        c.sleep = set(nd.sleep)
        c.done = set(nd.done)
        c.covered = set(nd.covered)
        c.cur_pruned = nd.cur_pruned
        c.accs = nd.accs
        c.prev_cpu = nd.prev_cpu
        c.preempts = nd.preempts
        c.irqs = nd.irqs
        c.waiting = nd.waiting
        c.actor = nd.actor
        c.values = list(nd.values)
        c.nopts = list(nd.nopts)
        c.depth = nd.depth
        c.memo = nd.memo
        c.wut = list(nd.wut)
        c.cur = nd.cur
        out.append(c)
    return out


def _head(nd: Node) -> list[WNode]:
    """The node's wakeup-tree entries up to and including its current branch."""
    for i, w in enumerate(nd.wut):
        if w is nd.cur:
            return nd.wut[: i + 1]
    raise RuntimeError(f"node at depth {nd.depth}: its current branch is not in its wakeup tree")


def _level_key(nd: Node) -> tuple[Any, ...]:
    k = nd.memo
    if k is None:
        k = nd.memo = _level_key_of(nd)
    return k  # type: ignore[no-any-return]


def _level_key_of(nd: Node) -> tuple[Any, ...]:
    return (
        nd.actor,
        tuple(nd.values),
        tuple(nd.nopts),
        tuple(sorted(nd.sleep)),
        tuple(sorted(nd.done)),
        tuple(sorted(nd.covered)),
        nd.cur_pruned,
        tuple((w.actor, bool(w.children)) for w in _head(nd)),
    )


def prefix_key(kind: str, split: int, stack: list[Node]) -> tuple[Any, ...]:
    """What a task (or a probe) below the last node of ``stack`` depends on."""
    last = stack[-1].cur
    assert last is not None
    return (kind, split, tuple(_level_key(nd) for nd in stack), wflat(last.children))


def pack(stack: list[Node], full: bool = False) -> list[tuple[Any, ...]]:
    """Exploration-stack nodes as plain data.

    For a task's prefix (``full`` false) each node's wakeup-tree entries stop
    at its current branch and only the last node keeps the subtree below
    its current branch: see the module docstring for why the rest cannot
    change what the task does.  ``full`` keeps every entry with its subtree
    (what a yielding task hands back); below a current branch only "has
    children" is kept unless the subtree will be read again (the last node,
    or a node with value choices left).
    """
    out = []
    last = len(stack) - 1
    for i, nd in enumerate(stack):
        entries = nd.wut if full else _head(nd)
        wut = []
        cur_at = -1
        for j, w in enumerate(entries):
            if w is nd.cur:
                cur_at = j
                # The subtree below a current branch is read again only to
                # create the node below: the last node's next execution, or
                # a node's next value choice.
                again = i == last or (full and any(v + 1 < n for v, n in zip(nd.values, nd.nopts, strict=True)))
                wut.append((w.actor, w.acc, wflat(w.children) if again else bool(w.children)))
            else:
                wut.append((w.actor, w.acc, wflat(w.children) if full else bool(w.children)))
        out.append(
            (
                nd.enabled,
                tuple(sorted(nd.sleep)),
                tuple(sorted(nd.done)),
                tuple(sorted(nd.covered)),
                nd.cur_pruned,
                nd.accs,
                nd.prev_cpu,
                nd.preempts,
                nd.irqs,
                tuple(sorted(nd.waiting)),
                nd.actor,
                list(nd.values),
                list(nd.nopts),
                nd.depth,
                wut,
                cur_at,
            )
        )
    return out


def unpack(data: list[tuple[Any, ...]]) -> list[Node]:
    stack = []
    for item in data:
        (enabled, sleep, done, covered, cur_pruned, accs, prev, preempts, irqs, waiting) = item[:10]
        actor, values, nopts, depth, wut, cur_at = item[10:]
        nd = Node(list(enabled), set(sleep), dict(accs), prev, preempts, tuple(irqs), frozenset(waiting))
        nd.done = set(done)
        nd.covered = set(covered)
        nd.cur_pruned = cur_pruned
        nd.actor = actor
        nd.values = list(values)
        nd.nopts = list(nopts)
        nd.depth = depth
        for a, acc, children in wut:
            w = WNode(a, acc)
            if isinstance(children, tuple):
                w.children = wbuild(children)
            elif children:
                # Only "has children" matters there: a stand-in.
                w.children.append(WNode(-1, ()))
            nd.wut.append(w)
        nd.cur = nd.wut[cur_at] if cur_at >= 0 else None
        stack.append(nd)
    return stack


# -- the task a worker runs ---------------------------------------------------------


@dataclass
class TaskOptions:
    ncpus: int
    bound: int | None
    reduction: bool
    keep_events: bool
    limits: Limits
    yield_after: float | None = None  # hand the rest back after this many seconds


@dataclass
class TaskResult:
    outcomes: list[Outcome]
    log: list[tuple[Any, ...]]
    bound_pruned: int
    why: str  # "split": subtree exhausted; "yield": handed back unfinished; else why it stopped
    seconds: float = 0.0  # CPU seconds in the worker
    nodes: list[tuple[Any, ...]] | None = None  # with "yield": the stack below the split


def _slim(out: Outcome, keep: bool) -> Outcome:
    """Outcomes that only count travel without their schedule."""
    if keep or out.status in ("bug", "error", "budget"):
        return out
    return Outcome(out.status, steps=out.steps)


def run_task(
    program: Program, prefix: list[tuple[Any, ...]], opts: TaskOptions, private: list[tuple[Any, ...]] | None = None
) -> TaskResult:
    """Explore the subtree below the last node of ``prefix`` with the serial
    search; ``private``: go on from where another task handed it back (the
    nodes below the prefix, as they were)."""
    t0 = time.perf_counter()
    c0 = time.thread_time()
    drv = DporDriver(opts.ncpus, opts.bound, opts.reduction)
    drv.stack = unpack(prefix)
    drv.split = len(drv.stack)
    if private:
        drv.stack += unpack(private)
    drv.log = []
    st = DporStats()
    outs: list[Outcome] = []
    keep = opts.keep_events
    why = search(
        program,
        drv,
        st,
        Stopper(opts.limits, t0),
        keep_events=keep,
        on_outcome=lambda o: outs.append(_slim(o, keep)),
        yield_after=opts.yield_after,
    )
    nodes = pack(drv.stack[drv.split :], full=True) if why == "yield" else None
    return TaskResult(outs, drv.log, drv.bound_pruned, why, time.thread_time() - c0, nodes)


_PROGRAM: list[Program] = []


def _init_worker(program: Program) -> None:
    _PROGRAM[:] = [program]
    # What the fork inherited is never garbage here: keep the collector off it.
    gc.freeze()


def _run_in_worker(prefix: list[tuple[Any, ...]], opts: TaskOptions, private: Any) -> TaskResult:
    return run_task(_PROGRAM[0], prefix, opts, private)


# -- pools ---------------------------------------------------------------------------


class _Pool:
    """What the controller needs of a pool: submit tasks, wait for one to
    finish, and read futures (concurrent.futures and Dask futures alike)."""

    jobs: int

    @staticmethod
    def done(fut: Any) -> bool:
        return bool(fut.done())

    @staticmethod
    def result(fut: Any) -> TaskResult:
        return fut.result()  # type: ignore[no-any-return]

    def close(self) -> None:
        pass


class InlinePool(_Pool):
    """Runs each task when it is submitted, in this process (for tests and
    for measuring the controller's own cost)."""

    def __init__(self, program: Program, jobs: int = 1) -> None:
        self.program = program
        self.jobs = jobs

    def submit(self, prefix: list[tuple[Any, ...]], opts: TaskOptions, private: Any = None) -> Any:
        f: cf.Future[TaskResult] = cf.Future()
        f.set_result(run_task(self.program, prefix, opts, private))
        return f

    def wait_any(self, pending: list[Any]) -> None:
        pass


class ProcessPool(_Pool):
    """Worker processes on this machine (forked, so any program works)."""

    def __init__(self, program: Program, jobs: int) -> None:
        self.jobs = jobs
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        self.ex = cf.ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(program,)
        )

    def submit(self, prefix: list[tuple[Any, ...]], opts: TaskOptions, private: Any = None) -> Any:
        return self.ex.submit(_run_in_worker, prefix, opts, private)

    def wait_any(self, pending: list[Any]) -> None:
        cf.wait(pending, return_when=cf.FIRST_COMPLETED)

    def close(self) -> None:
        self.ex.shutdown(wait=True, cancel_futures=True)


class DaskPool(_Pool):
    """The workers of a Dask distributed cluster (``pip install kernel-port[dist]``).

    The program travels once to every worker (``Client.scatter``); scenario
    programs pickle as their names, so workers load them from their own
    checkout of the project."""

    def __init__(self, client: Any, program: Program, own_client: bool = False) -> None:
        self.client = client
        self.own_client = own_client
        self.jobs = max(1, sum(client.nthreads().values()))
        self.program = client.scatter(program, broadcast=True)
        self.event = threading.Event()

    def submit(self, prefix: list[tuple[Any, ...]], opts: TaskOptions, private: Any = None) -> Any:
        fut = self.client.submit(run_task, self.program, prefix, opts, private, pure=False)
        fut.add_done_callback(lambda _f: self.event.set())
        return fut

    def wait_any(self, pending: list[Any]) -> None:
        while not any(f.done() for f in pending):
            self.event.wait(1.0)
            self.event.clear()

    def close(self) -> None:
        if self.own_client:
            self.client.close()


def make_pool(program: Program, jobs: int | None = None, dask: str | None = None) -> Any:
    """A pool for ``explore(pool=...)``: ``dask`` is a scheduler address
    (``tcp://host:8786``), else ``jobs`` local worker processes; None when
    neither asks for more than one worker."""
    from .errors import OptionError

    if dask is not None:
        try:
            from distributed import Client
        except ImportError:
            raise OptionError("--dask", dask, "needs the dist extra: pip install 'kernel-port[dist]'") from None
        try:
            client = Client(dask, timeout=10, set_as_default=False)  # type: ignore[no-untyped-call]
        except Exception as e:  # the address is the user's: say what went wrong, in one line
            first = (str(e).splitlines() or [type(e).__name__])[0]
            raise OptionError("--dask", dask, f"cannot reach the scheduler ({first})") from None
        return DaskPool(client, program, own_client=True)
    if jobs is not None and jobs > 1:
        return ProcessPool(program, jobs)
    return None


# -- the controller ------------------------------------------------------------------


@dataclass
class ParallelStats:
    tasks: int = 0
    dispatched: int = 0
    wasted: int = 0  # dispatched on a wrong guess, never committed
    probes: int = 0
    split: int = 0
    worker_seconds: float = 0.0
    largest_task: int = 0
    yields: int = 0
    all_seconds: float = 0.0  # worker CPU of every task run, wasted ones too
    details: dict[str, Any] = field(default_factory=dict)


def _probe(program: Program, drv: DporDriver, split: int) -> None:
    """Create the prefix nodes below the stack, down to ``split`` (or the end
    of the path), as the serial search's next execution would."""
    drv.stop_at = split
    drv.split = len(drv.stack)
    drv.log = []
    drv.begin()
    out = run(program, drv, keep_machine=True)
    m = out.machine
    assert m is not None
    out.machine = None
    del drv.stack[len(m.events) :]
    del m
    drv.stop_at = None
    drv.split = 0


class SplitPolicy:
    """Where each region of the tree is cut into tasks.

    A *region* starts where the walk over the prefix moves to a new branch
    above the current split; the policy then picks that region's split, no
    shallower than the branch.  It aims at tasks of ``lo``..``hi`` worker
    CPU seconds (moving the split by an eighth for each task outside that band);
    a task still running after ``yield_after`` seconds hands the rest of its
    subtree back, to be cut deeper.
    Each region's choice is recorded, so a guess and the real walk cut the
    same region the same way; the choice only affects speed, never results.
    """

    def __init__(self, start: int, lo: float = 0.03, hi: float = 0.25, yield_after: float | None = 0.5) -> None:
        self.target = max(1, start)
        self.lo = lo
        self.hi = hi
        self.yield_after = yield_after
        self.decided: dict[Any, int] = {}
        # Positions of the nodes tasks were cut below: their other branches are
        # tasks cut there too (whatever the walk did in between).
        self.cut_at: set[tuple[Any, ...]] = set()

    def observe(self, seconds: float) -> None:
        step = max(1, self.target // 8)
        if seconds < self.lo:
            self.target = max(1, self.target - step)
        elif seconds > self.hi:
            self.target += step

    def split_for(self, stack: list[Node]) -> int:
        if not stack:
            return self.target
        key = prefix_key("region", 0, stack)
        d = self.decided.get(key)
        if d is None:
            d = self.decided[key] = max(len(stack), self.target)
        return d


class _Walk:
    """A walk over the prefix tree: the real one (``real``) or a guess."""

    def __init__(
        self, program: Program, drv: DporDriver, split: int, probes: dict[Any, Any], policy: SplitPolicy, real: bool
    ) -> None:
        self.program = program
        self.drv = drv
        self.split = split
        self.probes = probes
        self.policy = policy
        self.real = real
        self.nprobes = 0
        self.kept = 0

    def fill(self) -> None:
        """After a move to a new branch: choose the split of a new region and
        extend the stack down to it with a probe (or a kept one)."""
        drv = self.drv
        if drv.stack and _position(drv.stack) in self.policy.cut_at:
            self.split = len(drv.stack)
            return  # the next branch of a node that tasks were cut below: same region
        self.split = self.policy.split_for(drv.stack)
        if len(drv.stack) >= self.split:
            return
        if drv.stack:
            key = prefix_key("probe", self.split, drv.stack)
            kept = self.probes.get(key)
            if kept is not None:
                self.kept += 1
                log, nodes, pruned = kept
                drv.replay_log(log)
                drv.stack.extend(clone(nodes))
                drv.bound_pruned += pruned
                return
        else:
            key = None
        before = len(drv.stack)
        pruned0 = drv.bound_pruned
        _probe(self.program, drv, self.split)
        self.nprobes += 1
        log = drv.log or []
        drv.log = None
        if key is not None:
            self.probes[key] = (log, clone(drv.stack[before:]), drv.bound_pruned - pruned0)

    def key(self) -> tuple[Any, ...]:
        stack = self.drv.stack
        self.policy.cut_at.add(_position(stack))
        return prefix_key("task", len(stack), stack)


def _position(stack: list[Node]) -> tuple[Any, ...]:
    """Where the last node of ``stack`` is in the tree (the path to it)."""
    return tuple((nd.actor, tuple(nd.values)) for nd in stack[:-1])


def _has_more(item: tuple[Any, ...]) -> bool:
    """Does a packed node have branches or value choices still to explore?"""
    values, nopts, wut, cur_at = item[11], item[12], item[14], item[15]
    return len(wut) > cur_at + 1 or any(v + 1 < n for v, n in zip(values, nopts, strict=True))


def first_split(program: Program, bound: int | None, reduction: bool) -> int:
    """Where the policy starts: a third of the way down the first (default)
    execution; it moves from there."""
    drv = DporDriver(program.ncpus, bound, reduction)
    drv.begin()
    out = run(program, drv)
    return max(1, out.steps // 3)


def explore_parallel(
    program: Program,
    limits: Limits,
    *,
    preemption_bound: int | None,
    reduction: bool,
    keep_events: bool,
    on_outcome: Callable[[Outcome], None] | None,
    progress: Callable[[DporStats], None] | None,
    jobs: int | None,
    pool: Any,
    split: int | None,
    yield_after: float | None = None,
) -> DporStats:
    t0 = time.perf_counter()
    own_pool = pool is None
    if pool is None:
        pool = ProcessPool(program, jobs or (os.cpu_count() or 2))
    policy = SplitPolicy(split if split is not None else first_split(program, preemption_bound, reduction))
    if split is not None:
        policy.lo, policy.hi = 0.0, float("inf")  # a fixed split
        policy.yield_after = yield_after
    elif yield_after is not None:
        policy.yield_after = yield_after
    try:
        return _control(
            program, pool, policy, limits, preemption_bound, reduction, keep_events, on_outcome, progress, t0
        )
    finally:
        if own_pool:
            pool.close()


def _control(
    program: Program,
    pool: Any,
    policy: SplitPolicy,
    limits: Limits,
    bound: int | None,
    reduction: bool,
    keep_events: bool,
    on_outcome: Callable[[Outcome], None] | None,
    progress: Callable[[DporStats], None] | None,
    t0: float,
) -> DporStats:
    st = DporStats()
    ps = ParallelStats(split=policy.target)
    stopper = Stopper(limits, t0)
    probes: dict[Any, Any] = {}
    ctl = DporDriver(program.ncpus, bound, reduction)
    real = _Walk(program, ctl, 0, probes, policy, real=True)
    inflight: dict[Any, Any] = {}  # key -> future
    results: dict[Any, TaskResult] = {}
    ahead = pool.jobs + 1
    guess: _Walk | None = None
    guessed: list[Any] = []  # keys the guess walked through, in its order

    def opts_now() -> TaskOptions:
        left = None if limits.max_executions is None else max(1, limits.max_executions - st.executions)
        if stopper.first_bug_at is not None and limits.after_bug is not None:
            # The search ends after_bug executions after the first bug.
            more = max(1, stopper.first_bug_at + limits.after_bug - st.executions)
            left = more if left is None else min(left, more)
        sec = None if limits.max_seconds is None else max(0.01, limits.max_seconds - (time.perf_counter() - t0))
        return TaskOptions(
            program.ncpus,
            bound,
            reduction,
            keep_events,
            Limits(left, sec, limits.stop_on_bug, limits.after_bug),
            policy.yield_after,
        )

    def dispatch(key: Any, stack: list[Node]) -> None:
        inflight[key] = pool.submit(pack(stack), opts_now())
        ps.dispatched += 1

    def collect(block: bool) -> None:
        if block and inflight:
            pool.wait_any(list(inflight.values()))
        for k in [k for k, f in inflight.items() if pool.done(f)]:
            results[k] = pool.result(inflight.pop(k))
            ps.all_seconds += results[k].seconds

    real.fill()
    if not ctl.stack:
        # Not one step to split at: the serial search, here.
        why = search(program, ctl, st, stopper, keep_events=keep_events, on_outcome=on_outcome, progress=progress)
        st.exhausted = why == "exhausted"
        st.bound_pruned = ctl.bound_pruned
        st.seconds = time.perf_counter() - t0
        st.parallel = ps
        return st
    stopped = False
    resume: list[tuple[Any, ...]] | None = None  # a handed-back subtree to go on with
    while True:
        key = ("resume", ps.yields) if resume is not None else real.key()
        # Keep the guess in step with the real walk, or start a new one here.
        if key in guessed:
            del guessed[: guessed.index(key) + 1]
        else:
            why_reset = "resume" if key[0] == "resume" else ("empty" if not guessed else "mismatch")
            ps.details[why_reset] = ps.details.get(why_reset, 0) + 1
            gdrv = DporDriver(program.ncpus, bound, reduction)
            gdrv.stack = clone(ctl.stack)
            guess = _Walk(program, gdrv, real.split, probes, policy, real=False)
            guessed = []
            ps.details["guesses"] = ps.details.get("guesses", 0) + 1
        if resume is not None:
            inflight[key] = pool.submit(pack(ctl.stack), opts_now(), resume)
            ps.dispatched += 1
            resume = None
        elif key not in results and key not in inflight:
            dispatch(key, ctl.stack)
        # Guess ahead while workers are free.
        collect(block=False)
        while guess is not None and len(inflight) < ahead:
            if not guess.drv.advance():
                guess = None
                break
            guess.fill()
            gk = guess.key()
            guessed.append(gk)
            if gk not in results and gk not in inflight:
                dispatch(gk, guess.drv.stack)
        while key not in results:
            collect(block=True)
        res = results.pop(key)
        policy.observe(res.seconds)
        ps.tasks += 1
        ps.worker_seconds += res.seconds
        ps.largest_task = max(ps.largest_task, len(res.outcomes))
        for out in res.outcomes:
            record(st, out)
            if keep_events:
                st.all_outcomes.append(out)
            if on_outcome is not None:
                on_outcome(out)
            if stopper.after_outcome(st, out):
                stopped = True
                break
            if out is not res.outcomes[-1] and stopper.after_advance(st):
                stopped = True
                break
            if progress is not None and st.executions % 256 == 0:
                st.seconds = time.perf_counter() - t0
                progress(st)
        if stopped:
            break
        ctl.replay_log(res.log)
        ctl.bound_pruned += res.bound_pruned
        if res.why == "yield":
            # The task handed its subtree back half-explored: its stack is
            # the serial state, with the next branch chosen.  The nodes down
            # to the first one with other branches waiting join the prefix
            # (those branches become tasks of their own); the rest goes on
            # as a task that starts from the handed-back nodes.
            assert res.nodes is not None
            nodes = res.nodes
            k = next((i + 1 for i, item in enumerate(nodes) if _has_more(item)), len(nodes))
            ctl.stack.extend(unpack(nodes[:k]))
            resume = nodes[k:] or None
            real.split = len(ctl.stack)
            ps.yields += 1
            if stopper.after_advance(st):
                break
            continue
        if res.why != "split":
            break  # the task hit a budget the controller has not: time
        if not ctl.advance():
            st.exhausted = True
            break
        if stopper.after_advance(st):
            break
        real.fill()
    ps.probes = real.nprobes
    ps.details["kept_probes"] = real.kept
    ps.wasted = ps.dispatched - ps.tasks
    for f in inflight.values():
        f.cancel()
    st.bound_pruned = ctl.bound_pruned
    st.seconds = time.perf_counter() - t0
    st.parallel = ps
    return st
