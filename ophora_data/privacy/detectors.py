"""Face and burned-in-text detectors on RGB frames, each behind one small protocol.

Defaults are DNNs whose weights install from the package registry: YuNet faces
(`models/yunet_faces.py`) and PP-OCRv4 text detection (`models/ppocr_text.py`). OpenCV's Haar
cascade and Tesseract stay selectable (`privacy.face_detector=haar`, `privacy.text_detector=tesseract`).
Frames are resized before detection and boxes are mapped back to full-frame coordinates.
Every detector takes a batch of frames of one size (`detect_batch`), or regions of one frame
(`detect_regions`: crops detected at the scale the whole frame would be, so a crop finds what
the frame finds there, at a fraction of the cost); heavy imports happen in the constructors,
which stages call in setup().
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ophora_data.config.privacy import PrivacyConfig
from ophora_data.privacy.boxes import Box, Rect, merge_lines

if TYPE_CHECKING:
    from ophora_data.models.ppocr_text import TextRegion


class DetectorUnavailable(RuntimeError):
    """A configured detector cannot be built (missing binary, model file or cascade)."""


class Detector(Protocol):
    name: str  # e.g. "yunet:libfacedetection", "ppocr-det:ch_PP-OCRv4_det_infer"
    version: str  # e.g. "yuface 2023.5.1", "rapidocr_onnxruntime 1.4.4, onnxruntime 1.31.1"
    kind: str  # "face" or "text"

    def detect(self, frame: np.ndarray) -> list[Box]:
        """Boxes in `frame` (H, W, 3 uint8 RGB), in its pixel coordinates."""
        ...

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        """Boxes for each of `frames` (all of one size), in their pixel coordinates."""
        ...

    def detect_regions(self, frame: np.ndarray, rects: Sequence[Rect]) -> list[Box]:
        """Boxes inside the (x, y, w, h) regions of `frame`, detected at the whole frame's scale, in
        the frame's coordinates (a box may reach a little past its region: it is not clipped)."""
        ...



class PerFrame:
    """`detect_batch` and `detect_regions` for detectors that see one image at a time (Haar,
    Tesseract, YuNet): `_find(image)` on the frame or crop downscaled to `max_side` (of the frame)."""

    max_side: int

    def _find(self, image: np.ndarray) -> list[Box]:
        raise NotImplementedError

    def detect(self, frame: np.ndarray) -> list[Box]:
        small, back = downscale(frame, self.max_side)
        return [box.scaled(back) for box in self._find(small)]

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        return [self.detect(frame) for frame in frames]

    def detect_regions(self, frame: np.ndarray, rects: Sequence[Rect]) -> list[Box]:
        import cv2

        scale = min(1.0, self.max_side / max(frame.shape[:2]))
        found: list[Box] = []
        for x, y, w, h in rects:
            crop = frame[y : y + h, x : x + w]
            if min(crop.shape[:2]) * scale < 8:  # nothing to find in a sliver
                continue
            if scale < 1.0:
                crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                                  interpolation=cv2.INTER_AREA)
            found.extend(box.scaled(1.0 / scale).shifted(x, y) for box in self._find(crop))
        return found


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


class HaarFaceDetector(PerFrame):
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
        self.max_side = config.face_max_side
        self.name = f"opencv-haar:{path.stem}"
        self.version = f"opencv {cv2.__version__}"

    def _find(self, image: np.ndarray) -> list[Box]:
        import cv2

        # Histogram equalisation makes the cascade less sensitive to dim or washed-out footage.
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        size = self._config.face_min_size_px
        found = self._cascade.detectMultiScale(gray, scaleFactor=self._config.face_scale_factor,
                                               minNeighbors=self._config.face_min_neighbors,
                                               minSize=(size, size))
        return [Box(int(x), int(y), int(w), int(h), "face") for x, y, w, h in found]


class YuNetFaceDetector(PerFrame):
    """YuNet (DNN) faces, default: frontal, profile and small faces Haar misses (film frames in
    tests/privacy). Frames are downscaled to `face_max_side`; faces need `yunet_score_threshold`."""

    kind = "face"

    def __init__(self, config: PrivacyConfig) -> None:
        from ophora_data.models.yunet_faces import FaceModelUnavailable, YuNetFaces

        try:
            self._model = YuNetFaces(config.yunet_model_path, threads=config.detector_threads)
        except FaceModelUnavailable as exc:
            raise DetectorUnavailable(str(exc)) from None
        self._config = config
        self.max_side = config.face_max_side
        self.threshold = config.yunet_score_threshold
        self.name, self.version = self._model.name, self._model.version

    def with_threshold(self, threshold: float) -> YuNetFaceDetector:
        """The same detector (one loaded model) keeping faces that score at least `threshold`."""
        other = copy.copy(self)
        other.threshold = threshold
        return other

    def _find(self, image: np.ndarray) -> list[Box]:
        return [Box(f.x, f.y, f.w, f.h, "face", f.score) for f in self._model.detect(image, self.threshold)]


class PPOCRTextDetector:
    """PP-OCRv4 text detection (DBNet), default: printed, slanted and handwritten text, batched.

    Regions must be elongated (`ppocr_min_aspect`): lines of text are, while the round bright
    blobs of a small microscope frame (pupil, reflections) are what the model mistakes for text.
    """

    kind = "text"

    def __init__(self, config: PrivacyConfig) -> None:
        from ophora_data.models.ppocr_text import MODEL_FILE, TextModelUnavailable
        from ophora_data.models.ppocr_text import PPOCRTextDetector as Model

        try:
            self._model = Model(long_side=config.ppocr_long_side, max_upscale=config.ppocr_max_upscale,
                                box_threshold=config.ppocr_box_threshold, threads=config.detector_threads)
        except TextModelUnavailable as exc:
            raise DetectorUnavailable(f"{exc}; or set privacy.text_detector=tesseract") from None
        self._config = config
        self.name = f"ppocr-det:{Path(MODEL_FILE).stem}"
        self.version = self._model.version

    def detect(self, frame: np.ndarray) -> list[Box]:
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        return [self._boxes(regions) for regions in self._model.detect_batch(list(frames))]

    def detect_regions(self, frame: np.ndarray, rects: Sequence[Rect]) -> list[Box]:
        return [box for rect in rects for box in self._boxes(self._model.detect_region(frame, *rect))]

    def _boxes(self, regions: Sequence[TextRegion]) -> list[Box]:
        return [Box(*region.bounding_rect, "text", region.score) for region in regions
                 if region.aspect >= self._config.ppocr_min_aspect]


class TesseractTextDetector(PerFrame):
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
        self.max_side = config.text_max_side
        self.name = f"tesseract:psm{config.text_psm}:{'+'.join(config.text_views)}"
        self.version = f"tesseract {version}"

    def _find(self, image: np.ndarray) -> list[Box]:
        import cv2

        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        words: list[Box] = []
        for view in self._config.text_views:
            words.extend(self._words(self._view(gray, view)))
        return merge_lines(words)

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
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[np.ndarray]) -> list[list[Box]]:
        """Boxes of every active detector for each frame (one batched call per detector)."""
        out: list[list[Box]] = [[] for _ in frames]
        for detector in self.active:
            for boxes, found in zip(out, detector.detect_batch(frames), strict=True):
                boxes.extend(found)
        return out

    def detect_regions(self, frame: np.ndarray, rects: Sequence[Rect]) -> list[Box]:
        """Boxes of every active detector inside the regions of one frame (frame coordinates)."""
        return [box for detector in self.active for box in detector.detect_regions(frame, rects)] if rects else []

    def of_kind(self, kind: str) -> Detector | None:
        """The active detector of boxes of `kind` ("face" or "text"), if any."""
        return next((d for d in self.active if d.kind == kind), None)

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
    text: Detector | None = None
    if config.text_detector == "ppocr":
        text = PPOCRTextDetector(config)
    elif config.text_detector == "tesseract":
        text = TesseractTextDetector(config)
    return Detectors(face=face, text=text)
