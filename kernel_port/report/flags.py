# SPDX-License-Identifier: GPL-2.0-only
"""Flag words decoded by name, for traces and diagrams.

A trace shows ``atomic_fetch_or(work0.flags.counter): 0 -> 0x23``; a reviewer reads
``PENDING|BUSY|type IRQ_WORK``.  Which location is a flag word is known from the objects of
the execution (an ``irq_work``'s flags, a CSD's ``u_flags``, a ``tick_sched``'s flags, a
thread_info's flags, an ``irq_desc``'s ``istate``), and the bit names from the port of the
header that defines them.  :func:`decoders` maps each such location of a machine to its
decoder; :func:`decode_text` rewrites the values in a trace row's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Decoder = Callable[[int], str]

_TYPES = {0x00: "ASYNC", 0x10: "SYNC", 0x20: "IRQ_WORK", 0x30: "TTWU"}


def _bits(names: list[tuple[int, str]], rest: Callable[[int], list[str]] | None = None) -> Decoder:
    def dec(v: int) -> str:
        if not isinstance(v, int) or isinstance(v, bool):
            return str(v)
        parts = [name for bit, name in names if v & bit]
        left = v & ~sum(bit for bit, _ in names)
        if rest is not None:
            parts += rest(left)
        elif left:
            parts.append(hex(left))
        return "|".join(parts) if parts else "0"

    return dec


def _csd_type(v: int) -> list[str]:
    t = v & 0xF0
    out = [f"type {_TYPES[t]}"] if t in _TYPES and t else []
    if v & ~0xF0:
        out.append(hex(v & ~0xF0))
    return out


IRQ_WORK_FLAGS = _bits([(0x01, "PENDING"), (0x02, "BUSY"), (0x04, "LAZY"), (0x08, "HARD_IRQ")], _csd_type)
CSD_FLAGS = _bits([(0x01, "LOCK")], _csd_type)


def _tick_flags() -> Decoder | None:
    try:
        from ..kernel.time import tick_sched as ts
    except ImportError:  # pragma: no cover (the port is part of the package)
        return None
    names = sorted((v, k.removeprefix("TS_FLAG_")) for k, v in vars(ts).items() if k.startswith("TS_FLAG_"))
    return _bits([(v, k) for v, k in names if isinstance(v, int)])


def _istate() -> Decoder | None:
    try:
        from ..kernel.irq import irqdesc
    except ImportError:  # pragma: no cover
        return None
    names = sorted((v, k) for k, v in vars(irqdesc).items() if k.startswith("IRQS_") and isinstance(v, int))
    return _bits(names)


def decoders(m: Any) -> dict[Any, Decoder]:
    """Location key -> decoder, for every flag word among the objects of machine ``m``."""
    out: dict[Any, Decoder] = {}
    tick = _tick_flags()
    istate = _istate()
    for obj in list(getattr(m, "objs", {}).values()):
        cls = type(obj).__name__
        d = getattr(obj, "__dict__", {})
        if cls == "irq_work":
            node = d.get("node")
            flags = getattr(node, "__dict__", {}).get("a_flags")
            oid = getattr(flags, "__dict__", {}).get("_oid")
            if oid is not None:
                out[(oid, "counter")] = IRQ_WORK_FLAGS
        elif cls == "call_single_node" and "u_flags" in d:
            out[(d["_oid"], "u_flags")] = CSD_FLAGS
        elif cls == "tick_sched" and tick is not None:
            out[(d["_oid"], "flags")] = tick
        elif cls == "irq_desc" and istate is not None and "istate" in d:
            out[(d["_oid"], "istate")] = istate
    return out


_HEX = re.compile(r"(?<![\w.&])(0x[0-9a-f]+|\d+)(?![\w.])")


def decode_text(text: str, label: str, dec: Decoder) -> str:
    """``text`` (a trace row about location ``label``) with the numbers after the label decoded."""
    i = text.find(label)
    if i < 0:
        return text
    j = i + len(label)

    def sub(mo: re.Match[str]) -> str:
        s = mo.group(1)
        try:
            v = int(s, 16) if s.startswith("0x") else int(s)
        except ValueError:
            return s
        return dec(v)

    return text[:j] + _HEX.sub(sub, text[j:])
