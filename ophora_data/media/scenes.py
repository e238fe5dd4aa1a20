"""Temporal dynamics of a clip with PySceneDetect's ContentDetector: cuts and content change."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ophora_data.media.runner import MediaError


@dataclass(frozen=True)
class Dynamics:
    scene_cuts: int  # hard cuts inside the clip
    content_change_mean: float  # mean ContentDetector score between consecutive frames
    content_change_p95: float
    content_change_max: float
    frames: int


def temporal_dynamics(path: Path, threshold: float = 27.0, min_scene_len: int = 15) -> Dynamics:
    """Run ContentDetector over every frame (auto-downscaled by PySceneDetect, so it is cheap)."""
    try:
        from scenedetect import ContentDetector, SceneManager, StatsManager, open_video
    except ImportError as exc:  # pragma: no cover - scenedetect is a core dependency
        raise MediaError("the quality stage needs `pip install scenedetect`") from exc
    try:
        video = open_video(str(path), backend="opencv")
    except Exception as exc:  # noqa: BLE001 - scenedetect raises several types for unreadable files
        raise MediaError(f"PySceneDetect cannot open {path.name}: {exc}") from exc
    stats = StatsManager()
    manager = SceneManager(stats_manager=stats)
    manager.add_detector(ContentDetector(threshold=threshold, min_scene_len=min_scene_len))
    frames = manager.detect_scenes(video=video)
    if frames <= 0:
        raise MediaError(f"PySceneDetect decoded no frame of {path.name}")
    scenes = manager.get_scene_list(start_in_scene=True)
    # content_val of frame n compares it with frame n-1; frame 0 has none.
    values = [stats.get_metrics(n, ["content_val"])[0] for n in range(1, frames)]
    changes = np.array([v for v in values if v is not None], dtype=float)
    if changes.size == 0:
        changes = np.zeros(1)
    return Dynamics(
        scene_cuts=max(0, len(scenes) - 1),
        content_change_mean=float(changes.mean()),
        content_change_p95=float(np.percentile(changes, 95)),
        content_change_max=float(changes.max()),
        frames=int(frames),
    )
