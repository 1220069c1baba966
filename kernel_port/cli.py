# SPDX-License-Identifier: GPL-2.0-only
"""``kport``: the command line.

Exit status (all commands): 0 no violation within bounds / every cell as
expected; 1 violation found / a cell differs; 2 bad usage or input (one line
on stderr, never a traceback); 3 inconclusive (a budget was hit, or a
sampling strategy cannot prove absence); 4 error (the scenario or a port
raised: a defect of the corpus, not a kernel bug); 130 interrupted (Ctrl-C)
and 143 terminated (SIGTERM): what was found so far is printed and saved
(kernel_port/signals.py).  A command whose output pipe closes early (``| head``)
still exits with its verdict's status.  What a message echoes back (a name, a
token's fields) has its control characters escaped and is cut to a few hundred
characters.

Every counterexample ``check`` and ``matrix`` find, and every matrix result,
is saved in the results store (``.kport/``, kernel_port/store.py);
``kport replay`` takes a token or the name of a saved result (``last``,
``SCENARIO@VARIANT``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from . import signals
from .cliutil import clean, say, warn
from .engine.errors import (
    Interrupted,
    KportError,
    ReplayDivergence,
    UnknownNameError,
    UsageError,
    WatchdogTimeout,
)
from .engine.explorer import STRATEGIES, Result, replay
from .engine.token import Schedule, looks_like_token
from .engine.token import parse as parse_token
from .engine.trace import render_text, terminal_width
from .memory_model import check
from .scenario import ScenarioNotLoaded

EXIT = {"ok": 0, "bug": 1, "inconclusive": 3, "error": 4}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


# Option values are checked here, so that a bad one is a one-line usage error naming
# the flag (argparse adds "argument --faults: ..."), never a hang or a traceback later.
MAX_COUNT = 10**9


def _nonneg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {v}")
    if v > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a number <= {MAX_COUNT}, got {text.strip()}")
    return v


def _width(text: str) -> int:
    v = _nonneg(text)
    if not 8 <= v <= 1000:
        raise argparse.ArgumentTypeError(f"expected a column width from 8 to 1000, got {v}")
    return v


def _width_or_fit(text: str) -> int:
    """A column width from 8 to 1000, or 0: fit the terminal."""
    v = _nonneg(text)
    if v != 0 and not 8 <= v <= 1000:
        raise argparse.ArgumentTypeError(f"expected a column width from 8 to 1000 (or 0: fit the terminal), got {v}")
    return v


def _name(text: str) -> str:
    """A scenario, variant or function name: never empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a name, got an empty string")
    return text


def _file(text: str) -> str:
    """A file name: never empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a file name, got an empty string")
    return text


def _percent(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got {text!r}") from None
    if not math.isfinite(v) or not 0 <= v <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {text.strip()}")
    return v


def _depth(text: str) -> int:
    v = _nonneg(text)
    if not 1 <= v <= 64:
        raise argparse.ArgumentTypeError(f"expected a PCT depth from 1 to 64, got {v}")
    return v


def _jobs(text: str) -> int:
    v = _nonneg(text)
    if not 1 <= v <= 512:
        raise argparse.ArgumentTypeError(f"expected a number of worker processes from 1 to 512, got {v}")
    return v


def _address(text: str) -> str:
    if not re.fullmatch(r"(tcp|tls|inproc|ucx)://[^\s]+", text.strip()):
        raise argparse.ArgumentTypeError(f"expected a scheduler address like tcp://host:8786, got {text!r}")
    return text.strip()


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0 < v < 1e9:
        raise argparse.ArgumentTypeError(f"expected seconds > 0 (and finite), got {text.strip()}")
    return v


MEMORY_MODEL_HELP = "sc (sequential consistency) or tso (x86-TSO store buffers); default: the scenario's"


def _add_memory_model(parser: argparse.ArgumentParser, help_text: str = MEMORY_MODEL_HELP) -> None:
    parser.add_argument("--memory-model", choices=("sc", "tso"), metavar="{sc,tso}", help=help_text)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kport", description="Patch-evaluation corpus for kernel IPI / irq_work / vector / RT-push code.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    ls = sub.add_parser("list", help="trees, patches, variants and scenarios")
    ls.add_argument("--json", action="store_true")

    ck = sub.add_parser("check", help="explore one scenario on one variant")
    ck.add_argument("scenario", type=_name)
    ck.add_argument("--variant", "-V", type=_name)
    ck.add_argument("--strategy", default="dfs", choices=STRATEGIES)
    ck.add_argument("--preemptions", type=_nonneg, help="preemption bound (default: the scenario's, else none)")
    ck.add_argument("--faults", type=_nonneg, help="fault budget (default: the scenario's)")
    ck.add_argument("--seed", type=_nonneg, default=0)
    ck.add_argument("--executions", type=_nonneg, help="execution budget")
    ck.add_argument("--seconds", type=_positive_float, help="time budget")
    ck.add_argument("--pct-depth", type=_depth, default=3)
    _add_memory_model(ck)
    par = ck.add_mutually_exclusive_group()
    par.add_argument("--jobs", "-j", type=_jobs, help="split the dfs search over N worker processes (same result)")
    par.add_argument("--dask", type=_address, metavar="ADDRESS", help="split it over a Dask cluster (extra [dist])")
    ck.add_argument("--json", action="store_true")
    ck.add_argument("--width", type=_width, help="line width (default: $COLUMNS, else the terminal's)")

    rp = sub.add_parser("replay", help="re-run one counterexample from its token or a saved result")
    rp.add_argument(
        "token",
        help="a token (kp3:..., older kp2:, kp1:; '-' reads one from stdin, wrapped or quoted as in a mail) "
        "or a saved result: last, SCENARIO@VARIANT, FILE.json",
    )
    rp.add_argument(
        "--variant", "-V", type=_name, help="replay on this variant instead of the token's (following its labels)"
    )
    _add_memory_model(rp, "replay under this memory model instead of the token's (following its labels)")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--width", type=_width, help="line width (default: $COLUMNS, else the terminal's)")

    mx = sub.add_parser("matrix", help="run every expected cell and compare")
    mx.add_argument("--scenario", "-s", action="append", default=[], type=_name)
    mx.add_argument("--variant", "-V", action="append", default=[], type=_name)
    _add_memory_model(mx, "only the cells under this memory model (default: every cell, each under its own)")
    fmt = mx.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    fmt.add_argument(
        "--html", metavar="FILE", type=_file, help="write the self-contained HTML report (table still on stdout)"
    )
    mx.add_argument("--seconds", type=_positive_float, help="time budget per cell")
    mpar = mx.add_mutually_exclusive_group()
    mpar.add_argument("--jobs", "-j", type=_jobs, help="split each cell's search over N worker processes")
    mpar.add_argument("--dask", type=_address, metavar="ADDRESS", help="split it over a Dask cluster (extra [dist])")

    ex = sub.add_parser("explain", help="the shortest counterexample with C references, in words")
    ex.add_argument("scenario", type=_name)
    ex.add_argument("--variant", "-V", type=_name)
    ex.add_argument("--faults", type=_nonneg, help="fault budget (default: the scenario's)")
    _add_memory_model(ex)
    ex.add_argument("--width", type=_width, help="line width (default: $COLUMNS, else the terminal's)")
    ex.add_argument("--short", action="store_true", help="the race diagram and the why instead of every step")
    ex.add_argument(
        "--kernel-tree", metavar="PATH", type=_file, help="your kernel checkout, for the C line of every access"
    )

    dg = sub.add_parser("diagram", help="the causal slice of the counterexample as a race diagram (mail-ready)")
    dg.add_argument("scenario", type=_name)
    dg.add_argument("--variant", "-V", type=_name)
    dg.add_argument("--faults", type=_nonneg, help="fault budget (default: the scenario's)")
    _add_memory_model(dg)
    dg.add_argument("--width", type=_width, help="line width, 40 at least (default 72)")

    so = sub.add_parser("source", help="a ported function beside its C original from your kernel checkout")
    so.add_argument("function", type=_name)
    so.add_argument(
        "--variant", "-V", type=_name, default="v6.17", help="whose version of the function (default v6.17)"
    )
    so.add_argument(
        "--kernel-tree",
        metavar="PATH",
        type=_file,
        help="your kernel checkout (default: $KPORT_KERNEL_TREE); never shipped",
    )
    so.add_argument("--width", type=_width_or_fit, default=0, help="column width (default 0: fit the terminal)")
    so.add_argument(
        "--patch", metavar="FILE", type=_file, help="a patch mail or diff: its C before and after beside the Python"
    )

    cv = sub.add_parser("cover", help="which lines of the variant's patches each scenario runs")
    cv.add_argument("--variant", "-V", required=True, type=_name)
    cv.add_argument(
        "--scenario", "-s", action="append", default=[], type=_name, help="only these scenarios (names or patterns)"
    )
    cv.add_argument("--fail-under", type=_percent, metavar="N", help="exit 1 if under N%% of the lines ran")
    cv.add_argument("--json", action="store_true")

    sm = sub.add_parser("simulate", help="timed mode: backlog and lockups over virtual time")
    sm.add_argument("scenario", type=_name)
    sm.add_argument(
        "--variant", "-V", action="append", default=[], type=_name, help="variant (repeat to compare several)"
    )
    sm.add_argument("--size", default="full", help="the scenario's size: full (default) or small")
    sm.add_argument("--until", type=_positive_float, metavar="SECONDS", help="virtual seconds (default: scenario)")
    sm.add_argument("--wall-limit", type=_positive_float, metavar="SECONDS", help="stop after this much wall time")
    sm.add_argument("--plot", metavar="FILE", type=_file, help="write the backlog over time as a PNG")
    sm.add_argument("--json", action="store_true")
    _add_memory_model(sm, "timed mode is sequentially consistent: sc only")
    _add_review_commands(sub)
    return p


def _add_review_commands(sub: Any) -> None:
    """``patch import``, ``review`` and ``ablate`` (kernel_port/patch_import.py, review.py)."""
    pa = sub.add_parser("patch", help="patch mails: kport patch import FILE")
    pasub = pa.add_subparsers(dest="patch_cmd", metavar="SUBCOMMAND", parser_class=_Parser)
    pasub.required = True
    im = pasub.add_parser("import", help="a patch mail, format-patch file or diff becomes a patch module")
    im.add_argument("file", type=_file)
    im.add_argument("--name", type=_name, help="the patch's name (default: from its Subject)")
    im.add_argument("--base", type=_name, default="v6.17", help="the variant it applies to (default v6.17)")
    im.add_argument("--kernel-tree", metavar="PATH", type=_file, help="your kernel checkout (tree-sitter-c)")
    im.add_argument("--output", metavar="DIR", type=_file, help="where to write (default: patches/)")
    im.add_argument("--scenario", "-s", action="append", default=[], type=_name, help="look only at these scenarios")
    im.add_argument("--no-scenarios", action="store_true", help="do not run scenarios to find those that reach it")
    im.add_argument("--dry-run", action="store_true", help="say what would be written, write nothing")
    im.add_argument("--json", action="store_true")
    for cmd, text in (
        ("review", "which bug a patch fixes, leaves, brings back (runs the scenarios that reach it)"),
        ("ablate", "every subset of a patch's overrides (hunks), and the minimal subsets that fix each bug"),
    ):
        rv = sub.add_parser(cmd, help=text)
        rv.add_argument("patch", type=_name)
        rv.add_argument("--base", type=_name, help="the variant to compare against (default: each it applies to)")
        rv.add_argument("--scenario", "-s", action="append", default=[], type=_name, help="only these (or patterns)")
        rv.add_argument("--seconds", type=_positive_float, help="time budget per cell")
        _add_memory_model(rv, "run every scenario under this memory model (default: each under its own)")
        rfmt = rv.add_mutually_exclusive_group()
        rfmt.add_argument("--json", action="store_true")
        rfmt.add_argument("--markdown", action="store_true")
        if cmd == "review":
            rfmt.add_argument("--mail", action="store_true", help="plain text in at most 72 columns, for a reply")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``kport`` entry point.  A user mistake is one line on stderr and exit 2,
    never a traceback (engine/errors.py lists them)."""
    with signals.installed(), _guarded_stdout():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _check_environment(args)
        rc = int(_dispatch(args))
        _warn_load_errors(args)
        return rc
    except KportError as e:
        msg = e.one_line()
        say(msg if msg.startswith("kport") else f"kport: error: {msg}")
        return 2
    except WatchdogTimeout as e:  # only if it lands just after an execution ended
        say(f"kport: error: {e}")
        return 4
    except ScenarioNotLoaded as e:  # the scenario named fails validation: a defect of the corpus
        say(f"kport: error: {e}")
        return 4
    except KeyboardInterrupt:
        say(f"kport: {signals.stopped()}")
        return signals.exit_status()
    except BrokenPipeError:
        return 0
    except OSError as e:
        # A file the user named cannot be read or written (--html, --plot, ...).
        where = f" {e.filename}" if e.filename else ""
        say(f"kport: error: cannot use{where}: {e.strerror or e}")
        return 2
    except SystemExit as e:  # argparse's --help
        return e.code if isinstance(e.code, int) else 0


class _PipeGuard(io.TextIOBase):
    """stdout that survives its reader going away (``kport check ... | head``): once the
    pipe breaks, output is dropped and the command goes on to its real exit status."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.broken = False

    def _break(self) -> None:
        self.broken = True
        with contextlib.suppress(Exception):
            # What is still buffered would fail again at exit: send it nowhere.
            fd = self.inner.fileno()
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, fd)
            os.close(null)

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self.inner.write(text)
            except BrokenPipeError:
                self._break()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.inner.flush()
            except BrokenPipeError:
                self._break()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(self.inner.isatty())

    def fileno(self) -> int:
        return int(self.inner.fileno())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", "utf-8"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextlib.contextmanager
def _guarded_stdout() -> Iterator[None]:
    old = sys.stdout
    guard = _PipeGuard(old)
    sys.stdout = guard
    try:
        yield
    finally:
        if sys.stdout is guard:
            sys.stdout = old
            if not guard.broken:
                with contextlib.suppress(BrokenPipeError, ValueError):
                    old.flush()


def _check_environment(args: argparse.Namespace) -> None:
    """Environment variables are checked before any work (the message names the variable)."""
    if os.environ.get("KPORT_ROOT") is not None:
        from .variants import project_root

        project_root()
    if args.cmd in ("check", "matrix", "replay") and os.environ.get("KPORT_STORE") is not None:
        from .store import store_dir

        store_dir()
    watched = ("check", "matrix", "explain", "diagram", "cover", "simulate", "replay", "patch", "review", "ablate")
    if args.cmd in watched:
        from .hangcheck import seconds

        seconds()


def _warn_load_errors(args: argparse.Namespace) -> None:
    """Scenario modules that did not load, or scenarios that failed validation: said after the
    command's output (``list`` and ``matrix`` also say it in theirs and in their exit status)."""
    from . import scenario as scenario_mod

    if scenario_mod._SCENARIOS is None or args.cmd == "list":
        return
    for line in scenario_mod.load_errors():
        warn(f"{line} (left out)")


def _dispatch(args: argparse.Namespace) -> int:
    if args.cmd == "simulate" and getattr(args, "memory_model", None) == "tso":
        raise UsageError("--memory-model tso: timed mode is sequentially consistent (kport simulate runs sc only)")
    if args.cmd in ("explain", "diagram", "cover", "source") and isinstance(getattr(args, "variant", None), str):
        _variant_flag(args.variant, "--variant")
    if args.cmd == "list":
        return cmd_list(args)
    if args.cmd == "check":
        return cmd_check(args)
    if args.cmd == "replay":
        return cmd_replay(args)
    if args.cmd == "matrix":
        return cmd_matrix(args)
    if args.cmd == "explain":
        from .explain import cmd_explain

        return cmd_explain(args)
    if args.cmd == "diagram":
        from .diagram import cmd_diagram

        return cmd_diagram(args)
    if args.cmd == "source":
        from .source_patch import cmd_source

        return cmd_source(args)
    if args.cmd == "cover":
        from .cover import cmd_cover

        return cmd_cover(args)
    if args.cmd == "simulate":
        from .simulate import cmd_simulate

        return cmd_simulate(args)
    if args.cmd == "patch":
        from .patch_import import cmd_patch

        return cmd_patch(args)
    if args.cmd in ("review", "ablate"):
        from . import review

        return review.cmd_review(args) if args.cmd == "review" else review.cmd_ablate(args)
    raise UsageError(f"unknown command {args.cmd}")


# -- list --------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    """Exit 0, or 4 when a scenario module does not load or a scenario fails validation (the
    rest is listed; each problem is one line on stderr, and in ``load_errors`` with --json)."""
    from .scenario import load_errors, scenarios
    from .variants import patches, trees

    ts, ps, sc = trees(), patches(), scenarios()
    bad = load_errors()
    for line in bad:
        warn(f"{line} (left out)")
    rc = 4 if bad else 0
    variants = sorted({v for s in sc.values() for v in s.variants()})
    if args.json:
        obj = {
            "load_errors": bad,
            "trees": [{"name": t.name, "title": t.title, "base": t.base, "pinned": t.pinned} for t in ts.values()],
            "patches": [p.metadata() for p in ps.values()],
            "variants": variants,
            "scenarios": [
                {
                    "name": s.name,
                    "summary": s.summary(),
                    "cpus": s.cpus,
                    "faults": s.faults,
                    "fault_kinds": list(s.fault_kinds),
                    "preemptions": s.preemptions,
                    "expect": dict(s.expect),
                    "memory_model": s.own_memory_model(),
                    "cells": [{"variant": v, "memory_model": mm, "expected": e} for v, mm, e in s.cells()],
                }
                for s in sc.values()
            ],
        }
        print(json.dumps(obj, indent=2, sort_keys=True))
        return rc
    print("Trees:")
    for t in ts.values():
        print(f"  {t.name:<22} {t.title}")
    print("Patches:")
    for p in ps.values():
        print(f"  {p.name:<22} [{p.kind}] {p.title} (applies to {', '.join(p.applies_to)})")
    print("Variants (in expected cells):")
    for v in variants:
        print(f"  {v}")
    print("Scenarios:")
    for s in sc.values():
        cells = ", ".join(f"{v}@{mm}={e}" for v, mm, e in s.cells())
        print(f"  {s.name:<30} {s.summary()}")
        print(f"  {'':<30} {cells}")
    if bad:
        print("Not loaded (a defect of the corpus; see the lines on stderr):")
        for line in bad:
            print(f"  {clean(line)}")
    return rc


# -- check / replay ------------------------------------------------------------------


def _progress_printer() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        print(f"\r\x1b[2K{text}", end="", file=sys.stderr, flush=True)

    return show


def _trace_for(program: Any, choices: list[int], verdict_line: str, width: int | None) -> str:
    out, div = replay(program, choices)
    if out.machine is None:
        return ""
    title = f"{program.name} on {program.variant}"
    return render_text(out.machine, verdict_line, title=title, total=terminal_width(width))


def _verdict_line(r: Result) -> str:
    from .report import verdict_line

    return verdict_line(r)


def _variant_flag(variant: str, source: str) -> None:
    """Check a variant name; an error names where it came from (``--variant V: ...``)."""
    from .variants import parse_variant

    try:
        parse_variant(variant)
    except UnknownNameError as e:
        raise type(e)(f"{source} {variant}: {e}") from None


def _program(scenario: str, variant: str | None, source: str, **kw: Any) -> Any:
    """The program of ``scenario`` on ``variant``; a bad name says where it came from
    (``source``: the flag, or the token)."""
    from .scenario import get_scenario, program

    try:
        get_scenario(scenario)
    except UnknownNameError as e:
        if source.startswith("--"):
            raise
        raise UnknownNameError(f"the token's scenario: {e}") from None
    if variant is not None:
        _variant_flag(variant, source)
    return program(scenario, variant, **kw)


def _save(r: Result, trace: str, command: str, program: Any = None) -> str | None:
    """Save a counterexample in the results store; a store that cannot be written is
    a warning (the result is still printed), never a lost exit status.  A stop signal
    arriving meanwhile waits until the save is done."""
    if r.token is None or r.counterexample is None:
        return None
    from .store import PartialSave, Store, result_record

    try:
        with signals.deferred(reraise=False):
            return Store().save_result(result_record(r, trace, command))
    except PartialSave as e:
        warn(e.one_line())
        return e.name
    except KportError as e:
        warn(f"result not saved: {e.one_line()}")
        return None


def cmd_check(args: argparse.Namespace) -> int:
    prog = _program(
        args.scenario,
        args.variant,
        "--variant",
        faults=args.faults,
        preemptions=args.preemptions,
        memory_model=args.memory_model,
    )
    show = _progress_printer()
    interrupted = False
    try:
        r = check(
            prog,
            args.strategy,
            preemptions=prog.preemption_bound,
            seed=args.seed,
            executions=args.executions,
            seconds=args.seconds,
            pct_depth=max(1, args.pct_depth),
            progress=show,
            jobs=args.jobs,
            dask=args.dask,
        )
    except Interrupted as e:
        if e.partial is None:
            raise
        r, interrupted = e.partial, True
        if signals.received() not in (None, signal.SIGINT):
            r.coverage = r.coverage.replace("(Ctrl-C)", f"({signals.describe()})")
    finally:
        if show is not None:
            print("\r\x1b[2K", end="", file=sys.stderr)
    trace = ""
    if r.counterexample is not None and r.verdict in ("bug", "inconclusive", "error"):
        trace = _trace_for(prog, r.counterexample.choices, _verdict_line(r), args.width)
    saved = _save(r, trace, "check")
    if args.json:
        from .memory_model import memory_model_of

        obj = r.to_json()
        obj["memory_model"] = memory_model_of(r)
        obj["saved"] = saved
        obj["interrupted"] = interrupted
        print(json.dumps(obj, indent=2, sort_keys=True))
    else:
        head = f"{prog.name} on {prog.variant}: {r.verdict.upper()}"
        print(head + (" (interrupted: the search did not finish)" if interrupted else ""))
        if trace:
            print()
            print(trace, end="")
            if r.verdict == "error" and r.counterexample is not None and r.counterexample.traceback:
                print()
                print(r.counterexample.traceback, end="")
            print()
            print(f"Coverage: {r.coverage}")
            print(f"Replay:   kport replay {r.token}")
        else:
            print(_verdict_line(r))
        if saved:
            print(f"Saved:    kport replay {saved}")
        print(f"({r.executions} executions in {r.seconds:.2f}s)")
        if trace and r.verdict == "bug" and not interrupted:
            from .diagram import diagram_of

            race = diagram_of(prog, r)
            if race:
                print()
                tso = " --memory-model tso" if prog.memory_model == "tso" else ""
                print(f"The race (kport diagram {prog.name} --variant {prog.variant}{tso}):")
                print()
                print(race, end="")
    if not interrupted and signals.received() is not None:
        # The signal came while the result was being saved: saved, printed, and stopped now.
        say(f"kport: {signals.stopped()} after the search had finished; its result is printed and saved")
        return signals.exit_status()
    if interrupted:
        found = "a counterexample was found" if r.counterexample is not None else "nothing was found"
        what = "a counterexample was found and saved" if saved else found
        say(f"kport: {signals.stopped()} after {r.executions} executions; {what}")
        return signals.exit_status()
    return EXIT[r.verdict]


def _schedule_from(arg: str) -> tuple[Schedule, str, dict[str, Any] | None]:
    """A token (``-``: read from stdin, as pasted from a mail), or the name of a saved result;
    returns the schedule, where it came from and the saved record (None for a token)."""
    if arg.strip() == "-":
        arg = sys.stdin.read(1 << 20)
        return parse_token(arg), "the token", None
    if looks_like_token(arg) or re.fullmatch(r"[\s>]*kp\d*\s*", arg):
        return parse_token(arg), "the token", None
    from .store import Store, schedule_of

    rec = Store().load(arg.strip())
    return schedule_of(rec), f"saved result {rec['name']}", rec


# What the engine's label-following replay notes when a recorded schedule ran out while the
# program could still move (ReplayDriver._extend in engine/execution.py).
_USED_UP = "recorded schedule is used up"


def _code_changes(rec: dict[str, Any] | None, scenario: str, variant: str) -> str:
    """For a saved result: which files of the code it ran differ now ("" if none, or unknown)."""
    saved = rec.get("code") if rec is not None else None
    if not isinstance(saved, dict) or not saved:
        return ""
    from .scenario import code_fingerprint

    now = code_fingerprint(scenario, variant)
    changed = sorted(f for f in set(saved) | set(now) if saved.get(f) != now.get(f))
    if not changed:
        return ""
    shown = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
    return f"the code changed since this result was saved ({shown})"


def cmd_replay(args: argparse.Namespace) -> int:
    sched, origin, rec = _schedule_from(args.token)
    variant = args.variant or sched.variant
    source = "--variant" if args.variant else "the token's variant"
    # The token's memory model (a token without one is sc) unless --memory-model says otherwise.
    model = args.memory_model or sched.memory_model
    as_recorded = variant == sched.variant and model == sched.memory_model
    from .replaytoken import labels_for, missing_patch_error, same_steps

    with missing_patch_error(sched, variant):
        prog = _program(sched.scenario, variant, source, faults=sched.faults, memory_model=model)
    labels = labels_for(sched, variant, model)
    out, div = replay(prog, sched.choices, labels)
    changed = _code_changes(rec, sched.scenario, variant)
    if not changed and as_recorded:
        changed = same_steps(sched, out.labels)
    if div is None and as_recorded and any(_USED_UP in n for n in out.notes):
        # On the variant it was recorded on, a schedule ends where its execution ended;
        # one that runs out early is cut short (or the code changed), and the default
        # schedule that would follow proves nothing.
        used = next(n for n in out.notes if _USED_UP in n).split(":")[0]
        div = (
            f"its {len(sched.choices)} choice(s) ran out at {used} while the execution could still go on "
            "(a truncated schedule, or the code changed since it was recorded)"
        )
    if div is not None and labels is None and div.startswith("schedule ended after") and out.machine is not None:
        div = (
            f"its {len(sched.choices)} choice(s) ran out at step {out.machine.nsteps + 1} while the execution "
            "could still go on (a truncated schedule, or the code changed since it was recorded)"
        )
    if div is not None:
        hint = ""
        if sched.version == "kp1":
            hint = (
                f" ({sched.version} token: it has no step labels, so it replays only where its raw choice numbers"
                " still fit; a token from this kport (kp3) can follow the labels)"
            )
        elif labels is None:
            hint = (
                f" ({sched.version} token: it replays by its choice numbers on the variant it was recorded on;"
                " they no longer fit if the code changed since it was written)"
            )
        if model != sched.memory_model:
            hint += (
                f"; it was recorded under {sched.memory_model}: the store-buffer steps of tso have no "
                "counterpart under sc, so a schedule follows onto the other model only where they do not matter"
            )
        if changed:
            hint += f"; {changed}"
        raise ReplayDivergence(f"the schedule does not replay on {sched.scenario} / {variant}: {div}{hint}")
    verdict = {"complete": "ok", "bug": "bug", "error": "error", "budget": "inconclusive", "blocked": "inconclusive"}[
        out.status
    ]
    line = {
        "ok": "OK: this schedule completes without a violation",
        "bug": f"BUG ({out.kind}): {out.message}",
        "error": f"ERROR ({out.kind}): {out.message}",
        "inconclusive": f"INCONCLUSIVE: {out.message}",
    }[verdict]
    if out.status == "bug":
        line += f" [{out.steps} steps, {out.preemptions} preemption(s), {out.faults} fault(s), memory model {model}]"
    else:
        line += f" [memory model {model}]"
    # The schedule as it ran here, as a kp3 token: it differs from the input when the replay
    # followed labels, ran on another variant or memory model, or read a kp1 token.
    new_token = None
    if out.labels is not None and (out.notes or not as_recorded or sched.version == "kp1"):
        opts: dict[str, Any] = {"mm": model} if model != "sc" else {}
        new_token = Schedule(
            sched.scenario, variant, sched.faults, out.choices, labels=out.labels, options=opts
        ).token()
    if args.json:
        from .engine.trace import rows_json

        assert out.machine is not None
        print(
            json.dumps(
                {
                    "scenario": sched.scenario,
                    "variant": variant,
                    "recorded_on": sched.variant,
                    "memory_model": model,
                    "recorded_under": sched.memory_model,
                    "from": origin,
                    "token_version": sched.version,
                    "verdict": verdict,
                    "kind": out.kind,
                    "message": out.message,
                    "steps": out.steps,
                    "notes": out.notes,
                    "token": new_token,
                    "code_changed": changed or None,
                    "traceback": out.traceback or None,
                    "rows": rows_json(out.machine),
                },
                indent=2,
                sort_keys=True,
            )
        )
        return EXIT[verdict]
    assert out.machine is not None
    title = f"{sched.scenario} on {variant}"
    if variant != sched.variant:
        title += f" (schedule recorded on {sched.variant})"
    if model != sched.memory_model:
        title += f" under {model} (schedule recorded under {sched.memory_model})"
    elif model != "sc":
        title += f" under {model}"
    print(render_text(out.machine, line, title=title, total=terminal_width(args.width)), end="")
    if verdict == "error" and out.traceback:
        print()
        print(out.traceback, end="")
    if out.notes:
        print()
        print(f"Replayed by labels: {len(out.notes)} departure(s) from the recorded schedule:")
        for n in out.notes[:20]:
            print(f"  {n}")
        if len(out.notes) > 20:
            print(f"  ... and {len(out.notes) - 20} more")
    if sched.version == "kp1":
        print()
        print(
            f"Note: a {sched.version} token has no step labels; it replays only while its raw choice numbers "
            "fit the program."
        )
    if changed:
        print()
        print(f"Note: {changed}.")
    if new_token is not None:
        print(f"Token of this run: kport replay {new_token}")
    return EXIT[verdict]


# -- matrix ----------------------------------------------------------------------------


def cmd_matrix(args: argparse.Namespace) -> int:
    from .matrix import run_matrix

    return run_matrix(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
