from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Bound, Section


class QualityConfig(Section):
    """Bounds are named like the checks they bound (check rows store values; refilter re-decides)."""

    width: Bound = Bound(min=720)
    height: Bound = Bound(min=480)
    duration_s: Bound = Bound(min=2.0, max=10.5)
    scene_cuts: Bound = Field(Bound(max=1), description="hard cuts inside a clip (PySceneDetect)")
    content_change_mean: Bound = Field(Bound(max=40.0), description="mean ContentDetector score per frame")
    black_fraction: Bound = Bound(max=0.5)
    frozen_fraction: Bound = Bound(max=0.8)
    # Detector settings: changing them changes the measured values (part of the stage hash).
    scene_threshold: float = Field(27.0, gt=0, description="PySceneDetect ContentDetector threshold")
    scene_min_len_frames: int = Field(15, ge=1, description="shortest scene ContentDetector reports")
    black_pixel_threshold: float = Field(0.10, ge=0, le=1, description="blackdetect pix_th")
    black_picture_ratio: float = Field(0.98, ge=0, le=1, description="blackdetect pic_th")
    freeze_noise_db: float = Field(-60.0, le=0, description="freezedetect noise tolerance")
    freeze_min_s: float = Field(0.5, gt=0, description="shortest still span freezedetect reports")
    timeout_s: float = Field(600.0, gt=0)
