# SPDX-License-Identifier: GPL-2.0-only
"""Classic DPOR benchmark programs, written for the engine.

indexer, lastzero, filesystem: Flanagan & Godefroid (POPL'05), as used by
Abdulla et al. (POPL'14) to compare DPOR algorithms; readers-writers and
dining philosophers: the usual lock-based shapes.  Each function returns a
SimpleProgram for one size.
"""

from __future__ import annotations

from typing import Any

from kernel_port.engine import (
    SimpleProgram,
    Struct,
    cmpxchg,
    field,
    raw_spin_lock,
    raw_spin_trylock,
    raw_spin_unlock,
    raw_spinlock_t,
)


class Cell(Struct):
    v = field(0)


def indexer(nthreads: int, size: int = 128, per_thread: int = 4) -> SimpleProgram:
    """Threads insert values into a hash table with cmpxchg and linear probing;
    thread t inserts 11*m + t for m = 1..4, so values (and so races) collide
    only from 12 threads on."""

    def build(m: Any) -> Any:
        table = [Cell(name=f"table[{i}]") for i in range(size)]

        def thread(tid: int) -> None:
            for i in range(per_thread):
                w = (i + 1) * 11 + tid
                h = (w * 7) % size
                while cmpxchg(table[h], "v", 0, w) != 0:
                    h = (h + 1) % size

        return {t: (lambda t=t: thread(t)) for t in range(nthreads)}

    return SimpleProgram(f"indexer({nthreads})", nthreads, build, step_budget=100000)


def lastzero(n: int) -> SimpleProgram:
    """Thread 0 scans an array downwards for the last zero while threads
    1..n each set array[j] = array[j-1] + 1."""

    def build(m: Any) -> Any:
        arr = [Cell(name=f"array[{i}]") for i in range(n + 1)]

        def scanner() -> None:
            i = n
            while arr[i].v != 0:
                i -= 1

        def setter(j: int) -> None:
            arr[j].v = arr[j - 1].v + 1

        entries = {0: scanner}
        for j in range(1, n + 1):
            entries[j] = lambda j=j: setter(j)
        return entries

    return SimpleProgram(f"lastzero({n})", n + 1, build)


def filesystem(nthreads: int, ninodes: int = 32, nblocks: int = 26) -> SimpleProgram:
    """Each thread allocates a block for an inode under the inode's and the
    block's locks (trylock on blocks); threads conflict only when their
    inodes or blocks coincide."""

    def build(m: Any) -> Any:
        locki = [raw_spinlock_t(name=f"locki[{i}]") for i in range(ninodes)]
        lockb = [raw_spinlock_t(name=f"lockb[{i}]") for i in range(nblocks)]
        inode = [Cell(name=f"inode[{i}]") for i in range(ninodes)]
        busy = [Cell(name=f"busy[{i}]") for i in range(nblocks)]

        def thread(tid: int) -> None:
            i = tid % ninodes
            raw_spin_lock(locki[i])
            if inode[i].v == 0:
                b = (i * 2) % nblocks
                while True:
                    raw_spin_lock(lockb[b])
                    if busy[b].v == 0:
                        busy[b].v = 1
                        inode[i].v = b + 1
                        raw_spin_unlock(lockb[b])
                        break
                    raw_spin_unlock(lockb[b])
                    b = (b + 1) % nblocks
            raw_spin_unlock(locki[i])

        return {t: (lambda t=t: thread(t)) for t in range(nthreads)}

    return SimpleProgram(f"filesystem({nthreads})", nthreads, build, step_budget=100000)


def readers_writers(readers: int, writers: int) -> SimpleProgram:
    """Writers update a shared value under a lock; readers read it unlocked."""

    def build(m: Any) -> Any:
        lock = raw_spinlock_t(name="lock")
        x = Cell(name="x")

        def writer(w: int) -> None:
            raw_spin_lock(lock)
            x.v = x.v + 1
            raw_spin_unlock(lock)

        def reader(r: int) -> None:
            _ = x.v

        entries: dict[int, Any] = {}
        for w in range(writers):
            entries[w] = lambda w=w: writer(w)
        for r in range(readers):
            entries[writers + r] = lambda r=r: reader(r)
        return entries

    return SimpleProgram(f"readers-writers({readers},{writers})", readers + writers, build)


def philosophers(n: int) -> SimpleProgram:
    """Dining philosophers taking the left fork, then trying the right one
    (trylock; on failure put the left one back): no deadlock."""

    def build(m: Any) -> Any:
        forks = [raw_spinlock_t(name=f"fork[{i}]") for i in range(n)]
        meals = [Cell(name=f"meals[{i}]") for i in range(n)]

        def phil(i: int) -> None:
            left, right = forks[i], forks[(i + 1) % n]
            for _ in range(2):
                raw_spin_lock(left)
                if raw_spin_trylock(right):
                    meals[i].v = meals[i].v + 1
                    raw_spin_unlock(right)
                    raw_spin_unlock(left)
                    return
                raw_spin_unlock(left)

        return {i: (lambda i=i: phil(i)) for i in range(n)}

    return SimpleProgram(f"philosophers({n})", n, build)
