# SPDX-License-Identifier: GPL-2.0-only
"""Per-execution set-up (engine/execution.py, _World): a world built once and restored in place
is the world a fresh build makes, and executions on it end exactly as on a fresh one."""

from __future__ import annotations

import random
from types import FunctionType, MethodType
from typing import Any

import pytest

from kernel_port.engine import execution, memory
from kernel_port.engine.core import Machine
from kernel_port.engine.execution import SimpleProgram, run
from kernel_port.engine.explorer import RandomDriver
from kernel_port.matrix import cells
from kernel_port.scenario import program

_ATOMS = (type(None), bool, int, float, complex, str, bytes, type, range)


def difference(a: Any, b: Any) -> str | None:
    """Where two object graphs differ (values, types, aliasing), or None."""
    memo: dict[int, int] = {}
    stack: list[tuple[Any, Any, str]] = [(a, b, "world")]
    while stack:
        x, y, path = stack.pop()
        if type(x) is not type(y):
            return f"{path}: {type(x).__name__} vs {type(y).__name__}"
        if isinstance(x, _ATOMS):
            if x != y:
                return f"{path}: {x!r} vs {y!r}"
            continue
        if id(x) in memo:
            if memo[id(x)] != id(y):
                return f"{path}: shared differently"
            continue
        memo[id(x)] = id(y)
        if isinstance(x, dict):
            if len(x) != len(y):
                keys = sorted(map(repr, x))[:8], sorted(map(repr, y))[:8]
                return f"{path}: {len(x)} vs {len(y)} entries ({keys[0]} vs {keys[1]})"
            for i, ((kx, vx), (ky, vy)) in enumerate(zip(x.items(), y.items(), strict=False)):
                stack.append((kx, ky, f"{path}<key {i}>"))
                stack.append((vx, vy, f"{path}[{kx!r}]"))
        elif isinstance(x, list | tuple):
            if len(x) != len(y):
                return f"{path}: length {len(x)} vs {len(y)}"
            stack += [(p, q, f"{path}[{i}]") for i, (p, q) in enumerate(zip(x, y, strict=False))]
        elif isinstance(x, set | frozenset):
            if len(x) != len(y):
                return f"{path}: {len(x)} vs {len(y)} members"
            if all(isinstance(v, (*_ATOMS, tuple)) for v in x) and x != y:
                return f"{path}: {sorted(map(repr, x))} vs {sorted(map(repr, y))}"
        elif type(x) is FunctionType:
            if x.__code__ is not y.__code__:
                return f"{path}: another function"
            for i, (cx, cy) in enumerate(zip(x.__closure__ or (), y.__closure__ or (), strict=False)):
                try:
                    stack.append((cx.cell_contents, cy.cell_contents, f"{path}.<cell {i}>"))
                except ValueError:
                    pass
        elif type(x) is MethodType:
            if x.__func__ is not y.__func__:
                return f"{path}: another method"
            stack.append((x.__self__, y.__self__, f"{path}.__self__"))
        else:
            d = getattr(x, "__dict__", None)
            if isinstance(d, dict):
                stack.append((d, y.__dict__, f"{path}.__dict__"))
            for k in type(x).__mro__:
                for s in vars(k).get("__slots__", ()):
                    if s not in ("__dict__", "__weakref__"):
                        stack.append((getattr(x, s, None), getattr(y, s, None), f"{path}.{s}"))
    return None


def fresh(prog: Any) -> tuple[Machine, dict[int, Any]]:
    m = Machine(
        prog.ncpus,
        faults=prog.faults,
        fault_kinds=prog.fault_kinds,
        step_budget=prog.step_budget,
        config=prog.config,
        warn_fatal=prog.warn_fatal,
    )
    memory.BUILDING[0] = m
    try:
        entries = prog.build(m)
    finally:
        memory.BUILDING[0] = None
    return m, entries


def one_cell_per_scenario() -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for s, v, _e in cells([], []):
        out.setdefault(s.name, v)
    return sorted(out.items())


@pytest.mark.parametrize("name,variant", one_cell_per_scenario())
def test_restored_world_is_a_fresh_world(name: str, variant: str) -> None:
    execution.forget_world()
    prog = program(name, variant)
    outs = [run(prog, RandomDriver(random.Random(i))) for i in range(6)]
    info = execution.world_info(prog)
    assert info["reused"], info
    kept = execution._KEPT[0]
    assert kept is not None and kept.world is not None
    execution._reap()
    kept.world.restore()
    m, entries = fresh(prog)
    assert difference((kept.world.m, kept.world.entries), (m, entries)) is None
    # and the executions ended as on fresh worlds
    for i, o in enumerate(outs):
        f = run(prog, RandomDriver(random.Random(i)), reuse=False)
        assert (o.status, o.kind, o.message, o.choices, o.steps, o.faults) == (
            f.status,
            f.kind,
            f.message,
            f.choices,
            f.steps,
            f.faults,
        )
    execution.forget_world()


def test_python_side_state_is_reset() -> None:
    """State the program keeps outside kernel structs (a scenario's self.r dicts, closures'
    cells, lists) starts each execution as set-up left it."""

    def build(m: Machine) -> dict[int, Any]:
        seen: dict[str, int] = {"n": 0}
        log: list[int] = []
        count = 0

        def cpu() -> None:
            nonlocal count
            assert seen["n"] == 0 and not log and count == 0, (seen, log, count)
            seen["n"] += 1
            log.append(1)
            count += 1

        return {0: cpu}

    prog = SimpleProgram("t", 1, build)
    execution.forget_world()
    for _ in range(5):
        out = run(prog, RandomDriver(random.Random(0)))
        assert out.status == "complete", out.message
    assert execution.world_info(prog)["reused"]


def test_unsafe_world_is_rebuilt() -> None:
    """A world holding an object whose state the snapshot cannot save (a random.Random) is
    built afresh for every execution, and says why."""

    def build(m: Machine) -> dict[int, Any]:
        rng = random.Random(1)

        def cpu() -> None:
            assert rng.random() == random.Random(1).random()

        return {0: cpu}

    prog = SimpleProgram("t2", 1, build)
    execution.forget_world()
    for _ in range(4):
        assert run(prog, RandomDriver(random.Random(0))).status == "complete"
    info = execution.world_info(prog)
    assert not info["reused"] and info["unsafe"] == ["random.Random"]


def test_kept_machines_are_not_reused_by_default() -> None:
    """A machine handed out (keep_machine, tracing) stays the caller's: the next execution
    does not restore it (engine/shortest.py compares two such machines)."""
    prog = program("irq_work.lost-self-ipi", "v6.17")
    execution.forget_world()
    a = run(prog, RandomDriver(random.Random(0)), keep_machine=True).machine
    b = run(prog, RandomDriver(random.Random(0)), keep_machine=True).machine
    c = run(prog, RandomDriver(random.Random(0)), keep_machine=True).machine
    assert a is not b and b is not c and len(a.events) == len(b.events) > 0
    d = run(prog, RandomDriver(random.Random(0)), keep_machine=True, reuse=True).machine
    e = run(prog, RandomDriver(random.Random(0)), keep_machine=True, reuse=True).machine
    f = run(prog, RandomDriver(random.Random(0)), keep_machine=True, reuse=True).machine
    assert e is f and d is not e and len(f.events) == len(a.events)
    execution.forget_world()


def test_objects_made_before_set_up_are_left_alone() -> None:
    """What set-up only refers to (the set that kport matrix's watched functions fill, a
    module's table) is not the world's: a restore leaves it as a fresh build would."""
    from dataclasses import replace

    from kernel_port.review import watching

    base = program("x86.vector-overwrite", "v6.16+ce0b5eed")
    names = ["reevaluate_vector", "call_irq_handler", "common_interrupt"]
    found = []
    for reuse in (None, False):
        wv, hits = watching(base.variant_obj, names)
        prog = replace(base, variant_obj=wv)
        execution.forget_world()
        last: set[str] = set()
        for i in range(12):
            before = set(hits)
            run(prog, RandomDriver(random.Random(i)), reuse=reuse)
            last = set(hits) - before
        assert execution.world_info(prog)["reused"] is (reuse is None)
        found.append(set(hits))
    assert found[0] == found[1] and found[0] != last  # every run's hits, not the last one's


_REGISTRY: list[Any] = []


def test_set_up_that_resets_module_state_opts_out() -> None:
    """State a CPU's code reaches only through a module's globals, reset by set-up, is beyond
    what the snapshot can see: such a program says ``reuse_world = False`` (a scenario:
    ``fresh_world = True``) and is built for every execution."""

    def build(m: Machine) -> dict[int, Any]:
        _REGISTRY.clear()
        _REGISTRY.append({"n": 0})

        def cpu() -> None:
            assert _REGISTRY[0]["n"] == 0
            _REGISTRY[0]["n"] += 1

        return {0: cpu}

    prog = SimpleProgram("t3", 1, build)
    prog.reuse_world = False  # type: ignore[attr-defined]
    execution.forget_world()
    for _ in range(4):
        assert run(prog, RandomDriver(random.Random(0))).status == "complete"
    assert not execution.world_info(prog)["reused"]


def test_scenario_can_opt_out() -> None:
    from dataclasses import replace

    base = program("irq_work.lost-self-ipi", "v6.17")
    cls = type("Fresh", (base.scenario,), {"fresh_world": True})
    prog = replace(base, scenario=cls)
    execution.forget_world()
    for i in range(3):
        run(prog, RandomDriver(random.Random(i)))
    assert not execution.world_info(prog)["reused"]
    execution.forget_world()
