# SPDX-License-Identifier: GPL-2.0-only
"""An argv-level fuzz of the ``kport`` command line, every subcommand (issue 21).

Hypothesis draws command lines from a grammar of every subcommand (list, check, replay,
matrix, explain, source, cover, simulate, review, ablate, patch import) with every option, each option with good and
hostile values (empty strings, control characters, long names, NaN, huge numbers, paths
that do not exist or are folders, tokens cut short or damaged), plus stray words.  Each one
runs through ``kernel_port.cli.main`` in-process, and must

* return one of the documented statuses (0, 1, 2, 3, 4), never raise;
* print no traceback on stderr (a scenario's own traceback, for an ``error`` verdict, goes to
  stdout with the verdict);
* for status 2, print exactly one line on stderr, starting with ``kport``;
* never echo a raw escape character.

Used small by tests/test_reliability_fuzz.py (every failure shrinks to a minimal command
line) and at 10,000 cases by bench/cli_fuzz.py (counts everything, stops at nothing).

For speed the explorer is replaced by one cached short search per program (5 executions at
most), the timed
simulation by a canned result (one that breaks on v3.10, as the real v3.10 port did), and
coverage measurement by one canned report; parsing, names, replay (real), printing, the
results store and the HTML and PNG writers are the real ones.  The working directory and
the store are a temporary folder's.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import string
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from kernel_port.engine.token import Schedule

ESC = "\x1b[31m"
LONG = "v" * 5000

REAL_TOKENS = [
    Schedule(
        "engine.lost-ipi",
        "v6.17",
        1,
        [0, 1],
        labels=[("CPU0", "", "send_IPI", "apic[1]"), ("CPU0", "", "=lost-ipi", "")],
    ).token(),
    "kp1:eNqrVkpWsoo20DGM1VFKU7Iy1FEqVrJSSs1Lz8xL1cvJLy7RzSzIVNJRKgOKlpnpGZor1QIAa2cOPA",
    Schedule("engine.abba", "v6.17", 0, [0, 1]).token(),
    Schedule("engine.abba", "v6.17", 0, [], labels=[]).token(),  # cut to no choice at all
    Schedule(f"engine.{ESC}abba", "v6.17", 0, [0]).token(),
    Schedule("engine.abba", f"v6.17{ESC}", 0, [0]).token(),
]
SCENARIOS = ["engine.abba", "engine.lost-ipi", "engine.irqs-off", "smp.lost-ipi-waiter", "irq_work.lost-self-ipi"]
# Each kind of value: good ones (first: failures shrink to them) and hostile ones, drawn half and half.
GOOD = {
    "scenario": [*SCENARIOS, "rt.self-ipi-loop", "engine.*", "irq_work.*", "engine.abb?"],
    "variant": ["v6.17", "v6.16", "v3.10", "v6.17+herton-rfc", "v6.17+csdlock-debug", "v6.17*", "v3.10*"],
    "number": ["0", "1", "2", "8", " 3"],
    "float": ["0.5", "50", "1e-9", "2"],
    "token": [*REAL_TOKENS[:3], "last", "engine.abba@v6.17", "engine.abba"],
    "path": ["out.file", "/dev/null"],
    "text": ["x", "full", "small"],
    "strategy": ["dfs", "random", "pct", "hypothesis"],
    "size": ["small", "full"],
    "address": ["tcp://127.0.0.1:1"],
    "function": ["irq_work_queue", "llist_add", "smp_call_function_single"],
    "patch": ["herton-rfc", "tick-reraise", "csdlock-debug"],
    "mail": [str(Path(__file__).resolve().parent / "data" / "patches" / "tick-rfc.mbox")],
}
BAD = {
    "scenario": ["nope", "", " ", "[", "é", f"engine.{ESC}abba", "x" * 3000, "-", "--json"],
    "variant": ["v6.71", "v3.10+herton-rfc", "", "+", "*", "v9*", f"v6.17{ESC}", LONG, "v6.17++herton-rfc"],
    "number": ["-1", "x", "1e3", "99999999999999999999", "", "1000000000", "nan"],
    "float": ["0", "-1", "nan", "inf", "-inf", "1e400", "x", "101", ""],
    "token": [*REAL_TOKENS[3:], "kp2:", "kp1:garbage!", "kp9:abc", "nope@v6.17", "../x", "", "y" * 3000],
    "path": ["/nonexistent/dir/x", "/", "", ESC],
    "text": ["", "-", "--", "--json", "-V", "é", "a b", ESC],
    "strategy": ["", "bogus", ESC, "DFS"],
    "size": ["", "huge", ESC],
    "address": ["localhost:8786", "", "tls://", ESC],
    "function": ["no_such_function", "", ESC, "x" * 3000],
    "patch": ["nope", "", ESC, "herton-rfc:irq_work_tick", "x" * 3000],
    "mail": ["/dev/null", "/", "", "/nonexistent.mbox", ESC],
}
VALUES = {k: st.one_of(st.sampled_from(GOOD[k]), st.sampled_from(BAD[k])) for k in GOOD}
POSITIONAL_VALUES = {
    k: st.one_of(st.sampled_from(GOOD[k]), st.sampled_from(GOOD[k]), st.sampled_from(BAD[k])) for k in GOOD
}
OPTIONS: dict[str, list[tuple[str, str | None]]] = {
    "list": [("--json", None)],
    "check": [
        ("--variant", "variant"),
        ("-V", "variant"),
        ("--strategy", "strategy"),
        ("--strategy", None),
        ("--preemptions", "number"),
        ("--faults", "number"),
        ("--seed", "number"),
        ("--executions", "number"),
        ("--seconds", "float"),
        ("--pct-depth", "number"),
        ("--jobs", "number"),
        ("--dask", "address"),
        ("--json", None),
        ("--width", "number"),
    ],
    "replay": [("--json", None), ("--width", "number"), ("--variant", "variant")],
    "matrix": [
        ("--scenario", "scenario"),
        ("-s", "scenario"),
        ("--variant", "variant"),
        ("--json", None),
        ("--markdown", None),
        ("--html", "path"),
        ("--seconds", "float"),
        ("--jobs", "number"),
    ],
    "explain": [("--variant", "variant"), ("--faults", "number"), ("--width", "number")],
    "source": [("--variant", "variant"), ("--kernel-tree", "path"), ("--width", "number")],
    "cover": [("--variant", "variant"), ("--scenario", "scenario"), ("--fail-under", "float"), ("--json", None)],
    "simulate": [
        ("--variant", "variant"),
        ("--size", "size"),
        ("--until", "float"),
        ("--wall-limit", "float"),
        ("--plot", "path"),
        ("--json", None),
    ],
    # (kport review/ablate run the cached short search; patch import always gets --dry-run)
    "review": [
        ("--base", "variant"),
        ("--scenario", "scenario"),
        ("--seconds", "float"),
        ("--json", None),
        ("--markdown", None),
        ("--mail", None),
    ],
    "ablate": [("--base", "variant"), ("-s", "scenario"), ("--json", None), ("--markdown", None)],
    "patch": [
        ("--name", "text"),
        ("--base", "variant"),
        ("--scenario", "scenario"),
        ("--no-scenarios", None),
        ("--kernel-tree", "path"),
        ("--json", None),
    ],
}
POSITIONAL = {
    "check": "scenario",
    "explain": "scenario",
    "replay": "token",
    "source": "function",
    "simulate": "scenario",
    "review": "patch",
    "ablate": "patch",
    "patch": "mail",
}
COMMANDS = [*OPTIONS, "bogus", "--help", ""]


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    """A command, its positional argument (nine times in ten; good two times in three), up to
    three options (each value good half of the time, as ``--opt value`` or ``--opt=value``),
    and now and then a stray word.  Failures shrink to good values and fewer words."""
    cmd = draw(st.sampled_from(COMMANDS))
    argv = [cmd] if cmd else []
    if cmd == "patch" and draw(st.integers(0, 9)):
        argv.append("import")
    if cmd in POSITIONAL and draw(st.integers(0, 9)):
        argv.append(draw(POSITIONAL_VALUES[POSITIONAL[cmd]]))
    options = OPTIONS.get(cmd, [])
    for _ in range(draw(st.integers(0, 3)) if options else 0):
        flag, kind = draw(st.sampled_from(options))
        if kind is None:
            argv.append(flag)
        elif draw(st.booleans()):
            argv += [flag, draw(VALUES[kind])]
        else:
            argv.append(f"{flag}={draw(VALUES[kind])}")
    if not draw(st.integers(0, 9)):
        argv.insert(
            draw(st.integers(1 if argv else 0, len(argv))),
            draw(st.sampled_from(BAD["text"]) | st.text(alphabet=string.printable + "\x1b\x00é", max_size=6)),
        )
    if cmd == "patch":
        argv.append("--dry-run")  # never write into the clone's patches/
    return argv


# -- running one command line ----------------------------------------------------------------------


@dataclass
class Case:
    argv: list[str]
    rc: int | None
    out: str
    err: str
    escaped: str = ""  # the exception that escaped main(), if any

    def problems(self) -> list[str]:
        found = []
        if self.escaped:
            found.append(f"exception escaped main(): {self.escaped}")
        if "Traceback (most recent call last)" in self.err:
            found.append("traceback on stderr")
        if self.rc not in (0, 1, 2, 3, 4):
            found.append(f"exit status {self.rc}")
        if self.rc == 2:
            ls = [ln for ln in self.err.splitlines() if ln.strip()]
            if len(ls) != 1 or not ls[0].startswith("kport"):
                found.append(f"usage error is not one line starting with kport: {ls[:3]!r}")
        if "\x1b" in self.out or "\x1b" in self.err:
            found.append("a raw escape character echoed")
        return found

    @property
    def traceback(self) -> bool:
        return bool(self.escaped) or "Traceback (most recent call last)" in self.err


def run_one(argv: list[str]) -> Case:
    from kernel_port import cli

    out, err = io.StringIO(), io.StringIO()
    escaped = ""
    rc: int | None = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(argv)
        except BaseException as e:  # what a user would see as a traceback
            escaped = f"{type(e).__name__}: {e}"[:300]
    return Case(argv, rc, out.getvalue(), err.getvalue(), escaped)


@contextlib.contextmanager
def harness(tmp: Path) -> Iterator[None]:
    """The fast, isolated set-up the fuzz runs in (see the module docstring)."""
    import pytest

    from kernel_port import cli, store
    from kernel_port.variants import parse_variant

    mp = pytest.MonkeyPatch()
    try:
        tmp.mkdir(parents=True, exist_ok=True)
        mp.chdir(tmp)  # --html FILE, --plot FILE and friends write here, never into the clone
        mp.setenv("KPORT_STORE", str(tmp / "store"))
        for var in ("KPORT_KERNEL_TREE", "KPORT_WATCHDOG"):
            mp.delenv(var, raising=False)
        mp.setattr(store, "FSYNC", False)
        import kernel_port.cover as cover_mod
        import kernel_port.explain as explain_mod
        import kernel_port.matrix as matrix_mod
        import kernel_port.simulate as simulate_mod
        from kernel_port.engine import explorer
        from kernel_port.engine.timed import TimedResult

        real = explorer.check
        cache: dict[tuple[str, str, int], Any] = {}

        def check(program: Any, strategy: str = "dfs", **kw: Any) -> Any:
            key = (program.name, program.variant, program.faults)
            if key not in cache:
                cache[key] = real(program, "dfs", executions=5, seconds=0.2)
            return cache[key]

        import kernel_port.review as review_mod

        for mod in (cli, matrix_mod, explain_mod, review_mod):
            mp.setattr(mod, "check", check)
        traces: dict[tuple[str, str, str | None], str] = {}
        real_trace = store.trace_of

        def trace_of(program: Any, result: Any, width: int = 44) -> str:
            key = (program.name, program.variant, result.token)
            if key not in traces:
                traces[key] = real_trace(program, result, width)
            return traces[key]

        mp.setattr(store, "trace_of", trace_of)
        mp.setattr(cli, "build_parser", functools.lru_cache(maxsize=None)(cli.build_parser))

        def run_timed(program: Any, cost: Any, *, until_ns: int, sample_ns: int, **kw: Any) -> Any:
            if program.variant_obj.name.startswith("v3.10"):
                raise AttributeError("'call_single_queue_310' object has no attribute 'first'")
            res = TimedResult(until_ns=until_ns, cost=cost)
            res.samples = [(0, {"backlog": 0.0}), (until_ns, {"backlog": 3.0})]
            res.reached_ns, res.steps = until_ns, 10
            if kw.get("wall_limit_s") is not None and kw["wall_limit_s"] < 1:
                res.stop, res.message = "wall-limit", f"stopped after {kw['wall_limit_s']:g} s of wall time"
            return res

        mp.setattr(simulate_mod, "run_timed", run_timed)
        real_cover = cover_mod.cover
        canned = real_cover("v6.17+csdlock-debug", ["smp.lost-ipi-waiter"])

        def cover(variant: str, names: list[str] | None = None) -> Any:
            parse_variant(variant)
            if not cover_mod.cells_for(variant, names or []):
                raise cover_mod.UsageError(f"no scenario has an expected cell for '{variant}'")
            return canned

        mp.setattr(cover_mod, "cover", cover)
        run_one(["check", "engine.abba"])  # a saved result for 'replay last'
        yield
    finally:
        mp.undo()


@dataclass
class Stats:
    cases: int = 0
    seconds: float = 0.0
    codes: Counter[int | None] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)
    tracebacks: int = 0
    problems: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, case: Case) -> list[str]:
        self.cases += 1
        self.codes[case.rc] += 1
        first = case.argv[0] if case.argv else "(none)"
        self.commands[first if first in COMMANDS or first == "(none)" else "(other word)"] += 1
        found = case.problems()
        self.tracebacks += case.traceback
        if found:
            self.problems += 1
            if len(self.examples) < 20:
                self.examples.append(
                    {"argv": [a[:200] for a in case.argv], "rc": case.rc, "problems": found, "stderr": case.err[-2000:]}
                )
        return found


def fuzz(n: int, tmp: Path, *, seed: int = 0, stop_at_first: bool = False) -> Stats:
    """Run ``n`` drawn command lines (Hypothesis, derandomized by ``seed``); with
    ``stop_at_first`` the first problem fails the Hypothesis test (and shrinks)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    stats = Stats()

    @hseed(seed)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(argvs())
    def one(argv: list[str]) -> None:
        found = stats.add(run_one(argv))
        if stop_at_first:
            assert not found, (argv, found)

    t0 = time.perf_counter()
    with harness(tmp):
        one()
    stats.seconds = time.perf_counter() - t0
    return stats


def environment() -> dict[str, str]:
    import platform

    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": str(os.cpu_count())}
