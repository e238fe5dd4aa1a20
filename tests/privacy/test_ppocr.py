"""PP-OCR text detection: the fused graph computes what the shipped one does, and crops are detected
at their frame's scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.models.ppocr_text import PPOCRTextDetector, region_for_network
from tests.privacy import realfixtures as rf
from tests.privacy.helpers import read_rgb


@pytest.fixture(scope="module")
def fused() -> PPOCRTextDetector:
    return PPOCRTextDetector()


@pytest.fixture(scope="module")
def shipped() -> PPOCRTextDetector:
    return PPOCRTextDetector(fuse=False)


def text_frame() -> np.ndarray:
    import cv2

    frame = np.zeros((360, 640, 3), np.uint8) + 60
    cv2.putText(frame, "PT 4687 2024-03-18", (40, 300), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    cv2.putText(frame, "Dr. Jane Example", (300, 80), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (230, 230, 230), 2)
    return frame


def test_the_fused_graph_computes_the_same_map(fused: PPOCRTextDetector, shipped: PPOCRTextDetector) -> None:
    assert fused.fused["hardswish"] == 24 and fused.fused["conv_affine"] == 28  # PP-OCRv4 det as shipped
    assert fused.version.endswith("graph fused by onnx " + __import__("onnx").__version__)
    assert shipped.graph == "as shipped" and not shipped.fused
    rng = np.random.default_rng(0)
    batch = rng.uniform(-1, 1, (2, 3, 224, 320)).astype(np.float32)
    a = shipped._session.run(None, {shipped._input: batch})[0]
    b = fused._session.run(None, {fused._input: batch})[0]
    assert np.abs(a - b).max() < 1e-4
    frame = text_frame()
    regions = fused.detect_batch([frame])[0]
    assert [r.bounding_rect for r in regions] == [r.bounding_rect for r in shipped.detect_batch([frame])[0]]
    assert len(regions) == 2


def test_the_fused_graph_finds_the_same_text_on_the_real_fixtures(realdata: Path, fused: PPOCRTextDetector,
                                                                  shipped: PPOCRTextDetector) -> None:
    for name in (rf.SCAN, rf.FIGURE, rf.HANDWRITING, rf.ASTRONAUT):
        image = read_rgb(realdata / name)
        assert [r.bounding_rect for r in fused.detect_batch([image])[0]] == \
               [r.bounding_rect for r in shipped.detect_batch([image])[0]], name


def test_a_crop_is_grown_to_whole_network_cells_inside_the_frame() -> None:
    # At scale 1.5 a network cell is 32 / 1.5 = 21.3 frame pixels: 50 px -> 3 cells -> 64 px, 30 -> 2 -> 43.
    assert region_for_network(100, 100, 50, 30, 640, 360, 1.5) == (93, 94, 64, 43)
    x, y, w, h = region_for_network(620, 340, 20, 20, 640, 360, 1.5)  # at the corner: shifted inward
    assert x + w == 640 and y + h == 360 and x <= 620 and y <= 340
    assert region_for_network(0, 0, 900, 500, 640, 360, 1.5) == (0, 0, 640, 360)  # clipped to the frame


def test_a_crop_finds_what_the_whole_frame_finds_there(fused: PPOCRTextDetector) -> None:
    frame = text_frame()
    whole = [r.bounding_rect for r in fused.detect_batch([frame])[0]]
    line = next(b for b in whole if b[1] > 250)
    crop = fused.detect_region(frame, line[0] - 20, line[1] - 20, line[2] + 40, line[3] + 40)
    assert len(crop) == 1
    x, y, w, h = crop[0].bounding_rect
    assert abs(x - line[0]) <= 3 and abs(y - line[1]) <= 3 and abs(w - line[2]) <= 6 and abs(h - line[3]) <= 6
    assert fused.detect_region(frame, 10, 10, 60, 60) == []  # an empty corner
