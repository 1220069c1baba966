# SPDX-License-Identifier: GPL-2.0-only
"""An operational x86-TSO reference, independent of the engine: every final state.

The abstract machine of Sewell, Sarkar, Owens, Zappa Nardelli, Myreen, "x86-TSO: a rigorous
and usable programmer's model for x86 multiprocessors" (CACM 53(7), 2010): shared memory,
and per CPU a FIFO store buffer.  A CPU's store goes into its buffer; a load returns the
newest buffered store to that location from its own buffer, else memory; the oldest buffered
store of any CPU may reach memory at any time; MFENCE and every LOCK'd instruction run only
when the CPU's buffer is empty, and a LOCK'd read-modify-write acts on memory at once.

It interprets the straight-line subset of tests/genprog.py programs (reads, writes, "winc",
cmpxchg, xchg, the atomic counter operations, smp_mb, branches) by exploring every
transition of that machine (a CPU's next operation, or a buffer's oldest store reaching
memory) from every reachable state, with no reduction, and returns the set of final states
in the form the generated programs' ``at_end`` check records.  tests/test_tso.py compares
it with the engine's TSO machine (enumerated by tests/oracle.py and searched by DPOR).
"""

from __future__ import annotations

from typing import Any

from .genprog import NCNT, NLOCKS, NVARS, Spec

SUBSET = {"r", "w", "winc", "cas", "xchg", "inc", "dec", "add", "fadd", "cread", "cset", "mb", "if"}
LOCKED = {"cas", "xchg", "inc", "dec", "add", "fadd", "mb"}  # wait for an empty buffer


def in_subset(spec: Spec) -> bool:
    def ok(ops: tuple[Any, ...]) -> bool:
        return all(op[0] in SUBSET and (op[0] != "if" or (ok(op[3]) and ok(op[4]))) for op in ops)

    return not spec.handler and spec.source < 0 and spec.faults == 0 and all(ok(p) for p in spec.progs)


def _loc(op: tuple[Any, ...]) -> str:
    """The location an operation touches: mem.v<i> or cnt<i>.counter."""
    if op[0] in ("inc", "dec", "add", "fadd", "cread", "cset"):
        return f"c{op[1]}"
    return f"v{op[1]}"


def finals(spec: Spec) -> set[Any]:
    """Every final state of ``spec`` on the x86-TSO abstract machine."""
    assert in_subset(spec)
    n = spec.ncpus
    locs = [f"v{i}" for i in range(NVARS)] + [f"c{i}" for i in range(NCNT)]
    # A CPU's control: a stack of frames (ops, next index, the last value read in that frame,
    # as the generated program's run_ops keeps ``last`` per call).
    start = (
        tuple(sorted((x, 0) for x in locs)),
        tuple(() for _ in range(n)),  # buffers: ((loc, value), ...) oldest first
        tuple(((spec.progs[c], 0, 0),) for c in range(n)),
        tuple(() for _ in range(n)),  # logs
    )
    out: set[Any] = set()
    seen: set[Any] = set()
    todo = [start]
    while todo:
        state = todo.pop()
        if state in seen:
            continue
        seen.add(state)
        mem_t, bufs, ctls, logs = state
        mem = dict(mem_t)
        moved = False
        for c in range(n):
            # The buffer's oldest store reaches memory.
            if bufs[c]:
                (x, v), rest = bufs[c][0], bufs[c][1:]
                m2 = dict(mem)
                m2[x] = v
                todo.append((tuple(sorted(m2.items())), _put(bufs, c, rest), ctls, logs))
                moved = True
            nxt = _next(ctls[c])
            if nxt is None:
                continue
            op, frames = nxt
            if op[0] in LOCKED and bufs[c]:
                continue  # waits for the buffer to drain
            todo.append(_exec(op, c, frames, mem, bufs, ctls, logs))
            moved = True
        if not moved:
            out.add(
                (
                    tuple(mem[f"v{i}"] for i in range(NVARS)),
                    tuple(mem[f"c{i}"] for i in range(NCNT)),
                    tuple(0 for _ in range(NLOCKS)),
                    logs,
                    (),
                )
            )
    return out


def _put(t: tuple[Any, ...], c: int, v: Any) -> tuple[Any, ...]:
    return t[:c] + (v,) + t[c + 1 :]


def _next(frames: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]] | None:
    """The CPU's next operation and its frames with that operation consumed (None: done)."""
    while frames:
        ops, i, last = frames[-1]
        if i < len(ops):
            return ops[i], frames[:-1] + ((ops, i + 1, last),)
        frames = frames[:-1]
    return None


def _exec(
    op: tuple[Any, ...],
    c: int,
    frames: tuple[Any, ...],
    mem: dict[str, Any],
    bufs: tuple[Any, ...],
    ctls: tuple[Any, ...],
    logs: tuple[Any, ...],
) -> Any:
    k = op[0]
    buf = bufs[c]
    log = logs[c]

    def load(x: str) -> Any:
        for y, v in reversed(buf):
            if y == x:
                return v
        return mem[x]

    def set_last(fr: tuple[Any, ...], v: Any) -> tuple[Any, ...]:
        ops, i, _ = fr[-1]
        return fr[:-1] + ((ops, i, v),)

    new_mem = mem
    if k in ("r", "cread"):
        v = load(_loc(op))
        log = log + (v,)
        if k == "r":
            frames = set_last(frames, v)
    elif k == "w" or k == "cset":
        buf = buf + ((_loc(op), op[2]),)
    elif k == "winc":
        buf = buf + ((_loc(op), frames[-1][2] + 1),)
    elif k == "mb":
        pass
    elif k == "if":
        v = load(_loc(op))
        frames = set_last(frames, v)
        frames = frames + ((op[3] if v == op[2] else op[4], 0, 0),)
    else:
        x = _loc(op)
        old = mem[x]
        new_mem = dict(mem)
        if k == "cas":
            if old == op[2]:
                new_mem[x] = op[3]
            log = log + (old,)
        elif k == "xchg":
            new_mem[x] = op[2]
            log = log + (old,)
        elif k == "inc":
            new_mem[x] = old + 1
        elif k == "dec":
            new_mem[x] = old - 1
        elif k == "add":
            new_mem[x] = old + 2
        elif k == "fadd":
            new_mem[x] = old + 1
            log = log + (old,)
        else:
            raise ValueError(op)
    return (
        tuple(sorted(new_mem.items())),
        _put(bufs, c, buf),
        _put(ctls, c, frames),
        _put(logs, c, log),
    )
