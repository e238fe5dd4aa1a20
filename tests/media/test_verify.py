"""A cut clip counts only when it is exact: frame count, duration, window, size and audio as planned."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ophora_data.media.verify import ClipFacts, Expected, clip_facts, problems
from tests.conftest import MakeVideo

EXPECTED = Expected(frames=50, duration_s=2.0, window_s=2.0, frame_interval=0.04, width=320, height=240, audio=False)
EXACT = ClipFacts(frames=50, duration_s=2.0, width=320, height=240, fps=25.0, codec="h264", pix_fmt="yuv420p",
                  has_audio=False, size_bytes=1000)


def test_an_exact_clip_has_no_problems() -> None:
    assert problems(EXACT, EXPECTED) == []
    assert problems(replace(EXACT, duration_s=2.05), EXPECTED) == []  # within a frame and a half


@pytest.mark.parametrize(("facts", "found"), [
    (replace(EXACT, frames=49), "49 frames, expected 50"),
    (replace(EXACT, frames=51), "51 frames, expected 50"),
    (replace(EXACT, duration_s=2.2), "duration 2.200 s, expected 2.000 s"),
    (replace(EXACT, width=318), "size 318x240, expected 320x240"),
    (replace(EXACT, has_audio=True), "audio stream present, expected none"),
])
def test_every_difference_is_named(facts: ClipFacts, found: str) -> None:
    assert found in problems(facts, EXPECTED)


def test_facts_of_a_real_clip(make_video: MakeVideo) -> None:
    clip = make_video("c.mp4", duration=2.0, size="320x240", fps=25, audio=False)
    for mode in ("packets", "decode"):
        facts = clip_facts(clip, mode)  # type: ignore[arg-type]
        assert (facts.frames, facts.width, facts.height, facts.has_audio) == (50, 320, 240, False)
        assert problems(facts, EXPECTED) == []
