"""The detectors on real images (../shared/realdata) and generated frames: the DNN defaults find
everything the old Haar/Tesseract pair found and more, nothing on surgical footage, and nothing
(new or old detector) after blurring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ophora_data.config.privacy import PrivacyConfig
from ophora_data.media.frames import sample_frames
from ophora_data.privacy.boxes import Box
from ophora_data.privacy.detectors import (
    Detectors,
    DetectorUnavailable,
    HaarFaceDetector,
    PPOCRTextDetector,
    TesseractTextDetector,
    YuNetFaceDetector,
    build_detectors,
    downscale,
)
from ophora_data.privacy.redact import redact_frame
from tests.privacy import realfixtures as rf
from tests.privacy.helpers import read_rgb

CONFIG = PrivacyConfig()


def redact(image: np.ndarray, boxes: list[Box], config: PrivacyConfig = CONFIG) -> np.ndarray:
    height, width = image.shape[:2]
    return redact_frame(image, [b.dilated(config.box_dilation, width, height) for b in boxes], config)


def overlaps(found: list[Box], redacted: list[Box]) -> list[Box]:
    """Boxes of `found` that touch a redacted box: what the redaction left visible. (Haar also
    fires elsewhere on a re-encoded portrait, e.g. on a suit: that is not a face left unblurred.)"""
    return [b for b in found if any(iou(b, r) > 0 for r in redacted)]


def redact_until_clean(image: np.ndarray, detectors: Detectors, passes: int = 2) -> tuple[np.ndarray, list[Box]]:
    """What the stage does: blur what was found, re-detect, blur what is still found (max_passes 2)."""
    boxes = detectors.detect(image)
    out = redact(image, boxes)
    for _ in range(passes - 1):
        boxes += detectors.detect(out)
        out = redact(image, boxes)
    return out, boxes


def iou(a: Box, b: Box) -> float:
    x0, y0 = max(a.x, b.x), max(a.y, b.y)
    x1, y1 = min(a.x + a.w, b.x + b.w), min(a.y + a.h, b.y + b.h)
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / float(a.w * a.h + b.w * b.h - inter)


@pytest.fixture(scope="module")
def new() -> Detectors:
    """The defaults: YuNet faces + PP-OCRv4 text."""
    return build_detectors(CONFIG)


@pytest.fixture(scope="module")
def old() -> Detectors:
    """The previous defaults, kept as fallbacks: Haar + Tesseract."""
    return build_detectors(PrivacyConfig(face_detector="haar", text_detector="tesseract"))


def test_defaults_are_the_dnn_detectors_with_versions(new: Detectors, old: Detectors) -> None:
    described = new.describe()
    assert described["face_detector"] == "yunet:libfacedetection"
    assert described["face_detector_version"].startswith("yuface ")
    assert described["text_detector"] == "ppocr-det:ch_PP-OCRv4_det_infer"
    assert described["text_detector_version"].startswith("rapidocr_onnxruntime 1.4.")
    assert old.describe()["face_detector"] == "opencv-haar:haarcascade_frontalface_default"
    assert old.describe()["text_detector"] == "tesseract:psm11:gray+bright"
    assert old.describe()["face_detector_version"].startswith("opencv 4.")
    none = build_detectors(PrivacyConfig(face_detector="none", text_detector="none"))
    assert none.active == [] and none.describe()["face_detector"] is None


@pytest.mark.parametrize("name", [rf.ASTRONAUT, rf.OBAMA])
def test_portraits_have_exactly_one_face_and_none_after_blurring(realdata: Path, new: Detectors, old: Detectors,
                                                                name: str) -> None:
    image = read_rgb(realdata / name)
    faces = [b for b in new.detect(image) if b.kind == "face"]
    assert len(faces) == 1
    face = faces[0]
    # The box is on the face, not a corner: its centre is in the upper-middle of the portrait.
    assert 0.2 < (face.x + face.w / 2) / image.shape[1] < 0.8 and face.w > 0.1 * image.shape[1]
    haar = [b for b in old.detect(image) if b.kind == "face"]
    assert len(haar) == 1 and iou(haar[0], face) > 0.5, "Haar's face is found by YuNet too"
    after, boxes = redact_until_clean(image, new)
    assert new.detect(after) == []
    assert old.face is not None and overlaps(old.face.detect(after), boxes) == []
    pixelated = redact(image, [face], PrivacyConfig(blur="pixelate"))
    assert new.face is not None and new.face.detect(pixelated) == []


@pytest.mark.parametrize("name", [rf.SCAN, rf.FIGURE])
def test_printed_and_burned_in_text_is_found_and_gone_after_blurring(realdata: Path, new: Detectors,
                                                                    old: Detectors, name: str) -> None:
    image = read_rgb(realdata / name)
    assert new.text is not None and old.text is not None
    found = new.text.detect(image)
    assert len(found) >= 4 and all(b.kind == "text" for b in found)
    # On the unevenly lit scan, half a line shows only once its neighbour is blurred: pass two.
    after, boxes = redact_until_clean(image, Detectors(face=None, text=new.text))
    assert new.text.detect(after) == [] and overlaps(old.text.detect(after), boxes) == []


def test_every_timestamp_of_the_cataract_figure_is_found(realdata: Path, new: Detectors, old: Detectors) -> None:
    """Burned-in white timestamps sit in the top-left corner of each of the 2x5 frames."""
    image = read_rgb(realdata / rf.FIGURE)
    height, width = image.shape[:2]
    assert new.text is not None and old.text is not None
    assert len(rf.timestamp_panels(new.text.detect(image), width, height)) == 10
    assert len(rf.timestamp_panels(old.text.detect(image), width, height)) >= 8  # what Tesseract managed


def test_slanted_handwriting_is_found(realdata: Path, new: Detectors) -> None:
    """Tesseract never read this (it was a strict xfail); PP-OCR finds it once the frame is enlarged."""
    image = read_rgb(realdata / rf.HANDWRITING)
    assert new.text is not None
    found = new.text.detect(image)
    assert found
    assert new.text.detect(redact(image, found)) == []


def test_surgical_frames_have_no_face_and_no_text(realdata: Path, new: Detectors) -> None:
    frames = sorted((realdata / rf.SURGICAL_FRAMES).glob("*.jpg"))
    frames.append(realdata / rf.SURGICAL_FRAME)
    assert len(frames) == 9
    assert {f.name: new.detect(read_rgb(f)) for f in frames} == {f.name: [] for f in frames}


def test_small_surgical_clip_is_not_mistaken_for_a_face_or_text(realdata: Path, new: Detectors) -> None:
    """At 224 px the eye looks like a face to YuNet (0.64 at most) and its round reflections like
    text to PP-OCR: the score threshold and the aspect filter keep both out (every 25th frame here;
    every frame in the slow test below)."""
    sampled = sample_frames(realdata / rf.SURGICAL_CLIP, every_n=25)
    found = [new.detect_batch(sampled.frames[i : i + 8]) for i in range(0, len(sampled.frames), 8)]
    assert [boxes for batch in found for boxes in batch if boxes] == []


@pytest.mark.slow
def test_small_surgical_clip_every_frame(realdata: Path, new: Detectors) -> None:
    sampled = sample_frames(realdata / rf.SURGICAL_CLIP, every_n=1)
    found = [new.detect_batch(sampled.frames[i : i + 8]) for i in range(0, len(sampled.frames), 8)]
    assert [boxes for batch in found for boxes in batch if boxes] == []


def test_film_faces_haar_misses_are_found_and_haar_faces_too(realdata: Path, new: Detectors, old: Detectors) -> None:
    sampled = sample_frames(realdata / rf.FILM, every_n=8)
    assert new.face is not None and old.face is not None
    yunet = new.face.detect_batch(sampled.frames)
    haar = old.face.detect_batch(sampled.frames)
    for frame_haar, frame_yunet in zip(haar, yunet, strict=True):
        for box in frame_haar:
            assert any(iou(box, other) > 0.3 for other in frame_yunet), "every Haar face is found by YuNet"
    only_yunet = sum(1 for h, y in zip(haar, yunet, strict=True) if y and not h)
    assert only_yunet >= 5, f"YuNet finds faces in {only_yunet} sampled frames where Haar finds none"
    assert max(len(f) for f in yunet) == 2, "both people, when both face the camera"
    assert all(b.w < 60 for f in yunet for b in f), "small faces (the film is 640x360)"


def test_batches_equal_single_frames_and_text_on_generated_frames() -> None:
    """Generated: rendered, rotated and plain text is found; a bright round blob is not text."""
    import cv2

    text = PPOCRTextDetector(CONFIG)
    frames = np.zeros((3, 360, 640, 3), np.uint8) + 40
    cv2.putText(frames[0], "PT 4687 2024-03-18", (40, 300), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    canvas = np.zeros((360, 640, 3), np.uint8) + 40
    cv2.putText(canvas, "Dr. Jane Example", (160, 190), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    frames[1] = cv2.warpAffine(canvas, cv2.getRotationMatrix2D((320, 180), 20, 1.0), (640, 360),
                               borderValue=(40, 40, 40))
    cv2.circle(frames[2], (320, 180), 60, (250, 250, 250), -1)
    batch = text.detect_batch(frames)
    assert batch == [text.detect(frame) for frame in frames]
    assert len(batch[0]) == 1 and batch[0][0].y > 250
    assert len(batch[1]) >= 1 and batch[1][0].h > 60  # the slanted line's box spans its rise
    assert batch[2] == []


def test_yunet_faces_cut_by_the_frame_edge_are_clipped(monkeypatch: pytest.MonkeyPatch) -> None:
    """yuface returns uint16 boxes: a face past the left edge comes back wrapped around (65530)."""
    import yuface

    # (score %, x, y, w, h): cut by the left edge; below the 0.65 threshold; outside the frame.
    rows = np.array([[90, 65530, 10, 40, 50], [30, 100, 20, 30, 30], [80, 200, 5, 9, 9]], np.uint16)
    monkeypatch.setattr(yuface, "detect", lambda image, conf: (rows[:, 0], rows[:, 1:], None))
    boxes = YuNetFaceDetector(CONFIG).detect(np.zeros((120, 160, 3), np.uint8))
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(0, 10, 34, 50)]


def test_downscale_maps_boxes_back_to_full_size() -> None:
    frame = np.zeros((1080, 1920, 3), np.uint8)
    small, back = downscale(frame, 640)
    assert small.shape[:2] == (360, 640) and back == pytest.approx(3.0)
    assert downscale(frame, 4000)[1] == 1.0


def test_unavailable_detectors_say_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(DetectorUnavailable, match="YuNet ONNX model not found"):
        YuNetFaceDetector(PrivacyConfig(yunet_model_path=str(tmp_path / "missing.onnx")))
    import sys

    monkeypatch.setitem(sys.modules, "yuface", None)  # not installed (no wheel for this Python)
    with pytest.raises(DetectorUnavailable, match="yuface.*face_detector=haar"):
        YuNetFaceDetector(PrivacyConfig())
    with pytest.raises(DetectorUnavailable, match="cascade"):
        HaarFaceDetector(PrivacyConfig(haar_cascade=str(tmp_path / "missing.xml")))
    import importlib.util

    import pytesseract

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "rapidocr_onnxruntime" else real_find_spec(name, *a))
    with pytest.raises(DetectorUnavailable, match="rapidocr.*text_detector=tesseract"):
        PPOCRTextDetector(PrivacyConfig())

    def missing() -> None:
        raise pytesseract.TesseractNotFoundError()

    monkeypatch.setattr(pytesseract, "get_tesseract_version", missing)
    with pytest.raises(DetectorUnavailable, match="tesseract-ocr"):
        TesseractTextDetector(PrivacyConfig())
