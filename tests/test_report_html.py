# SPDX-License-Identifier: GPL-2.0-only
"""The HTML report: one self-contained file, checked in a real browser (headless Chromium).

The browser test loads the report with a URL fragment that sets a trace viewer's step and
highlighted object (what the buttons and the object menu do), dumps the rendered DOM and
takes a screenshot.  It is skipped, saying why, only when no Chromium is installed
(.ci/run installs Debian's ``chromium``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kernel_port.cli import main

CELLS = ["--scenario", "engine.lost-ipi", "--scenario", "engine.lost-update", "--scenario", "engine.irqs-off"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["matrix", *CELLS, "--html", str(path)]) == 0
    return path


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text), "the report must load nothing"
    assert 'id="matrix"' in text and 'id="trace-1"' in text and 'id="trace-2"' in text
    assert "trace-3" not in text  # engine.irqs-off is OK: no trace
    assert "kport replay kp3:" in text


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.browser
def test_report_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    base = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1400,1000",
    ]
    url = report.as_uri() + "#trace-1:step=1:obj=v"
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True).stdout
    assert 'data-ready="1"' in dom, "the viewer script did not run"
    # the matrix: three cells, verdicts as expected
    assert len(re.findall(r'<td class="cell match', dom)) == 3
    assert 'data-verdict="bug"' in dom and 'data-verdict="ok"' in dom
    # trace 1 (engine.lost-ipi): CPU columns, stepped to step 1 by the fragment
    sec = dom.split('id="trace-1"')[1].split("</section>")[0]
    assert 'data-current-step="1"' in sec
    assert '<th class="cpu">CPU0</th>' in sec and '<th class="cpu">CPU1</th>' in sec
    assert re.search(r'class="row kind-fault current"[^>]*>.*?IPI LOST', sec, re.S)
    assert "step 1 (" in sec and "<button" in sec and "<select" in sec
    # trace 2 (engine.lost-update): not highlighted, later rows present
    sec2 = dom.split('id="trace-2"')[1].split("</section>")[0]
    assert 'data-highlight=""' in sec2 and "hl-access" not in sec2
    # step back and highlight an object in trace 2 through the fragment
    objs = re.findall(r'data-access="([^"]+)"', sec2)
    assert objs, "no row of engine.lost-update names an object"
    url2 = report.as_uri() + f"#trace-2:step=1:obj={objs[0]}"
    dom2 = subprocess.run([*base, "--dump-dom", url2], capture_output=True, text=True, timeout=60, check=True).stdout
    sec2 = dom2.split('id="trace-2"')[1].split("</section>")[0]
    assert f'data-highlight="{objs[0]}"' in sec2
    assert "hl-access" in sec2 and "future" in sec2 and 'data-current-step="1"' in sec2
    shot = tmp_path / "report.png"
    subprocess.run([*base, f"--screenshot={shot}", url2], capture_output=True, timeout=60, check=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


# -- the report's answer and its frozen grid (issue 19, item 5) -----------------------------------------

PATCH_CELLS = [
    "--scenario",
    "irq_work.tick-kick-lockup",
    "--scenario",
    "x86.vector-overwrite",
    "--scenario",
    "x86.vfio-overwrite",
    "--scenario",
    "engine.irqs-off",
]


@pytest.fixture(scope="module")
def patch_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "patches.html"
    assert main(["matrix", *PATCH_CELLS, "--html", str(path)]) == 0
    return path


def test_report_answers_first_and_says_where_it_came_from(patch_report: Path) -> None:
    text = patch_report.read_text()
    # provenance, then the per-patch answer, then the kernel grid, then the engine self-tests
    assert 'id="provenance"' in text and "commit: " in text and "python: " in text and "options: --scenario" in text
    order = [text.index(x) for x in ('id="provenance"', 'id="patch-summary"', 'id="kernel"', 'id="engine"')]
    assert order == sorted(order)
    row = text.split('data-variant="pre-76a33061+76a33061+herton-rfc"><td')[1].split("</tr>")[0]
    assert 'class="back">irq_work.tick-kick-lockup' in row  # brings back, from the explorer's cells
    # each patched column right after its base
    heads = re.findall(r'<th class="variant" data-variant="([^"]+)"', text.split('id="engine"')[0])
    assert heads.index("pre-76a33061+76a33061") == heads.index("pre-76a33061") + 1
    assert heads.index("pre-76a33061+76a33061+herton-rfc") == heads.index("pre-76a33061+76a33061") + 1
    # an OK cell says what its search covered, memory model included
    ok = text.split('data-scenario="x86.vfio-overwrite" data-variant="v6.17"')[1].split("</td>")[0]
    assert re.search(r'class="bounds">\d+ runs, any preemptions, &le;0 faults, sc<', ok)


@pytest.mark.browser
def test_frozen_headers_and_summary_in_headless_chromium(patch_report: Path, tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium); .ci/run installs it")
    base = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=520,300",  # small: the grid must scroll both ways
    ]
    url = patch_report.as_uri() + "#probe-frozen"
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True, timeout=60, check=True).stdout
    assert 'data-ready="1"' in dom, "the page script did not run"
    wrap = re.search(r'<div class="grid-wrap" id="matrix-wrap"([^>]*)>', dom)
    assert wrap is not None
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', wrap.group(1)))
    top, left = (int(x) for x in attrs["scrolled"].split(","))
    assert top > 0 and left > 0, f"the grid did not scroll: {attrs}"
    # scrolled to the far corner, the header row and the scenario column are still at the grid's edge
    assert 0 <= int(attrs["head-offset"]) <= 2, attrs
    assert 0 <= int(attrs["col-offset"]) <= 2, attrs
    # the summary is rendered, with the answer for the RFC on the old tree
    summary = dom.split('id="patch-summary"')[1].split("</table>")[0]
    assert "pre-76a33061+76a33061+herton-rfc" in summary and "irq_work.tick-kick-lockup" in summary
