"""PP-OCRv4 text *detection* (no recognition) on onnxruntime, batched, with the weights the
`rapidocr-onnxruntime` wheel ships (`ch_PP-OCRv4_det_infer.onnx`, Apache-2.0).

The network is PaddleOCR's DBNet detector (Liao et al., "Real-time Scene Text Detection with
Differentiable Binarization", AAAI 2020): it predicts a per-pixel text probability map; text
regions are the connected areas above a threshold, each scored by its mean probability and
grown by the "unclip" offset DBNet was trained with. The map-to-box step is rapidocr's own
`DBPostProcess` (the reference implementation, kept as the library wrote it); this module only
resizes, normalises and batches frames, which rapidocr does one image at a time.

Heavy imports (onnxruntime, rapidocr) happen in the constructor: call it from `setup()`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_FILE = "ch_PP-OCRv4_det_infer.onnx"
PACKAGE = "rapidocr_onnxruntime"
INSTALL_HINT = "pip install -c constraints.txt 'ophora-data[vision]' (it brings rapidocr-onnxruntime)"
# The network downsamples by 32: inputs must be multiples of it (PaddleOCR's DetResizeForTest).
STRIDE = 32
# PaddleOCR's normalisation for the det model: (x/255 - 0.5) / 0.5.
MEAN, STD = 0.5, 0.5


class TextModelUnavailable(RuntimeError):
    """The PP-OCR detection model or its runtime is not installed."""


@dataclass(frozen=True)
class TextRegion:
    """One detected text region in the input frame's pixel coordinates.

    `quad` is the (4, 2) int polygon (clockwise from top-left; slanted text stays slanted),
    `score` the mean text probability inside it (0..1).
    """

    quad: np.ndarray
    score: float

    @property
    def bounding_rect(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the axis-aligned rectangle around the quad, in pixels."""
        x0, y0 = self.quad.min(axis=0)
        x1, y1 = self.quad.max(axis=0)
        return int(x0), int(y0), int(x1 - x0), int(y1 - y0)

    @property
    def aspect(self) -> float:
        """Long side / short side of the quad (>= 1): lines of text are long, blobs are not."""
        sides = [float(np.linalg.norm(self.quad[i] - self.quad[(i + 1) % 4])) for i in range(4)]
        long, short = max(sides[0], sides[2]), max(sides[1], sides[3])
        long, short = max(long, short), max(1.0, min(long, short))
        return long / short


def default_model_path() -> Path:
    """The det ONNX inside the installed rapidocr-onnxruntime wheel (found without importing it)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TextModelUnavailable(f"the PP-OCRv4 text detector needs {PACKAGE}: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / MODEL_FILE
    if not path.is_file():
        raise TextModelUnavailable(f"{path} is missing from the installed {PACKAGE}; reinstall it")
    return path


def network_size(height: int, width: int, long_side: int, max_upscale: float) -> tuple[int, int]:
    """(height, width) fed to the network: the long side scaled to `long_side` (upscaling small
    frames at most `max_upscale` times: thin or handwritten text needs it), multiples of 32."""
    scale = min(long_side / max(height, width), max_upscale)
    return (max(STRIDE, round(height * scale / STRIDE) * STRIDE),
            max(STRIDE, round(width * scale / STRIDE) * STRIDE))


class PPOCRTextDetector:
    """Batched PP-OCRv4 text detection: `detect_batch(frames)` -> regions per frame.

    Frames are (H, W, 3) uint8 RGB, all of one size within a call (the frames of one clip).
    `long_side`/`max_upscale`: see `network_size`; `bin_threshold` (0.3), `box_threshold` (0.5) and
    `unclip_ratio` (1.6) are PaddleOCR's defaults for this model; `threads` bounds onnxruntime's
    intra-op threads (the executor parallelises over processes). Raises TextModelUnavailable.
    """

    def __init__(self, model_path: Path | None = None, *, long_side: int = 960, max_upscale: float = 3.0,
                 bin_threshold: float = 0.3, box_threshold: float = 0.5, unclip_ratio: float = 1.6,
                 threads: int = 1) -> None:
        try:
            import onnxruntime as ort
            from rapidocr_onnxruntime.ch_ppocr_det.utils import DBPostProcess
        except ImportError as exc:
            raise TextModelUnavailable(f"the PP-OCRv4 text detector needs onnxruntime and {PACKAGE}: "
                                       f"{INSTALL_HINT}") from exc
        self.model_path = Path(model_path) if model_path else default_model_path()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._post = DBPostProcess(thresh=bin_threshold, box_thresh=box_threshold, unclip_ratio=unclip_ratio,
                                   use_dilation=True, score_mode="fast")
        self.long_side, self.max_upscale = long_side, max_upscale
        self.version = (f"{PACKAGE} {importlib.metadata.version('rapidocr-onnxruntime')}, "
                        f"onnxruntime {ort.__version__}")

    def detect_batch(self, frames: list[np.ndarray] | np.ndarray) -> list[list[TextRegion]]:
        """Text regions for each frame, in that frame's pixel coordinates."""
        if len(frames) == 0:
            return []
        import cv2

        height, width = frames[0].shape[:2]
        net_h, net_w = network_size(height, width, self.long_side, self.max_upscale)
        shrink = net_h * net_w < height * width
        batch = np.empty((len(frames), 3, net_h, net_w), np.float32)
        for i, frame in enumerate(frames):
            if frame.shape[:2] != (height, width):
                raise ValueError(f"frames of one batch must share a size: {frame.shape[:2]} != {(height, width)}")
            resized = cv2.resize(frame, (net_w, net_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
            # BGR channel order, as PaddleOCR trained it (cv2.imread) and rapidocr feeds it.
            batch[i] = ((resized[..., ::-1].astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
        maps = self._session.run(None, {self._input: batch})[0]  # (N, 1, net_h, net_w) probabilities
        out = []
        for i in range(len(frames)):
            quads, scores = self._post(maps[i : i + 1], (height, width))
            out.append([TextRegion(np.asarray(q, np.int32), float(s)) for q, s in zip(quads, scores, strict=True)])
        return out
