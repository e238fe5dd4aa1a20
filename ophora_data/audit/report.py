"""`audit report`: one self-contained static HTML page (inline CSS/JS/SVG, thumbnails as data URIs).

At 160K clips the page stays small (a few MB): aggregates for the funnel and histograms, sampled
contact sheets, and per-video timelines as compact JSON drawn a page at a time.

The page opens from disk and fetches nothing: a Content-Security-Policy forbids every
network source, so even a stray URL in an instruction cannot make the browser call out.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import ophora_data
from ophora_data.audit.charts import histogram_svg
from ophora_data.audit.reportassets import CSS, JS, TIMELINE_COLOURS
from ophora_data.audit.reportdata import FunnelStep, ReportData, collect
from ophora_data.audit.reportsample import ClipInfo, Sheet
from ophora_data.audit.thumbnails import ThumbRequest, make_thumbnails
from ophora_data.config import Bound, Config
from ophora_data.run.atomic import atomic_write_text
from ophora_data.run.tables import now_iso
from ophora_data.run.workdir import RunDir

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def write_report(run: RunDir, config: Config, out: Path | None = None, *, decision_set_id: str | None = None,
                 max_cards: int = 24, thumb_width: int = 192, progress: bool = False) -> Path:
    """Render the audit page for the run's active (or the named) decision set; returns its path.

    `max_cards` clips per contact sheet (a sample across videos); every window of every video is
    in the timelines.
    """
    data = collect(run, config, decision_set_id, max_cards)
    shown = [c for sheet in (data.kept, *data.rejected) for c in sheet.clips]
    requests = [ThumbRequest(c.clip_id, *c.thumb_source) for c in shown if c.thumb_source]
    thumbs = make_thumbnails(run, requests, thumb_width, progress=progress)
    out = Path(out) if out is not None else run.root / "report" / "index.html"
    atomic_write_text(out, render(run, data, thumbs))
    return out


def render(run: RunDir, data: ReportData, thumbs: dict[str, bytes]) -> str:
    meta = data.metadata
    title = f"ophora-data audit: {meta.get('recipe') or run.root.name}"
    body = [
        _header(data, title),
        '<nav><a href="#funnel">Funnel</a><a href="#thresholds">Thresholds</a>'
        '<a href="#histograms">Histograms</a><a href="#timelines">Timelines</a>'
        '<a href="#kept">Kept</a><a href="#rejected">Rejected</a></nav><main>',
        _funnel(data.funnel), _thresholds(data), _histograms(data), _timelines(run, data),
        _kept(data, thumbs), _rejected(data, thumbs), "</main>",
        f"<footer>ophora-data {escape(ophora_data.__version__)} · generated {escape(now_iso())} · "
        f"run {escape(str(run.root))}</footer>",
    ]
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + f"<script>{JS}</script></body></html>\n")


def _header(data: ReportData, title: str) -> str:
    meta = data.metadata
    set_id = data.decision_set_id or "none (run `decide` first)"
    info = (f"decision set <code>{escape(set_id)}</code> · {data.candidates} candidate clips · "
            f"code {escape(str(meta.get('code_version', '?')))}")
    return (f"<header><div><h1>{escape(title)}</h1><div class=\"meta\">{info}</div></div>"
            '<input id="search" type="search" placeholder="Search clip ids, video ids and instructions" '
            'aria-label="search clips"><span id="search-count"></span></header>')


def _funnel(steps: list[FunnelStep]) -> str:
    peak = {unit: max([s.count for s in steps if s.unit == unit] or [1]) or 1 for unit in ("videos", "clips")}
    items = []
    for step in steps:
        lost = "".join(f"<li>−{n} {escape(reason)}</li>" for reason, n in step.lost.most_common())
        width = 100 * step.count / peak[step.unit]
        items.append(
            f'<li class="step" data-step="{step.name}"><span class="label">{step.name}</span>'
            f'<span class="count" data-count="{step.count}">{step.count}</span>'
            f'<div><div class="bar" style="width:{width:.1f}%"></div><span class="unit">{step.unit}</span>'
            f'<ul class="lost">{lost}</ul></div></li>')
    return f'<section id="funnel"><h2>Funnel</h2><ol class="funnel">{"".join(items)}</ol></section>'


def _thresholds(data: ReportData) -> str:
    measured = {h.name: h for h in data.histograms}
    rows = []
    for name, text in data.thresholds.items():
        hist = measured.get(name)
        counts = (f'<td class="num">{hist.total}</td><td class="num">{hist.failing}</td>' if hist
                  else '<td class="num">0</td><td class="num">0</td>')
        rows.append(f'<tr data-threshold="{escape(name)}"><td>{escape(name)}</td>'
                    f'<td class="bound">{escape(text)}</td>{counts}</tr>')
    models = "".join(f"<li>{escape(m['stage'])}: {escape(str(m['model']))} "
                     f"(revision {escape(str(m.get('model_revision') or '?'))})</li>"
                     for m in data.metadata.get("models", []))
    prompts = "".join(f"<li>captioner {escape(str(p.get('captioner')))} · "
                      f"model {escape(str(p.get('model')))} · prompt {escape(str(p.get('prompt_version')))}</li>"
                      for p in data.metadata.get("prompts", []))
    return ('<section id="thresholds"><h2>Thresholds and versions</h2><table><tr><th>check</th>'
            '<th>threshold</th><th class="num">clips measured</th><th class="num">failing</th></tr>'
            f'{"".join(rows)}</table><ul>{models}{prompts}</ul></section>')


def _histograms(data: ReportData) -> str:
    figures = [f'<figure data-check="{escape(h.name)}"><figcaption><b>{escape(h.name)}</b> · '
               f"{h.total} clips · {h.failing} fail</figcaption>{histogram_svg(h)}</figure>"
               for h in data.histograms]
    empty = "" if figures else "<p>No scored checks in this run.</p>"
    return (f'<section id="histograms"><h2>Scored checks</h2><div class="hists">{"".join(figures)}</div>'
            f"{empty}</section>")


def _timelines(run: RunDir, data: ReportData) -> str:
    """Every video's windows as JSON; the page draws them a page at a time (see reportassets.JS)."""
    legend = "".join(f'<span><i style="background:{colour}"></i>{label}</span>' for colour, label in
                     zip(TIMELINE_COLOURS, ("kept", "rejected", "rejected window (segment)"), strict=True))
    return ('<section id="timelines"><h2>Timelines</h2>'
            f'<div class="legend">{legend}</div><p class="more">Each bar is one source video; each window is a '
            "candidate clip (hover for its decision, click for the command that explains it). The search box "
            'filters videos by video or clip id.</p><div id="timeline-pager" class="pager"></div>'
            '<div id="timeline-list"></div><div id="timeline-detail" class="detail" hidden></div>'
            f'<script type="application/json" id="timeline-data" data-run="{escape(str(run.root))}">'
            f"{data.timelines}</script></section>")


def _card(clip: ClipInfo, thumbs: dict[str, bytes], bounds: dict[str, Bound]) -> str:
    image = thumbs.get(clip.clip_id)
    img = (f'<img alt="" src="data:image/jpeg;base64,{base64.b64encode(image).decode()}">' if image
           else '<div class="noimg">no image</div>')
    span = clip.video_id
    if clip.start is not None and clip.end is not None:
        span += f" · {clip.start:.1f}–{clip.end:.1f} s"
    scores = "".join(
        f'<li class="{"pass" if name not in bounds or bounds[name].accepts(v) else "fail"}">'
        f"{escape(name)} {v:.4g}</li>" for name, v in sorted(clip.scores.items()))
    reasons = "".join(f'<li class="fail">{escape(r)}</li>' for r in clip.reasons)
    subsets = f'<div class="subsets">subsets: {escape(", ".join(clip.subsets))}</div>' if clip.subsets else ""
    search = escape(f"{clip.clip_id} {clip.video_id} {clip.instruction}".lower())
    return (f'<article class="card {clip.decision}" id="card-{escape(clip.clip_id)}" data-search="{search}" '
            f'data-clip="{escape(clip.clip_id)}">{img}<div class="body">'
            f'<div class="id">{escape(clip.clip_id)}</div>'
            f'<div class="span">{escape(span)}</div><p class="instr">{escape(clip.instruction)}</p>'
            f"<ul>{scores}{reasons}</ul>{subsets}</div></article>")


def _sheet(sheet: Sheet, data: ReportData, thumbs: dict[str, bytes]) -> str:
    bounds = {h.name: h.bound for h in data.histograms}
    cards = "".join(_card(c, thumbs, bounds) for c in sheet.clips)
    more = sheet.total - len(sheet.clips)
    note = (f'<p class="more">{more} more not shown: a sample of {len(sheet.clips)} of {sheet.total}, spread '
            f"across videos (raise --max-cards, or list them with <code>audit query</code>)</p>" if more > 0 else "")
    return f'<div class="sheet" data-sheet="{escape(sheet.sheet_id)}">{cards}</div>{note}'


def _kept(data: ReportData, thumbs: dict[str, bytes]) -> str:
    sheet = data.kept
    return (f'<section id="kept"><h2>Kept clips (<span data-shown-for="kept">{len(sheet.clips)}</span> shown of '
            f"{sheet.total})</h2>{_sheet(sheet, data, thumbs)}</section>")


def _rejected(data: ReportData, thumbs: dict[str, bytes]) -> str:
    parts = [f'<details open data-reason="{escape(s.title)}"><summary>{escape(s.title)} '
             f'(<span data-shown-for="{s.sheet_id}">{len(s.clips)}</span> shown of {s.total})</summary>'
             f"{_sheet(s, data, thumbs)}</details>" for s in data.rejected]
    total = sum(s.total for s in data.rejected)
    return (f'<section id="rejected"><h2>Rejected clips ({total}), by first reason</h2>'
            f'{"".join(parts) or "<p>None.</p>"}</section>')
