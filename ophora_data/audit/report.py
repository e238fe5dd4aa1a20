"""`audit report`: one self-contained static HTML page (inline CSS/JS/SVG, thumbnails as data URIs).

The page opens from disk and fetches nothing: a Content-Security-Policy forbids every
network source, so even a stray URL in an instruction cannot make the browser call out.
"""

from __future__ import annotations

import base64
from collections import defaultdict
from html import escape
from pathlib import Path

import ophora_data
from ophora_data.audit.charts import COLOURS, histogram_svg, timeline_svg
from ophora_data.audit.reportassets import CSS, JS
from ophora_data.audit.reportdata import ClipInfo, FunnelStep, ReportData, collect
from ophora_data.audit.thumbnails import ThumbRequest, make_thumbnails
from ophora_data.config import Bound, Config
from ophora_data.run.atomic import atomic_write_text
from ophora_data.run.tables import now_iso
from ophora_data.run.workdir import RunDir

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def write_report(run: RunDir, config: Config, out: Path | None = None, *, decision_set_id: str | None = None,
                 max_cards: int = 300, thumb_width: int = 192, progress: bool = False) -> Path:
    """Render the audit page for the run's active (or the named) decision set; returns its path."""
    data = collect(run, config, decision_set_id)
    shown = _shown_clips(data.clips, max_cards)
    requests = [ThumbRequest(c.clip_id, *c.thumb_source) for c in shown if c.thumb_source]
    thumbs = make_thumbnails(run, requests, thumb_width, progress=progress)
    out = Path(out) if out is not None else run.root / "report" / "index.html"
    atomic_write_text(out, render(run, data, thumbs, max_cards))
    return out


def _shown_clips(clips: list[ClipInfo], max_cards: int) -> list[ClipInfo]:
    kept = [c for c in clips if c.decision == "kept"][:max_cards]
    by_reason: dict[str, list[ClipInfo]] = defaultdict(list)
    for clip in clips:
        if clip.decision != "kept":
            by_reason[clip.primary_reason].append(clip)
    return kept + [c for group in by_reason.values() for c in group[:max_cards]]


def render(run: RunDir, data: ReportData, thumbs: dict[str, bytes], max_cards: int) -> str:
    meta = data.metadata
    title = f"ophora-data audit: {meta.get('recipe') or run.root.name}"
    body = [
        _header(run, data, title),
        '<nav><a href="#funnel">Funnel</a><a href="#thresholds">Thresholds</a>'
        '<a href="#histograms">Histograms</a><a href="#timelines">Timelines</a>'
        '<a href="#kept">Kept</a><a href="#rejected">Rejected</a></nav><main>',
        _funnel(data.funnel), _thresholds(data), _histograms(data), _timelines(data),
        _kept(data, thumbs, max_cards), _rejected(data, thumbs, max_cards), "</main>",
        f"<footer>ophora-data {escape(ophora_data.__version__)} · generated {escape(now_iso())} · "
        f"run {escape(str(run.root))}</footer>",
    ]
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
            + "".join(body) + f"<script>{JS}</script></body></html>\n")


def _header(run: RunDir, data: ReportData, title: str) -> str:
    meta = data.metadata
    set_id = data.decision_set_id or "none (run `decide` first)"
    info = (f"decision set <code>{escape(set_id)}</code> · {len(data.clips)} candidate clips · "
            f"code {escape(str(meta.get('code_version', '?')))}")
    return (f"<header><div><h1>{escape(title)}</h1><div class=\"meta\">{info}</div></div>"
            '<input id="search" type="search" placeholder="Search clip ids and instructions" '
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
        counts = (f'<td class="num">{len(hist.values)}</td><td class="num">{hist.failing}</td>' if hist
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
               f"{len(h.values)} clips · {h.failing} fail</figcaption>{histogram_svg(h)}</figure>"
               for h in data.histograms]
    empty = "" if figures else "<p>No scored checks in this run.</p>"
    return (f'<section id="histograms"><h2>Scored checks</h2><div class="hists">{"".join(figures)}</div>'
            f"{empty}</section>")


def _timelines(data: ReportData) -> str:
    by_video: dict[str, list[ClipInfo]] = defaultdict(list)
    for clip in data.clips:
        by_video[clip.video_id].append(clip)
    legend = "".join(f'<span><i style="background:{COLOURS[k]}"></i>{label}</span>' for k, label in
                     (("kept", "kept"), ("rejected", "rejected"), ("window", "rejected window (segment)")))
    videos = "".join(f'<div class="video"><h3>{escape(vid)} · {len(clips)} windows · '
                     f'{sum(c.decision == "kept" for c in clips)} kept</h3>'
                     f"{timeline_svg(vid, data.video_durations.get(vid, 0.0), clips)}</div>"
                     for vid, clips in sorted(by_video.items()))
    return f'<section id="timelines"><h2>Timelines</h2><div class="legend">{legend}</div>{videos}</section>'


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


def _sheet(sheet_id: str, clips: list[ClipInfo], data: ReportData, thumbs: dict[str, bytes],
           max_cards: int) -> str:
    bounds = {name: h.bound for name, h in ((h.name, h) for h in data.histograms)}
    cards = "".join(_card(c, thumbs, bounds) for c in clips[:max_cards])
    more = (f'<p class="more">{len(clips) - max_cards} more not shown (raise --max-cards, or use '
            f"<code>audit query</code>)</p>" if len(clips) > max_cards else "")
    return f'<div class="sheet" data-sheet="{escape(sheet_id)}">{cards}</div>{more}'


def _kept(data: ReportData, thumbs: dict[str, bytes], max_cards: int) -> str:
    kept = [c for c in data.clips if c.decision == "kept"]
    shown = min(len(kept), max_cards)
    return (f'<section id="kept"><h2>Kept clips (<span data-shown-for="kept">{shown}</span> shown of '
            f"{len(kept)})</h2>{_sheet('kept', kept, data, thumbs, max_cards)}</section>")


def _rejected(data: ReportData, thumbs: dict[str, bytes], max_cards: int) -> str:
    groups: dict[str, list[ClipInfo]] = defaultdict(list)
    for clip in data.clips:
        if clip.decision != "kept":
            groups[clip.primary_reason].append(clip)
    parts = []
    for index, (reason, clips) in enumerate(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))):
        sheet_id = f"rejected-{index}"
        shown = min(len(clips), max_cards)
        parts.append(f'<details open data-reason="{escape(reason)}"><summary>{escape(reason)} '
                     f'(<span data-shown-for="{sheet_id}">{shown}</span> shown of {len(clips)})</summary>'
                     f"{_sheet(sheet_id, clips, data, thumbs, max_cards)}</details>")
    total = sum(len(c) for c in groups.values())
    return (f'<section id="rejected"><h2>Rejected clips ({total}), by first reason</h2>'
            f'{"".join(parts) or "<p>None.</p>"}</section>')
