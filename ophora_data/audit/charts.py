"""Inline SVG for the report: a histogram per scored check, a timeline per video. No JS libraries."""

from __future__ import annotations

from html import escape

from ophora_data.audit.decisions import bound_text
from ophora_data.audit.reportdata import ClipInfo, Histogram

BINS = 24
COLOURS = {"kept": "#2e9d5b", "rejected": "#d4572e", "window": "#9aa1a9"}


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def histogram_svg(hist: Histogram, width: int = 360, height: int = 130) -> str:
    """Bars of the values, the threshold(s) as red dashed lines labelled with the bound."""
    bound = hist.bound
    marks = [v for v in (bound.min, bound.max) if v is not None]
    low, high = min(hist.values + marks), max(hist.values + marks)
    if high == low:
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad
    counts = [0] * BINS
    for value in hist.values:
        counts[min(BINS - 1, int((value - low) / (high - low) * BINS))] += 1
    top, plot_h, bar_w = 14, height - 34, width / BINS
    peak = max(counts) or 1

    def x_of(value: float) -> float:
        return (value - low) / (high - low) * width

    parts = [f'<svg class="hist" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(hist.name)} histogram">']
    for index, count in enumerate(counts):
        if count:
            bar_h = count / peak * plot_h
            parts.append(f'<rect x="{index * bar_w + 1:.1f}" y="{top + plot_h - bar_h:.1f}" '
                         f'width="{bar_w - 2:.1f}" height="{bar_h:.1f}" fill="#5b7fbd">'
                         f"<title>{count} clip(s)</title></rect>")
    for mark in marks:
        x = x_of(mark)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" y2="{top + plot_h}" stroke="#c62828" '
                     f'stroke-width="2" stroke-dasharray="4 3"/>')
        anchor = "end" if x > width * 0.7 else "start"
        parts.append(f'<text x="{x + (-4 if anchor == "end" else 4):.1f}" y="{top + 6}" font-size="11" '
                     f'fill="#c62828" text-anchor="{anchor}">{_fmt(mark)}</text>')
    base = top + plot_h
    parts.append(f'<line x1="0" x2="{width}" y1="{base}" y2="{base}" stroke="#888"/>')
    parts.append(f'<text x="0" y="{height - 4}" font-size="11" fill="#555">{_fmt(low + pad)}</text>')
    parts.append(f'<text x="{width}" y="{height - 4}" font-size="11" fill="#555" text-anchor="end">'
                 f"{_fmt(high - pad)}</text>")
    parts.append(f'<text x="{width / 2}" y="{height - 4}" font-size="11" fill="#555" text-anchor="middle">'
                 f"threshold {escape(bound_text(bound))}</text></svg>")
    return "".join(parts)


def timeline_svg(video_id: str, duration: float, clips: list[ClipInfo], width: int = 1000) -> str:
    """One bar per video: each window a rectangle coloured by its decision, linked to its card."""
    duration = max(duration, max((c.end or 0.0) for c in clips) if clips else 0.0, 1e-6)
    height = 26
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="windows of {escape(video_id)}">',
             f'<rect x="0" y="4" width="{width}" height="{height - 8}" fill="#eef0f3"/>']
    for clip in clips:
        if clip.start is None or clip.end is None:
            continue
        colour = COLOURS[clip.decision] if clip.segment_ok or clip.decision == "kept" else COLOURS["window"]
        x, w = clip.start / duration * width, max(1.5, (clip.end - clip.start) / duration * width)
        tip = f"{clip.clip_id} {clip.start:.1f}-{clip.end:.1f}s: {clip.decision}"
        if clip.reasons:
            tip += " (" + "; ".join(clip.reasons) + ")"
        parts.append(f'<a href="#card-{escape(clip.clip_id)}"><rect class="win win-{clip.decision}" '
                     f'x="{x:.2f}" y="2" width="{w:.2f}" height="{height - 4}" fill="{colour}" '
                     f'stroke="#fff" stroke-width="1"><title>{escape(tip)}</title></rect></a>')
    parts.append("</svg>")
    return "".join(parts)
