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
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, ClassVar

from .engine.core import Machine
from .engine.errors import ProjectError, UnknownNameError
from .variants import Variant, load_by_path, parse_variant, project_root

BUG = "BUG"
OK = "OK"
FIND = "find"


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

    def setup(self, k: Any, m: Machine) -> None:
        pass

    @classmethod
    def summary(cls) -> str:
        doc = (cls.__doc__ or "").strip()
        return doc.split("\n\n")[0].replace("\n", " ") if doc else ""

    @classmethod
    def expected(cls, variant: str) -> str | None:
        e = cls.expect.get(variant)
        if e == FIND:
            return cls.found.get(variant, FIND)
        return e


@dataclass
class ScenarioProgram:
    """A scenario bound to a variant: the engine's Program protocol."""

    scenario: type[Scenario]
    variant_obj: Variant | None
    faults: int
    preemption_bound: int | None

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
        return cfg

    @property
    def warn_fatal(self) -> bool:
        return self.scenario.warn_fatal

    def __reduce_ex__(self, protocol: Any) -> Any:
        # A project scenario travels as its name (a worker process or a
        # Dask worker loads it from its own checkout); others as themselves.
        if scenarios().get(self.scenario.name) is self.scenario:
            vname = self.variant_obj.name if self.variant_obj is not None else None
            return (_program_by_name, (self.scenario.name, vname, self.faults, self.preemption_bound))
        return object.__reduce_ex__(self, protocol)

    def build(self, m: Machine) -> dict[int, Any]:
        sc = self.scenario()
        k = self.variant_obj.instantiate(m) if self.variant_obj is not None else None
        m.kernel = k
        sc.setup(k, m)
        entries: dict[int, Any] = {}
        for c in range(self.ncpus):
            fn = getattr(sc, f"cpu{c}", None)
            if fn is not None:
                entries[c] = _bind(fn, k)
        return entries


def _program_by_name(name: str, variant: str | None, faults: int, preemptions: int | None) -> ScenarioProgram:
    sc = get_scenario(name)
    v = parse_variant(variant) if variant is not None else None
    return ScenarioProgram(sc, v, faults, preemptions)


def _bind(fn: Any, k: Any) -> Any:
    return lambda: fn(k)


_SCENARIOS: dict[str, type[Scenario]] | None = None


def scenarios() -> dict[str, type[Scenario]]:
    global _SCENARIOS
    if _SCENARIOS is None:
        found: dict[str, type[Scenario]] = {}
        folder = project_root() / "scenarios"
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            mod = load_by_path(path, "kernel_port_scenarios")
            for obj in vars(mod).values():
                if isinstance(obj, type) and issubclass(obj, Scenario) and obj is not Scenario and obj.name:
                    if obj.name in found and found[obj.name] is not obj:
                        raise ProjectError(f"scenario name '{obj.name}' is defined twice")
                    found[obj.name] = obj
        _SCENARIOS = dict(sorted(found.items()))
    return _SCENARIOS


def get_scenario(name: str) -> type[Scenario]:
    sc = scenarios()
    if name not in sc:
        near = difflib.get_close_matches(name, list(sc), n=3, cutoff=0.4)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise UnknownNameError(f"unknown scenario '{name}'{hint}; 'kport list' shows them all")
    return sc[name]


def default_variant(sc: type[Scenario]) -> str:
    return next(iter(sc.expect), "v6.17")


def program(
    name: str,
    variant: str | None = None,
    *,
    faults: int | None = None,
    preemptions: int | None = None,
) -> ScenarioProgram:
    sc = get_scenario(name)
    vname = variant or default_variant(sc)
    v = parse_variant(vname)
    return ScenarioProgram(
        sc, v, sc.faults if faults is None else faults, preemptions if preemptions is not None else sc.preemptions
    )
