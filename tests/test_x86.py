# SPDX-License-Identifier: GPL-2.0-only
"""Port unit tests for the x86 vector code and the genirq free/request paths.

The scenario cells themselves are checked by test_matrix.py; these pin the
ported functions' behaviour on small programs and the shape of the
x86.vector-overwrite counterexample.
"""

from __future__ import annotations

from typing import Any

import pytest

from kernel_port.arch.x86.kernel.irq import VECTOR_SHUTDOWN, VECTOR_UNUSED
from kernel_port.engine import SimpleProgram, apic_send_IPI, raw_spin_lock, raw_spin_unlock
from kernel_port.engine.dpor import explore
from kernel_port.engine.explorer import check, replay
from kernel_port.engine.trace import rows
from kernel_port.kernel.irq.matrix import matrix_snapshot
from kernel_port.scenario import get_scenario, program
from kernel_port.variants import UnknownName, parse_variant, patches, trees

SLOT = "0x20"


def _x86_module() -> Any:
    import sys

    sc = get_scenario("x86.vector-overwrite")
    return sys.modules[sc.__module__]


def run_on_cpu0(variant: str, setup: Any, body: Any, ncpus: int = 2) -> dict[str, Any]:
    """Run ``body(k, state)`` on CPU 0 of a fresh machine; returns what ``at_end`` recorded."""
    got: dict[str, Any] = {}
    execs = []

    def build(m: Any) -> Any:
        k = parse_variant(variant).instantiate(m)
        state = setup(k, m)

        def final() -> None:
            got.update(state=state, k=k, m=m, dmesg=list(k.dmesg))

        m.at_end(final)
        return {0: lambda: body(k, state)}

    st = explore(SimpleProgram("x86-unit", ncpus, build), on_outcome=execs.append)
    assert not st.bugs, [o.message for o in st.bugs]
    assert all(o.status == "complete" for o in execs), [(o.status, o.message) for o in execs]
    return got


def irq_state(k: Any, st: dict[str, Any]) -> dict[str, Any]:
    desc, apicd, entry = st["desc"], st["apicd"], st["entry"]
    common = desc.irq_common_data
    bits = ("IRQD_IRQ_DISABLED", "IRQD_IRQ_MASKED", "IRQD_IRQ_STARTED", "IRQD_ACTIVATED", "IRQD_CAN_RESERVE")
    return {
        "slots": [{v: repr(k.vector_irq[c].raw(v)) for v in (SLOT,)} for c in range(2)],
        "apicd": {f: apicd.raw(f) for f in ("vector", "cpu", "prev_vector", "can_reserve", "has_reserved")},
        "cfg": (apicd.hw_irq_cfg.raw("dest_apicid"), apicd.hw_irq_cfg.raw("vector")),
        "irqd": {b: common.raw(b) for b in bits},
        "effective": sorted(common.raw("effective_affinity")),
        "entry": {f: entry.raw(f) for f in ("masked", "dest", "vector")},
        "depth": desc.raw("depth"),
        "action": desc.raw("action") is not None,
        "matrix": matrix_snapshot(k.vector_matrix),
    }


def test_hand_built_requested_state_equals_request_irq() -> None:
    """setup_msix_irq(requested=True) is what request_irq() really leaves behind."""
    x86 = _x86_module()

    def setup(k: Any, m: Any) -> Any:
        dev = x86.pci_nic(name="nic")
        st = x86.setup_msix_irq(k, m, requested=False)
        st["dev"] = dev
        return st

    def body(k: Any, st: dict[str, Any]) -> None:
        assert k.request_irq(x86.IRQ, x86.nic_interrupt, 0, "nic", st["dev"]) == 0

    ran = run_on_cpu0("v6.17", setup, body)
    hand = run_on_cpu0(
        "v6.17",
        lambda k, m: x86.setup_msix_irq(k, m, requested=True, handler=x86.nic_interrupt, dev_id=None),
        lambda k, st: None,
    )
    assert irq_state(ran["k"], ran["state"]) == irq_state(hand["k"], hand["state"])
    assert ran["state"]["apicd"].raw("vector") == 0x20 and ran["state"]["apicd"].raw("cpu") == 1


def test_free_then_request_gets_the_same_vector_and_goes_through_shutdown() -> None:
    x86 = _x86_module()
    seen: dict[str, Any] = {}

    def setup(k: Any, m: Any) -> Any:
        dev = x86.pci_nic(name="nic")
        st = x86.setup_msix_irq(k, m, requested=True, handler=x86.nic_interrupt, dev_id=dev)
        st["dev"] = dev
        return st

    def body(k: Any, st: dict[str, Any]) -> None:
        k.free_irq(x86.IRQ, st["dev"])
        seen["after_free"] = k.vector_irq[1].raw(SLOT)
        seen["msg_after_free"] = tuple(st["entry"].raw(f) for f in ("masked", "dest", "vector"))
        assert k.request_irq(x86.IRQ, x86.nic_interrupt, 0, "nic", st["dev"]) == 0

    got = run_on_cpu0("v6.17", setup, body)
    assert seen["after_free"] is VECTOR_SHUTDOWN
    assert seen["msg_after_free"] == (True, 0, 0)  # masked, empty message
    st = got["state"]
    assert got["k"].vector_irq[1].raw(SLOT) is st["desc"]
    assert (st["apicd"].raw("cpu"), st["apicd"].raw("vector")) == (1, 0x20)


@pytest.mark.parametrize("variant", ["v6.17", "v6.16"])
@pytest.mark.parametrize(
    ("before", "after", "logged"), [(VECTOR_SHUTDOWN, VECTOR_UNUSED, False), (VECTOR_UNUSED, VECTOR_UNUSED, True)]
)
def test_common_interrupt_on_a_vector_without_descriptor(variant: str, before: Any, after: Any, logged: bool) -> None:
    """SHUTDOWN quietly becomes UNUSED; UNUSED is reported; both are acknowledged."""

    def setup(k: Any, m: Any) -> Any:
        k.vector_irq[0].__dict__[SLOT] = before
        return {}

    def body(k: Any, st: Any) -> None:
        apic_send_IPI(0, 0x20)  # a (spurious) arrival on this CPU's vector

    got = run_on_cpu0(variant, setup, body, ncpus=1)
    k, m = got["k"], got["m"]
    assert k.vector_irq[0].raw(SLOT) is after
    assert bool(got["dmesg"]) is logged
    assert not m.cpus[0].apic.isr, "the spurious interrupt was acknowledged"


def test_free_moved_vector_writes_unused() -> None:
    from kernel_port.arch.x86.kernel.apic.vector import new_apic_chip_data

    def setup(k: Any, m: Any) -> Any:
        apicd = new_apic_chip_data(30)
        apicd.prev_vector, apicd.prev_cpu, apicd.move_in_progress = 0x21, 1, True
        k.vector_matrix.maps[1].alloc_map.add(0x21)
        k.vector_irq[1].__dict__["0x21"] = "stale desc"
        return {"apicd": apicd}

    def body(k: Any, st: Any) -> None:
        raw_spin_lock(k.vector_lock)
        k.free_moved_vector(st["apicd"])
        raw_spin_unlock(k.vector_lock)

    got = run_on_cpu0("v6.17", setup, body)
    assert got["k"].vector_irq[1].raw("0x21") is VECTOR_UNUSED
    assert got["state"]["apicd"].raw("move_in_progress") is False
    assert 0x21 not in got["k"].vector_matrix.maps[1].alloc_map


def test_matrix_hands_the_same_vector_back() -> None:
    k_cls = parse_variant("v6.17").cls
    from kernel_port.kernel.irq.matrix import irq_matrix

    mat = irq_matrix(2, 256, 0x20, 0x24)
    alloc = k_cls.irq_matrix_alloc
    free = k_cls.irq_matrix_free

    class K(k_cls):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            pass

    k = K()
    first = alloc(k, mat, {0, 1}, False)
    assert first == (0x20, 0)  # equal counts: the lowest CPU, the lowest vector
    second = alloc(k, mat, {0, 1}, False)
    assert second == (0x20, 1)  # CPU 1 now has more room
    free(k, mat, 1, 0x20, False)
    assert alloc(k, mat, {1}, False) == (0x20, 1)


def test_vector_overwrite_counterexample_reads_like_the_review() -> None:
    """CPU1 reads SHUTDOWN, CPU0 installs the descriptor, CPU1 writes UNUSED over it."""
    prog = program("x86.vector-overwrite", "v6.16")
    r = check(prog, "dfs")
    assert r.verdict == "bug" and r.kind == "assertion"
    assert "vector_irq[1][0x20] is VECTOR_UNUSED" in r.message
    out, div = replay(prog, r.counterexample.choices)
    assert div is None and out.machine is not None
    seq = [(row.cpu, row.text.strip()) for row in rows(out.machine) if "vector_irq[1].0x20" in row.text]
    assert seq == [
        (0, "WRITE vector_irq[1].0x20 = VECTOR_SHUTDOWN"),
        (0, "READ vector_irq[1].0x20 -> VECTOR_SHUTDOWN"),  # apic_update_vector's BUG_ON check
        (1, "READ vector_irq[1].0x20 -> VECTOR_SHUTDOWN"),
        (0, "WRITE vector_irq[1].0x20 = &irq_desc[24]"),
        (1, "WRITE vector_irq[1].0x20 = VECTOR_UNUSED"),
    ]


def test_trees_and_patches_metadata() -> None:
    assert trees()["v6.16"].base == "v6.17"
    ps = patches()
    assert ps["ce0b5eed"].upstream.startswith("ce0b5eed") and ps["ce0b5eed"].applies_to == ("v6.16",)
    assert ps["vector-repair"].kind == "rejected"
    assert ps["qemu-inject"].kind == "workaround"
    with pytest.raises(UnknownName):
        parse_variant("v6.17+ce0b5eed")
    assert hasattr(parse_variant("v6.16+ce0b5eed").cls, "reevaluate_vector")
