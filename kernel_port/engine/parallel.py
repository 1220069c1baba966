# SPDX-License-Identifier: GPL-2.0-only
"""Parallel and distributed exploration: the DPOR search (dpor.py) as independent tasks.

The serial search is a depth-first walk of one tree.  Here its subtrees are *tasks*, run in
any order on any number of workers, with no ordering between them:

* **A task** is a node of the tree (the path to it: actors and fault choices), one branch to
  explore there (with the wakeup subtree below it) and the node's sleep set.  A worker runs
  the serial search on that subtree (``DporDriver.root``): it owns the nodes below the root,
  and never branches at the root or above.
* **Races that reach above a task's root** (a reversal to insert at an ancestor) are
  forwarded to the controller.  The controller keeps every node above some task's root
  (they were a task's, registered when it handed them out) with its sleep set and the
  branches *claimed* there (explored, running or queued).  It applies the optimal-DPOR test:
  the sequence is dropped when a sleeper or a claimed branch is a weak initial of it, else it
  becomes a new task: the sequence's first step as the branch, the rest as its wakeup
  subtree.
* **Sleep sets** treat claimed branches as explored: a branch claimed after another has it
  in its sleep set, as the serial search puts an explored sibling to sleep.  That is sound
  whatever the timing, because a claimed branch is explored to its end by someone (the
  sleep-set argument needs it explored, not explored first).  Under a preemption bound the
  serial search lets only branches the bound did not prune put an actor to sleep; a split
  search cannot know that in advance, so it uses no sleep sets above the tasks' roots.
* **Hand-outs.**  A task that has run for ``yield_after`` seconds stops once its next branch
  is chosen and hands all its remaining work out: every branch waiting at one of its nodes
  (and the fault choices still to try there) becomes a task, and its nodes are registered
  with the controller.  A task started while others still wait for a worker gets
  ``LONG_YIELD`` times longer: nobody needs its work yet, and each task costs a replay of
  its path.
* **Results.**  Each task returns its counts, its violations and the fingerprints of the
  traces it explored (dpor.History.fingerprint).  The union of fingerprints counts the
  Mazurkiewicz traces explored -- the same number for every split, since the search explores
  each trace (soundness) and only traces of the program -- and the counterexample is chosen
  by a total order among the violations found (explorer.py, shortest.py).  So verdicts,
  trace counts and counterexamples are the serial search's, byte for byte; only the work
  (executions run, sleep-set blocked ones, tasks) depends on the split.

Workers: processes on this machine (``jobs``, forked so any program works; they die with
their parent, kernel_port/signals.py), or a Dask distributed cluster (:class:`DaskPool`,
``pip install kernel-port[dist]``; the scenario travels as its name), or in line for tests
(:class:`InlinePool`).
"""

from __future__ import annotations

import gc
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent import futures as cf
from dataclasses import dataclass, field
from typing import Any

from .core import Accesses
from .dpor import DporDriver, DporStats, Limits, Node, Step, Stopper, WNode, search, weak_initial
from .execution import Outcome, Program

Path = tuple[int, ...]  # the flat choices (actors, then each step's fault choices) to a node


# -- wakeup subtrees as plain data ---------------------------------------------------------


def wflat(ws: list[WNode]) -> tuple[Any, ...]:
    return tuple((w.actor, w.acc, w.values, wflat(w.children)) for w in ws)


def wbuild(flat: tuple[Any, ...]) -> list[WNode]:
    out = []
    for a, acc, vals, kids in flat:
        w = WNode(a, acc, vals)
        w.children = wbuild(kids)
        out.append(w)
    return out


def chain(v: list[Step]) -> tuple[Any, ...]:
    """A sequence as a one-path wakeup subtree (flat form)."""
    flat: tuple[Any, ...] = ()
    for a, acc, vals in reversed(v):
        flat = ((a, acc, vals, flat),)
    return flat


Steps = tuple[tuple[int, tuple[int, ...]], ...]  # (actor, fault choices) of each node to a node


def flat(steps: Steps) -> Path:
    out: list[int] = []
    for a, vals in steps:
        out.append(a)
        out += vals
    return tuple(out)


@dataclass
class Task:
    steps: Steps | None  # the path to the root node (None: the whole tree)
    actor: int = -1  # the branch at the root
    acc: Accesses = ()
    values: tuple[int, ...] | None = None  # the fault choices it starts from (None: none yet)
    subtree: tuple[Any, ...] = ()  # wflat() of the wakeup subtree below that branch
    sleep: dict[int, Accesses] = field(default_factory=dict)


@dataclass
class Registered:
    """A node above some task's root, as the controller keeps it."""

    steps: Steps
    sleep: dict[int, Accesses]
    claimed: dict[int, Accesses]  # branches explored, running or queued here
    cut: int = -1  # an actor whose step here was cut short by a violation (it never sleeps)

    def sleepers(self, bounded: bool) -> dict[int, Accesses]:
        if bounded:
            return {}
        out = dict(self.sleep)
        for a, acc in self.claimed.items():
            if a != self.cut:
                out[a] = acc
        return out


@dataclass
class TaskOptions:
    ncpus: int
    bound: int | None
    reduction: bool
    keep_events: bool
    limits: Limits
    yield_after: float | None = None


@dataclass
class TaskResult:
    stats: DporStats  # its counts and fingerprints (outcomes slimmed, below)
    forwarded: list[tuple[Steps, list[Step]]]  # sequences for nodes above the root
    handed: list[Task]  # what a task that stopped early handed out
    nodes: list[Registered]  # its nodes, registered when it handed work out
    why: str
    seconds: float = 0.0  # CPU seconds in the worker


def _slim(out: Outcome, keep: bool) -> Outcome:
    if keep or out.status in ("bug", "error", "budget"):
        return out
    return Outcome(out.status, steps=out.steps, fingerprint=out.fingerprint)


def _steps(stack: list[Node], depth: int) -> Steps:
    return tuple((nd.actor, tuple(nd.values)) for nd in stack[:depth])


def run_task(program: Program, task: Task, opts: TaskOptions) -> TaskResult:
    """Run the serial search on ``task``'s subtree."""
    t0 = time.perf_counter()
    c0 = time.thread_time()
    drv = DporDriver(opts.ncpus, opts.bound, opts.reduction)
    drv.initials_only = True
    if task.steps is not None:
        drv.root = len(task.steps)
        drv.forced = [(a, list(v)) for a, v in task.steps] + [(task.actor, list(task.values or ()))]
        w = WNode(task.actor, task.acc, task.values)
        w.children = wbuild(task.subtree)
        drv.root_branch = w
        drv.root_sleep = dict(task.sleep)
    st = DporStats()
    keep = opts.keep_events
    why = search(program, drv, st, Stopper(opts.limits, t0), keep_events=keep, yield_after=opts.yield_after)
    st.outcomes = [_slim(o, keep) for o in st.outcomes]
    st.bound_pruned = drv.bound_pruned
    st.anomalies = drv.anomalies
    st.exhausted = why == "exhausted"
    forwarded = [(_steps(drv.stack, d), v) for d, v in drv.forwarded]
    handed: list[Task] = []
    nodes: list[Registered] = []
    if why == "yield":
        handed, nodes = hand_out(drv)
    return TaskResult(st, forwarded, handed, nodes, why, time.thread_time() - c0)


def _subtree_for(nd: Node, values: tuple[int, ...]) -> list[WNode]:
    """The wakeup subtree below the node's current actor for these fault choices."""
    from .dpor import _vkey

    key = _vkey(values)
    for w in nd.wut:
        if w.actor == nd.actor and _vkey(w.values) == key:
            return w.children
    return []


def hand_out(drv: DporDriver) -> tuple[list[Task], list[Registered]]:
    """Everything a stopped task has left, as tasks, and its nodes for the controller.

    After ``advance()`` the deepest node's current branch is the next to run; at every other
    node the current branch is under way (what remains of it is deeper down) and its other
    fault choices and the branches after it are waiting."""
    stack = drv.stack
    tasks: list[Task] = []
    nodes: list[Registered] = []
    last = len(stack) - 1
    bounded = drv.bound is not None
    for k in range(max(drv.root, 0), last + 1):
        nd = stack[k]
        steps = _steps(stack, k)
        sleep0 = dict(drv.root_sleep) if k == drv.root else dict(nd.sleep)
        claimed: dict[int, Accesses] = {a: nd.accs[a] for a in nd.done if a in nd.accs}

        def sleep_now(claimed: dict[int, Accesses] = claimed, sleep0: dict[int, Accesses] = sleep0) -> Any:
            if bounded:
                return {}
            out = dict(sleep0)
            for a, acc in claimed.items():
                if a != nd.cut:
                    out[a] = acc
            return out

        # The current branch: the fault choices still to try (at the deepest node, also the
        # ones about to run).
        vals = tuple(nd.values) if k == last else _next_values(nd)
        if vals is not None:
            sub = wflat(_subtree_for(nd, vals))
            tasks.append(Task(steps, nd.actor, nd.accs[nd.actor], vals, sub, sleep_now()))
        if k == drv.root:
            continue  # the root's other branches are not this task's
        claimed[nd.actor] = nd.accs[nd.actor]
        for w in nd.wut:
            if w.actor in claimed or w.actor in nd.sleep or w.actor not in nd.enabled_set:
                continue
            tasks.append(Task(steps, w.actor, w.acc, w.values, wflat(w.children), sleep_now()))
            claimed[w.actor] = w.acc
        nodes.append(Registered(steps, sleep0, claimed, nd.cut))
    return tasks, nodes


def _next_values(nd: Node) -> tuple[int, ...] | None:
    """The node's next fault choices after the current ones (odometer), if any."""
    vals = nd.values
    for i in range(len(vals) - 1, -1, -1):
        if vals[i] + 1 < nd.nopts[i]:
            return tuple(vals[:i] + [vals[i] + 1])
    return None


_PROGRAM: list[Program] = []


def _init_worker(program: Program) -> None:
    _PROGRAM[:] = [program]
    gc.freeze()  # what the fork inherited is never garbage here


def _run_in_worker(task: Task, opts: TaskOptions) -> TaskResult:
    return run_task(_PROGRAM[0], task, opts)


# -- pools -------------------------------------------------------------------------------


class _Pool:
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
    """Runs each task when it is submitted, in this process (tests; the controller's cost)."""

    def __init__(self, program: Program, jobs: int = 1) -> None:
        self.program = program
        self.jobs = jobs

    def submit(self, task: Task, opts: TaskOptions) -> Any:
        f: cf.Future[TaskResult] = cf.Future()
        f.set_result(run_task(self.program, task, opts))
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

    def submit(self, task: Task, opts: TaskOptions) -> Any:
        return self.ex.submit(_run_in_worker, task, opts)

    def wait_any(self, pending: list[Any]) -> None:
        cf.wait(pending, return_when=cf.FIRST_COMPLETED)

    def close(self) -> None:
        self.ex.shutdown(wait=True, cancel_futures=True)


class DaskPool(_Pool):
    """The workers of a Dask distributed cluster (``pip install kernel-port[dist]``): the
    program travels once to each worker; scenario programs pickle as their names, so workers
    load them from their own checkout of the project."""

    def __init__(self, client: Any, program: Program, own_client: bool = False) -> None:
        self.client = client
        self.own_client = own_client
        self.jobs = max(1, sum(client.nthreads().values()))
        self.program = client.scatter(program, broadcast=True)
        self.event = threading.Event()

    def submit(self, task: Task, opts: TaskOptions) -> Any:
        fut = self.client.submit(run_task, self.program, task, opts, pure=False)
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
    (``tcp://host:8786``), else ``jobs`` local worker processes; None when neither asks for
    more than one worker."""
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


# -- the controller -------------------------------------------------------------------------


@dataclass
class ParallelStats:
    tasks: int = 0
    handed: int = 0  # tasks handed out by tasks that stopped early
    forwarded: int = 0  # sequences forwarded to the controller
    dropped: int = 0  # ... of which a sleeper or a claimed branch already covered
    worker_seconds: float = 0.0


class Controller:
    """The registry of nodes above the tasks' roots, and the queue of tasks."""

    def __init__(self, bounded: bool) -> None:
        self.bounded = bounded
        self.reg: dict[Path, Registered] = {}
        self.queue: list[Task] = [Task(None)]
        self.ps = ParallelStats()

    def take(self, res: TaskResult) -> None:
        for node in res.nodes:
            key = flat(node.steps)
            old = self.reg.get(key)
            if old is None:
                self.reg[key] = node
            else:
                old.claimed.update(node.claimed)
        self.ps.handed += len(res.handed)
        self.queue += res.handed
        for steps, v in res.forwarded:
            self.ps.forwarded += 1
            self.insert(steps, v)

    def insert(self, steps: Steps, v: list[Step]) -> None:
        node = self.reg.get(flat(steps))
        if node is None:
            raise RuntimeError("parallel search: a sequence for a node no task registered")
        sleepers = node.sleepers(self.bounded)
        # Source sets: covered when a branch claimed here or a sleeper occurs in v as an
        # initial (not when it merely commutes with v: see dpor.DporDriver.initials_only).
        covering = dict(node.claimed)
        covering.update(sleepers)
        if any(_occurs_first(q, fq, v) for q, fq in covering.items()):
            self.ps.dropped += 1
            return
        a, acc, vals = v[0]
        self.queue.append(Task(node.steps, a, acc, vals, chain(v[1:]), sleepers))
        node.claimed[a] = acc


def _occurs_first(q: int, fq: Accesses, v: list[Step]) -> bool:
    """Does actor ``q`` occur in ``v`` as an initial (no earlier step of v dependent with it)?"""
    k = weak_initial(q, fq, v)
    return k is not None and k >= 0


def explore(
    program: Program,
    *,
    preemption_bound: int | None = None,
    max_executions: int | None = None,
    max_seconds: float | None = None,
    stop_on_bug: bool = False,
    after_bug: int | None = None,
    reduction: bool = True,
    keep_events: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    progress: Callable[[DporStats], None] | None = None,
    jobs: int | None = None,
    pool: Any = None,
    yield_after: float | None = None,
) -> DporStats:
    """The DPOR search split into tasks over ``pool`` (or ``jobs`` worker processes)."""
    own = pool is None
    if pool is None:
        pool = ProcessPool(program, jobs or 2)
    try:
        return _control(
            program,
            pool,
            Limits(max_executions, max_seconds, stop_on_bug, after_bug),
            preemption_bound,
            reduction,
            keep_events,
            on_outcome,
            progress,
            0.25 if yield_after is None else yield_after,
        )
    finally:
        if own:
            pool.close()


LONG_YIELD = 8  # how much longer a task runs before handing out while others wait (_control)


def _control(
    program: Program,
    pool: Any,
    limits: Limits,
    bound: int | None,
    reduction: bool,
    keep_events: bool,
    on_outcome: Callable[[Outcome], None] | None,
    progress: Callable[[DporStats], None] | None,
    yield_after: float,
) -> DporStats:
    t0 = time.perf_counter()
    ctl = Controller(bound is not None)
    st = DporStats()
    stopper = Stopper(limits, t0)
    running: list[Any] = []
    stopped = False
    while (ctl.queue or running) and not stopped:
        while ctl.queue and len(running) < pool.jobs + 1:
            task = ctl.queue.pop()
            left = None if limits.max_executions is None else max(1, limits.max_executions - st.executions)
            sub = Limits(left, None, limits.stop_on_bug, None)
            # A task hands its work out after yield_after seconds so that no worker idles; while
            # tasks are still waiting for a worker that is not needed yet, so it runs longer
            # (fewer tasks, fewer paths replayed to their roots).
            ya = yield_after if len(ctl.queue) < pool.jobs else yield_after * LONG_YIELD
            opts = TaskOptions(program.ncpus, bound, reduction, keep_events, sub, ya)
            running.append(pool.submit(task, opts))
            ctl.ps.tasks += 1
        pool.wait_any(running)
        for fut in [f for f in running if pool.done(f)]:
            running.remove(fut)
            res = pool.result(fut)
            ctl.ps.worker_seconds += res.seconds
            _merge(st, res.stats, on_outcome)
            ctl.take(res)
            if any(o.status == "error" for o in res.stats.outcomes) or (limits.stop_on_bug and res.stats.bugs):
                stopped = True
            if stopper.after_advance(st):
                stopped = True
        if progress is not None:
            st.seconds = time.perf_counter() - t0
            progress(st)
    for fut in running:
        fut.cancel()
    st.exhausted = not stopped and not ctl.queue and not running
    st.seconds = time.perf_counter() - t0
    st.parallel = ctl.ps
    return st


def _merge(st: DporStats, part: DporStats, on_outcome: Callable[[Outcome], None] | None) -> None:
    st.executions += part.executions
    st.complete += part.complete
    st.blocked += part.blocked
    st.bugs += part.bugs
    st.errors += part.errors
    st.budget += part.budget
    st.steps += part.steps
    st.bound_pruned += part.bound_pruned
    st.anomalies += part.anomalies
    st.max_depth = max(st.max_depth, part.max_depth)
    st.fingerprints |= part.fingerprints
    st.outcomes += part.outcomes
    st.all_outcomes += part.all_outcomes
    if on_outcome is not None:
        for o in part.outcomes:
            on_outcome(o)
