# SPDX-License-Identifier: GPL-2.0-only
"""``kport``: the command line.

Exit status (all commands): 0 no violation within bounds / every cell as
expected; 1 violation found / a cell differs; 2 bad usage or input (one line
on stderr, never a traceback); 3 inconclusive (a budget was hit, or a
sampling strategy cannot prove absence); 4 error (the scenario or a port
raised: a defect of the corpus, not a kernel bug); 130 interrupted (Ctrl-C:
what was found so far is printed and saved).

Every counterexample ``check`` and ``matrix`` find, and every matrix result,
is saved in the results store (``.kport/``, kernel_port/store.py);
``kport replay`` takes a token or the name of a saved result (``last``,
``SCENARIO@VARIANT``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .engine.errors import (
    Interrupted,
    KportError,
    OptionError,
    ProjectError,
    ReplayDivergence,
    StoreError,
    UnknownNameError,
    UsageError,
)
from .engine.explorer import STRATEGIES, Result, check, replay
from .engine.token import Schedule, looks_like_token
from .engine.token import parse as parse_token
from .engine.trace import render_text

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


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="kport", description="Patch-evaluation corpus for kernel IPI / irq_work / vector / RT-push code.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    ls = sub.add_parser("list", help="trees, patches, variants and scenarios")
    ls.add_argument("--json", action="store_true")

    ck = sub.add_parser("check", help="explore one scenario on one variant")
    ck.add_argument("scenario")
    ck.add_argument("--variant", "-V")
    ck.add_argument("--strategy", default="dfs", choices=STRATEGIES)
    ck.add_argument("--preemptions", type=_nonneg, help="preemption bound (default: the scenario's, else none)")
    ck.add_argument("--faults", type=_nonneg, help="fault budget (default: the scenario's)")
    ck.add_argument("--seed", type=_nonneg, default=0)
    ck.add_argument("--executions", type=_nonneg, help="execution budget")
    ck.add_argument("--seconds", type=_positive_float, help="time budget")
    ck.add_argument("--pct-depth", type=_depth, default=3)
    par = ck.add_mutually_exclusive_group()
    par.add_argument("--jobs", "-j", type=_jobs, help="split the dfs search over N worker processes (same result)")
    par.add_argument("--dask", type=_address, metavar="ADDRESS", help="split it over a Dask cluster (extra [dist])")
    ck.add_argument("--json", action="store_true")
    ck.add_argument("--width", type=_width, default=44, help="trace column width")

    rp = sub.add_parser("replay", help="re-run one counterexample from its token or a saved result")
    rp.add_argument("token", help="a token (kp2:..., kp1:...) or a saved result: last, SCENARIO@VARIANT, FILE.json")
    rp.add_argument("--variant", "-V", help="replay on this variant instead of the token's (following its labels)")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--width", type=_width, default=44)

    mx = sub.add_parser("matrix", help="run every expected cell and compare")
    mx.add_argument("--scenario", "-s", action="append", default=[])
    mx.add_argument("--variant", "-V", action="append", default=[])
    fmt = mx.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    fmt.add_argument("--html", metavar="FILE", help="write the self-contained HTML report (table still on stdout)")
    mx.add_argument("--seconds", type=_positive_float, help="time budget per cell")
    mpar = mx.add_mutually_exclusive_group()
    mpar.add_argument("--jobs", "-j", type=_jobs, help="split each cell's search over N worker processes")
    mpar.add_argument("--dask", type=_address, metavar="ADDRESS", help="split it over a Dask cluster (extra [dist])")

    ex = sub.add_parser("explain", help="the shortest counterexample with C references, in words")
    ex.add_argument("scenario")
    ex.add_argument("--variant", "-V")
    ex.add_argument("--faults", type=_nonneg, help="fault budget (default: the scenario's)")
    ex.add_argument("--width", type=_width, default=44, help="trace column width")

    so = sub.add_parser("source", help="a ported function beside its C original from your kernel checkout")
    so.add_argument("function")
    so.add_argument("--variant", "-V", default="v6.17", help="whose version of the function (default v6.17)")
    so.add_argument(
        "--kernel-tree", metavar="PATH", help="your kernel checkout (default: $KPORT_KERNEL_TREE); never shipped"
    )
    so.add_argument("--width", type=_nonneg, default=0, help="column width (default: fit the terminal)")

    cv = sub.add_parser("cover", help="which lines of the variant's patches each scenario runs")
    cv.add_argument("--variant", "-V", required=True)
    cv.add_argument("--scenario", "-s", action="append", default=[], help="only these scenarios")
    cv.add_argument("--fail-under", type=float, metavar="N", help="exit 1 if under N%% of the lines ran")
    cv.add_argument("--json", action="store_true")

    sm = sub.add_parser("simulate", help="timed mode: backlog and lockups over virtual time")
    sm.add_argument("scenario")
    sm.add_argument("--variant", "-V", action="append", default=[], help="variant (repeat to compare several)")
    sm.add_argument("--size", default="full", help="the scenario's size: full (default) or small")
    sm.add_argument("--until", type=_positive_float, metavar="SECONDS", help="virtual seconds (default: scenario)")
    sm.add_argument("--wall-limit", type=_positive_float, metavar="SECONDS", help="stop after this much wall time")
    sm.add_argument("--plot", metavar="FILE", help="write the backlog over time as a PNG")
    sm.add_argument("--json", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """The ``kport`` entry point.  A user mistake is one line on stderr and exit 2,
    never a traceback (engine/errors.py lists them)."""
    try:
        args = build_parser().parse_args(argv)
        _check_environment()
        return int(_dispatch(args))
    except KportError as e:
        msg = e.one_line()
        print(f"kport: error: {msg}" if not msg.startswith("kport") else msg, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kport: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        # A file the user named cannot be read or written (--html, --plot, ...).
        where = f" {e.filename}" if e.filename else ""
        print(f"kport: error: cannot use{where}: {e.strerror or e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # argparse's --help
        return e.code if isinstance(e.code, int) else 0


def _check_environment() -> None:
    """Environment variables that name folders are checked before any work (the
    message names the variable)."""
    import os

    if os.environ.get("KPORT_ROOT") is not None:
        from .variants import project_root

        project_root()


def _dispatch(args: argparse.Namespace) -> int:
    if args.cmd in ("explain", "cover", "source") and isinstance(getattr(args, "variant", None), str):
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
    if args.cmd == "source":
        from .source import cmd_source

        return cmd_source(args)
    if args.cmd == "cover":
        from .cover import cmd_cover

        return cmd_cover(args)
    if args.cmd == "simulate":
        from .simulate import cmd_simulate

        return cmd_simulate(args)
    raise UsageError(f"unknown command {args.cmd}")


# -- list --------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from .scenario import scenarios
    from .variants import patches, trees

    ts, ps, sc = trees(), patches(), scenarios()
    variants = sorted({v for s in sc.values() for v in s.expect})
    if args.json:
        obj = {
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
                }
                for s in sc.values()
            ],
        }
        print(json.dumps(obj, indent=2, sort_keys=True))
        return 0
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
        cells = ", ".join(f"{v}={e}" for v, e in s.expect.items())
        print(f"  {s.name:<30} {s.summary()}")
        print(f"  {'':<30} {cells}")
    return 0


# -- check / replay ------------------------------------------------------------------


def _progress_printer() -> Any:
    if not sys.stderr.isatty():
        return None

    def show(text: str) -> None:
        print(f"\r\x1b[2K{text}", end="", file=sys.stderr, flush=True)

    return show


def _trace_for(program: Any, choices: list[int], verdict_line: str, width: int) -> str:
    out, div = replay(program, choices)
    if out.machine is None:
        return ""
    title = f"{program.name} on {program.variant}"
    return render_text(out.machine, verdict_line, width=width, title=title)


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


def _save(r: Result, trace: str, command: str) -> str | None:
    """Save a counterexample in the results store; a store that cannot be written is
    a warning (the result is still printed), never a lost exit status."""
    if r.token is None or r.counterexample is None:
        return None
    from .store import Store, result_record

    try:
        return Store().save_result(result_record(r, trace, command))
    except (StoreError, OptionError, ProjectError) as e:
        print(f"kport: warning: result not saved: {e.one_line()}", file=sys.stderr)
        return None


def cmd_check(args: argparse.Namespace) -> int:
    prog = _program(args.scenario, args.variant, "--variant", faults=args.faults, preemptions=args.preemptions)
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
    finally:
        if show is not None:
            print("\r\x1b[2K", end="", file=sys.stderr)
    trace = ""
    if r.counterexample is not None and r.verdict in ("bug", "inconclusive", "error"):
        trace = _trace_for(prog, r.counterexample.choices, _verdict_line(r), args.width)
    saved = _save(r, trace, "check")
    if args.json:
        obj = r.to_json()
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
    if interrupted:
        what = "a counterexample was found and saved" if saved else "nothing was found"
        print(f"kport: interrupted after {r.executions} executions; {what}", file=sys.stderr)
        return 130
    return EXIT[r.verdict]


def _schedule_from(arg: str) -> tuple[Schedule, str]:
    """A token, or the name of a saved result; returns the schedule and where it came from."""
    if looks_like_token(arg) or re.fullmatch(r"\s*kp\d*\s*", arg):
        return parse_token(arg), "the token"
    from .store import Store, schedule_of

    rec = Store().load(arg.strip())
    return schedule_of(rec), f"saved result {rec['name']}"


def cmd_replay(args: argparse.Namespace) -> int:
    sched, origin = _schedule_from(args.token)
    variant = args.variant or sched.variant
    source = "--variant" if args.variant else "the token's variant"
    prog = _program(sched.scenario, variant, source, faults=sched.faults)
    out, div = replay(prog, sched.choices, sched.labels)
    if div is not None:
        hint = ""
        if sched.labels is None:
            hint = (
                f" ({sched.version} token: it has no step labels, so it replays only where its raw choice numbers"
                " still fit; a token from this kport (kp2) can follow the labels)"
            )
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
        line += f" [{out.steps} steps, {out.preemptions} preemption(s), {out.faults} fault(s)]"
    # The schedule as it ran here, as a kp2 token: it differs from the input when
    # the replay followed labels, ran on another variant, or read a kp1 token.
    new_token = None
    if out.labels is not None and (out.notes or variant != sched.variant or sched.labels is None):
        new_token = Schedule(sched.scenario, variant, sched.faults, out.choices, labels=out.labels).token()
    if args.json:
        from .engine.trace import rows_json

        assert out.machine is not None
        print(
            json.dumps(
                {
                    "scenario": sched.scenario,
                    "variant": variant,
                    "recorded_on": sched.variant,
                    "from": origin,
                    "token_version": sched.version,
                    "verdict": verdict,
                    "kind": out.kind,
                    "message": out.message,
                    "steps": out.steps,
                    "notes": out.notes,
                    "token": new_token,
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
    print(render_text(out.machine, line, width=args.width, title=title), end="")
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
    if sched.labels is None:
        print()
        print(
            f"Note: a {sched.version} token has no step labels; it replays only while its raw choice numbers "
            "fit the program."
        )
    if new_token is not None:
        print(f"Token of this run: kport replay {new_token}")
    return EXIT[verdict]


# -- matrix ----------------------------------------------------------------------------


def cmd_matrix(args: argparse.Namespace) -> int:
    from .matrix import run_matrix

    return run_matrix(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
