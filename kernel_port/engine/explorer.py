# SPDX-License-Identifier: GPL-2.0-only
"""Strategies and verdicts.

``check(program, strategy=...)`` runs one strategy and returns a
:class:`Result` whose verdict is one of

* ``ok``           -- exhaustive search finished within the stated bounds and
                      found nothing (only ``dfs`` can say this);
* ``bug``          -- a violation, with the shortest counterexample found,
                      its token and its statistics;
* ``inconclusive`` -- a budget was hit (executions, time, steps per
                      execution) or the strategy cannot prove absence
                      (random, pct, hypothesis); never reported as OK;
* ``error``        -- the scenario or a port raised: not a kernel bug.

Strategies, each small (like Shuttle's schedulers):

* ``dfs``: optimal DPOR with wakeup trees and sleep sets (dpor.py).  The
  search at the stated preemption bound (none by default) decides the
  verdict.  When it finds violations, the counterexample is the one with the
  fewest preemptions -- searching bounds 0, 1, 2 below the best found for
  fewer -- then the fewest faults, then the fewest steps.
* ``random``: uniform choice among enabled actors and values, seeded.
* ``pct``: probabilistic concurrency testing (Burckhardt et al., ASPLOS'10)
  with depth ``d``; prints its guarantee 1/(n*k^(d-1)) per run.
* ``hypothesis``: choices drawn from Hypothesis, index 0 meaning "keep running
  the CPU that ran last", so failures shrink to few preemptions, few faults,
  few steps.
* ``replay``: follows a token's choices.
"""

from __future__ import annotations

import math
import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import dpor, parallel, shortest
from .core import Machine
from .errors import Interrupted
from .execution import Label, Outcome, Program, ReplayDriver, run
from .token import Schedule, token_options

STRATEGIES = ("dfs", "random", "pct", "hypothesis")


@dataclass
class Result:
    program: str
    variant: str
    strategy: str
    verdict: str  # ok | bug | inconclusive | error
    kind: str | None = None
    message: str = ""
    executions: int = 0
    complete: bool = False
    seconds: float = 0.0
    coverage: str = ""
    token: str | None = None
    counterexample: Outcome | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    faults: int = 0
    preemption_bound: int | None = None

    def to_json(self) -> dict[str, Any]:
        ce = self.counterexample
        return {
            "scenario": self.program,
            "variant": self.variant,
            "strategy": self.strategy,
            "verdict": self.verdict,
            "kind": self.kind,
            "message": self.message,
            "executions": self.executions,
            "complete": self.complete,
            "seconds": round(self.seconds, 3),
            "coverage": self.coverage,
            "token": self.token,
            "fault_budget": self.faults,
            "preemption_bound": self.preemption_bound,
            "counterexample": None
            if ce is None
            else {"steps": ce.steps, "preemptions": ce.preemptions, "faults": ce.faults},
            "traceback": ce.traceback if ce is not None and ce.traceback else None,
            # What the search cost (``stats["work"]``) depends on the order it met the traces
            # in, which a split search does not fix: the JSON holds only what does not.
            "stats": {k: v for k, v in self.stats.items() if k != "work"},
        }


def _key(o: Outcome) -> tuple[int, int, int]:
    return (o.preemptions, o.faults, o.steps)


def _token(program: Program, o: Outcome) -> str:
    labels = schedule_labels(program, o.choices)
    return Schedule(
        program.name,
        getattr(program, "variant", "-"),
        program.faults,
        o.choices,
        labels=labels,
        options=token_options(program),
    ).token()


def schedule_labels(program: Program, choices: list[int]) -> list[Label] | None:
    """The label of every choice of a schedule (one untraced replay); None if it does not replay."""
    drv = ReplayDriver(choices)
    run(program, drv)
    if drv.diverged is not None or len(drv.taken) != len(choices):
        return None
    return drv.taken


class _Seen:
    """What a search has found so far, for the partial result of an interrupted one."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.executions = 0
        self.bad: list[Outcome] = []

    def add(self, out: Outcome) -> None:
        self.executions += 1
        if out.status in ("bug", "error", "budget"):
            same = [o for o in self.bad if o.status == out.status]
            if not same:
                self.bad.append(out)
            elif out.status != "error" and _key(out) < _key(same[0]):
                self.bad[self.bad.index(same[0])] = out

    def partial(self, program: Program, strategy: str) -> Result:
        n = self.executions
        note = f"interrupted (Ctrl-C) after {n} executions: the search did not finish"
        for status in ("bug", "error", "budget"):
            found = [o for o in self.bad if o.status == status]
            if found:
                r = _bad_result(program, strategy, found[0], n, self.t0, note)
                r.stats = {"interrupted": True}
                return r
        return Result(
            program=program.name,
            variant=getattr(program, "variant", "-"),
            strategy=strategy,
            verdict="inconclusive",
            kind="interrupted",
            message=f"no violation found before the interruption ({n} executions)",
            executions=n,
            complete=False,
            seconds=time.perf_counter() - self.t0,
            coverage=note,
            stats={"interrupted": True},
            faults=program.faults,
        )


def _bad_result(program: Program, strategy: str, o: Outcome, executions: int, t0: float, coverage: str) -> Result:
    verdict = {"bug": "bug", "error": "error", "budget": "inconclusive"}[o.status]
    return Result(
        program=program.name,
        variant=getattr(program, "variant", "-"),
        strategy=strategy,
        verdict=verdict,
        kind=o.kind,
        message=o.message,
        executions=executions,
        complete=False,
        seconds=time.perf_counter() - t0,
        coverage=coverage,
        token=_token(program, o),
        counterexample=o,
        faults=program.faults,
    )


def check(
    program: Program,
    strategy: str = "dfs",
    *,
    preemptions: int | None = None,
    seed: int = 0,
    executions: int | None = None,
    seconds: float | None = None,
    pct_depth: int = 3,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
    dask: str | None = None,
) -> Result:
    """Run ``strategy`` on ``program``.  Ctrl-C raises :class:`Interrupted`
    carrying the result found so far (a ``KeyboardInterrupt`` to other callers).

    ``jobs`` (local worker processes) or ``dask`` (a Dask scheduler's
    address) split the ``dfs`` search between workers (parallel.py); the
    result is the serial one."""
    seen = _Seen()
    try:
        if strategy == "dfs":
            pool = parallel.make_pool(program, jobs, dask)
            try:
                return _check_dfs(program, preemptions, executions, seconds, progress, seen, pool)
            finally:
                if pool is not None:
                    pool.close()
        if strategy == "random":
            return _check_random(program, seed, executions or 2000, seconds, seen)
        if strategy == "pct":
            return _check_pct(program, seed, executions or 2000, seconds, pct_depth, seen)
        if strategy == "hypothesis":
            return _check_hypothesis(program, seed, executions or 500, seen)
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(seen.partial(program, strategy)) from None
    raise ValueError(f"unknown strategy {strategy!r}")


# -- dfs --------------------------------------------------------------------


def _check_dfs(
    program: Program,
    bound: int | None,
    max_exec: int | None,
    max_seconds: float | None,
    progress: Callable[[str], None] | None,
    seen: _Seen | None = None,
    pool: Any = None,
) -> Result:
    """The verdict comes from the search at the stated bound, stopped at its first violation.
    When there is one, the counterexample comes from iterative preemption bounding: the
    searches at bounds 0, 1, 2, ... in turn, each to its end, stop at the first bound with a
    violation; among that search's violations the reported one is the least by (preemptions,
    faults, steps, trace), each shortened to what the violation depends on (shortest.py).
    Every figure reported depends only on the traces explored, never on the order the search
    met them in (a split search's order is not the serial one); what the work cost (executions
    run, sleep-set blocked ones, the verdict search) is in ``stats["work"]``."""
    t0 = time.perf_counter()
    work: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    total = 0

    def run_level(lv: int | None, stop_on_bug: bool) -> dpor.DporStats:
        nonlocal total
        left_exec = None if max_exec is None else max(1, max_exec - total)
        left_sec = None if max_seconds is None else max(0.01, max_seconds - (time.perf_counter() - t0))

        def prog(st: dpor.DporStats) -> None:
            if progress is not None:
                rate = st.executions / st.seconds if st.seconds else 0.0
                progress(
                    f"dfs bound {'none' if lv is None else lv}: {total + st.executions} executions, "
                    f"{rate:.0f}/s, depth {st.max_depth}"
                )

        kw: dict[str, Any] = dict(
            preemption_bound=lv,
            max_executions=left_exec,
            max_seconds=left_sec,
            stop_on_bug=stop_on_bug,
            progress=prog,
            on_outcome=None if seen is None else seen.add,
        )
        # The split search covers unbounded searches.  Under a preemption bound the traces a
        # search explores depend on its order (bounded POR reaches every state within the
        # bound, not every trace), so those run serially and their figures stay the serial ones.
        if pool is None or lv is not None:
            st = dpor.explore(program, **kw)
        else:
            st = parallel.explore(program, pool=pool, **kw)
            if any(o.status in ("error", "budget") for o in st.outcomes) or (
                not st.exhausted and not st.bugs and left_sec is None
            ):
                # Which error, budget overrun or partial count a split search meets first
                # depends on its workers' timing: the serial search says which, the same way
                # on every run.
                work.append(
                    {"preemption_bound": lv, "stop_on_bug": stop_on_bug, "split_search_discarded": st.executions}
                )
                st = dpor.explore(program, **kw)
        total += st.executions
        work.append(
            {
                "preemption_bound": lv,
                "stop_on_bug": stop_on_bug,
                "executions": st.executions,
                "blocked": st.blocked,
                "bound_pruned": st.bound_pruned,
            }
        )
        return st

    def level_entry(lv: int | None, st: dpor.DporStats) -> dict[str, Any]:
        bad = {o.fingerprint for o in st.outcomes if o.status == "bug"}
        return {"preemption_bound": lv, "traces": st.traces, "violating_traces": len(bad), "complete": st.exhausted}

    def stats() -> dict[str, Any]:
        return {"levels": levels, "work": work}

    # 1. The verdict: the search at the stated bound, up to its first violation.
    top = run_level(bound, stop_on_bug=True)
    errors = [o for o in top.outcomes if o.status == "error"]
    if errors:
        r = _bad_result(program, "dfs", errors[0], top.traces, t0, "stopped at the first error")
        r.stats = stats()
        return r
    bugs = [o for o in top.outcomes if o.status == "bug"]
    if bugs:
        first = min(bugs, key=_key)
        # 2. The counterexample: iterative preemption bounding, each search to its end.
        best: Outcome | None = None
        found_at: int | None = None
        decided: dpor.DporStats | None = None
        complete_at_bound = False
        limit = first.preemptions if bound is None else min(first.preemptions, bound)
        for lv in range(0, limit + 1):
            st = run_level(lv, stop_on_bug=False)
            levels.append(level_entry(lv, st))
            errs = [o for o in st.outcomes if o.status == "error"]
            if errs:
                r = _bad_result(program, "dfs", errs[0], st.traces, t0, "stopped at the first error")
                r.stats = stats()
                return r
            low = [o for o in st.outcomes if o.status == "bug"]
            if low:
                best = shortest.pick(program, low, lv)
                found_at, decided = lv, st
                complete_at_bound = bound is not None and lv == bound and st.exhausted
                break
            if not st.exhausted:
                break
        if best is None or decided is None:
            # A budget cut the bounded searches short: report the verdict search's violation.
            best, found_at, decided = shortest.pick(program, bugs, bound), bound, top
            how = "the first violation found (a budget stopped the searches for fewer preemptions)"
        elif decided.exhausted:
            how = (
                f"fewest preemptions ({found_at}: no violation at a lower bound), then fewest faults, "
                f"then fewest steps among the {len({o.fingerprint for o in decided.outcomes if o.status == 'bug'})} "
                "violating traces at that bound, "
                "each cut to the steps the violation depends on"
            )
        else:
            how = f"the fewest preemptions ({found_at}); a budget stopped that search before its end"
        cov = (
            f"dfs: violation at preemption bound {'none' if found_at is None else found_at}, "
            f"{decided.traces} traces explored there"
            f"{' (search complete)' if decided.exhausted else ' (search NOT complete)'}; "
            f"counterexample: {how} ({best.preemptions} preemption(s), {best.faults} fault(s), {best.steps} steps)"
        )
        r = _bad_result(program, "dfs", best, decided.traces, t0, cov)
        r.complete = complete_at_bound
        r.stats = stats()
        r.preemption_bound = bound
        return r
    levels.append(level_entry(bound, top))
    budgets = [o for o in top.outcomes if o.status == "budget"]
    elapsed = time.perf_counter() - t0
    fb = program.faults
    bound_txt = "any number of preemptions" if bound is None else f"<= {bound} preemptions"
    if budgets:
        r = _bad_result(program, "dfs", min(budgets, key=_key), top.traces, t0, "")
        r.coverage = (
            f"dfs: {top.traces} traces; at least one execution exceeded the step budget "
            f"({program.step_budget} steps), so the search is not complete"
        )
        r.stats = stats()
        return r
    cov = (
        f"dfs (optimal DPOR: wakeup trees, sleep sets, blocking steps): {top.traces} traces; "
        f"all schedules with {bound_txt} and <= {fb} fault(s)"
    )
    if top.exhausted:
        cov += "; search complete"
        verdict = "ok"
    else:
        cov += "; search NOT complete (execution or time budget reached)"
        verdict = "inconclusive"
    return Result(
        program=program.name,
        variant=getattr(program, "variant", "-"),
        strategy="dfs",
        verdict=verdict,
        kind=None if verdict == "ok" else "budget",
        message="no violation found" if verdict == "ok" else "budget reached before the search was complete",
        executions=top.traces,
        complete=top.exhausted,
        seconds=elapsed,
        coverage=cov,
        stats=stats(),
        faults=fb,
        preemption_bound=bound,
    )


# -- random and pct ---------------------------------------------------------------


class RandomDriver:
    def __init__(self, rng: _random.Random) -> None:
        self.rng = rng

    def pick(self, m: Machine, enabled: list[int]) -> int | None:
        return enabled[self.rng.randrange(len(enabled))]

    def value(self, n: int, what: str) -> int:
        return self.rng.randrange(n)


class PctDriver:
    """Highest-priority enabled actor runs; d-1 priority change points."""

    def __init__(self, rng: _random.Random, nactors: int, k: int, d: int) -> None:
        self.rng = rng
        prios = list(range(d, d + nactors))
        rng.shuffle(prios)
        self.prio = prios
        self.change = {rng.randrange(1, max(2, k + 1)): d - 1 - i for i in range(d - 1)}
        self.step = 0

    def pick(self, m: Machine, enabled: list[int]) -> int | None:
        self.step += 1
        best = max(enabled, key=lambda a: self.prio[a])
        low = self.change.get(self.step)
        if low is not None:
            self.prio[best] = low
            best = max(enabled, key=lambda a: self.prio[a])
        return best

    def value(self, n: int, what: str) -> int:
        return self.rng.randrange(n)


def _sampling(
    program: Program,
    name: str,
    make: Callable[[int], Any],
    n_exec: int,
    max_seconds: float | None,
    coverage: Callable[[int], str],
    seen: _Seen | None = None,
) -> Result:
    t0 = time.perf_counter()
    done = 0
    for i in range(n_exec):
        out = run(program, make(i))
        done += 1
        if seen is not None:
            seen.add(out)
        if out.status in ("bug", "error", "budget") and out.status != "budget":
            return _bad_result(program, name, out, done, t0, coverage(done) + "; stopped at the first failure")
        if max_seconds is not None and time.perf_counter() - t0 > max_seconds:
            break
    return Result(
        program=program.name,
        variant=getattr(program, "variant", "-"),
        strategy=name,
        verdict="inconclusive",
        kind="sampling",
        message=f"no violation in {done} sampled executions ({name} cannot prove absence)",
        executions=done,
        complete=False,
        seconds=time.perf_counter() - t0,
        coverage=coverage(done),
        faults=program.faults,
    )


def _check_random(
    program: Program, seed: int, n_exec: int, max_seconds: float | None, seen: _Seen | None = None
) -> Result:
    def make(i: int) -> RandomDriver:
        return RandomDriver(_random.Random(seed * 1_000_003 + i))

    return _sampling(
        program, "random", make, n_exec, max_seconds, lambda d: f"random (seed {seed}): {d} executions", seen
    )


def _check_pct(
    program: Program, seed: int, n_exec: int, max_seconds: float | None, depth: int, seen: _Seen | None = None
) -> Result:
    # Estimate k (steps per execution) and n (actors) from one default run.
    probe = run(program, RandomDriver(_random.Random(seed)), keep_machine=True)
    assert probe.machine is not None
    nactors = probe.machine.nactors
    k = max(1, probe.steps)
    n_threads = max(1, program.ncpus)
    p = 1.0 / (n_threads * k ** (depth - 1))

    def make(i: int) -> PctDriver:
        return PctDriver(_random.Random(seed * 1_000_003 + i), nactors, k, depth)

    def cov(d: int) -> str:
        miss = (1.0 - p) ** d
        return (
            f"pct depth {depth} (seed {seed}): {d} executions; each run finds a depth-{depth} bug with "
            f"p >= 1/(n*k^(d-1)) = 1/({n_threads}*{k}^{depth - 1}) = {p:.3g}; "
            f"P(miss such a bug in {d} runs) <= {miss:.3g}"
        )

    return _sampling(program, "pct", make, n_exec, max_seconds, cov, seen)


# -- hypothesis ----------------------------------------------------------------


class _Found(Exception):
    pass


def _check_hypothesis(program: Program, seed: int, n_exec: int, seen: _Seen | None = None) -> Result:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    t0 = time.perf_counter()
    found: list[Outcome] = []
    count = [0]

    class HypDriver:
        def __init__(self, data: Any) -> None:
            self.data = data
            self.prev = -1

        def pick(self, m: Machine, enabled: list[int]) -> int | None:
            order = list(enabled)
            if self.prev in enabled:
                order.remove(self.prev)
                order.insert(0, self.prev)
            i = self.data.draw(st.integers(0, len(order) - 1)) if len(order) > 1 else 0
            a = order[i]
            if a < m.ncpus:
                self.prev = a
            return a

        def value(self, n: int, what: str) -> int:
            return int(self.data.draw(st.integers(0, n - 1)))

    @hseed(seed)
    @settings(
        max_examples=n_exec,
        database=None,
        deadline=None,
        verbosity=Verbosity.quiet,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate, Phase.shrink],
        report_multiple_bugs=False,
    )
    @given(st.data())
    def test(data: Any) -> None:
        count[0] += 1
        out = run(program, HypDriver(data))
        if seen is not None:
            seen.add(out)
        if out.status in ("bug", "error"):
            found.append(out)
            raise _Found()

    try:
        test()
    except _Found:
        pass
    if found:
        best = found[-1]  # Hypothesis replays its shrunk example last
        return _bad_result(
            program,
            "hypothesis",
            best,
            count[0],
            t0,
            f"hypothesis (seed {seed}): {count[0]} executions including shrinking",
        )
    return Result(
        program=program.name,
        variant=getattr(program, "variant", "-"),
        strategy="hypothesis",
        verdict="inconclusive",
        kind="sampling",
        message=f"no violation in {count[0]} generated executions (hypothesis cannot prove absence)",
        executions=count[0],
        complete=False,
        seconds=time.perf_counter() - t0,
        coverage=f"hypothesis (seed {seed}): {count[0]} executions",
        faults=program.faults,
    )


# -- replay ----------------------------------------------------------------------


def replay(program: Program, choices: list[int], labels: list[Label] | None = None) -> tuple[Outcome, str | None]:
    """Re-run one schedule with tracing; returns the outcome and any divergence.

    With ``labels`` (a kp2 token's), the replay follows them where the raw
    choices no longer fit; ``out.notes`` lists each departure, and
    ``out.labels`` the labels of the execution that ran (for a new token)."""
    drv = ReplayDriver(choices, labels)
    out = run(program, drv, tracing=True)
    out.notes = list(drv.notes)
    out.labels = list(drv.taken) if len(drv.taken) == len(out.choices) else None
    div = drv.diverged
    if div is None and drv.unused():
        done = len(choices) - drv.unused()
        text = f"the execution ended ({out.status}) after {done} of the schedule's {len(choices)} choices"
        if labels is None:
            div = text
        else:
            out.notes.append(text + "; the rest was not needed")
    return out, div


def pct_bound(n: int, k: int, d: int) -> float:
    return 1.0 / (n * math.pow(k, d - 1))
