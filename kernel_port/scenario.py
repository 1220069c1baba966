# SPDX-License-Identifier: GPL-2.0-only
"""Scenarios: small readable programs with an expected verdict per variant.

A scenario reads like a litmus test::

    class LostSelfIpi(Scenario):
        '''One-sentence intent.  (The docstring is the bug story.)'''
        name = "irq_work.lost-self-ipi"
        cpus = 2
        faults = 1
        fault_kinds = ("lost-ipi",)
        expect = {"v6.17": BUG, "v6.17+herton-rfc": OK}

        def setup(self, k, m):      # kernel state and properties
            ...
        def cpu0(self, k):          # what CPU 0 does, in kernel terms
            ...

``k`` is the composed kernel of the variant under test, ``m`` the machine.
Properties: ``assert`` inside CPU code, ``m.eventually(desc, pred)`` for
liveness at the end, ``m.at_end(check)`` for final-state checks; BUG_ON,
WARN_ON (fatal when ``warn_fatal``), sleeping in atomic context and deadlocks
are always checked.

Scenario modules live in the project's ``scenarios/`` folder and are loaded
by path under the private prefix ``kernel_port_scenarios.``.

Every scenario is checked when its module loads (:func:`validate`): the types and
ranges of its attributes, a ``cpuN`` method for a CPU it does not have, configuration
keys no port reads (a typo such as ``"PREEMPT-RT"`` would read as False), ``expect``
entries naming unknown trees or patches, the signatures of ``setup`` and ``cpuN``.  A
mistake is one line naming the file and line; a module that does not import (a syntax
error, an exception, ``sys.exit()`` at import) likewise.  Either way that module's or
that scenario's cells are left out and every other scenario still works
(:func:`load_errors` lists what was left out; ``kport`` prints it).

Around the scenario's code: an assertion that fails in ``setup()`` is a defect of the
scenario (verdict ``error``), not a property violation; ``GreenletExit`` raised by CPU
code is an error too; the wall-clock watchdog (kernel_port/hangcheck.py) stops code
that never reaches a step; and a stall (an ``m.eventually`` obligation unmet) also says
what the ``m.at_end`` checks and the scenario's own state say at that point.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import inspect
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from greenlet import GreenletExit, greenlet

from . import hangcheck
from .engine import core
from .engine.core import Machine
from .engine.errors import KernelViolation, ProjectError, ScenarioError, Signalled, UnknownNameError
from .engine.timed import CostModel
from .engine.token import register_patch_info
from .scenario_frames import frame_methods
from .variants import Variant, load_by_path, parse_variant, patch_info, project_root

BUG = "BUG"
OK = "OK"
FIND = "find"

# The memory models a scenario runs under (DESIGN.md, "Memory model"; issue 18): sequential
# consistency, the default, and x86-TSO (store buffers; engine config ``MEMORY_MODEL``).
MEMORY_MODELS = ("sc", "tso")


def check_memory_model(value: Any, source: str = "--memory-model") -> str:
    """``value`` if it names a memory model, else a one-line usage error naming ``source``."""
    if value not in MEMORY_MODELS:
        from .engine.errors import UsageError

        shown = _clip(repr(value)[1:-1] if isinstance(value, str) else repr(value), 40)
        where = f"{source}: " if source else ""
        raise UsageError(f"{where}unknown memory model '{shown}' (expected sc or tso)")
    return str(value)


def split_cell(key: str, default: str) -> tuple[str, str]:
    """An ``expect`` key as (variant, memory model): ``"v6.17@tso"`` is v6.17 under tso, a key
    without a suffix is under ``default`` (the scenario's own model)."""
    variant, at, model = key.rpartition("@")
    if at and model in MEMORY_MODELS:
        return variant, model
    return key, default


@dataclass(frozen=True)
class TimedSpec:
    """A scenario's timed form (``timed = TimedSpec(...)``; kernel_port/simulate.py runs it)."""

    cost: CostModel
    calibration: str  # how the cost model was calibrated (what figure, which parameter)
    cpus: dict[str, int]  # size name -> CPUs ("full", "small")
    until_ns: dict[str, int]  # size name -> virtual duration
    sample_ns: dict[str, int]
    config: dict[str, Any] = field(default_factory=dict)
    size_config: dict[str, dict[str, Any]] = field(default_factory=dict)  # size -> extra config
    # size -> how long out of schedule() counts as a stall (the soft-lockup threshold)
    stall_ns: dict[str, int] = field(default_factory=dict)
    bounded_variants: tuple[str, ...] = ()  # variants whose backlog the scenario expects to stay bounded


class Scenario:
    name: ClassVar[str] = ""
    cpus: ClassVar[int] = 2
    faults: ClassVar[int] = 0
    fault_kinds: ClassVar[tuple[str, ...]] = ()
    preemptions: ClassVar[int | None] = None  # stated preemption bound (None: unbounded)
    step_budget: ClassVar[int] = 20000
    config: ClassVar[dict[str, Any]] = {}
    warn_fatal: ClassVar[bool] = False
    expect: ClassVar[dict[str, str]] = {}
    # For cells marked FIND: the verdict recorded after running the tool.
    found: ClassVar[dict[str, str]] = {}
    uses_kernel: ClassVar[bool] = True
    # Build the kernel state afresh for every execution instead of restoring the one built
    # once (engine/execution.py, _World): for a scenario whose set-up resets state its CPUs
    # reach only through a module's globals, which the snapshot cannot see.
    fresh_world: ClassVar[bool] = False
    # The memory model of the scenario's cells whose ``expect`` key has no ``@sc``/``@tso``
    # suffix, and of ``kport check`` without ``--memory-model``: "sc" or "tso" (issue 18).
    memory_model: ClassVar[str] = "sc"

    def setup(self, k: Any, m: Machine) -> None:
        pass

    @classmethod
    def own_memory_model(cls) -> str:
        """The scenario's memory model: ``memory_model``, or (for a scenario that states it the
        engine's way) its config's ``MEMORY_MODEL``; "sc" when neither says."""
        stated = next((vars(c)["memory_model"] for c in cls.__mro__ if "memory_model" in vars(c)), "sc")
        if not any("memory_model" in vars(c) for c in cls.__mro__ if c is not Scenario):
            cfg = cls.config if isinstance(cls.config, dict) else {}
            return str(cfg.get("MEMORY_MODEL", stated))
        return str(stated)

    @classmethod
    def cells(cls) -> list[tuple[str, str, str]]:
        """The scenario's expected cells as (variant, memory model, expected), in ``expect``'s
        order (a ``find`` cell as ``find``; :meth:`expected` gives its recorded verdict)."""
        own = cls.own_memory_model()
        return [(*split_cell(k, own), e) for k, e in cls.expect.items()]

    @classmethod
    def variants(cls) -> list[str]:
        """The variants the scenario has cells on (any model), in ``expect``'s order."""
        return list(dict.fromkeys(v for v, _m, _e in cls.cells()))

    @classmethod
    def expect_key(cls, variant: str, memory_model: str | None = None) -> str | None:
        """The ``expect`` key of the cell ``variant`` under ``memory_model`` (None: the
        scenario's own), or None if the scenario has no such cell."""
        own = cls.own_memory_model()
        model = memory_model or own
        return next((k for k in cls.expect if split_cell(k, own) == (variant, model)), None)

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.split("\n\n")[0].replace("\n", " ") if doc else ""

    @classmethod
    def expected(cls, variant: str, memory_model: str | None = None) -> str | None:
        """The expected verdict of ``variant`` under ``memory_model`` (None: the scenario's
        own), a ``find`` cell's recorded one; None if there is no such cell."""
        key = cls.expect_key(variant, memory_model)
        if key is None:
            return None
        e = cls.expect[key]
        if e == FIND:
            return cls.found.get(key, FIND)
        return e


@dataclass
class ScenarioProgram:
    """A scenario bound to a variant: the engine's Program protocol."""

    scenario: type[Scenario]
    variant_obj: Variant | None
    faults: int
    preemption_bound: int | None
    memory_model: str = "sc"  # "sc" or "tso": the machine's MEMORY_MODEL (see :attr:`config`)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def variant(self) -> str:
        return self.variant_obj.name if self.variant_obj is not None else "-"

    @property
    def ncpus(self) -> int:
        return self.scenario.cpus

    @property
    def fault_kinds(self) -> tuple[str, ...]:
        return self.scenario.fault_kinds

    @property
    def step_budget(self) -> int:
        return self.scenario.step_budget

    @property
    def config(self) -> dict[str, Any]:
        cfg = dict(self.scenario.config)
        if self.variant_obj is not None:
            cfg.update(self.variant_obj.config)
        # The program's memory model, whatever the scenario's config says (--memory-model wins).
        cfg.pop("MEMORY_MODEL", None)
        if self.memory_model == "tso":
            cfg["MEMORY_MODEL"] = "tso"
        return cfg

    @property
    def warn_fatal(self) -> bool:
        return self.scenario.warn_fatal

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A project scenario travels as its name (a worker process or a
        # Dask worker loads it from its own checkout); others as themselves.
        if scenarios().get(self.scenario.name) is self.scenario:
            vname = self.variant_obj.name if self.variant_obj is not None else None
            args = (self.scenario.name, vname, self.faults, self.preemption_bound, self.memory_model)
            return (_program_by_name, args)
        return object.__reduce_ex__(self, protocol)

    def build(self, m: Machine) -> dict[int, Any]:
        hangcheck.arm(m)
        sc = self.scenario()
        frame_methods(sc, Scenario)  # its callbacks show as rows under their caller
        k = self.variant_obj.instantiate(m) if self.variant_obj is not None else None
        m.kernel = k
        try:
            sc.setup(k, m)
        except AssertionError as e:
            # The property is checked while the CPUs run; set-up that fails an
            # assertion is the scenario's own defect, not a finding.
            raise ScenarioError("AssertionError", f"setup() failed an assertion: {_text(e) or 'assert'}") from e
        explain_stalls(sc, m)
        entries: dict[int, Any] = {}
        for c in range(self.ncpus):
            fn = getattr(sc, f"cpu{c}", None)
            if fn is not None:
                entries[c] = _bind(fn, k)
        return entries

    @property
    def reuse_world(self) -> bool:
        return not self.scenario.fresh_world

    def restored(self, m: Machine) -> None:
        """The world built by :meth:`build` was restored for another execution
        (engine/execution.py, _World): what build does besides creating state."""
        hangcheck.arm(m)


def _program_by_name(
    name: str, variant: str | None, faults: int, preemptions: int | None, memory_model: str = "sc"
) -> ScenarioProgram:
    sc = get_scenario(name)
    v = parse_variant(variant) if variant is not None else None
    return ScenarioProgram(sc, v, faults, preemptions, memory_model)


def _bind(fn: Any, k: Any) -> Any:
    def entry() -> None:
        try:
            fn(k)
        except GreenletExit:
            # The engine unwinds a parked CPU with GreenletExit between executions (no CPU is
            # running then); one raised while this CPU runs is the scenario's own.  Left alone,
            # it would end the CPU's greenlet silently and look like a CPU that never finishes.
            cur = core.CUR
            if cur is not None and cur.g is greenlet.getcurrent():
                raise ScenarioError("GreenletExit", f"CPU{cur.id}'s code raised GreenletExit") from None
            raise

    return entry


def _text(e: BaseException) -> str:
    try:
        return str(e)
    except Exception:
        return f"<{type(e).__name__}: str() raised>"


# -- stalls say what the final checks and the scenario's state say ------------------------------


def explain_stalls(sc: Scenario, m: Machine) -> None:
    """Make each liveness obligation registered by set-up report, when it is unmet, what the
    ``at_end`` checks say and the scenario's own state (the engine checks obligations first
    and stops at the first unmet one, so the final checks would otherwise never speak)."""
    obligations = getattr(m, "obligations", None)
    if not isinstance(obligations, list):
        return
    for i, item in enumerate(obligations):
        if isinstance(item, tuple) and len(item) == 2 and callable(item[1]):
            obligations[i] = (item[0], _Obligation(sc, m, str(item[0]), item[1]))


class _Obligation:
    def __init__(self, sc: Scenario, m: Machine, desc: str, pred: Any) -> None:
        self.sc, self.m, self.desc, self.pred = sc, m, desc, pred

    def __call__(self) -> bool:
        if self.pred():
            return True
        parts = [f"liveness obligation not met when no CPU could move: {self.desc}"]
        finals = []
        for check in list(getattr(self.m, "finals", ())):
            try:
                check()
                finals.append("passes")
            except KernelViolation as e:
                finals.append(f"{e.kind}: {e.message}")
            except AssertionError as e:
                finals.append(f"assertion failed: {_text(e)}" if _text(e) else "assertion failed")
            except Exception as e:
                finals.append(f"raised {type(e).__name__}: {_text(e)}")
        if finals:
            parts.append("at_end check(s): " + "; ".join(_clip(f, 160) for f in finals))
        state = scenario_state(self.sc)
        if state:
            parts.append(f"scenario state: {state}")
        raise KernelViolation("; ".join(parts), kind="stall")


def scenario_state(sc: Scenario) -> str:
    """The scenario's own state in one short line: its ``describe_state()`` if it has one,
    else its public attributes that are plain data or kernel structs (field values)."""
    describe = getattr(sc, "describe_state", None)
    if callable(describe):
        try:
            return _clip(" ".join(str(describe()).split()), 400)
        except Exception as e:
            return f"describe_state() raised {type(e).__name__}: {_clip(_text(e), 100)}"
    items = []
    for name, value in sorted(vars(sc).items()):
        if name.startswith("_"):
            continue
        text = _plain(value, 3)
        if text is not None:
            items.append(f"{name}={_clip(text, 100)}")
    return _clip(", ".join(items), 400)


def _plain(v: Any, depth: int) -> str | None:
    if v is None or isinstance(v, bool | int | float | str):
        return repr(v)
    if depth <= 0:
        return None
    if isinstance(v, list | tuple | set | frozenset):
        inner = [_plain(x, depth - 1) for x in list(v)[:20]]
        if any(x is None for x in inner):
            return None
        body = ", ".join(x for x in inner if x is not None)
        return {list: f"[{body}]", tuple: f"({body})"}.get(type(v), f"{{{body}}}")
    if isinstance(v, dict):
        pairs = []
        for key, val in list(v.items())[:20]:
            a, b = _plain(key, depth - 1), _plain(val, depth - 1)
            if a is None or b is None:
                return None
            pairs.append(f"{a}: {b}")
        return "{" + ", ".join(pairs) + "}"
    fields = getattr(type(v), "_kp_fields", None)
    if isinstance(fields, tuple) and fields:
        # A kernel struct: its fields that hold plain values (read engine-side: no step).
        try:
            vals = [(f.name, _plain(v.__dict__.get(f.name), 0)) for f in fields]
        except Exception:
            return None
        shown = [f"{name}={text}" for name, text in vals if text is not None]
        return "{" + ", ".join(shown) + "}" if shown else None
    return None


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


class _Registry(dict[str, type[Scenario]]):
    """The loaded scenarios, with what could not be loaded beside them (one line each)."""

    errors: list[str]


_SCENARIOS: dict[str, type[Scenario]] | None = None


def scenarios() -> dict[str, type[Scenario]]:
    """Every scenario of the project that loads and passes :func:`validate`, by name."""
    global _SCENARIOS
    if _SCENARIOS is None:
        found: dict[str, type[Scenario]] = {}
        errors: list[str] = []
        folder = project_root() / "scenarios"
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            try:
                mod = _load(path)
            except ProjectError as e:
                errors.append(e.one_line())
                continue
            for obj in vars(mod).values():
                if isinstance(obj, type) and issubclass(obj, Scenario) and obj is not Scenario and obj.name:
                    if found.get(obj.name) is obj:
                        continue
                    problem = validate(obj)
                    if problem is None and obj.name in found:
                        also = where(found[obj.name], "name")
                        problem = f"{where(obj, 'name')}: scenario name '{obj.name}' is defined twice (also at {also})"
                    if problem is not None:
                        errors.append(problem)
                        continue
                    found[obj.name] = obj
        reg = _Registry(sorted(found.items()))
        reg.errors = errors
        _SCENARIOS = reg
    return _SCENARIOS


def load_errors() -> list[str]:
    """One line per scenario module that does not load and per scenario that fails
    validation (their cells are left out; every other scenario works)."""
    return list(getattr(scenarios(), "errors", []))


def _load(path: Path) -> Any:
    """Import a scenario module; whatever it raises at import (``sys.exit()`` included) is a
    :class:`ProjectError` naming the file and line."""
    try:
        return load_by_path(path, "kernel_port_scenarios")
    except ProjectError as e:
        raise ProjectError(e.one_line().replace(str(path), _rel(path))) from None
    except BaseException as e:
        if Signalled.is_stop(e):
            raise
        for name, mod in list(sys.modules.items()):
            if name.startswith("kernel_port_scenarios.") and getattr(mod, "__file__", None) == str(path):
                del sys.modules[name]
        import traceback

        line = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
        where_ = f"{_rel(path)}:{line[-1]}" if line and line[-1] else _rel(path)
        first = (_text(e).splitlines() or [""])[0]
        raise ProjectError(f"{where_} does not load: {type(e).__name__}: {first}".rstrip(": ")) from None


class ScenarioNotLoaded(Exception):
    """A scenario that exists but failed validation: a defect of the corpus (kport: exit 4)."""


def get_scenario(name: str) -> type[Scenario]:
    sc = scenarios()
    if name not in sc:
        for line in load_errors():
            if f"scenario '{name}':" in line:
                raise ScenarioNotLoaded(f"scenario '{name}' is left out: {line}")
        shown = _clip(name, 60)
        near = difflib.get_close_matches(name[:200], list(sc), n=3, cutoff=0.4)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        bad = load_errors()
        if bad:
            hint += f"; note: {len(bad)} scenario module(s) or scenario(s) did not load: {bad[0]}"
        raise UnknownNameError(f"unknown scenario '{shown}'{hint}; 'kport list' shows them all")
    return sc[name]


# -- strict validation at load time ------------------------------------------------------------

MAX_CPUS = 64  # the explorer's machines are small; a timed form states its own sizes
MAX_TIMED_CPUS = 4096
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
_CPU_METHOD = re.compile(r"cpu(\d+)")
_VERDICTS = (BUG, OK, FIND)


def validate(cls: type[Scenario]) -> str | None:
    """The first mistake in scenario ``cls`` as one line ``FILE:LINE: scenario 'NAME': ...``,
    or None.  Checked: attribute types and ranges, cpuN methods against ``cpus``, the
    signatures of ``setup`` and ``cpuN``, configuration keys against those the ports read,
    fault kinds against those the engine knows, ``expect``/``found`` entries."""
    try:
        problem = _first_problem(cls)
    except ProjectError:
        raise  # the project itself (a patch module that does not load): not this scenario's
    except Exception as e:  # a class so odd that looking at it raises
        problem = ("", f"cannot be inspected: {type(e).__name__}: {_clip(_text(e), 120)}")
    if problem is None:
        return None
    attr, text = problem
    return f"{where(cls, attr)}: scenario '{_clip(str(cls.name), 60)}': {text}"


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _first_problem(cls: type[Scenario]) -> tuple[str, str] | None:
    name = cls.name
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return "name", f"name = {_clip(repr(name), 60)}: a name is letters, digits and . _ + - (at most 100)"
    cpus = cls.cpus
    if not _int(cpus) or not 1 <= cpus <= MAX_CPUS:
        return "cpus", f"cpus = {_clip(repr(cpus), 40)}: a scenario runs 1 to {MAX_CPUS} CPUs"
    if not _int(cls.faults) or not 0 <= cls.faults <= 64:
        return "faults", f"faults = {_clip(repr(cls.faults), 40)}: a fault budget is a whole number from 0 to 64"
    if cls.preemptions is not None and (not _int(cls.preemptions) or not 0 <= cls.preemptions <= 1000):
        return "preemptions", f"preemptions = {_clip(repr(cls.preemptions), 40)}: None or a whole number >= 0"
    if not _int(cls.step_budget) or not 1 <= cls.step_budget <= 10**8:
        return "step_budget", f"step_budget = {_clip(repr(cls.step_budget), 40)}: a whole number from 1 to 10**8"
    mm = cls.memory_model
    if mm not in MEMORY_MODELS:
        return "memory_model", f"memory_model = {_clip(repr(mm), 40)}: 'sc' or 'tso'"
    cfg_mm = cls.config.get("MEMORY_MODEL") if isinstance(cls.config, dict) else None
    if cfg_mm is not None:
        if cfg_mm not in MEMORY_MODELS:
            return "config", f"config MEMORY_MODEL = {_clip(repr(cfg_mm), 40)}: 'sc' or 'tso'"
        if any("memory_model" in vars(c) for c in cls.__mro__ if c is not Scenario) and cfg_mm != mm:
            return "config", f"config MEMORY_MODEL = {cfg_mm!r} contradicts memory_model = {mm!r} (state it once)"
    for flag in ("warn_fatal", "uses_kernel", "fresh_world"):
        if not isinstance(getattr(cls, flag), bool):
            return flag, f"{flag} = {_clip(repr(getattr(cls, flag)), 40)}: True or False"
    kinds = cls.fault_kinds
    if not isinstance(kinds, tuple | list) or not all(isinstance(x, str) for x in kinds):
        return "fault_kinds", f"fault_kinds = {_clip(repr(kinds), 60)}: a tuple of fault kinds such as ('lost-ipi',)"
    known_kinds = known_fault_kinds()
    for kind in kinds:
        if known_kinds and kind not in known_kinds:
            return "fault_kinds", f"unknown fault kind '{_clip(kind, 40)}'{_near(kind, known_kinds)}"
    problem = _check_config(cls.config, "config")
    if problem is not None:
        return "config", problem
    # CPUs and the methods that run on them
    for attr in dir(cls):
        mt = _CPU_METHOD.fullmatch(attr)
        if mt is None or not callable(getattr(cls, attr, None)):
            continue
        n = int(mt.group(1))
        if n >= cpus:
            last = f"cpu0..cpu{cpus - 1}" if cpus > 1 else "cpu0"
            return attr, f"{attr}() is never run: cpus = {cpus} (the CPUs are {last})"
        if not _binds(getattr(cls, attr), 2):
            return attr, f"{attr}() must take (self, k): the composed kernel"
    if not _binds(cls.setup, 3):
        return "setup", "setup() must take (self, k, m): the composed kernel and the machine"
    # expected verdicts
    expect = cls.expect
    if not isinstance(expect, dict):
        return "expect", f"expect = {_clip(repr(expect), 60)}: a dict of variant -> BUG, OK or find"
    seen: dict[tuple[str, str], str] = {}
    for key, e in expect.items():
        if e not in _VERDICTS:
            return "expect", f"expect[{_clip(repr(key), 40)}] = {_clip(repr(e), 40)}: expected BUG, OK or find"
        if not isinstance(key, str):
            return "expect", f"expect key {_clip(repr(key), 40)}: a variant name (TREE+PATCH+...[@sc|@tso])"
        v, model = split_cell(key, cls.own_memory_model())
        if "@" in v:
            return "expect", f"expect key '{_clip(key, 60)}': a variant, optionally with @sc or @tso"
        try:
            parse_variant(v)
        except UnknownNameError as err:
            return "expect", f"expect names variant '{_clip(v, 60)}': {err.one_line()}"
        if (v, model) in seen:
            return "expect", f"expect keys '{_clip(seen[(v, model)], 60)}' and '{_clip(key, 60)}' are the same cell"
        seen[(v, model)] = key
    found = cls.found
    if not isinstance(found, dict):
        return "found", f"found = {_clip(repr(found), 60)}: a dict of variant -> BUG or OK"
    for v, e in found.items():
        if expect.get(v) != FIND:
            return "found", f"found[{_clip(repr(v), 40)}]: only cells expected as 'find' record a found verdict"
        if e not in (BUG, OK):
            return "found", f"found[{_clip(repr(v), 40)}] = {_clip(repr(e), 40)}: expected BUG or OK"
    return _check_timed(cls)


def _check_timed(cls: type[Scenario]) -> tuple[str, str] | None:
    spec = getattr(cls, "timed", None)
    if spec is None:
        return None
    if not isinstance(spec, TimedSpec):
        return "timed", f"timed = {_clip(repr(spec), 60)}: a TimedSpec(...)"
    if not callable(getattr(cls, "timed_build", None)) or not _binds(cls.timed_build, 4):  # type: ignore[attr-defined]
        return "timed", "a timed form needs timed_build(self, k, m, size)"
    for size, n in spec.cpus.items():
        if not _int(n) or not 1 <= n <= MAX_TIMED_CPUS:
            text = f"timed size '{_clip(str(size), 20)}' has cpus = {_clip(repr(n), 20)}"
            return "timed", f"{text}: 1 to {MAX_TIMED_CPUS}"
        if size not in spec.until_ns or size not in spec.sample_ns:
            return "timed", f"timed size '{_clip(str(size), 20)}' has no until_ns or sample_ns"
    problem = _check_config(spec.config, "timed config")
    for extra in spec.size_config.values():
        problem = problem or _check_config(extra, "timed size_config")
    return ("timed", problem) if problem is not None else None


def _check_config(cfg: Any, what: str) -> str | None:
    if not isinstance(cfg, dict):
        return f"{what} = {_clip(repr(cfg), 60)}: a dict of configuration keys"
    known = known_config_keys()
    for key in cfg:
        if not isinstance(key, str):
            return f"{what} key {_clip(repr(key), 40)}: configuration keys are names"
        if known and key not in known:
            return f"{what} key '{_clip(key, 40)}' is read by no port{_near(key, known)}"
    return None


def _near(name: str, known: set[str] | frozenset[str]) -> str:
    near = difflib.get_close_matches(name[:100], sorted(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(near)}?)" if near else ""


def _binds(fn: Any, nargs: int) -> bool:
    """Whether ``fn`` (as found on the class) accepts ``nargs`` positional arguments."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return True  # a builtin or something else we cannot look into: leave it to the run
    try:
        sig.bind(*([None] * nargs))
    except TypeError:
        return False
    return True


_CONFIG_READS = (
    re.compile(r"""kconfig\(\s*["']([^"'\s]+)["']"""),
    re.compile(r"""\w*(?:config|cfg)\.get\(\s*["']([^"'\s]+)["']"""),
    re.compile(r"""\w*(?:config|cfg)\[\s*["']([^"'\s]+)["']\s*\]"""),
    re.compile(r"""["']([^"'\s]+)["']\s+(?:not\s+)?in\s+[\w.]*(?:config|cfg)\b"""),
)
_FAULT_KINDS = re.compile(r"""fault_allowed\(\s*["']([^"'\s]+)["']""")


def _sources() -> list[Path]:
    pkg = Path(__file__).resolve().parent
    files = sorted(pkg.rglob("*.py"))
    try:
        root = project_root()
    except ProjectError:
        return files
    for sub in ("patches", "scenarios"):
        files += sorted((root / sub).glob("*.py"))
    return files


@cache
def _scan(root: str) -> tuple[frozenset[str], frozenset[str]]:
    config: set[str] = set()
    kinds: set[str] = set()
    for path in _sources():
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        lines = "\n".join(ln for ln in text.splitlines() if "config" in ln or "cfg" in ln)
        for rx in _CONFIG_READS:
            config.update(rx.findall(lines))
        if "fault_allowed" in text:
            kinds.update(_FAULT_KINDS.findall(text))
    return frozenset(config), frozenset(kinds)


def _root_key() -> str:
    try:
        return str(project_root())
    except ProjectError:
        return ""


def known_config_keys() -> frozenset[str]:
    """Configuration keys some code reads (``kconfig("X")``, ``m.config.get("x")``, ...),
    found by reading the package's, the patches' and the scenarios' source."""
    return _scan(_root_key())[0]


def known_fault_kinds() -> frozenset[str]:
    """Fault kinds the engine asks about (``fault_allowed("lost-ipi")``)."""
    return _scan(_root_key())[1]


# -- where things are -------------------------------------------------------------------------


def _rel(path: Path | str) -> str:
    p = Path(path)
    for base in (_root_key(), str(Path.cwd())):
        if not base:
            continue
        try:
            return str(p.resolve().relative_to(Path(base).resolve()))
        except (ValueError, OSError):
            continue
    return str(p)


@cache
def _class_lines(path: str) -> dict[str, tuple[int, dict[str, int]]]:
    """Class name -> (its line, attribute or method name -> line) for a module's source."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return {}
    out: dict[str, tuple[int, dict[str, int]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            attrs: dict[str, int] = {}
            for item in node.body:
                targets: list[ast.expr] = []
                if isinstance(item, ast.Assign):
                    targets = item.targets
                elif isinstance(item, ast.AnnAssign):
                    targets = [item.target]
                elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    attrs[item.name] = item.lineno
                for t in targets:
                    if isinstance(t, ast.Name):
                        attrs[t.id] = item.lineno
            out.setdefault(node.name, (node.lineno, attrs))
    return out


def where(cls: type, attr: str = "") -> str:
    """``FILE:LINE`` of scenario class ``cls``, or of the line that sets ``attr`` in it (or in
    the base class it inherits ``attr`` from)."""
    owner = cls
    if attr:
        owner = next((c for c in cls.__mro__ if attr in vars(c)), cls)
        if owner is Scenario or owner is object:
            owner = cls
    mod = sys.modules.get(owner.__module__)
    path = getattr(mod, "__file__", None)
    if not path:
        return f"<{owner.__module__}>"
    line = 0
    fn = vars(owner).get(attr) if attr else None
    code = getattr(fn, "__code__", None)
    if code is not None and code.co_filename == path:
        line = code.co_firstlineno
    else:
        start, attrs = _class_lines(path).get(owner.__name__, (0, {}))
        line = attrs.get(attr, start) if attr else start
    return f"{_rel(path)}:{line}" if line else _rel(path)


def code_fingerprint(scenario: str, variant: str) -> dict[str, str]:
    """The code a result of ``scenario`` on ``variant`` ran, as file -> sha256 prefix: the
    scenario's module, every module of the variant's classes (tree, patches, ports) and the
    engine.  Saved with each result, so that a replay that no longer fits can say what changed."""
    files: set[str] = set()
    try:
        cls = get_scenario(scenario)
        files.add(str(sys.modules[cls.__module__].__file__))
    except (UnknownNameError, KeyError, AttributeError):
        pass
    try:
        v = parse_variant(variant)
        for c in v.cls.__mro__:
            f = getattr(sys.modules.get(c.__module__), "__file__", None)
            if f:
                files.add(f)
    except UnknownNameError:
        pass
    package = Path(__file__).resolve().parent
    files.update(str(p) for p in (package / "engine").glob("*.py"))
    out: dict[str, str] = {}
    for f in sorted(files):
        try:
            data = Path(f).read_bytes()
        except OSError:
            continue
        out[_code_name(Path(f), package)] = hashlib.sha256(data).hexdigest()[:16]
    return dict(sorted(out.items()))


def _code_name(path: Path, package: Path) -> str:
    """A file's name that does not depend on where the clone is: ``kernel_port/...`` for the
    package, ``scenarios/...`` and ``patches/...`` for the project's own folders."""
    p = path.resolve()
    try:
        return str(p.relative_to(package.parent)) if p.is_relative_to(package) else str(p.relative_to(project_root()))
    except (ValueError, ProjectError):
        return str(p)


def default_variant(sc: type[Scenario]) -> str:
    return next(iter(sc.variants()), "v6.17")


def program(
    name: str,
    variant: str | None = None,
    *,
    faults: int | None = None,
    preemptions: int | None = None,
    memory_model: str | None = None,
) -> ScenarioProgram:
    """Scenario ``name`` on ``variant`` (default: its first) under ``memory_model`` (default:
    the scenario's own; anything but "sc" or "tso" is a usage error)."""
    sc = get_scenario(name)
    vname = variant or default_variant(sc)
    v = parse_variant(vname)
    model = sc.own_memory_model() if memory_model is None else check_memory_model(memory_model, "")
    return ScenarioProgram(
        sc,
        v,
        sc.faults if faults is None else faults,
        preemptions if preemptions is not None else sc.preemptions,
        model,
    )


# A token names the patches of its variant with their titles and links (engine/token.py): the
# engine asks this package for them, as it imports nothing from outside itself.
register_patch_info(patch_info)
