"""Face and burned-in-text detectors on RGB frames, each behind one small protocol.

Frames are downscaled before detection (Haar and Tesseract cost grows with pixels; a 1080p
frame through Tesseract takes ~0.3 s, at 960 px ~0.1-0.2 s) and boxes are mapped back to
full-frame coordinates. Heavy imports happen in the constructors, which stages call in setup().
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ophora_data.config.privacy import PrivacyConfig
from ophora_data.privacy.boxes import Box, merge_lines


class DetectorUnavailable(RuntimeError):
    """A configured detector cannot be built (missing binary, model file or cascade)."""


class Detector(Protocol):
    name: str  # e.g. "opencv-haar:haarcascade_frontalface_default"
    version: str  # e.g. "opencv 4.14.0"
    kind: str  # "face" or "text"

    def detect(self, frame: np.ndarray) -> list[Box]:
        """Boxes in `frame` (H, W, 3 uint8 RGB), in its pixel coordinates."""
        ...


def downscale(frame: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The frame with its long side at most `max_side`, and the factor that maps boxes back."""
    import cv2

    height, width = frame.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    if scale >= 1.0:
        return frame, 1.0
    small = cv2.resize(frame, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    return small, 1.0 / scale


class HaarFaceDetector:
    """OpenCV's Haar frontal-face cascade (ships in the opencv 4.x wheel; OpenCV 5 dropped it)."""

    kind = "face"

    def __init__(self, config: PrivacyConfig) -> None:
        import cv2

        path = Path(config.haar_cascade)
        if not path.is_file():
            path = Path(cv2.data.haarcascades) / config.haar_cascade
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise DetectorUnavailable(f"Haar cascade {config.haar_cascade!r} not found or unreadable "
                                      "(OpenCV 4.x ships them in cv2.data.haarcascades)")
        self._config = config
        self.name = f"opencv-haar:{path.stem}"
        self.version = f"opencv {cv2.__version__}"

    def detect(self, frame: np.ndarray) -> list[Box]:
        import cv2

        small, back = downscale(frame, self._config.face_max_side)
        # Histogram equalisation makes the cascade less sensitive to dim or washed-out footage.
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        size = self._config.face_min_size_px
        found = self._cascade.detectMultiScale(gray, scaleFactor=self._config.face_scale_factor,
                                               minNeighbors=self._config.face_min_neighbors,
                                               minSize=(size, size))
        return [Box(int(x), int(y), int(w), int(h), "face").scaled(back) for x, y, w, h in found]


class YuNetFaceDetector:
    """OpenCV's DNN face detector (cv2.FaceDetectorYN) with a local YuNet ONNX model."""

    kind = "face"

    def __init__(self, config: PrivacyConfig) -> None:
        import cv2

        if not config.yunet_model_path or not Path(config.yunet_model_path).is_file():
            raise DetectorUnavailable(f"face_detector=yunet needs privacy.yunet_model_path to an ONNX file "
                                      f"(got {config.yunet_model_path!r})")
        self._model = cv2.FaceDetectorYN.create(config.yunet_model_path, "", (320, 320),
                                                config.yunet_score_threshold, 0.3, 5000)
        self._config = config
        self.name = f"opencv-yunet:{Path(config.yunet_model_path).name}"
        self.version = f"opencv {cv2.__version__}"

    def detect(self, frame: np.ndarray) -> list[Box]:
        import cv2

        small, back = downscale(frame, self._config.face_max_side)
        height, width = small.shape[:2]
        self._model.setInputSize((width, height))
        _, faces = self._model.detect(cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        if faces is None:
            return []
        # Each row: x, y, w, h, five landmark pairs, score.
        return [Box(int(f[0]), int(f[1]), int(f[2]), int(f[3]), "face", float(f[14])).scaled(back)
                for f in faces]


class TesseractTextDetector:
    """Tesseract word boxes (subtitles, timestamps, watermarks, labels) above a confidence threshold."""

    kind = "text"

    def __init__(self, config: PrivacyConfig) -> None:
        import pytesseract

        try:
            version = pytesseract.get_tesseract_version()
        except (pytesseract.TesseractNotFoundError, OSError) as exc:
            raise DetectorUnavailable("text_detector=tesseract needs the tesseract binary (Debian/Ubuntu: "
                                      "apt-get install tesseract-ocr), or set privacy.text_detector=none"
                                      ) from exc
        # Tesseract's OpenMP threads fight each other when several workers OCR at once (its docs
        # advise 1 thread per process); the process pool already uses the cores.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self._config = config
        self.name = f"tesseract:psm{config.text_psm}:{'+'.join(config.text_views)}"
        self.version = f"tesseract {version}"

    def detect(self, frame: np.ndarray) -> list[Box]:
        import cv2

        small, back = downscale(frame, self._config.text_max_side)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        words: list[Box] = []
        for view in self._config.text_views:
            words.extend(self._words(self._view(gray, view)))
        return [box.scaled(back) for box in merge_lines(words)]

    def _view(self, gray: np.ndarray, view: str) -> np.ndarray:
        if view == "bright":
            # White overlays (timestamps, subtitles) as black text on white: what Tesseract reads best.
            return np.where(gray >= self._config.text_bright_threshold, 0, 255).astype(np.uint8)
        return gray

    def _words(self, image: np.ndarray) -> list[Box]:
        import pytesseract

        data = pytesseract.image_to_data(image, config=f"--psm {self._config.text_psm}",
                                         output_type=pytesseract.Output.DICT)
        boxes = []
        for text, conf, x, y, w, h in zip(data["text"], data["conf"], data["left"], data["top"],
                                          data["width"], data["height"], strict=True):
            if float(conf) < self._config.text_min_confidence or w <= 0 or h <= 0:
                continue
            if sum(ch.isalnum() for ch in str(text)) < self._config.text_min_chars:
                continue
            boxes.append(Box(int(x), int(y), int(w), int(h), "text", float(conf)))
        return boxes


@dataclass(frozen=True)
class Detectors:
    """The configured detectors; `describe()` names them with versions for the check rows."""

    face: Detector | None
    text: Detector | None

    @property
    def active(self) -> list[Detector]:
        return [d for d in (self.face, self.text) if d is not None]

    def detect(self, frame: np.ndarray) -> list[Box]:
        return [box for detector in self.active for box in detector.detect(frame)]

    def describe(self) -> dict[str, str | None]:
        return {"face_detector": self.face.name if self.face else None,
                "face_detector_version": self.face.version if self.face else None,
                "text_detector": self.text.name if self.text else None,
                "text_detector_version": self.text.version if self.text else None}


def build_detectors(config: PrivacyConfig) -> Detectors:
    """Detectors from config; DetectorUnavailable with an actionable message when one cannot load."""
    face: Detector | None = None
    if config.face_detector == "haar":
        face = HaarFaceDetector(config)
    elif config.face_detector == "yunet":
        face = YuNetFaceDetector(config)
    text: Detector | None = TesseractTextDetector(config) if config.text_detector == "tesseract" else None
    return Detectors(face=face, text=text)
