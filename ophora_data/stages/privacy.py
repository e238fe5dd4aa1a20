"""`privacy`: detect faces and burned-in text, blur them, verify the redacted clip.

Per ok `cut` clip: the detectors (YuNet faces, PP-OCRv4 text by default) scan the clip coarse
to fine (`privacy/scan.py`: whole frames every `coarse_every_s`, every `every_n_frames`-th frame
only where something came, went or moved), in batches; boxes are bridged, held and dilated over
the frames in between (`privacy/scan.py`, `privacy/smoothing.py`); the clip is re-encoded with
the boxes blurred into `media/redacted/<clip_id>.mp4`; the detectors run again on that output's
frames that had detections, around the boxes, and anything they still find is added to the boxes
for another pass (up to `max_passes`) before the `verification` check fails. A clip with no detection is published
unchanged (a hard link): no re-encode and no verification pass, its bytes are the ones checked.
Mode `drop` rejects any clip with a detection instead of redacting it.

Rows (all carry `redacted_path`, `privacy_strict`, `boxes_path` and the detector names and
versions): check rows `faces_found` and `text_boxes_found` (value: the most boxes in one sampled
frame; `detections`: all boxes; `frames_with`: sampled frames with one), `frames_blurred`, and the flag
`verification`, which `build` requires to have passed for every kept clip (`verified_by`:
`unchanged`, `redetection`, or `drop` in drop mode). The boxes per frame are written to `privacy/<clip_id>.json`
in the run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ophora_data.config import Bound
from ophora_data.media.runner import MediaError
from ophora_data.privacy.boxes import ClipDetections
from ophora_data.privacy.detectors import Detectors, DetectorUnavailable, build_detectors
from ophora_data.privacy.redact import encode_redacted, publish_unchanged
from ophora_data.privacy.scan import Scan, scan_clip
from ophora_data.privacy.smoothing import boxes_per_frame, frames_blurred
from ophora_data.privacy.verify import Verification, verify_clip
from ophora_data.privacy.yuv import DecodedClip
from ophora_data.run.atomic import atomic_write_json
from ophora_data.run.db import RunDB
from ophora_data.stages.base import Row, Stage, StageError, check_row, flag_row

BOXES_DIR = "privacy"


class PrivacyStage(Stage):
    name: ClassVar[str] = "privacy"
    needs: ClassVar[tuple[str, ...]] = ("cut",)
    key: ClassVar[str] = "clip_id"
    config_sections: ClassVar[tuple[str, ...]] = ("privacy",)
    version: ClassVar[str] = "3"

    detectors: Detectors | None = None

    def items_sql(self) -> str:
        """The ok clips of `cut` (path as stored: relative to the run directory)."""
        return self.db.ok_first_rows_sql("cut", ["clip_id", "video_id", "path"])

    def work_keys_sql(self) -> str:
        """The ok clip ids of `cut` (the items' keys, without their rows)."""
        return self.db.ok_key_column_sql("cut")

    def setup(self) -> None:
        try:
            self.detectors = build_detectors(self.config.privacy)
        except DetectorUnavailable as exc:
            raise StageError(str(exc)) from None

    # One clip -------------------------------------------------------------------------
    def process(self, item: Row) -> list[Row]:
        if self.detectors is None:
            self.setup()
        assert self.detectors is not None
        clip_id, cfg = item["clip_id"], self.config.privacy
        source = self.run.clip_of(item)
        dest = self.run.redacted_clip(clip_id)
        common: Row = {"clip_id": clip_id, "video_id": item.get("video_id"), "redacted_path": None,
                       "privacy_strict": False, "boxes_path": None, "mode": cfg.mode,
                       **self.detectors.describe()}
        try:
            scan = scan_clip(source, self.detectors, cfg)
        except MediaError as exc:
            dest.unlink(missing_ok=True)
            # The same bytes fail the same way: retried only with --retry-failed.
            return [{**common, "status": "failed", "reason": f"undecodable clip: {exc}",
                     "retryable": False}]
        found = scan.detected
        common["privacy_strict"] = not found.any and self.detectors.face is not None \
            and self.detectors.text is not None
        if cfg.mode == "drop" and found.any:
            dest.unlink(missing_ok=True)
            return self._rows(common, scan, found, None, passes=0)
        if not found.any:
            publish_unchanged(source, dest)
            common["redacted_path"] = self.run.relative(dest)
            return self._rows(common, scan, found, None, passes=0)
        planned = scan.redacted(cfg.every_n_frames, cfg.match_iou)
        boxes, verification, passes = self._redact(source, dest, found, planned, scan.decoded)
        common["redacted_path"] = self.run.relative(dest)
        return self._rows(common, scan, boxes, verification, passes)

    def _redact(self, source: Path, dest: Path, found: ClipDetections, planned: ClipDetections,
                decoded: DecodedClip | None) -> tuple[ClipDetections, Verification, int]:
        """Blur, verify, and blur again what verification still finds (up to max_passes); every pass
        starts from the source's frames (`decoded`, kept by the scan, or decoded again)."""
        assert self.detectors is not None
        cfg = self.config.privacy
        boxes = planned
        for passes in range(1, cfg.max_passes + 1):
            per_frame = boxes_per_frame(boxes, cfg.hold, cfg.box_dilation)
            encode_redacted(source, dest, per_frame, cfg, decoded)
            verification = verify_clip(dest, self.detectors, found, per_frame, cfg.verify_margin)
            if verification.passed or passes == cfg.max_passes:
                return boxes, verification, passes
            boxes = boxes.merged(verification.remaining)
        raise AssertionError("unreachable: max_passes >= 1")

    # Rows -----------------------------------------------------------------------------
    def _rows(self, common: Row, scan: Scan, boxes: ClipDetections,
              verification: Verification | None, passes: int) -> list[Row]:
        assert self.detectors is not None
        cfg = self.config.privacy
        clip_id = common["clip_id"]
        found = scan.detected
        common["boxes_path"] = self._write_boxes(clip_id, scan, boxes, verification, passes)
        # drop: any detection rejects the clip; blur: the counts are recorded, verification decides.
        count_bound = Bound(max=0) if cfg.mode == "drop" else Bound()
        blurred = frames_blurred(boxes_per_frame(boxes, cfg.hold, cfg.box_dilation)) if passes else 0
        rows: list[Row] = []
        checks = ((self.detectors.face, "faces_found"), (self.detectors.text, "text_boxes_found"))
        for detector, check in checks:
            if detector is None:
                continue
            rows.append(check_row("clip_id", clip_id, check, found.max_per_frame(detector.kind), count_bound,
                                  model=detector.name, model_revision=detector.version,
                                  detections=found.count(detector.kind),
                                  frames_with=len(found.frames_with(detector.kind)),
                                  frames_sampled=len(found.frames), **common))
        rows.append(check_row("clip_id", clip_id, "frames_blurred", blurred, Bound(),
                              frames_total=found.total_frames, passes=passes, **common))
        rows.append(self._verification_row(common, found, verification, passes))
        return rows

    def _verification_row(self, common: Row, found: ClipDetections, verification: Verification | None,
                          passes: int) -> Row:
        clip_id = common["clip_id"]
        if verification is not None:
            return flag_row("clip_id", clip_id, "verification", verification.passed, verification.reason(),
                            frames_checked=verification.frames_checked, passes=passes, verified_by="redetection",
                            remaining_faces=verification.remaining.count("face"),
                            remaining_text_boxes=verification.remaining.count("text"), **common)
        if found.any:  # drop mode: nothing was redacted, nothing may be published
            found_text = f"{found.count('face')} face(s), {found.count('text')} text box(es) found"
            return flag_row("clip_id", clip_id, "verification", False, f"mode drop: {found_text}",
                            frames_checked=0, passes=0, verified_by="drop", **common)
        # Nothing detected: the published bytes are the ones just checked; no second pass.
        return flag_row("clip_id", clip_id, "verification", True, "", frames_checked=len(found.frames),
                        passes=0, remaining_faces=0, remaining_text_boxes=0, verified_by="unchanged", **common)

    def _write_boxes(self, clip_id: str, scan: Scan, boxes: ClipDetections,
                     verification: Verification | None, passes: int) -> str:
        """`privacy/<clip_id>.json`. Readers (builders/manifest.py, reproduce) expand `redacted` with
        `smoothing.boxes_per_frame(redacted, hold_frames, box_dilation)`: exactly what was blurred."""
        cfg = self.config.privacy
        path = self.run.root / BOXES_DIR / f"{clip_id}.json"
        record: dict[str, Any] = {
            "clip_id": clip_id, "every_n_frames": cfg.every_n_frames, "passes": passes,
            "hold_frames": cfg.hold, "box_dilation": cfg.box_dilation,
            "coarse_every_s": cfg.coarse_every_s, "coarse_step": scan.coarse_step, "coarse_frames": scan.coarse,
            "refined": scan.refined, "looks_reused": scan.reused,
            "detectors": self.detectors.describe() if self.detectors else {},
            "detected": scan.detected.to_json(), "redacted": boxes.to_json(),
            "remaining": verification.remaining.to_json() if verification else None,
        }
        atomic_write_json(path, record)
        return self.run.relative(path)

    def status_figures(self, db: RunDB) -> dict[str, Any]:
        """Clips whose verification passed, and those also in the strict subset."""
        present = db.stage_columns(self.name)
        if not {"check", "passed", "privacy_strict"} <= set(present):
            return {"verified": 0, "strict": 0}
        verified, strict = db.execute(
            "SELECT count(*) FILTER (WHERE passed), count(*) FILTER (WHERE privacy_strict::BOOLEAN) "
            "FROM privacy WHERE \"check\" = 'verification'").fetchall()[0]
        return {"verified": verified, "strict": strict}
