"""PP-OCRv4 text *detection* (no recognition) on onnxruntime, batched, with the weights the
`rapidocr-onnxruntime` wheel ships (`ch_PP-OCRv4_det_infer.onnx`, Apache-2.0).

The network is PaddleOCR's DBNet detector (Liao et al., "Real-time Scene Text Detection with
Differentiable Binarization", AAAI 2020): it predicts a per-pixel text probability map; text
regions are the connected areas above a threshold, each scored by its mean probability and
grown by the "unclip" offset DBNet was trained with. The map-to-box step is rapidocr's own
`DBPostProcess` (the reference implementation, kept as the library wrote it); this module only
resizes, normalises and batches frames, which rapidocr does one image at a time.

The network as exported from Paddle spells every hard-swish as four elementwise operators and
every "learnable affine block" (Mul, Add by scalars) separately; onnxruntime fuses neither, and
these passes over the feature maps took ~40% of the CPU time. `fuse_graph` folds the affine
blocks into the neighbouring convolutions and writes hard-swish as one operator (exact algebra:
outputs agree to ~1e-6; tests/privacy/test_ppocr.py); ~25% less CPU per frame here (AVX2).

Heavy imports (onnxruntime, onnx, rapidocr) happen in the constructor: call it from `setup()`.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def network_scale(height: int, width: int, long_side: int, max_upscale: float) -> float:
    """The factor a frame of this size is resized by for the network: its long side to `long_side`,
    enlarging small frames at most `max_upscale` times (thin or handwritten text needs it)."""
    scale = min(long_side / max(height, width), max_upscale)
    return scale


def network_size(height: int, width: int, long_side: int, max_upscale: float) -> tuple[int, int]:
    """(height, width) fed to the network for a whole frame: `network_scale`, rounded to multiples of 32."""
    scale = network_scale(height, width, long_side, max_upscale)
    return (max(STRIDE, round(height * scale / STRIDE) * STRIDE),
            max(STRIDE, round(width * scale / STRIDE) * STRIDE))


def region_for_network(x: int, y: int, w: int, h: int, frame_w: int, frame_h: int,
                       scale: float) -> tuple[int, int, int, int]:
    """A crop (x, y, w, h) grown so that at `scale` it is a whole number of 32-pixel network cells:
    a crop is detected at its frame's scale, with more context instead of padding or stretching.
    Kept inside the frame (shifted inward; clipped where the frame is smaller)."""
    def grow(start: int, size: int, limit: int) -> tuple[int, int]:
        want = min(limit, math.ceil(math.ceil(size * scale / STRIDE) * STRIDE / scale))
        start = max(0, min(start - (want - size) // 2, limit - want))
        return start, want

    x, w = grow(x, w, frame_w)
    y, h = grow(y, h, frame_h)
    return x, y, w, h


def fuse_graph(model: Any) -> Counter[str]:
    """Rewrite an `onnx.ModelProto` of PP-OCR's det network in place, exactly (up to float rounding):

    - Conv -> Mul(s) [-> Add(b)] with scalars: into the conv (W*s, B*s + b);
    - Add(3) -> Clip(0, 6) -> Mul(x) -> Div(6): one HardSwish (opset 14);
    - Mul(a) -> Add(c) -> Conv: into a 1x1 unpadded conv (W*a, B + c*sum W); before any other conv
      the scale goes into W and a single Add(c/a) stays (zero padding then still means zero).

    Returns how many of each were rewritten. Patterns that do not match exactly are left alone.
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    nodes = list(graph.node)
    const = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in nodes
             if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value"}
    const.update({i.name: numpy_helper.to_array(i) for i in graph.initializer})
    consumers: dict[str, list[Any]] = defaultdict(list)
    for node in nodes:
        for name in node.input:
            consumers[name].append(node)
    outputs = {o.name for o in graph.output}
    replace: dict[int, Any] = {}
    drop: set[int] = set()
    stats: Counter[str] = Counter()

    def sole(name: str) -> Any:
        found = consumers[name]
        return found[0] if len(found) == 1 and name not in outputs else None

    def scalar(node: Any, known: str) -> float | None:
        rest = [i for i in node.input if i != known]
        if len(rest) != 1 or rest[0] not in const or const[rest[0]].size != 1:
            return None
        return float(const[rest[0]].ravel()[0])

    def add_const(name: str, value: np.ndarray) -> str:
        graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), name))
        const[name] = value.astype(np.float32)
        return name

    def conv_like(conv: Any, inputs: list[str], outputs_: list[str]) -> Any:
        attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
        return helper.make_node("Conv", inputs, outputs_, name=conv.name, **attrs)

    def weights(conv: Any) -> tuple[np.ndarray, np.ndarray]:
        w = const[conv.input[1]]
        b = const[conv.input[2]] if len(conv.input) > 2 and conv.input[2] else np.zeros(w.shape[0], np.float32)
        return w, b

    for conv in nodes:  # Conv -> Mul(s) [-> Add(b)]
        if conv.op_type != "Conv" or conv.input[1] not in const:
            continue
        mul = sole(conv.output[0])
        if mul is None or mul.op_type != "Mul" or (s := scalar(mul, conv.output[0])) is None:
            continue
        last, shift = mul, 0.0
        add = sole(mul.output[0])
        if add is not None and add.op_type == "Add" and (b := scalar(add, mul.output[0])) is not None:
            last, shift = add, b
        w, bias = weights(conv)
        new = conv_like(conv, [conv.input[0], add_const(f"{conv.name}:w1", w * s),
                               add_const(f"{conv.name}:b1", bias * s + shift)], [last.output[0]])
        replace[id(conv)] = new
        drop.update({id(mul), id(last)})
        stats["conv_affine"] += 1
    for add3 in nodes:  # hard-swish
        if add3.op_type != "Add" or id(add3) in drop:
            continue
        inputs = [i for i in add3.input if i not in const]
        if len(inputs) != 1 or scalar(add3, inputs[0]) != 3.0:
            continue
        x = inputs[0]
        clip = sole(add3.output[0])
        if clip is None or clip.op_type != "Clip" or len(clip.input) != 3 \
                or [float(const[i].ravel()[0]) if i in const else None for i in clip.input[1:]] != [0.0, 6.0]:
            continue
        mul = sole(clip.output[0])
        if mul is None or mul.op_type != "Mul" or set(mul.input) != {x, clip.output[0]}:
            continue
        div = sole(mul.output[0])
        if div is None or div.op_type != "Div" or div.input[0] != mul.output[0] or scalar(div, mul.output[0]) != 6.0:
            continue
        replace[id(add3)] = helper.make_node("HardSwish", [x], [div.output[0]], name=f"{div.output[0]}:hswish")
        drop.update({id(clip), id(mul), id(div)})
        stats["hardswish"] += 1
    for mul in nodes:  # Mul(a) -> Add(c) -> Conv
        if mul.op_type != "Mul" or id(mul) in drop:
            continue
        inputs = [i for i in mul.input if i not in const]
        if len(inputs) != 1 or (a := scalar(mul, inputs[0])) is None or a == 0.0:
            continue
        add = sole(mul.output[0])
        if add is None or add.op_type != "Add" or id(add) in drop or (c := scalar(add, mul.output[0])) is None:
            continue
        conv = sole(add.output[0])
        if conv is None or conv.op_type != "Conv" or conv.input[0] != add.output[0]:
            continue
        current = replace.get(id(conv), conv)
        if current.input[1] not in const:
            continue
        w, bias = weights(current)
        attrs = {at.name: helper.get_attribute_value(at) for at in current.attribute}
        pointwise = (w.shape[2:] == (1, 1) and attrs.get("group", 1) == 1 and not any(attrs.get("pads", [0]))
                     and attrs.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET"))
        if pointwise:
            replace[id(conv)] = conv_like(current, [inputs[0], add_const(f"{conv.name}:w2", w * a),
                                                    add_const(f"{conv.name}:b2", bias + c * w.sum(axis=(1, 2, 3)))],
                                          list(current.output))
            drop.update({id(mul), id(add)})
            stats["affine_into_pointwise"] += 1
        else:
            shift = add_const(f"{add.output[0]}:c", np.array(c / a))
            replace[id(conv)] = conv_like(current, [add.output[0], add_const(f"{conv.name}:w2", w * a),
                                                    add_const(f"{conv.name}:b2", bias)], list(current.output))
            replace[id(mul)] = helper.make_node("Add", [inputs[0], shift], [add.output[0]],
                                                name=f"{add.output[0]}:shift")
            drop.add(id(add))
            stats["scale_into_conv"] += 1
    kept = [replace.get(id(n), n) for n in nodes if id(n) not in drop or id(n) in replace]
    del graph.node[:]
    graph.node.extend(kept)
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            opset.version = max(opset.version, 14)  # HardSwish
    return stats


class PPOCRTextDetector:
    """Batched PP-OCRv4 text detection: `detect_batch(frames)` -> regions per frame; `detect_region`
    for a crop of a larger frame, detected at that frame's scale.

    Frames are (H, W, 3) uint8 RGB, all of one size within a call (the frames of one clip).
    `long_side`/`max_upscale`: see `network_size`; `bin_threshold` (0.3), `box_threshold` (0.5) and
    `unclip_ratio` (1.6) are PaddleOCR's defaults for this model; `threads` bounds onnxruntime's
    intra-op threads (the executor parallelises over processes); `fuse`: rewrite the graph with
    `fuse_graph` (needs the onnx package; without it the model runs as shipped, slower).
    Raises TextModelUnavailable.
    """

    def __init__(self, model_path: Path | None = None, *, long_side: int = 960, max_upscale: float = 3.0,
                 bin_threshold: float = 0.3, box_threshold: float = 0.5, unclip_ratio: float = 1.6,
                 threads: int = 1, fuse: bool = True) -> None:
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
        # Measured: ORT_ENABLE_ALL (the default) is the fastest level; more threads cost more CPU time.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The memory pattern plans one block per input shape and gets it from the OS on every run
        # (measured: ~3,700 page faults, ~15 ms of system time per batch of 4 at 960x544); without
        # it the arena reuses its buffers. Outputs are the same.
        options.enable_mem_pattern = False
        model: str | bytes = str(self.model_path)
        self.graph = "as shipped"
        self.fused: Counter[str] = Counter()
        if fuse:
            try:
                import onnx
            except ImportError:
                pass  # runs as shipped: same outputs, ~25% more CPU (the version string says so)
            else:
                proto = onnx.load(str(self.model_path))
                self.fused = fuse_graph(proto)
                model = proto.SerializeToString()
                self.graph = f"fused by onnx {onnx.__version__}"
        self._session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._post = DBPostProcess(thresh=bin_threshold, box_thresh=box_threshold, unclip_ratio=unclip_ratio,
                                   use_dilation=True, score_mode="fast")
        self.long_side, self.max_upscale = long_side, max_upscale
        self.version = (f"{PACKAGE} {importlib.metadata.version('rapidocr-onnxruntime')}, "
                        f"onnxruntime {ort.__version__}, graph {self.graph}")

    def scale_for(self, height: int, width: int) -> float:
        """The factor a frame of this size is detected at (`network_scale`)."""
        return network_scale(height, width, self.long_side, self.max_upscale)

    def detect_batch(self, frames: list[np.ndarray] | np.ndarray) -> list[list[TextRegion]]:
        """Text regions for each frame, in that frame's pixel coordinates."""
        if len(frames) == 0:
            return []
        height, width = frames[0].shape[:2]
        for frame in frames:
            if frame.shape[:2] != (height, width):
                raise ValueError(f"frames of one batch must share a size: {frame.shape[:2]} != {(height, width)}")
        return self._run(frames, network_size(height, width, self.long_side, self.max_upscale))

    def detect_region(self, frame: np.ndarray, x: int, y: int, w: int, h: int) -> list[TextRegion]:
        """Text regions in the crop (x, y, w, h) of `frame` (grown to whole network cells, see
        `region_for_network`), detected at the whole frame's scale; in the frame's coordinates."""
        height, width = frame.shape[:2]
        scale = self.scale_for(height, width)
        x, y, w, h = region_for_network(x, y, w, h, width, height, scale)
        if w <= 0 or h <= 0:
            return []
        size = (max(STRIDE, round(h * scale / STRIDE) * STRIDE), max(STRIDE, round(w * scale / STRIDE) * STRIDE))
        regions = self._run([frame[y : y + h, x : x + w]], size)[0]
        return [TextRegion(r.quad + np.array([x, y], np.int32), r.score) for r in regions]

    def _run(self, images: list[np.ndarray] | np.ndarray, size: tuple[int, int]) -> list[list[TextRegion]]:
        import cv2

        net_h, net_w = size
        height, width = images[0].shape[:2]
        shrink = net_h * net_w < height * width
        resized = [cv2.resize(image, (net_w, net_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
                   for image in images]
        # (x/255 - MEAN)/STD = (x - 127.5)/127.5, in BGR order as PaddleOCR trained it (cv2.imread).
        batch = cv2.dnn.blobFromImages(resized, 1.0 / (255.0 * STD), None, (255.0 * MEAN,) * 3, True, False)
        maps = self._session.run(None, {self._input: batch})[0]  # (N, 1, net_h, net_w) probabilities
        out = []
        for i in range(len(images)):
            quads, scores = self._post(maps[i : i + 1], (height, width))
            out.append([TextRegion(np.asarray(q, np.int32), float(s)) for q, s in zip(quads, scores, strict=True)])
        return out
