# SPDX-License-Identifier: GPL-2.0-only
"""pytest plugin ``kernel_port`` (registered through the ``pytest11`` entry point).

Options, each with an ini twin (the command line wins):

=====================  ===============  ==========================================================
option                 ini              meaning
=====================  ===============  ==========================================================
``--kp-variant V``     ``kp_variant``   run only tests for these variants (repeat, or comma
                                        separated; names or shell patterns, as ``kport matrix
                                        -V`` takes them: ``'v6.17*'``); one exact name is the
                                        default variant of ``kport.check``
``--kp-strategy S``    ``kp_strategy``  dfs (default), random, pct or hypothesis
``--kp-seed N``        ``kp_seed``      seed of the sampling strategies; random when unset, and
                                        printed in the run header so that a run can be repeated
``--kp-replay TOKEN``  ``kp_replay``    ``kport.check`` of the token's scenario replays it
``--kp-memory-model``  ``kp_memory_``   ``sc`` or ``tso``: run only tests for that memory model,
                       ``model``        and ``kport.check`` runs under it by default
=====================  ===============  ==========================================================

A test selects a variant by a parameter named ``variant`` (as tests/test_matrix.py does) or by
the marker ``@pytest.mark.kport(scenario, variant=...)``; ``--kp-variant`` deselects the others.
Likewise a parameter named ``memory_model`` or the marker's ``memory_model=`` states a test's
memory model, and ``--kp-memory-model`` deselects tests of the other one (a test that states
none is kept).

The ``kport`` fixture runs scenarios::

    def test_rfc_fixes_the_lost_ipi(kport):
        kport.check("irq_work.lost-self-ipi", "v6.17+herton-rfc")   # expects the corpus cell

``check`` compares the verdict with ``expect`` (default: the scenario's expected cell for the
variant under the memory model, else OK); ``memory_model=`` (default: ``--kp-memory-model``,
else the scenario's own) picks sc or tso, and every message states it.  When it differs, the
test fails with the verdict, the replay token, a ``--kp-replay`` option and the pytest command
line that repeats the test with it, and the report gets a section with the trace in CPU
columns.  tests/test_matrix.py runs every corpus cell through this fixture, so a failing cell
prints the same.
"""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

STRATEGIES = ("dfs", "random", "pct", "hypothesis")
WANT = {"BUG": "bug", "OK": "ok"}
_TRACE_KEY = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("kernel_port", "kernel_port scenario runs")
    g.addoption("--kp-variant", action="append", dest="kp_variant", metavar="V", help="only tests for variant V")
    g.addoption("--kp-strategy", dest="kp_strategy", choices=STRATEGIES, help="exploration strategy (default dfs)")
    g.addoption("--kp-seed", dest="kp_seed", type=int, metavar="N", help="seed of random/pct/hypothesis")
    g.addoption("--kp-replay", dest="kp_replay", metavar="TOKEN", help="replay this token instead of exploring")
    g.addoption(
        "--kp-memory-model",
        dest="kp_memory_model",
        metavar="MODEL",
        help="sc or tso: only tests for this memory model; kport.check runs under it",
    )
    parser.addini("kp_variant", "only tests for these variants (comma or space separated)", default="")
    parser.addini("kp_strategy", "exploration strategy: dfs, random, pct or hypothesis", default="")
    parser.addini("kp_seed", "seed of the sampling strategies", default="")
    parser.addini("kp_replay", "replay this token instead of exploring", default="")
    parser.addini("kp_memory_model", "only tests for this memory model (sc or tso)", default="")


def _ini(config: pytest.Config, name: str) -> str:
    """Where an ini value came from, for messages: ``kp_seed in pyproject.toml``."""
    path = config.inipath
    return f"{name} in {path.name if path is not None else 'the ini file'}"


class Settings:
    """The plugin's options.  A bad value is a usage error naming where it came
    from: the flag (``--kp-variant``) or the ini file (``kp_variant in tox.ini``)."""

    def __init__(self, config: pytest.Config) -> None:
        cli_v = config.getoption("kp_variant") or []
        ini_v = str(config.getini("kp_variant") or "")
        raw = cli_v if cli_v else [ini_v]
        self.variants: list[str] = [v for item in raw for v in re.split(r"[,\s]+", item) if v]
        if cli_v and any(not re.split(r"[,\s]+", item.strip())[0] for item in cli_v):
            # --kp-variant= would otherwise select nothing, and so run everything
            raise pytest.UsageError("--kp-variant: empty variant name (name a variant, e.g. --kp-variant=v6.17)")
        if self.variants:
            _check_variants(self.variants, "--kp-variant" if cli_v else _ini(config, "kp_variant"))
        # Exact names, and shell patterns as `kport matrix -V` takes them ('v6.17*').
        self.exact: list[str] = [v for v in self.variants if not _is_pattern(v)]
        self.patterns: list[str] = [v for v in self.variants if _is_pattern(v)]
        ini_strategy = str(config.getini("kp_strategy") or "").strip()
        self.strategy: str = config.getoption("kp_strategy") or ini_strategy or "dfs"
        if self.strategy not in STRATEGIES:
            raise pytest.UsageError(
                f"{_ini(config, 'kp_strategy')}: expected one of {', '.join(STRATEGIES)}, got {self.strategy!r}"
            )
        seed = config.getoption("kp_seed")
        ini_seed = str(config.getini("kp_seed") or "").strip()
        if seed is None and ini_seed:
            try:
                seed = int(ini_seed)
            except ValueError:
                raise pytest.UsageError(
                    f"{_ini(config, 'kp_seed')}: expected a whole number, got {ini_seed!r}"
                ) from None
        if seed is not None and seed < 0:
            where = "--kp-seed" if config.getoption("kp_seed") is not None else _ini(config, "kp_seed")
            raise pytest.UsageError(f"{where}: expected a seed >= 0, got {seed}")
        self.seed_given = seed is not None
        self.seed: int = seed if seed is not None else random.SystemRandom().randrange(10_000)
        cli_mm = config.getoption("kp_memory_model")
        mm = cli_mm if cli_mm is not None else str(config.getini("kp_memory_model") or "").strip()
        if (mm and mm not in ("sc", "tso")) or (cli_mm is not None and not cli_mm):
            where = "--kp-memory-model" if cli_mm is not None else _ini(config, "kp_memory_model")
            raise pytest.UsageError(f"{where}: expected sc or tso, got {mm!r}")
        self.memory_model: str | None = mm or None
        cli_replay = config.getoption("kp_replay")
        self.replay: str = cli_replay or str(config.getini("kp_replay") or "").strip()
        if self.replay:
            from .engine.errors import KportError, TokenError
            from .engine.token import parse
            from .scenario import get_scenario
            from .variants import parse_variant

            where = "--kp-replay" if cli_replay else _ini(config, "kp_replay")
            try:
                sched = parse(self.replay)
            except TokenError as e:
                raise pytest.UsageError(f"{where}: {e.one_line()}") from None
            for what, check, value in (
                ("scenario", get_scenario, sched.scenario),
                ("variant", parse_variant, sched.variant),
            ):
                try:
                    check(value)
                except KportError as e:
                    raise pytest.UsageError(f"{where}: the token's {what}: {e.one_line()}") from None


def _is_pattern(v: str) -> bool:
    return any(ch in v for ch in "*?[")


def _check_variants(names: list[str], where: str) -> None:
    """Exact names must parse; a pattern must match a variant some scenario has a cell for
    (the rules of ``kport matrix -V``)."""
    import fnmatch

    from .engine.errors import KportError
    from .variants import parse_variant

    for v in names:
        if _is_pattern(v):
            from .scenario import scenarios

            known = {name for sc in scenarios().values() for name in sc.variants()}
            if not any(fnmatch.fnmatchcase(k, v) for k in known):
                raise pytest.UsageError(f"{where}: no variant matches '{v}'; 'kport list' shows them all")
            continue
        try:
            parse_variant(v)
        except KportError as e:
            raise pytest.UsageError(f"{where}: {e.one_line()}") from None


def selects(settings: Settings, variant: str) -> bool:
    """Whether ``--kp-variant`` keeps a test of ``variant`` (an exact name or a pattern matches)."""
    import fnmatch

    return variant in settings.exact or any(fnmatch.fnmatchcase(variant, p) for p in settings.patterns)


_SETTINGS = pytest.StashKey[Settings]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "kport(scenario, variant=None, memory_model=None): the test exercises a kernel_port scenario "
        "(on a variant, under a memory model)",
    )
    config.stash[_SETTINGS] = Settings(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    s = config.stash[_SETTINGS]
    line = f"kernel_port: --kp-seed={s.seed} --kp-strategy={s.strategy}"
    if s.variants:
        line += "".join(f" --kp-variant={v}" for v in s.variants)
    if s.memory_model:
        line += f" --kp-memory-model={s.memory_model}"
    if s.replay:
        line += f" --kp-replay={s.replay}"
    return [line + "  (repeat this run with these options)"]


def _variant_of(item: pytest.Item) -> str | None:
    m = item.get_closest_marker("kport")
    if m is not None:
        v = m.kwargs.get("variant", m.args[1] if len(m.args) > 1 else None)
        if v is not None:
            return str(v)
    cs = getattr(item, "callspec", None)
    if cs is not None and "variant" in cs.params:
        return str(cs.params["variant"])
    return None


def _memory_model_of(item: pytest.Item) -> str | None:
    m = item.get_closest_marker("kport")
    if m is not None and m.kwargs.get("memory_model") is not None:
        return str(m.kwargs["memory_model"])
    cs = getattr(item, "callspec", None)
    if cs is not None and "memory_model" in cs.params:
        return str(cs.params["memory_model"])
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    s = config.stash[_SETTINGS]
    if not s.variants and not s.memory_model:
        return
    keep, drop = [], []
    for it in items:
        v = _variant_of(it)
        mm = _memory_model_of(it)
        off = (s.variants and v is not None and not selects(s, v)) or (
            s.memory_model and mm is not None and mm != s.memory_model
        )
        (drop if off else keep).append(it)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class ScenarioMismatch(AssertionError):
    """A scenario's verdict differs from the expected one (the report carries the trace)."""


class Kport:
    """The ``kport`` fixture: run scenarios with the session's strategy, seed and replay token."""

    def __init__(self, settings: Settings, node: pytest.Item) -> None:
        self.settings = settings
        self.node = node

    def check(
        self,
        scenario: str,
        variant: str | None = None,
        *,
        expect: str | None = None,
        faults: int | None = None,
        executions: int | None = None,
        memory_model: str | None = None,
    ) -> Any:
        __tracebackhide__ = True
        from .engine.token import parse
        from .memory_model import check
        from .report import annotated_trace, verdict_line
        from .scenario import get_scenario, program

        s = self.settings
        sc = get_scenario(scenario)
        if variant is None and len(s.variants) == 1 and s.exact:
            variant = s.exact[0]
        prog = program(scenario, variant, faults=faults, memory_model=memory_model or s.memory_model)
        mm = prog.memory_model
        want = expect or sc.expected(prog.variant, mm) or "OK"
        if want not in WANT:
            want = "OK"
        replayed = None
        if s.replay:
            sched = parse(s.replay)
            if sched.scenario == scenario and sched.variant == prog.variant and sched.memory_model == mm:
                replayed = sched
        if replayed is not None:
            r = _replay_result(prog, replayed)
        else:
            r = check(
                prog,
                s.strategy,
                preemptions=prog.preemption_bound,
                seed=s.seed,
                executions=executions,
            )
        ok = r.verdict == WANT[want]
        if s.strategy != "dfs" and want == "OK" and r.verdict == "inconclusive" and replayed is None:
            ok = True  # a sampling strategy cannot prove OK; finding nothing is all it can say
        if ok:
            return r
        head = f"{scenario} on {prog.variant} under {mm}: expected {want}, got {r.verdict.upper()} (by {r.strategy})"
        lines = [head, verdict_line(r)]
        if r.token:
            lines.append(f"Replay:   kport replay {r.token}")
            lines.append(f"In pytest: --kp-replay={r.token}")
            again = f" --kp-memory-model={mm}" if s.memory_model else ""
            lines.append(f"Repeat:   python -m pytest '{self.node.nodeid}' --kp-replay={r.token}{again}")
        elif r.verdict == "ok":
            lines.append("(an OK verdict has no counterexample: nothing to replay)")
        tr = annotated_trace(prog, r)
        if tr is not None:
            self.node.stash.setdefault(_TRACE_KEY, []).append(tr["text"] + f"\nReplay: kport replay {r.token}\n")
        raise ScenarioMismatch("\n".join(lines))


def _replay_result(prog: Any, sched: Any) -> Any:
    from .engine.explorer import Result, _token, replay
    from .memory_model import stamp

    out, div = replay(prog, sched.choices, sched.labels)
    verdict = {"complete": "ok", "bug": "bug", "error": "error"}.get(out.status, "inconclusive")
    return stamp(
        Result(
            program=prog.name,
            variant=prog.variant,
            strategy="replay",
            verdict=verdict,
            kind=out.kind,
            message=out.message if div is None else f"{out.message} (replay diverged: {div})",
            executions=1,
            complete=False,
            token=_token(prog, out),
            counterexample=out if out.status in ("bug", "error") else None,
            faults=prog.faults,
            coverage="replay of one schedule",
        ),
        prog,
    )


@pytest.fixture
def kport(request: pytest.FixtureRequest) -> Kport:
    """Run kernel_port scenarios: ``kport.check(scenario, variant=None, expect=None)``."""
    return Kport(request.config.stash[_SETTINGS], request.node)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    traces = item.stash.get(_TRACE_KEY, None)
    if traces and rep.when == "call" and rep.failed:
        for t in traces:
            rep.sections.append(("kernel_port counterexample", t))
    return rep
