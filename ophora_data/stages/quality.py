"""`quality`: check rows per cut clip: resolution, duration, temporal dynamics, black and frozen frames.

Every check stores its measured value, so `decide`/`refilter` can apply new bounds later
without decoding anything. The two decoders (PySceneDetect for content change, ffmpeg for
black/frozen spans) run at the same time: one in a thread waiting on ffmpeg.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

from ophora_data.media.detect import StillSpans, still_spans
from ophora_data.media.runner import MediaError, tool_version
from ophora_data.media.scenes import Dynamics, temporal_dynamics
from ophora_data.stages.base import CHECK_COLUMNS, Row, Stage, check_row

SCENE_MODEL = "PySceneDetect ContentDetector"


class QualityStage(Stage):
    name: ClassVar[str] = "quality"
    needs: ClassVar[tuple[str, ...]] = ("cut",)
    key: ClassVar[str] = "clip_id"
    config_sections: ClassVar[tuple[str, ...]] = ("quality",)

    columns: ClassVar[tuple[str, ...]] = CHECK_COLUMNS

    def items_sql(self) -> str:
        """The ok clips of `cut` (path as stored: relative to the run directory)."""
        return self.db.ok_first_rows_sql("cut", ["clip_id", "video_id", "path", "width", "height", "duration_s"])

    def work_keys_sql(self) -> str:
        """The ok clip ids of `cut` (the items' keys, without their rows)."""
        return self.db.ok_key_column_sql("cut")

    def process(self, item: Row) -> list[Row]:
        clip_id, path = item["clip_id"], self.run.clip_of(item)
        if not path.exists():
            return [{"clip_id": clip_id, "status": "failed", "reason": f"clip file missing: {path.name}"}]
        try:
            dynamics, spans = self.measure(path, float(item.get("duration_s") or 0.0))
        except MediaError as exc:
            return [{"clip_id": clip_id, "status": "failed", "reason": str(exc), "retryable": False}]
        return self.size_checks(item) + self.motion_checks(clip_id, dynamics, spans)

    def measure(self, path: Path, duration_s: float) -> tuple[Dynamics, StillSpans]:
        cfg = self.config.quality
        with ThreadPoolExecutor(max_workers=1) as pool:
            stills = pool.submit(
                still_spans,
                path,
                duration_s,
                cfg.black_pixel_threshold,
                cfg.black_picture_ratio,
                cfg.freeze_noise_db,
                cfg.freeze_min_s,
                cfg.timeout_s,
            )
            dynamics = temporal_dynamics(path, cfg.scene_threshold, cfg.scene_min_len_frames)
            return dynamics, stills.result()

    def size_checks(self, item: Row) -> list[Row]:
        cfg, clip_id = self.config.quality, item["clip_id"]
        return [
            check_row("clip_id", clip_id, name, _number(item.get(name)), getattr(cfg, name))
            for name in ("width", "height", "duration_s")
        ]

    def motion_checks(self, clip_id: str, dynamics: Dynamics, spans: StillSpans) -> list[Row]:
        import scenedetect

        cfg, ffmpeg = self.config.quality, tool_version("ffmpeg")
        scene = {"model": SCENE_MODEL, "model_revision": scenedetect.__version__}
        return [
            check_row(
                "clip_id",
                clip_id,
                "scene_cuts",
                dynamics.scene_cuts,
                cfg.scene_cuts,
                **scene,
                frames_analysed=dynamics.frames,
            ),
            check_row(
                "clip_id",
                clip_id,
                "content_change_mean",
                dynamics.content_change_mean,
                cfg.content_change_mean,
                **scene,
                content_change_p95=dynamics.content_change_p95,
                content_change_max=dynamics.content_change_max,
            ),
            check_row(
                "clip_id",
                clip_id,
                "black_fraction",
                spans.black_fraction,
                cfg.black_fraction,
                model="ffmpeg blackdetect",
                model_revision=ffmpeg,
                spans=[list(s) for s in spans.black],
            ),
            check_row(
                "clip_id",
                clip_id,
                "frozen_fraction",
                spans.frozen_fraction,
                cfg.frozen_fraction,
                model="ffmpeg freezedetect",
                model_revision=ffmpeg,
                spans=[list(s) for s in spans.frozen],
            ),
        ]


def _number(value: object) -> float | None:
    try:
        return None if value is None else float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
