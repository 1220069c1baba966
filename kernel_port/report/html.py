# SPDX-License-Identifier: GPL-2.0-only
"""The HTML report: one self-contained file (no network), the matrix and a trace viewer per BUG.

The page opens with the provenance (kport version and commit, date, Python, options) and, per
patched variant, what the patch does against its base ("fixes / leaves / brings back / no scenario
reaches", kernel_port/report/summary.py's ``matrix_summary``).  The matrix is a grid (scenarios down,
variants across, each patched variant right after its base) in a scrolling box whose header row
and scenario column stay in place (CSS ``position: sticky``); the engine self-tests have their
own grid after the kernel scenarios.  Each cell shows the expected and the found verdict,
coloured by whether they match; an OK cell also shows what its search covered (executions,
preemption bound, fault budget, memory model), and a BUG cell links to its trace.  Each trace
viewer shows the counterexample in CPU columns, time going down, with the upstream C
reference of every row (an Elixir link at the pinned version).  Buttons (or the arrow keys)
step forward and back through the schedule; rows after the current step are dimmed.  Choosing
an object highlights every row that accesses it (strong) or names it (light).

The state of a viewer can be set from the URL fragment, which is what the browser test uses:
``report.html#trace-2:step=5:obj=raised_list[0]``; ``report.html#probe-frozen`` scrolls each grid to
its far corner and notes where its header row and scenario column end up (``data-head-offset``,
``data-col-offset``: 0 when frozen).  The data of every trace is embedded as
JSON; the page is readable without JavaScript (the plain-text trace is in a ``<details>``).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from .summary import matrix_summary

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5em; margin: 0 0 .3em 0; }
h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.summary { font-weight: bold; }
.summary.bad { color: #b00020; } .summary.good { color: #17663a; }
.provenance { color: #555; font-size: 12px; }
table.patches { border-collapse: collapse; margin: .6em 0 1em 0; font-size: 13px; }
table.patches th, table.patches td { border: 1px solid #d0d0d0; padding: 3px 7px; text-align: left; vertical-align: top; }
table.patches td.v { font-family: monospace; white-space: nowrap; }
table.patches td.fixes { color: #17663a; } table.patches td.back { color: #b00020; font-weight: bold; }
.grid-wrap { overflow: auto; max-height: 78vh; max-width: 100%; border: 1px solid #bbb; margin-top: .8em; }
table.matrix { border-collapse: separate; border-spacing: 0; }
table.matrix thead th { position: sticky; top: 0; z-index: 2; background: #f4f4f4; }
table.matrix tbody th.scenario { position: sticky; left: 0; z-index: 1; background: #fff; }
table.matrix thead th.scenario { left: 0; z-index: 3; }
td.cell .bounds { display: block; font-size: 10px; line-height: 1.15; color: #555; max-width: 9em; margin: 0 auto; }
table.matrix th, table.matrix td { border-right: 1px solid #d0d0d0; border-bottom: 1px solid #d0d0d0; padding: 3px 6px; text-align: center; }
table.matrix th.variant { font-weight: normal; font-family: monospace; font-size: 12px; vertical-align: bottom; }
table.matrix th.scenario { text-align: left; font-family: monospace; }
td.cell { font-family: monospace; font-size: 12px; min-width: 4.5em; }
td.cell.match { background: #e3f5e8; } td.cell.mismatch { background: #ffd6d6; outline: 2px solid #b00020; }
td.cell.nocmp { background: #f2f2f2; } td.cell.none { background: #fafafa; }
td.cell .found { display: block; font-weight: bold; }
td.cell .model, th.scenario .model { font-size: 11px; color: #555; font-family: monospace; }
td.cell .model { display: block; }
td.cell.v-bug .found { color: #b00020; } td.cell.v-ok .found { color: #17663a; }
td.cell.v-inconclusive .found, td.cell.v-error .found { color: #8a5a00; }
section.trace { margin-top: 1.2em; border: 1px solid #ccc; border-radius: 6px; padding: .6em .9em; }
section.trace h3 { margin: .1em 0 .4em 0; font-family: monospace; font-size: 1.05em; }
.controls { display: flex; gap: .5em; align-items: center; flex-wrap: wrap; margin-bottom: .5em; }
.controls button { font: inherit; padding: 1px 9px; }
.controls .pos { font-family: monospace; min-width: 10em; }
table.cpus { border-collapse: collapse; font: 12px/1.35 monospace; width: 100%; table-layout: fixed; }
table.cpus th.num { width: 3.5em; } table.cpus th.ref { width: 27em; }
table.cpus th { text-align: left; border-bottom: 1px solid #999; padding: 2px 6px; position: sticky; top: 0; background: #fff; }
table.cpus td { padding: 0 6px; vertical-align: top; white-space: pre-wrap; word-break: break-all; }
table.cpus td.cpu { border-left: 1px solid #ddd; }
table.cpus td.num { color: #888; text-align: right; width: 3em; }
table.cpus td.ref { color: #666; font-size: 11px; border-left: 1px solid #ddd; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.cpus td.ref a { color: #3a5ea8; text-decoration: none; }
tr.row.future td { opacity: .28; }
tr.row.current td { background: #fff3b0; }
tr.row.hl-access td.cpu.act { background: #c9e4ff; }
tr.row.hl-mention td.cpu.act { background: #e8f3ff; }
tr.row.current.hl-access td.cpu.act { background: #a9d4ff; }
tr.kind-fault td.act { color: #b00020; font-weight: bold; }
tr.kind-irq-enter td.act, tr.kind-irq-exit td.act { color: #6a2ca8; }
tr.kind-func td.act { color: #333; font-weight: 600; }
tr.kind-source td.act { color: #8a5a00; }
.verdict { font-family: monospace; font-weight: bold; color: #b00020; margin: .5em 0 .2em 0; }
.token { font-family: monospace; font-size: 11px; word-break: break-all; color: #444; }
"""

JS = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("kp-data").textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  var viewers = {};
  data.traces.forEach(function (tr) {
    var sec = document.getElementById(tr.id);
    var steps = [];
    tr.rows.forEach(function (r) { if (steps.indexOf(r.step) < 0) steps.push(r.step); });
    var state = { pos: steps.length - 1, obj: "" };
    var controls = el("div", "controls");
    var buttons = {};
    [["first", "\u00ab start"], ["back", "\u25c0 back"], ["fwd", "forward \u25b6"], ["last", "end \u00bb"]].forEach(function (b) {
      var btn = el("button", "btn-" + b[0], b[1]);
      btn.type = "button";
      btn.setAttribute("data-act", b[0]);
      buttons[b[0]] = btn;
    });
    var pos = el("span", "pos");
    controls.appendChild(buttons.first); controls.appendChild(buttons.back);
    controls.appendChild(pos);
    controls.appendChild(buttons.fwd); controls.appendChild(buttons.last);
    var lab = el("label", "objlabel", "highlight object ");
    var sel = el("select", "obj");
    sel.appendChild(new Option("(none)", ""));
    tr.objects.forEach(function (o) { sel.appendChild(new Option(o, o)); });
    lab.appendChild(sel);
    controls.appendChild(lab);
    var table = el("table", "cpus");
    var thead = el("thead"), hr = el("tr");
    hr.appendChild(el("th", "num", "step"));
    for (var c = 0; c < tr.ncpus; c++) hr.appendChild(el("th", "cpu", "CPU" + c));
    hr.appendChild(el("th", "ref", "upstream C"));
    thead.appendChild(hr); table.appendChild(thead);
    var tbody = el("tbody");
    var lastStep = null;
    var trs = tr.rows.map(function (r) {
      var row = el("tr", "row kind-" + r.kind);
      row.setAttribute("data-step", r.step);
      row.setAttribute("data-cpu", r.cpu);
      row.setAttribute("data-objs", r.objects.join(" "));
      row.setAttribute("data-access", r.access);
      row.appendChild(el("td", "num", r.step !== lastStep ? String(r.step) : ""));
      lastStep = r.step;
      for (var c = 0; c < tr.ncpus; c++) {
        var td = el("td", "cpu" + (c === r.cpu ? " act" : ""));
        if (c === r.cpu) { td.textContent = r.text; td.style.paddingLeft = (6 + 14 * r.depth) + "px"; }
        row.appendChild(td);
      }
      var ref = el("td", "ref");
      if (r.ref && r.kind === "func") {
        var label = r.ref.file + (r.ref.line ? ":" + r.ref.line : "") + " " + r.ref["function"] + "()";
        if (r.ref.patch) label += " [" + r.ref.patch + "]";
        if (r.ref.url) {
          var a = el("a", "", label); a.href = r.ref.url; a.title = r.ref.version; ref.appendChild(a);
        } else { ref.textContent = label; }
      }
      row.appendChild(ref);
      tbody.appendChild(row);
      return row;
    });
    table.appendChild(tbody);
    var anchor = sec.querySelector(".viewer");
    anchor.appendChild(controls);
    anchor.appendChild(table);
    function render() {
      var cur = steps[state.pos];
      pos.textContent = "step " + cur + " (" + (state.pos + 1) + " of " + steps.length + ")";
      sec.setAttribute("data-current-step", cur);
      sec.setAttribute("data-highlight", state.obj);
      trs.forEach(function (row, i) {
        var r = tr.rows[i];
        row.classList.toggle("future", r.step > cur);
        row.classList.toggle("current", r.step === cur);
        var acc = state.obj !== "" && r.access === state.obj;
        var men = state.obj !== "" && !acc && r.objects.indexOf(state.obj) >= 0;
        row.classList.toggle("hl-access", acc);
        row.classList.toggle("hl-mention", men);
      });
      buttons.back.disabled = state.pos === 0; buttons.first.disabled = state.pos === 0;
      buttons.fwd.disabled = state.pos === steps.length - 1; buttons.last.disabled = state.pos === steps.length - 1;
      if (sel.value !== state.obj) sel.value = state.obj;
    }
    function go(act) {
      if (act === "first") state.pos = 0;
      else if (act === "back") state.pos = Math.max(0, state.pos - 1);
      else if (act === "fwd") state.pos = Math.min(steps.length - 1, state.pos + 1);
      else if (act === "last") state.pos = steps.length - 1;
      render();
    }
    controls.addEventListener("click", function (ev) {
      var act = ev.target.getAttribute && ev.target.getAttribute("data-act");
      if (act) go(act);
    });
    sel.addEventListener("change", function () { state.obj = sel.value; render(); });
    sec.tabIndex = 0;
    sec.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowLeft") { go("back"); ev.preventDefault(); }
      if (ev.key === "ArrowRight") { go("fwd"); ev.preventDefault(); }
    });
    viewers[tr.id] = {
      set: function (step, obj) {
        if (step !== null) {
          var i = steps.indexOf(step);
          if (i < 0) { i = 0; while (i < steps.length - 1 && steps[i + 1] <= step) i++; }
          state.pos = i;
        }
        if (obj !== null) state.obj = obj;
        render();
      }
    };
    render();
  });
  function fromHash() {
    var h = decodeURIComponent(location.hash.replace(/^#/, ""));
    if (!h) return;
    var parts = h.split(":"), id = parts[0], step = null, obj = null;
    parts.slice(1).forEach(function (p) {
      if (p.indexOf("step=") === 0) step = parseInt(p.slice(5), 10);
      if (p.indexOf("obj=") === 0) obj = p.slice(4);
    });
    if (viewers[id]) viewers[id].set(step, obj);
  }
  // "#probe-frozen": scroll every grid to its far corner and note where its header row and
  // scenario column end up relative to the grid's own box (0 when they stay frozen).
  function probe() {
    if (location.hash !== "#probe-frozen") return;
    Array.prototype.forEach.call(document.querySelectorAll(".grid-wrap"), function (wrap) {
      wrap.scrollTop = wrap.scrollHeight; wrap.scrollLeft = wrap.scrollWidth;
      var box = wrap.getBoundingClientRect();
      var head = wrap.querySelector("thead th.variant");
      var col = wrap.querySelector("tbody th.scenario");
      wrap.setAttribute("data-scrolled", wrap.scrollTop + "," + wrap.scrollLeft);
      if (head) wrap.setAttribute("data-head-offset", String(Math.round(head.getBoundingClientRect().top - box.top)));
      if (col) wrap.setAttribute("data-col-offset", String(Math.round(col.getBoundingClientRect().left - box.left)));
    });
  }
  window.addEventListener("hashchange", fromHash);
  fromHash();
  probe();
  document.body.setAttribute("data-ready", "1");
})();
"""


def _esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _variant_header(v: str) -> str:
    return "<br>+".join(_esc(p) for p in v.split("+"))


def variant_key(v: str) -> tuple[str, tuple[str, ...]]:
    """Columns by tree, and within a tree each patched variant right after its base."""
    parts = v.split("+")
    return parts[0], tuple(parts[1:])


def _bounds(c: dict[str, Any]) -> str:
    if "fault_budget" not in c:
        return ""
    pre = c.get("preemption_bound")
    pre_text = "any preemptions" if pre is None else f"&le;{pre} preemptions"
    mm = _esc(c.get("memory_model") or "sc")
    return f"{c['executions']} runs, {pre_text}, &le;{c['fault_budget']} faults, {mm}"


def _model(c: dict[str, Any]) -> str:
    return str(c.get("memory_model") or "sc")


def _grid(cells: list[dict[str, Any]], trace_id: dict[tuple[str, str, str], str], gid: str) -> list[str]:
    # One row per scenario and memory model (a scenario with sc and tso cells has two rows).
    scen: list[tuple[str, str]] = []
    variants: list[str] = []
    for c in cells:
        if (c["scenario"], _model(c)) not in scen:
            scen.append((c["scenario"], _model(c)))
        if c["variant"] not in variants:
            variants.append(c["variant"])
    variants.sort(key=variant_key)
    grid = {(c["scenario"], c["variant"], _model(c)): c for c in cells}
    out = [f'<div class="grid-wrap" id="{gid}-wrap">', f'<table class="matrix" id="{gid}"><thead><tr>']
    out.append('<th class="scenario">scenario</th>')
    for v in variants:
        out.append(f'<th class="variant" data-variant="{_esc(v)}">{_variant_header(v)}</th>')
    out.append("</tr></thead><tbody>")
    for s, mm in scen:
        out.append(f'<tr><th class="scenario">{_esc(s)} <span class="model">{_esc(mm)}</span></th>')
        for v in variants:
            c = grid.get((s, v, mm))
            if c is None:
                out.append('<td class="cell none"></td>')
                continue
            cls = {True: "match", False: "mismatch", None: "nocmp"}[c["match"]]
            found = c["verdict"].upper() if c["verdict"] in ("bug", "ok") else c["verdict"]
            tip = f"{c['executions']} executions, {c['seconds']:.2f}s; {c['message'] or c.get('coverage', '')}"
            body = f'<span class="expected">{_esc(c["expected"])}</span><span class="found">{_esc(found)}</span>'
            body += f'<span class="model">{_esc(mm)}</span>'
            if c["verdict"] == "ok":
                body += f'<span class="bounds">{_bounds(c)}</span>'
            tid = trace_id.get((s, v, mm))
            if tid:
                body = f'<a href="#{tid}">{body}</a>'
            out.append(
                f'<td class="cell {cls} v-{_esc(c["verdict"])}" data-scenario="{_esc(s)}" data-variant="{_esc(v)}" '
                f'data-memory-model="{_esc(mm)}" data-verdict="{_esc(c["verdict"])}" title="{_esc(tip)}">{body}</td>'
            )
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return out


def _patch_summary(cells: list[dict[str, Any]]) -> list[str]:
    rows = matrix_summary(cells)
    if not rows:
        return []
    out = [
        '<h2 id="patches">What each patch does</h2>',
        "<p>Each patched variant against its base (the variant without its last patch), from the cells both have: "
        "<b>fixes</b> (BUG on the base, OK with the patch), <b>leaves</b> (BUG on both), <b>brings back</b> "
        "(OK on the base, BUG with the patch), and the functions the patch changes that no cell ran. "
        "<code>kport review PATCH</code> also runs every scenario that reaches the patch.</p>",
        '<table class="patches" id="patch-summary"><thead><tr><th>variant</th><th>against</th><th>fixes</th>'
        "<th>leaves</th><th>brings back</th><th>no scenario reaches</th></tr></thead><tbody>",
    ]

    def names(xs: list[str] | None) -> str:
        if xs is None:
            return "(not measured)"
        return _esc(", ".join(xs) or "none")

    for r in rows:
        unreached = r["no_scenario_reaches"]
        unreached_text = names([f"{f}()" for f in unreached] if unreached is not None else None)
        back = ' class="back"' if r["brings_back"] else ""
        out.append(
            f'<tr data-variant="{_esc(r["variant"])}"><td class="v">{_esc(r["variant"])}</td>'
            f'<td class="v">{_esc(r["base"])}</td><td class="fixes">{names(r["fixes"])}</td>'
            f"<td>{names(r['leaves'])}</td><td{back}>{names(r['brings_back'])}</td>"
            f"<td>{unreached_text}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def render(
    cells: list[dict[str, Any]], title: str = "kernel_port verdict matrix", provenance: dict[str, str] | None = None
) -> str:
    kernel = [c for c in cells if not c["scenario"].startswith("engine.")]
    engine = [c for c in cells if c["scenario"].startswith("engine.")]
    ordered = kernel + engine
    traces: list[dict[str, Any]] = []
    trace_id: dict[tuple[str, str, str], str] = {}
    for c in ordered:
        tr = c.get("trace")
        if tr is not None:
            tid = f"trace-{len(traces) + 1}"
            trace_id[(c["scenario"], c["variant"], _model(c))] = tid
            traces.append({"id": tid, **{k: v for k, v in tr.items() if k not in ("text", "machine")}})
    bad = sum(1 for c in cells if c["match"] is False)
    out: list[str] = []
    w = out.append
    w("<!DOCTYPE html>")
    w('<html lang="en"><head><meta charset="utf-8">')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">')
    w(f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>")
    w(f"<h1>{_esc(title)}</h1>")
    summary = f"{len(cells)} cells, {len(cells) - bad} as expected, {bad} differ"
    w(f'<p class="summary {"bad" if bad else "good"}" id="summary">{_esc(summary)}</p>')
    if provenance:
        items = "; ".join(f"{_esc(k.replace('_', ' '))}: {_esc(v)}" for k, v in provenance.items())
        w(f'<p class="provenance" id="provenance">Produced by {items}.</p>')
    out.extend(_patch_summary(kernel))
    w(
        "<p>Each cell: the expected verdict, then the verdict found (exhaustive <code>dfs</code>), then the memory "
        "model it ran under (<code>sc</code>, or <code>tso</code>: x86-TSO store buffers; a scenario has a row per "
        "model it has cells under); an OK cell also "
        "says what its search covered (executions, preemption bound, fault budget, memory model). "
        "Green: as expected; red: differs; grey: a <code>find</code> cell with nothing recorded to compare. "
        "A BUG cell links to its counterexample below.</p>"
    )
    if kernel:
        w('<h2 id="kernel">Kernel scenarios</h2>')
        out.extend(_grid(kernel, trace_id, "matrix"))
    if engine:
        w('<h2 id="engine">Engine self-tests</h2>')
        w("<p>Programs that use no ported kernel code: each pins one behaviour of the machine or the explorer.</p>")
        out.extend(_grid(engine, trace_id, "matrix-engine" if kernel else "matrix"))
    if traces:
        w("<h2>Counterexamples</h2>")
        w(
            "<p>CPU columns, time going down. <b>forward/back</b> (or the arrow keys) step through the schedule; "
            "<b>highlight object</b> marks the rows that access it (dark) or name it (light). "
            "The right column links each function to its upstream C source at the pinned version.</p>"
        )
    for c in ordered:
        tid = trace_id.get((c["scenario"], c["variant"], _model(c)))
        if not tid:
            continue
        tr = c["trace"]
        w(
            f'<section class="trace" id="{tid}" data-scenario="{_esc(c["scenario"])}" data-variant="{_esc(c["variant"])}"'
            f' data-memory-model="{_esc(_model(c))}">'
        )
        w(f"<h3>{_esc(c['scenario'])} on {_esc(c['variant'])} under {_esc(_model(c))}</h3>")
        w('<div class="viewer"></div>')
        w(f'<p class="verdict">{_esc(tr["verdict"])}</p>')
        w(f'<p class="token">kport replay {_esc(tr["token"])}</p>')
        w(f"<details><summary>plain-text trace</summary><pre>{_esc(tr['text'])}</pre></details>")
        w("</section>")
    payload = json.dumps({"traces": traces}, sort_keys=True).replace("</", "<\\/")
    w(f'<script type="application/json" id="kp-data">{payload}</script>')
    w(f"<script>{JS}</script>")
    w("</body></html>")
    return "\n".join(out) + "\n"


def write_report(path: Path, cells: list[dict[str, Any]], provenance: dict[str, str] | None = None) -> None:
    path.write_text(render(cells, provenance=provenance), encoding="utf-8")
