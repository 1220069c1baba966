# SPDX-License-Identifier: GPL-2.0-only
"""The verdict matrix: every expected cell of every scenario, run and compared.

A cell is one scenario on one variant under one memory model (``sc`` or
``tso``: a scenario's ``expect`` key ``VARIANT@tso``, or a key without suffix
under the scenario's ``memory_model``) with its expected verdict (``BUG`` or
``OK``; a ``find`` cell compares against the result recorded in the
scenario).  Every output states each cell's model; ``--memory-model M``
keeps only the cells under ``M``.  Each cell runs the exhaustive ``dfs`` strategy.  A cell matches
when ``BUG`` met verdict ``bug``, or ``OK`` met verdict ``ok`` (a complete
search).  An inconclusive or error verdict never matches.

Output: a rich table on a terminal, plain text otherwise, ``--markdown``,
``--json`` (an object with a ``cells`` list; the public contract in
DESIGN.md), or ``--html FILE`` (the self-contained report with a trace viewer
for every BUG cell; the table still goes to stdout).  ``--scenario`` and
``--variant`` take exact names or shell patterns (``'irq_work.*'``,
``'v6.17*'``).  Progress (cell, executions, rate, depth) goes to stderr on a
terminal only.  Exit 0 only when every cell matches.

Every cell's result is saved in the results store as soon as it is known
(``.kport/matrix/cells/``, and the run so far in ``.kport/matrix/last.json``),
each BUG cell's counterexample with its trace in ``.kport/results/``.  Ctrl-C
(SIGINT) or SIGTERM prints and saves the cells finished so far (and the
counterexample of the interrupted cell, if it had found one), and exits 130 or
143.  A store that cannot be written is a warning (once per problem); the
table is always printed.

A selection that matches no cell is a usage error (exit 2), and so is an
``--html`` file that cannot be written (checked before any cell runs).  When a
scenario module does not load or a scenario fails validation, the other cells
still run; the exit status is then 1 if a cell differs, else 4.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import signals
from .cliutil import say, warn, writable
from .engine.errors import Interrupted, KportError, UsageError
from .engine.explorer import Result
from .memory_model import check, memory_model_of
from .review import last_patch_functions
from .scenario import FIND, Scenario, get_scenario, load_errors, program, scenarios
from .variants import parse_variant

WANT = {"BUG": "bug", "OK": "ok"}


def _is_pattern(s: str) -> bool:
    return any(ch in s for ch in "*?[")


class MatrixCell(tuple):  # type: ignore[type-arg]
    """A cell: ``(scenario, variant, expected)`` as a tuple, and the memory model it is expected
    under as :attr:`memory_model` (so code that unpacks three values keeps working)."""

    memory_model: str

    def __new__(cls, s: type[Scenario], v: str, e: str, memory_model: str) -> MatrixCell:
        cell = super().__new__(cls, (s, v, e))
        cell.memory_model = memory_model
        return cell

    def __repr__(self) -> str:
        return f"MatrixCell({self[0].name!r}, {self[1]!r}, {self[2]!r}, {self.memory_model!r})"


def model_of_cell(cell: tuple[Any, ...]) -> str:
    """The memory model of a matrix cell (a plain 3-tuple: its scenario's own)."""
    return str(getattr(cell, "memory_model", None) or cell[0].own_memory_model())


def cells(names: list[str], variants: list[str], memory_model: str | None = None) -> list[MatrixCell]:
    """The expected cells of the scenarios ``names`` on ``variants`` (names or patterns; all
    when empty), only those under ``memory_model`` when given."""
    every = scenarios()
    if names:
        sc: list[type[Scenario]] = []
        for n in names:
            if _is_pattern(n):
                hit = [s for k, s in every.items() if fnmatch.fnmatchcase(k, n)]
                if not hit:
                    raise UsageError(f"no scenario matches '{n}'; 'kport list' shows them all")
                sc += [s for s in hit if s not in sc]
            elif (s := get_scenario(n)) not in sc:
                sc.append(s)
    else:
        sc = list(every.values())
    exact = [v for v in variants if not _is_pattern(v)]
    for v in exact:
        try:
            parse_variant(v)  # unknown names are a usage error
        except UsageError as e:
            raise type(e)(f"--variant {v}: {e}") from None
    pats = [v for v in variants if _is_pattern(v)]
    known = {v for s in every.values() for v in s.variants()}
    for p in pats:
        if not any(fnmatch.fnmatchcase(v, p) for v in known):
            raise UsageError(f"no variant matches '{p}'; 'kport list' shows them all")
    out = []
    for s in sc:
        for v, mm, e in s.cells():
            if variants and v not in exact and not any(fnmatch.fnmatchcase(v, p) for p in pats):
                continue
            if memory_model is not None and mm != memory_model:
                continue
            out.append(MatrixCell(s, v, e, mm))
    if not out and (names or variants or memory_model):
        picked = " ".join(
            [f"--scenario {n}" for n in names]
            + [f"--variant {v}" for v in variants]
            + ([f"--memory-model {memory_model}"] if memory_model else [])
        )
        on = sorted({f"{v}@{mm}" for s in sc for v, mm, _e in s.cells()})
        raise UsageError(
            f"no cell matches {picked}: the scenarios selected have cells on {', '.join(on) or 'no variant'}"
        )
    return out


def run_cell(
    s: type[Scenario],
    v: str,
    seconds: float | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int | None = None,
    dask: str | None = None,
    watch: list[str] | None = None,
    reached: set[str] | None = None,
    memory_model: str | None = None,
) -> Result:
    """One cell's exhaustive search (under ``memory_model``; None: the scenario's own).  With
    ``watch`` (kernel function names) and ``reached`` (a set), a serial search also notes which
    of those functions ran (kernel_port/review.py)."""
    prog = program(s.name, v, memory_model=memory_model)
    hits: set[str] | None = None
    if watch and reached is not None and jobs is None and dask is None and prog.variant_obj is not None:
        from dataclasses import replace

        from .review import watching

        wv, hits = watching(prog.variant_obj, watch)
        prog = replace(prog, variant_obj=wv)
    r = check(prog, "dfs", preemptions=prog.preemption_bound, seconds=seconds, progress=progress, jobs=jobs, dask=dask)
    if hits is not None and reached is not None:
        reached.update(hits)
    return r


def cell_json(s: type[Scenario], v: str, e: str, r: Result, memory_model: str | None = None) -> dict[str, Any]:
    mm = memory_model or memory_model_of(r)
    key = s.expect_key(v, mm)
    recorded = s.found.get(key or v) if e == FIND else None
    want = WANT.get(recorded or e)
    match = (want == r.verdict) if want is not None else None
    ce = r.counterexample
    return {
        "scenario": s.name,
        "variant": v,
        "expected": e if recorded is None else f"find ({recorded})",
        "verdict": r.verdict,
        "kind": r.kind,
        "match": match,
        "executions": r.executions,
        "complete": r.complete,
        "seconds": round(r.seconds, 3),
        "token": r.token if r.verdict in ("bug", "error", "inconclusive") else None,
        "coverage": r.coverage,
        "message": r.message,
        "counterexample": None
        if ce is None
        else {"steps": ce.steps, "preemptions": ce.preemptions, "faults": ce.faults},
        "strategy": "dfs",
        "preemption_bound": r.preemption_bound if r.preemption_bound is not None else s.preemptions,
        "fault_budget": r.faults,
        "memory_model": mm,
    }


class _Progress:
    """A rich progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int) -> None:
        self.bar: Any = None
        if not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("matrix", total=total, detail="")

    def cell(self, name: str) -> Callable[[str], None] | None:
        if self.bar is None:
            return None
        self.bar.update(self.task, description=name, detail="")

        def show(text: str) -> None:
            self.bar.update(self.task, detail=text)

        return show

    def advance(self) -> None:
        if self.bar is not None:
            self.bar.advance(self.task)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(
    todo: list[tuple[type[Scenario], str, str]],
    seconds: float | None,
    traces: bool,
    *,
    results: list[dict[str, Any]] | None = None,
    on_cell: Callable[[dict[str, Any], Result], None] | None = None,
    jobs: int | None = None,
    dask: str | None = None,
) -> list[dict[str, Any]]:
    """Run the cells; with ``traces``, each BUG cell also carries its annotated trace.
    ``results`` (if given) is filled as cells finish, ``on_cell`` called after each."""
    from .report import annotated_trace

    results = [] if results is None else results
    bar = _Progress(len(todo))
    try:
        for cell in todo:
            s, v, e = cell[0], cell[1], cell[2]
            mm = model_of_cell(cell)
            watch = last_patch_functions(v)
            hits: set[str] = set()
            shown = f"{s.name} on {v} ({mm})"
            r = run_cell(
                s, v, seconds, bar.cell(shown), jobs=jobs, dask=dask, watch=watch, reached=hits, memory_model=mm
            )
            c = cell_json(s, v, e, r, mm)
            # Which of the functions the variant's last patch changes this cell ran (the per-patch
            # summary's "no scenario reaches"); not measured when the search was split.
            c["watched"] = watch
            c["reached"] = sorted(hits) if jobs is None and dask is None else None
            if traces and r.verdict == "bug":
                tr = annotated_trace(program(s.name, v, memory_model=mm), r)
                if tr is not None:
                    tr.pop("machine", None)
                    c["trace"] = tr
            results.append(c)
            if on_cell is not None:
                on_cell(c, r)
            bar.advance()
    finally:
        bar.stop()
    return results


class _Saver:
    """Saves each finished cell in the results store; a store that cannot be written is
    one warning on stderr per distinct problem, and the run goes on (every later cell is
    still tried: a store may recover, or only one of its files be broken)."""

    def __init__(self, args: argparse.Namespace, total: int) -> None:
        self.selection = {
            "scenario": list(args.scenario),
            "variant": list(args.variant),
            "memory_model": getattr(args, "memory_model", None),
            "time_budget": args.seconds,
        }
        self.total = total
        self.cells: list[dict[str, Any]] = []
        self.timing: dict[str, float] = {}
        self.warned: set[str] = set()
        self.store: Any = None
        try:
            from .store import Store

            self.store = Store()
        except KportError as e:
            self._warn(e)

    def _warn(self, e: KportError, what: str = "matrix results not saved") -> None:
        text = e.one_line()
        if text not in self.warned:
            self.warned.add(text)
            warn(f"{what}: {text}")

    def _try(self, fn: Callable[[], Any], what: str = "matrix results not saved") -> None:
        if self.store is None:
            return
        from .store import PartialSave

        try:
            with signals.deferred():
                fn()
        except PartialSave as e:
            self._warn(e, "a counterexample")
        except KportError as e:
            self._warn(e, what)

    def _doc(self, finished: bool, interrupted: bool) -> dict[str, Any]:
        return {
            "selection": self.selection,
            "finished": finished,
            "interrupted": interrupted,
            "cells_total": self.total,
            "cells": self.cells,
            "mismatches": sum(1 for c in self.cells if c["match"] is False),
            "timing": {"cells": dict(self.timing)},
        }

    def cell(self, c: dict[str, Any], r: Result) -> None:
        from .store import cell_name

        saved = {k: v for k, v in c.items() if k not in ("seconds", "trace")}
        self.cells.append(saved)
        self.timing[cell_name(c["scenario"], c["variant"], c.get("memory_model"))] = c["seconds"]
        self._try(lambda: self.store.save_cell(saved, c["seconds"]))
        self.counterexample(r)
        self._try(lambda: self.store.save_matrix(self._doc(False, False)))

    def counterexample(self, r: Result) -> None:
        if self.store is None or r.token is None or r.counterexample is None:
            return
        from .store import result_record, trace_of

        prog = program(r.program, r.variant, memory_model=memory_model_of(r))
        record = result_record(r, trace_of(prog, r), "matrix")
        self._try(lambda: self.store.save_result(record), "counterexample not saved")

    def finish(self, interrupted: bool) -> None:
        self._try(lambda: self.store.save_matrix(self._doc(not interrupted, interrupted)))


def provenance(args: argparse.Namespace | None = None) -> dict[str, str]:
    """What produced a report: kport's version and commit, the date, Python, the options.
    The date is ``$SOURCE_DATE_EPOCH``'s when set (reproducible builds), else today's (UTC)."""
    import datetime
    import os
    import platform
    import subprocess

    try:
        from importlib.metadata import version

        kv = version("kernel-port")
    except Exception:
        kv = "unknown"
    commit = "unknown"
    try:
        from .variants import project_root

        root = str(project_root())
        head = subprocess.run(
            ["git", "-C", root, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10
        )
        if head.returncode == 0 and head.stdout.strip():
            commit = head.stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            )
            if dirty.returncode == 0 and dirty.stdout.strip():
                commit += " (with uncommitted changes)"
    except (OSError, subprocess.SubprocessError, KportError):
        pass
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    try:
        when = (
            datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else datetime.datetime.now(datetime.UTC)
        )
    except (ValueError, OverflowError, OSError):
        when = datetime.datetime.now(datetime.UTC)
    opts = []
    if args is not None:
        opts += [f"--scenario {x}" for x in getattr(args, "scenario", [])]
        opts += [f"--variant {x}" for x in getattr(args, "variant", [])]
        if getattr(args, "memory_model", None):
            opts.append(f"--memory-model {args.memory_model}")
        if getattr(args, "seconds", None):
            opts.append(f"--seconds {args.seconds:g}")
        if getattr(args, "jobs", None):
            opts.append(f"--jobs {args.jobs}")
    return {
        "kport": kv,
        "commit": commit,
        "date": when.strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "options": " ".join(opts) or "(none: every cell)",
        "strategy": "dfs (exhaustive, optimal DPOR); bounds per cell",
        "memory_model": "per cell (its memory_model; sc unless the cell says tso)",
    }


def run_matrix(args: argparse.Namespace) -> int:
    from .report import table

    todo = cells(args.scenario, args.variant, getattr(args, "memory_model", None))
    html = getattr(args, "html", None)
    if html:
        writable(html, "--html")
    saver = _Saver(args, len(todo))
    results: list[dict[str, Any]] = []
    interrupted = False
    try:
        run(
            todo,
            args.seconds,
            traces=bool(html),
            results=results,
            on_cell=saver.cell,
            jobs=getattr(args, "jobs", None),
            dask=getattr(args, "dask", None),
        )
    except KeyboardInterrupt as e:
        interrupted = True
        if isinstance(e, Interrupted) and e.partial is not None:
            saver.counterexample(e.partial)
    saver.finish(interrupted)
    bad = [c for c in results if c["match"] is False]
    broken = load_errors()
    if args.json:
        doc = {"cells": results, "mismatches": len(bad), "load_errors": broken}
        print(json.dumps(doc, indent=2, sort_keys=True))
    elif args.markdown:
        table.markdown(results, sys.stdout, provenance(args))
    else:
        if html:
            from .report.html import write_report

            write_report(Path(html), results, provenance(args))
            say(f"kport: wrote {html}")
        if sys.stdout.isatty():
            table.rich_table(results, sys.stdout)
        else:
            table.plain(results, sys.stdout)
    if interrupted:
        say(
            f"kport: {signals.stopped()} after {len(results)} of {len(todo)} cells; "
            "the finished cells are shown and saved"
        )
        return signals.exit_status()
    if bad:
        return 1
    return 4 if broken else 0
