"""The real fixtures (../shared/realdata) with a face or burned-in text, or surgical footage that
must stay untouched, and what the privacy detectors must find on each.

Shared by tests/privacy and benchmarks/privacy.py (recall table); the README lists them.
Counts are per image (for videos: frames sampled every `every_n`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fixture:
    path: str  # relative to ../shared/realdata
    kind: str  # "image", "video" or "frames" (a folder of JPEGs)
    faces: str  # expectation in words, as the README prints it
    text: str
    surgical: bool = False  # blurred area must be 0: nothing here identifies anyone
    every_n: int = 8  # video sampling for the recall table


FIXTURES = [
    Fixture("nonsurgical/face_astronaut_eileen_collins_skimage.png", "image", "exactly 1", "any (name patch)"),
    Fixture("nonsurgical/face_obama_face_recognition.jpg", "image", "exactly 1", "none"),
    Fixture("nonsurgical/people_silent_film_moviepy_chaplin.mp4", "video", "2 people, small, often in profile",
            "none burned in"),
    Fixture("nonsurgical/text_scanned_page_skimage.png", "image", "none", "printed lines (>= 4)"),
    Fixture("nonsurgical/text_corner_skimage.png", "image", "none", "slanted handwriting (>= 1 region)"),
    Fixture("surgical/cataract1k_fig4_irregularities_timestamped_frames.png", "image", "none",
            "10 timestamps (one per panel)"),
    Fixture("surgical/cataract1k_frame_640x360.png", "image", "none", "none", surgical=True),
    Fixture("surgical/cataractsam2_frames", "frames", "none", "none", surgical=True),
    Fixture("surgical/cataract1k_case4687_capsulorhexis_52.50-57.50s_224px.mp4", "video", "none", "none",
            surgical=True, every_n=5),
]

ASTRONAUT = FIXTURES[0].path
OBAMA = FIXTURES[1].path
FILM = FIXTURES[2].path
SCAN = FIXTURES[3].path
HANDWRITING = FIXTURES[4].path
FIGURE = FIXTURES[5].path
SURGICAL_FRAME = FIXTURES[6].path
SURGICAL_FRAMES = FIXTURES[7].path
SURGICAL_CLIP = FIXTURES[8].path


def timestamp_panels(boxes: list, width: int, height: int) -> set[tuple[int, bool]]:
    """Panels of the 2x5 Cataract-1K figure whose top-left timestamp a box covers."""
    return {(round(b.x / (width / 5)), b.y > height / 2) for b in boxes
            if b.y < 0.1 * height or 0.5 * height < b.y < 0.58 * height}
