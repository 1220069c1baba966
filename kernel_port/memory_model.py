# SPDX-License-Identifier: GPL-2.0-only
"""Which memory model a run used, on its result and its token (issue 18, "Selection").

A scenario program runs under ``sc`` (sequential consistency) or ``tso`` (x86-TSO: the
engine's store buffers, config ``MEMORY_MODEL``); see kernel_port/scenario.py
(``Scenario.memory_model``, ``program(..., memory_model=)``).  The engine's results do not
say which: :func:`check` runs the engine's search and states the model on the result
(``stats["memory_model"]``, read by ``review.memory_model_of``) and in its token (option
``mm``, engine/token.py), so that ``kport replay`` of a ``tso`` token runs ``tso``.  A token
without ``mm`` is ``sc``: every token written before the TSO engine replays as it did.
"""

from __future__ import annotations

from typing import Any

from .engine import explorer
from .engine.errors import Interrupted
from .engine.token import token_options, with_memory_model


def model_of(program: Any) -> str:
    """The memory model ``program`` runs under (its config's ``MEMORY_MODEL``, else sc)."""
    return str(token_options(program).get("mm", "sc"))


def stamp(result: Any, program: Any) -> Any:
    """``result`` of ``program`` stating the program's memory model (and its token too)."""
    mm = model_of(program)
    stats = getattr(result, "stats", None)
    if isinstance(stats, dict):
        stats["memory_model"] = mm
    token = getattr(result, "token", None)
    if token:
        result.token = with_memory_model(token, mm)
    return result


def check(program: Any, strategy: str = "dfs", **kw: Any) -> Any:
    """The engine's ``check`` of ``program``, its result (and an interrupted search's partial
    result) stating the memory model."""
    try:
        return stamp(explorer.check(program, strategy, **kw), program)
    except Interrupted as e:
        if e.partial is not None:
            stamp(e.partial, program)
        raise


def memory_model_of(r: Any) -> str:
    """The memory model a result was found under: the result's own word if the engine gives one,
    else the default, sequential consistency."""
    mm = getattr(r, "memory_model", None)
    if not mm:
        mm = (getattr(r, "stats", None) or {}).get("memory_model")
    return str(mm) if mm else "sc"
