# SPDX-License-Identifier: GPL-2.0-only
"""CPU masks: the inlines of include/linux/cpumask.h the RT path uses, and two kinds of mask.

Ported in the v6.17 shape (the header was not read at a pinned commit: these are the
one-line bit operations every version has).

* A *shared* mask (``cpumask_t``: rto_mask, cpupri's level masks) is one word, an
  ``atomic_t`` whose bit n is CPU n: ``cpumask_set_cpu``/``cpumask_clear_cpu`` are the atomic
  bit operations (one RMW step each), ``cpumask_test_cpu``/``cpumask_next`` one read.  Real
  masks are arrays of words; one word per mask is exact for the machine sizes used here
  (Python ints have no width) and keeps each mask one location for the explorer.
* A *private* mask (``cpumask_var``: a per-CPU scratch mask such as rt.c's
  ``local_cpu_mask``) is only touched by the CPU that owns it, so it is a plain int of bits,
  not shared state.
"""

from __future__ import annotations

from ..engine import atomic_fetch_andnot, atomic_fetch_or, atomic_read, atomic_t, kfunc

CPUMASK_H = "include/linux/cpumask.h"


class cpumask_t(atomic_t):
    """A shared CPU mask word; bit n is CPU n (bit operations are atomic RMWs)."""


class cpumask_var:
    """A CPU-private scratch mask: an int of bits (not shared state)."""

    __slots__ = ("bits",)

    def __init__(self) -> None:
        self.bits = 0

    def __repr__(self) -> str:
        return "{" + ",".join(str(c) for c in cpus_of(self.bits)) + "}"


def cpus_of(bits: int) -> list[int]:
    """The CPUs of a bit word, in order."""
    out = []
    c = 0
    while bits:
        if bits & 1:
            out.append(c)
        bits >>= 1
        c += 1
    return out


# Tasks carry their affinity as a frozenset; its bit word is computed once per set.
_AFFINITY_BITS: dict[frozenset[int], int] = {}


def bits_of(cpus: frozenset[int]) -> int:
    """The bit word of a set of CPUs (a task's ``cpus_mask``)."""
    bits = _AFFINITY_BITS.get(cpus)
    if bits is None:
        bits = 0
        for c in cpus:
            bits |= 1 << c
        _AFFINITY_BITS[cpus] = bits
    return bits


@kfunc(CPUMASK_H)
def cpumask_set_cpu(cpu: int, mask: cpumask_t) -> None:
    atomic_fetch_or(1 << cpu, mask)


@kfunc(CPUMASK_H)
def cpumask_clear_cpu(cpu: int, mask: cpumask_t) -> None:
    atomic_fetch_andnot(1 << cpu, mask)


@kfunc(CPUMASK_H)
def cpumask_test_cpu(cpu: int, mask: cpumask_t) -> bool:
    return bool(atomic_read(mask) >> cpu & 1)


@kfunc(CPUMASK_H)
def cpumask_next(n: int, mask: cpumask_t, nr_cpu_ids: int) -> int:
    # The next set bit after n (n = -1: the first); nr_cpu_ids when there is none.
    bits = atomic_read(mask) >> (n + 1)
    if not bits:
        return nr_cpu_ids
    cpu = n + 1 + ((bits & -bits).bit_length() - 1)
    return cpu if cpu < nr_cpu_ids else nr_cpu_ids


def next_bit_wrap(bits: int, prev: int) -> int:
    """The first set bit of ``bits`` after ``prev``, wrapping to the first; -1 if none."""
    if not bits:
        return -1
    above = bits >> (prev + 1)
    if above:
        return prev + 1 + ((above & -above).bit_length() - 1)
    return (bits & -bits).bit_length() - 1
