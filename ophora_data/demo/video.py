"""Render the demo's synthetic "surgical microscope" video with numpy and encode it with ffmpeg."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ophora_data.media.rawvideo import RawVideoEncoder

WIDTH, HEIGHT, FPS = 1280, 720, 24


class _Scene:
    """A reddish circular field (the eye under the microscope), a dark pupil and a moving instrument."""

    def __init__(self) -> None:
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
        self.yy, self.xx = yy, xx
        cy, cx = HEIGHT / 2, WIDTH / 2
        radius = np.hypot(yy - cy, xx - cx)
        rng = np.random.default_rng(7)
        texture = rng.normal(0, 12, (HEIGHT // 8, WIDTH // 8)).repeat(8, 0).repeat(8, 1)
        field = np.zeros((HEIGHT, WIDTH, 3), np.float32)
        inside = radius < 330
        field[inside] = (170, 60, 45)
        field[radius < 120] = (35, 10, 10)
        field[..., 0] += np.where(inside, texture, 0)
        fade = np.clip((360 - radius) / 40, 0, 1)[..., None]
        self.base = field * fade

    def frame(self, t: float) -> np.ndarray:
        image = self.base.copy()
        # The instrument: a grey bar whose tip sweeps around the pupil.
        angle = 0.6 * np.sin(0.5 * t) + 0.8
        tip = (HEIGHT / 2 + 90 * np.sin(t * 0.9), WIDTH / 2 + 90 * np.cos(t * 0.7))
        dy, dx = self.yy - tip[0], self.xx - tip[1]
        along = dx * np.cos(angle) + dy * np.sin(angle)
        across = -dx * np.sin(angle) + dy * np.cos(angle)
        bar = (along > 0) & (along < 420) & (np.abs(across) < 9)
        image[bar] = (200, 200, 205)
        glint = np.hypot(self.yy - HEIGHT / 2 + 40, self.xx - WIDTH / 2 - 30) < 14
        image[glint] = (250, 245, 240)
        return np.clip(image, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class TextOverlay:
    """Burned-in text (a patient label, a timestamp) shown from `start` to `end` seconds."""

    text: str
    start: float
    end: float


def _burn_in(frame: np.ndarray, text: str) -> np.ndarray:
    import cv2

    out = frame.copy()
    cv2.putText(out, text, (40, HEIGHT - 30), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (255, 255, 255), 2, cv2.LINE_AA)
    return out


def render_video(wav_path: Path, out_path: Path, duration_s: float, overlays: tuple[TextOverlay, ...] = ()) -> Path:
    """Encode frames rendered with numpy (plus burned-in overlays) and the narration into an H.264/AAC mp4."""
    scene = _Scene()
    output = [
        "-i",
        str(wav_path),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-shortest",
        "-movflags",
        "+faststart",
        str(out_path),
    ]
    with RawVideoEncoder(WIDTH, HEIGHT, FPS, output) as encoder:
        for index in range(int(round(duration_s * FPS))):
            t = index / FPS
            frame = scene.frame(t)
            for overlay in overlays:
                if overlay.start <= t < overlay.end:
                    frame = _burn_in(frame, overlay.text)
            encoder.write(frame)
    return out_path
