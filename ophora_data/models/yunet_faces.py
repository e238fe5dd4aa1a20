"""YuNet face detection (Wu, Peng, Yu, "YuNet: A Tiny Millisecond-level Face Detector",
Machine Intelligence Research 2023; BSD-3), from one of two registry-installed runtimes:

- `yuface` (default): libfacedetection compiled with its YuNet weights built in (the wheel
  is the whole model; nothing to download). CPU only, one image per call.
- `cv2.FaceDetectorYN` with a local `face_detection_yunet_*.onnx` (`model_path`), for machines
  where the yuface wheel does not install (it is built for CPython 3.11 on x86-64).

Both return boxes with a 0..1 score. Heavy imports happen in the constructor (call it from
`setup()`); `threads` is libfacedetection's OpenMP thread count, read once when it loads.
"""

from __future__ import annotations

import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INSTALL_HINT = ("pip install -c constraints.txt yuface (CPython 3.11, x86-64), or set "
                "privacy.yunet_model_path to a face_detection_yunet_*.onnx for OpenCV's FaceDetectorYN, "
                "or privacy.face_detector=haar")


class FaceModelUnavailable(RuntimeError):
    """Neither YuNet runtime can be loaded."""


@dataclass(frozen=True)
class FaceBox:
    """A face in pixels of the image given to `detect`: (x, y, w, h) and score 0..1."""

    x: int
    y: int
    w: int
    h: int
    score: float


class YuNetFaces:
    """`detect(image_rgb, score_threshold)` -> faces; `name`/`version` for the check rows."""

    def __init__(self, model_path: str | Path | None = None, threads: int = 1) -> None:
        self._model_path = Path(model_path) if model_path else None
        if self._model_path is not None:
            import cv2

            if not self._model_path.is_file():
                raise FaceModelUnavailable(f"YuNet ONNX model not found: {self._model_path}")
            # Score threshold 0 here: the caller's threshold is applied to the returned scores.
            self._cv = cv2.FaceDetectorYN.create(str(self._model_path), "", (320, 320), 0.01, 0.3, 5000)
            self.name = f"yunet-onnx:{self._model_path.name}"
            self.version = f"opencv {cv2.__version__}"
            return
        # libfacedetection reads OMP_NUM_THREADS when its bundled libgomp loads; unset, OpenMP
        # spins one thread per core in every worker process (measured 6x the CPU time here).
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        try:
            import yuface
        except ImportError as exc:
            raise FaceModelUnavailable(f"face_detector=yunet needs the yuface wheel: {INSTALL_HINT}") from exc
        self._yuface = yuface
        self.name = "yunet:libfacedetection"
        self.version = f"yuface {importlib.metadata.version('yuface')}"

    def detect(self, image: np.ndarray, score_threshold: float) -> list[FaceBox]:
        """Faces in `image` ((H, W, 3) uint8 RGB) scoring at least `score_threshold` (0..1)."""
        bgr = np.ascontiguousarray(image[..., ::-1])
        if self._model_path is not None:
            height, width = bgr.shape[:2]
            self._cv.setInputSize((width, height))
            _, faces = self._cv.detect(bgr)
            rows = [] if faces is None else faces
            # Each row: x, y, w, h, five landmark pairs, score.
            found = [FaceBox(int(f[0]), int(f[1]), int(f[2]), int(f[3]), float(f[14])) for f in rows]
        else:
            # yuface returns integer percentages and drops those <= conf*100 itself; boxes come as
            # uint16, so a face cut by the left or top edge has a wrapped-around negative origin.
            confs, boxes, _ = self._yuface.detect(bgr, conf=0.0)
            signed = np.asarray(boxes, np.uint16).reshape(-1, 4).view(np.int16)
            found = [FaceBox(int(b[0]), int(b[1]), int(b[2]), int(b[3]), float(c) / 100.0)
                     for c, b in zip(confs, signed, strict=True)]
        height, width = image.shape[:2]
        return [clipped for f in found if f.score >= score_threshold
                and (clipped := _clip(f, width, height)) is not None]


def _clip(face: FaceBox, width: int, height: int) -> FaceBox | None:
    """The part of `face` inside the image (detectors report faces cut by the border), or None."""
    x0, y0 = max(0, face.x), max(0, face.y)
    x1, y1 = min(width, face.x + face.w), min(height, face.y + face.h)
    if x1 <= x0 or y1 <= y0:
        return None
    return FaceBox(x0, y0, x1 - x0, y1 - y0, face.score)
