# SPDX-License-Identifier: GPL-2.0-only
"""The interrupt vector matrix allocator, as a deterministic model.

Models kernel/irq/matrix.c of Linux v6.17 (read at Kingxukai/linux 0291023e;
line numbers hand-counted there, give or take two).  The allocator keeps, per
CPU, a bitmap of allocated vectors and an ``available`` count.  For a
non-managed allocation it picks the online CPU of the mask with the most
available vectors (the lowest-numbered one on a tie) and hands out that CPU's
lowest free vector from the start of the window.  Freeing a vector restores
the CPU's count.  Consequence, and the reason this model exists: when a
driver frees an interrupt and requests it again with the same affinity, it
gets **the same CPU and the same vector back**.  That is the common case, not a
corner case, and it is what lets a late interrupt on the old vector meet the
new descriptor.

What is abstracted
------------------
* The matrix is plain Python state, not engine-visible memory: every caller
  holds ``vector_lock`` (vector.c), so its accesses are part of that critical
  section and making them separate steps would add nothing but steps.
* Only the non-managed path is modelled (``irq_matrix_reserve``,
  ``irq_matrix_alloc``, ``irq_matrix_free``); managed reservations, system
  vectors and the CPU online/offline bookkeeping are not (the scenarios use a
  fixed set of online CPUs and no managed interrupts).
* The window is ``[alloc_start, alloc_end)`` of the model (a few vectors).
"""

from __future__ import annotations

from typing import Any

from ...engine import WARN_ON_ONCE, kfunc

MATRIX_C = "kernel/irq/matrix.c"

ENOSPC = 28
EINVAL = 22


class cpumap:
    """Per-CPU part of the matrix."""

    def __init__(self) -> None:
        self.available = 0
        self.allocated = 0
        self.managed_allocated = 0
        self.online = True
        self.alloc_map: set[int] = set()
        self.managed_map: set[int] = set()


class irq_matrix:
    """The matrix: window, per-CPU maps and global counters."""

    def __init__(self, ncpus: int, matrix_bits: int, alloc_start: int, alloc_end: int) -> None:
        self.matrix_bits = matrix_bits
        self.alloc_start = alloc_start
        self.alloc_end = alloc_end
        self.alloc_size = alloc_end - alloc_start
        self.global_available = 0
        self.global_reserved = 0
        self.total_allocated = 0
        self.system_map: set[int] = set()
        self.maps = [cpumap() for _ in range(ncpus)]
        for cm in self.maps:
            cm.available = self.alloc_size
            self.global_available += cm.available

    def __repr__(self) -> str:
        return "vector_matrix"

    def allocated_on(self, cpu: int) -> set[int]:
        return set(self.maps[cpu].alloc_map)


class matrix_c:
    """Port (model) of the matrix allocator functions the vector code calls."""

    OWN_INITS: tuple[str, ...] = ()

    def irq_alloc_matrix(self, matrix_bits: int, alloc_start: int, alloc_end: int) -> irq_matrix:
        return irq_matrix(self.m.ncpus, matrix_bits, alloc_start, alloc_end)

    @kfunc(MATRIX_C, line=135)
    def matrix_find_best_cpu(self, m: irq_matrix, msk: set[int]) -> int | None:
        best_cpu, maxavl = None, 0
        for cpu in sorted(msk):
            cm = m.maps[cpu]
            if not cm.online or cm.available <= maxavl:
                continue
            best_cpu = cpu
            maxavl = cm.available
        return best_cpu

    @kfunc(MATRIX_C, line=116)
    def matrix_alloc_area(self, m: irq_matrix, cm: cpumap, num: int, managed: bool) -> int:
        # Lowest vector of the window that no map has taken.
        used = cm.managed_map | m.system_map | cm.alloc_map
        area = m.alloc_end
        for bit in range(m.alloc_start, m.alloc_end):
            if bit not in used:
                area = bit
                break
        if area >= m.alloc_end:
            return area
        if managed:
            cm.managed_map.add(area)
        else:
            cm.alloc_map.add(area)
        return area

    def irq_matrix_reserve(self, m: irq_matrix) -> None:
        # A global reservation only: no vector is taken.
        m.global_reserved += 1

    @kfunc(MATRIX_C, line=383)
    def irq_matrix_alloc(self, m: irq_matrix, msk: set[int], reserved: bool) -> tuple[int, int | None]:
        """Returns ``(vector or -errno, cpu)``; C returns the bit and sets ``*mapped_cpu``."""
        if not msk:
            return -EINVAL, None
        cpu = self.matrix_find_best_cpu(m, msk)
        if cpu is None:
            return -ENOSPC, None
        cm = m.maps[cpu]
        bit = self.matrix_alloc_area(m, cm, 1, False)
        if bit >= m.alloc_end:
            return -ENOSPC, None
        cm.allocated += 1
        cm.available -= 1
        m.total_allocated += 1
        m.global_available -= 1
        if reserved:
            m.global_reserved -= 1
        return bit, cpu

    @kfunc(MATRIX_C, line=424)
    def irq_matrix_free(self, m: irq_matrix, cpu: int, bit: int, managed: bool) -> None:
        cm = m.maps[cpu]
        if WARN_ON_ONCE(bit < m.alloc_start or bit >= m.alloc_end):
            return
        if WARN_ON_ONCE(bit not in cm.alloc_map):
            return
        cm.alloc_map.discard(bit)
        cm.allocated -= 1
        if managed:
            cm.managed_allocated -= 1
        if cm.online:
            m.total_allocated -= 1
        if not managed:
            cm.available += 1
            if cm.online:
                m.global_available += 1


def matrix_snapshot(m: irq_matrix) -> dict[str, Any]:
    """The allocator's state, for tests comparing hand-built and run-built states."""
    return {
        "global_available": m.global_available,
        "global_reserved": m.global_reserved,
        "total_allocated": m.total_allocated,
        "maps": [(cm.available, cm.allocated, sorted(cm.alloc_map)) for cm in m.maps],
    }


PORT = matrix_c
