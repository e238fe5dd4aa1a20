"""Media helpers for the privacy tests: real images as short videos, decoding, masked PSNR."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from ophora_data.privacy.boxes import Box


def still_video(image: Path, out: Path, seconds: float = 1.0, fps: int = 10) -> Path:
    """A short H.264 video showing `image` (ffmpeg -loop 1), padded to even sizes for yuv420p."""
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-loop", "1", "-framerate", str(fps),
                    "-i", str(image), "-t", str(seconds), "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", str(out)],
                   check=True)
    return out


def captioned_video(source: Path, out: Path, first: int, last: int, seconds: float = 2.0, fps: int = 25,
                    still: bool = True) -> Path:
    """`source` (an image looped for `seconds`, or a video's first `seconds`) with a burned-in caption
    ("Dr. Jane Example", white, 28 px, at the bottom left) on frames first..last only."""
    out.parent.mkdir(parents=True, exist_ok=True)
    caption = (f"drawtext=text='Dr. Jane Example':x=20:y=h-50:fontsize=28:fontcolor=white:borderw=2:"
               f"enable='between(n,{first},{last})'")
    inputs = ["-loop", "1", "-framerate", str(fps), "-i", str(source)] if still else ["-i", str(source)]
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *inputs, "-t", str(seconds), "-vf", caption, "-an",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p", str(out)],
                   check=True)
    return out


def image_sequence_video(frames_dir: Path, out: Path, fps: int = 10) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    pattern = sorted(frames_dir.glob("*.jpg"))
    inputs = []
    for frame in pattern:
        inputs += ["-loop", "1", "-framerate", str(fps), "-t", "0.2", "-i", str(frame)]
    graph = "".join(f"[{i}:v]" for i in range(len(pattern)))
    graph += f"concat=n={len(pattern)}:v=1:a=0,scale=640:-2[v]"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *inputs, "-filter_complex", graph, "-map", "[v]",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def read_rgb(path: Path) -> np.ndarray:
    # Pillow, not cv2.imread: once other libraries bundling their own libpng/zlib are loaded
    # (as in the full suite), OpenCV's PNG reader can fail with "bad parameters to zlib".
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def outside_mask(shape: tuple[int, ...], boxes: list[Box], margin: int = 8) -> np.ndarray:
    """True for pixels away from every box (the margin absorbs chroma subsampling at box edges)."""
    mask = np.ones(shape[:2], dtype=bool)
    for box in boxes:
        rows = slice(max(0, box.y - margin), box.y + box.h + margin)
        mask[rows, max(0, box.x - margin) : box.x + box.w + margin] = False
    return mask


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = float(diff[mask].mean() if mask is not None else diff.mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM (gray, 7x7 Gaussian windows) over the masked pixels."""
    import cv2

    x = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY).astype(np.float64)
    y = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (7, 7), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s[mask].mean())
