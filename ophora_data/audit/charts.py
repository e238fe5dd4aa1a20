"""Inline SVG for the report: a histogram per scored check (timelines are drawn by the page's JS)."""

from __future__ import annotations

from html import escape

from ophora_data.audit.judge import bound_text
from ophora_data.audit.reportdata import Histogram


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def histogram_svg(hist: Histogram, width: int = 360, height: int = 130) -> str:
    """Bars of the binned values, the threshold(s) as red dashed lines labelled with the bound."""
    bound = hist.bound
    marks = [v for v in (bound.min, bound.max) if v is not None]
    bins = len(hist.counts)
    low, high = hist.low, hist.high
    top, plot_h, bar_w = 14, height - 34, width / bins
    peak = max(hist.counts) or 1

    def x_of(value: float) -> float:
        return (value - low) / (high - low) * width

    parts = [f'<svg class="hist" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(hist.name)} histogram">']
    for index, count in enumerate(hist.counts):
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
    parts.append(f'<text x="0" y="{height - 4}" font-size="11" fill="#555">{_fmt(hist.first)}</text>')
    parts.append(f'<text x="{width}" y="{height - 4}" font-size="11" fill="#555" text-anchor="end">'
                 f"{_fmt(hist.last)}</text>")
    parts.append(f'<text x="{width / 2}" y="{height - 4}" font-size="11" fill="#555" text-anchor="middle">'
                 f"threshold {escape(bound_text(bound))}</text></svg>")
    return "".join(parts)
