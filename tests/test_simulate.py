# SPDX-License-Identifier: GPL-2.0-only
"""kport simulate on the scaled-down RT push-IPI storm (8 CPUs, a 2 s watchdog): the storm's
backlog grows and, with no preemption on interrupt return (the storm's PREEMPT_VOLUNTARY), the
targets stay out of schedule() across snapshots and the watchdog reports them again and again,
"stuck for" several thresholds; with full preemption each stall ends with its snapshot;
dd29c017 stays bounded; tejun-rfc's walk ends once both kthreads are moved; the plot's panels
carry per-CPU lines, stalls and lockups (in the data and in the drawn figure); the text and
JSON name the preemption model; JSON and the plot are deterministic.  (The full-size run, 192
CPUs and 120 s, is in bench/storm_full.py.)"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from kernel_port.cli import main
from kernel_port.simulate import plot, plot_panel, render_text, simulate


@pytest.fixture(scope="module")
def storm() -> object:
    return simulate("rt.push-ipi-storm", "v6.17+94894c9c", size="small")


@pytest.fixture(scope="module")
def fixed() -> object:
    """dd29c017 (the merged fix), for the whole small run: 12 s, six watchdog thresholds."""
    return simulate("rt.push-ipi-storm", "v6.17+94894c9c+dd29c017", size="small")


def test_storm_backlog_grows_and_the_watchdog_fires(storm: object) -> None:
    rep = storm
    assert rep.result.stop == "time" and rep.result.reached_ns == 12_000_000_000
    assert rep.growth_per_s > 50  # tasklets per second, second half of the run
    assert rep.first_stall_ns is not None and rep.first_stall_cpu in (0, 1)
    assert rep.soft_lockups >= 1
    bodies = [v["tasklet body (us)"] for _, v in rep.result.samples if v["tasklet body (us)"]]
    assert 1000 < sum(bodies) / len(bodies) < 1200  # the calibrated stretch (about 1.1 ms)


def test_storm_lockups_last_several_thresholds_on_one_cpu(storm: object) -> None:
    """PREEMPT_VOLUNTARY: the stopper waits for the CFS task's cond_resched(), which the task
    does not reach between snapshots; the watchdog reports the same CPU again and again."""
    rep = storm
    assert rep.preemption == "PREEMPT_VOLUNTARY"
    thresh = rep.softlockup_thresh_ns / 1e9
    assert thresh == 2
    by_cpu: dict[int, list[int]] = {}
    for lk in rep.lockups:
        by_cpu.setdefault(lk.cpu, []).append(lk.stuck_for_s)
    # One CPU is reported at least three times in a row with a growing "stuck for", the last
    # more than twice the threshold (it never scheduled in between).
    assert any(len(v) >= 3 and v == sorted(v) and v[-1] > 2 * thresh for v in by_cpu.values()), by_cpu
    assert rep.most_past_threshold_s > thresh
    assert rep.longest_stall_ns > 3 * rep.stall_ns
    # The text report lists the stalls and every report with its distance past the threshold.
    text = render_text(rep)
    assert "preemption model: PREEMPT_VOLUNTARY" in text and "past the threshold" in text
    data = rep.to_json()
    assert data["soft_lockups"] == len(data["soft_lockup_reports"]) == len(rep.lockups)
    assert data["softlockup_threshold_seconds"] == 2 and data["longest_stall_seconds"] > 6


def test_storm_stalls_list_each_stretch_out_of_schedule_and_cover_every_report(storm: object) -> None:
    """The stalls are the targets' stretches out of schedule(), each at least the threshold, in
    order; the open ones run to the end of the run.  Every soft-lockup report falls inside a
    stall of its CPU that had lasted the threshold by then (the watchdog reports a CPU that has
    not scheduled, and only such a CPU)."""
    rep = storm
    assert rep.stall_ns == 2_000_000_000 and rep.softlockup_thresh_ns == 2_000_000_000
    assert rep.stalls and {st.cpu for st in rep.stalls} <= {0, 1}
    assert rep.stalls == sorted(rep.stalls, key=lambda st: (st.start_ns, st.cpu))
    assert all(st.end_ns - st.start_ns >= rep.stall_ns for st in rep.stalls)
    end = rep.result.reached_ns
    assert all(st.ongoing == (st.end_ns == end) for st in rep.stalls)
    # Under PREEMPT_VOLUNTARY a target that stalls stays out until the end of the run.
    assert {st.cpu for st in rep.stalls if st.ongoing} == {0, 1}
    # A CPU's stalls do not overlap.
    for cpu in (0, 1):
        mine = [st for st in rep.stalls if st.cpu == cpu]
        assert all(a.end_ns <= b.start_ns for a, b in itertools.pairwise(mine))
    for lk in rep.lockups:
        around = [st for st in rep.stalls if st.cpu == lk.cpu and st.start_ns < lk.t_ns <= st.end_ns]
        assert around and lk.t_ns - around[0].start_ns >= rep.softlockup_thresh_ns, (lk, rep.stalls)
        # "stuck for" counts get_timestamp() units (2^30 ns) since the stopper last ran, which
        # is at or before the stall's start.
        assert lk.stuck_for_s >= (lk.t_ns >> 30) - (around[0].start_ns >> 30)
    data = rep.to_json()
    assert [(d["cpu"], d["ongoing"]) for d in data["stalls"]] == [(st.cpu, st.ongoing) for st in rep.stalls]
    assert (
        data["longest_stall_seconds"] == round(rep.longest_stall_ns / 1e9, 3)
        and data["preemption"] == "PREEMPT_VOLUNTARY"
    )
    text = render_text(rep)
    assert f"stalls (out of schedule() for 2 s or more): {len(rep.stalls)}" in text
    assert "CPU1: from 0.000 s still out at the end (12.000 s)" in text
    assert text.count("stuck for") == len(rep.lockups)


def test_storm_with_full_preemption_ends_each_stall_with_its_snapshot() -> None:
    """The previous model: preemption on interrupt return runs the stopper after every
    snapshot, so no stall outlasts one snapshot (4,000 tasklets of about 1.06 ms)."""
    rep = simulate("rt.push-ipi-storm", "v6.17+94894c9c", size="small", config={"PREEMPT_VOLUNTARY": False})
    assert rep.preemption == "full (PREEMPT)"
    assert rep.stalls and rep.longest_stall_ns < 4_000 * 1_070_000 + 300_000_000
    assert not any(st.ongoing for st in rep.stalls)  # each ended at its snapshot's interrupt return
    assert all(lk.stuck_for_s <= 4 for lk in rep.lockups)
    assert "preemption model: full (PREEMPT)" in render_text(rep)


def test_plot_panel_has_per_cpu_lines_stalls_and_lockups(storm: object) -> None:
    rep = storm
    panel = plot_panel(rep)
    assert [(label, cpu) for label, cpu, _, _ in panel.lines] == [("CPU0", 0), ("CPU1", 1)]
    assert len(panel.spans) == len(rep.stalls) and len(panel.marks) == len(rep.lockups) >= 3
    assert {cpu for cpu, _, _, _ in panel.marks} <= {0, 1}
    assert "PREEMPT_VOLUNTARY" in panel.title


def test_the_drawn_plot_has_per_cpu_lines_stall_bars_and_lockup_marks(
    storm: object, fixed: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What plot() draws, read back from the matplotlib figure before it is closed: one panel
    per report, a line per CPU in that CPU's colour, a bar per stall, an X per report with its
    "stuck for" figure; the fixed variant's panel has lines and nothing else."""
    import matplotlib.pyplot as plt

    figs = []
    close = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: (figs.append(fig), close(fig)))
    png = tmp_path / "storm.png"
    plot([storm, fixed], str(png))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and len(figs) == 1
    axes = figs[0].axes
    assert len(axes) == 2
    for ax, rep in zip(axes, (storm, fixed), strict=True):
        lines = [ln for ln in ax.get_lines() if ln.get_label() in ("CPU0", "CPU1")]
        assert [ln.get_label() for ln in lines] == ["CPU0", "CPU1"]
        assert [ln.get_color() for ln in lines] == ["C0", "C1"]
        xs = list(lines[0].get_xdata())
        assert len(xs) == len(rep.result.samples) and xs[-1] == rep.result.reached_ns / 1e9
        crosses = [ln for ln in ax.get_lines() if ln.get_marker() == "X"]
        assert len(crosses) == len(rep.lockups)
        assert sorted((ln.get_color(), float(ln.get_xdata()[0])) for ln in crosses) == sorted(
            (f"C{lk.cpu}", lk.t_ns / 1e9) for lk in rep.lockups
        )
        assert sorted(t.get_text() for t in ax.texts) == sorted(f"{lk.stuck_for_s}s" for lk in rep.lockups)
        bars = [c for c in ax.collections if len(c.get_paths()) == 1]
        assert len(bars) == len(rep.stalls)
        assert rep.preemption in ax.get_title() and f"{len(rep.lockups)} soft lockup(s)" in ax.get_title()
    assert len(axes[0].collections) >= 3 and len(axes[1].collections) == len(axes[1].texts) == 0


def test_dd29c017_stays_bounded(fixed: object) -> None:
    rep = fixed
    assert rep.result.stop == "time" and rep.result.reached_ns == 12_000_000_000
    assert rep.max_backlog <= 2 and abs(rep.growth_per_s) < 1
    assert rep.first_stall_ns is None and rep.soft_lockups == 0 and rep.stalls == [] and rep.lockups == []
    assert rep.preemption == "PREEMPT_VOLUNTARY"  # the same model that locks up without the fix
    assert rep.result.samples[-1][1]["push walk visits"] == 0
    text = render_text(rep)
    assert "soft lockups reported: 0" in text and "no CPU stayed out of schedule() for 2 s" in text


def test_tejun_rfc_moves_both_kthreads_to_idle_cpus_and_the_walk_stops() -> None:
    """The relay migrates both FIFO-1 kthreads on the first walk; an idle CPU runs what is
    pushed to it, so the targets leave rto_mask and no later pull starts a walk."""
    rep = simulate("rt.push-ipi-storm", "v6.17+94894c9c+tejun-rfc", size="small", until_s=4)
    assert [v["push walk visits"] for _, v in rep.result.samples[1:]] == [2] * (len(rep.result.samples) - 1)
    assert rep.max_backlog <= 5 and rep.first_stall_ns is None and rep.soft_lockups == 0
    assert rep.stalls == [] and rep.lockups == [] and rep.preemption == "PREEMPT_VOLUNTARY"


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
    assert data["preemption"] == "PREEMPT_VOLUNTARY" and data["stalls"] == data["soft_lockup_reports"] == []
    assert outs[0][1][:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_text_names_the_preemption_model(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "rt.push-ipi-storm", "-V", "v6.17+94894c9c+dd29c017", "--size", "small", "--until", "0.5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "preemption model: PREEMPT_VOLUNTARY" in out.splitlines()[1]
    assert "soft lockups reported: 0" in out


def test_simulate_rejects_a_scenario_without_a_timed_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "irq_work.lost-self-ipi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no timed form" in err
