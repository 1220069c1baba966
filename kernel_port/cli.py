# SPDX-License-Identifier: GPL-2.0-only
"""``kport``: the command line.

Exit status (all commands): 0 no violation within bounds / every cell as
expected; 1 violation found / a cell differs; 2 bad usage or input (one line
on stderr, never a traceback); 3 inconclusive (a budget was hit, or a
sampling strategy cannot prove absence); 4 error (the scenario or a port
raised: a defect of the corpus, not a kernel bug).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from .engine.errors import KportError, UsageError
from .engine.explorer import STRATEGIES, Result, check, replay
from .engine.token import parse as parse_token
from .engine.trace import render_text

EXIT = {"ok": 0, "bug": 1, "inconclusive": 3, "error": 4}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _nonneg(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {v}")
    return v


def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text}")
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
    ck.add_argument("--pct-depth", type=_nonneg, default=3)
    ck.add_argument("--json", action="store_true")
    ck.add_argument("--width", type=_nonneg, default=44, help="trace column width")

    rp = sub.add_parser("replay", help="re-run one counterexample from its token")
    rp.add_argument("token")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--width", type=_nonneg, default=44)

    mx = sub.add_parser("matrix", help="run every expected cell and compare")
    mx.add_argument("--scenario", "-s", action="append", default=[])
    mx.add_argument("--variant", "-V", action="append", default=[])
    fmt = mx.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--markdown", action="store_true")
    fmt.add_argument("--html", metavar="FILE", help="write the self-contained HTML report (table still on stdout)")
    mx.add_argument("--seconds", type=_positive_float, help="time budget per cell")

    ex = sub.add_parser("explain", help="the shortest counterexample with C references, in words")
    ex.add_argument("scenario")
    ex.add_argument("--variant", "-V")
    ex.add_argument("--faults", type=_nonneg, help="fault budget (default: the scenario's)")
    ex.add_argument("--width", type=_nonneg, default=44, help="trace column width")

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
    try:
        args = build_parser().parse_args(argv)
        return int(_dispatch(args))
    except KportError as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"kport: error: {msg}" if not msg.startswith("kport") else msg, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kport: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _dispatch(args: argparse.Namespace) -> int:
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


def cmd_check(args: argparse.Namespace) -> int:
    from .scenario import program

    prog = program(args.scenario, args.variant, faults=args.faults, preemptions=args.preemptions)
    show = _progress_printer()
    r = check(
        prog,
        args.strategy,
        preemptions=prog.preemption_bound,
        seed=args.seed,
        executions=args.executions,
        seconds=args.seconds,
        pct_depth=max(1, args.pct_depth),
        progress=show,
    )
    if show is not None:
        print("\r\x1b[2K", end="", file=sys.stderr)
    if args.json:
        print(json.dumps(r.to_json(), indent=2, sort_keys=True))
        return EXIT[r.verdict]
    print(f"{prog.name} on {prog.variant}: {r.verdict.upper()}")
    if r.counterexample is not None and r.verdict in ("bug", "inconclusive", "error"):
        print()
        print(_trace_for(prog, r.counterexample.choices, _verdict_line(r), args.width), end="")
        if r.verdict == "error" and r.counterexample.traceback:
            print()
            print(r.counterexample.traceback, end="")
        print()
        print(f"Coverage: {r.coverage}")
        print(f"Replay:   kport replay {r.token}")
    else:
        print(_verdict_line(r))
    print(f"({r.executions} executions in {r.seconds:.2f}s)")
    return EXIT[r.verdict]


def cmd_replay(args: argparse.Namespace) -> int:
    from .scenario import program

    sched = parse_token(args.token)
    prog = program(sched.scenario, sched.variant, faults=sched.faults)
    out, div = replay(prog, sched.choices)
    if div is not None:
        raise KportError(f"the token does not replay on {sched.scenario} / {sched.variant}: {div}")
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
    if args.json:
        from .engine.trace import rows_json

        assert out.machine is not None
        print(
            json.dumps(
                {
                    "scenario": sched.scenario,
                    "variant": sched.variant,
                    "verdict": verdict,
                    "kind": out.kind,
                    "message": out.message,
                    "steps": out.steps,
                    "rows": rows_json(out.machine),
                },
                indent=2,
                sort_keys=True,
            )
        )
    else:
        assert out.machine is not None
        print(render_text(out.machine, line, width=args.width, title=f"{sched.scenario} on {sched.variant}"), end="")
    return EXIT[verdict]


# -- matrix ----------------------------------------------------------------------------


def cmd_matrix(args: argparse.Namespace) -> int:
    from .matrix import run_matrix

    return run_matrix(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
