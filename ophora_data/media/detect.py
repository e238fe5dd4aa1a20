"""Black and frozen frames of a clip with ffmpeg's blackdetect and freezedetect (one decode)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ophora_data.media.ffmpeg import detect_argv
from ophora_data.media.runner import run_tool

_BLACK = ("lavfi.black_start", "lavfi.black_end")
_FROZEN = ("lavfi.freezedetect.freeze_start", "lavfi.freezedetect.freeze_end")


@dataclass(frozen=True)
class StillSpans:
    black: list[tuple[float, float]]
    frozen: list[tuple[float, float]]
    duration_s: float

    def fraction(self, spans: list[tuple[float, float]]) -> float:
        if self.duration_s <= 0:
            return 0.0
        return min(1.0, sum(end - start for start, end in spans) / self.duration_s)

    @property
    def black_fraction(self) -> float:
        return self.fraction(self.black)

    @property
    def frozen_fraction(self) -> float:
        return self.fraction(self.frozen)


def parse_spans(text: str, keys: tuple[str, str], duration_s: float) -> list[tuple[float, float]]:
    """Spans from `metadata=mode=print` output; a span still open at the end closes at the clip's end."""
    start_key, end_key = keys
    spans: list[tuple[float, float]] = []
    open_at: float | None = None
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep:
            continue
        if key == start_key:
            open_at = float(value)
        elif key == end_key and open_at is not None:
            spans.append((open_at, float(value)))
            open_at = None
    if open_at is not None:
        spans.append((open_at, max(open_at, duration_s)))
    return spans


def still_spans(
    path: Path,
    duration_s: float,
    pixel_black: float = 0.10,
    picture_black: float = 0.98,
    freeze_noise_db: float = -60.0,
    freeze_min_s: float = 0.5,
    timeout_s: float = 600.0,
) -> StillSpans:
    argv = detect_argv(path, pixel_black, picture_black, freeze_noise_db, freeze_min_s)
    text = run_tool(argv, timeout_s=timeout_s).decode("utf-8", "replace")
    return StillSpans(
        black=parse_spans(text, _BLACK, duration_s),
        frozen=parse_spans(text, _FROZEN, duration_s),
        duration_s=duration_s,
    )
