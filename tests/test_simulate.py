# SPDX-License-Identifier: GPL-2.0-only
"""kport simulate on the scaled-down RT push-IPI storm (8 CPUs, a 2 s watchdog): the storm's
backlog grows and the watchdog fires on v6.17+94894c9c; dd29c017 stays bounded; tejun-rfc's
walk ends once both kthreads are moved; JSON and the plot are deterministic.  (The full-size
run, 192 CPUs and 120 s, is in bench/.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel_port.cli import main
from kernel_port.simulate import simulate


@pytest.fixture(scope="module")
def storm() -> object:
    return simulate("rt.push-ipi-storm", "v6.17+94894c9c", size="small")


def test_storm_backlog_grows_and_the_watchdog_fires(storm: object) -> None:
    rep = storm
    assert rep.result.stop == "time" and rep.result.reached_ns == 12_000_000_000
    assert rep.growth_per_s > 50  # tasklets per second, second half of the run
    assert rep.first_stall_ns is not None and rep.first_stall_cpu in (0, 1)
    assert rep.soft_lockups >= 1
    bodies = [v["tasklet body (us)"] for _, v in rep.result.samples if v["tasklet body (us)"]]
    assert 1000 < sum(bodies) / len(bodies) < 1200  # the calibrated stretch (about 1.1 ms)


def test_dd29c017_stays_bounded() -> None:
    rep = simulate("rt.push-ipi-storm", "v6.17+94894c9c+dd29c017", size="small", until_s=4)
    assert rep.max_backlog <= 2 and abs(rep.growth_per_s) < 1
    assert rep.first_stall_ns is None and rep.soft_lockups == 0
    assert rep.result.samples[-1][1]["push walk visits"] == 0


def test_tejun_rfc_moves_both_kthreads_to_idle_cpus_and_the_walk_stops() -> None:
    """The relay migrates both FIFO-1 kthreads on the first walk; an idle CPU runs what is
    pushed to it, so the targets leave rto_mask and no later pull starts a walk."""
    rep = simulate("rt.push-ipi-storm", "v6.17+94894c9c+tejun-rfc", size="small", until_s=4)
    assert [v["push walk visits"] for _, v in rep.result.samples[1:]] == [2] * (len(rep.result.samples) - 1)
    assert rep.max_backlog <= 5 and rep.first_stall_ns is None and rep.soft_lockups == 0


def test_cli_json_and_plot_are_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for i in range(2):
        png = tmp_path / f"p{i}.png"
        rc = main(
            [
                "simulate",
                "rt.push-ipi-storm",
                "-V",
                "v6.17+94894c9c+dd29c017",
                "--size",
                "small",
                "--until",
                "0.5",
                "--json",
                "--plot",
                str(png),
            ]
        )
        assert rc == 0
        outs.append((capsys.readouterr().out, png.read_bytes()))
    assert outs[0] == outs[1]
    data = json.loads(outs[0][0])
    assert data["variant"] == "v6.17+94894c9c+dd29c017" and data["soft_lockups"] == 0
    assert outs[0][1][:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_rejects_a_scenario_without_a_timed_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "irq_work.lost-self-ipi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no timed form" in err
