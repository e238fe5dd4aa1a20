from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Bound, Section


class QualityConfig(Section):
    width: Bound = Bound(min=720)
    height: Bound = Bound(min=480)
    duration_s: Bound = Bound(min=2.0, max=10.5)
    scene_cuts: Bound = Bound(max=1)
    content_change_mean: Bound = Bound(max=40.0)
    black_fraction: Bound = Bound(max=0.5)
    frozen_fraction: Bound = Bound(max=0.8)
    scene_threshold: float = Field(27.0, gt=0, description="PySceneDetect ContentDetector threshold")
