"""`privacy` stage: cut rows in, check rows + redacted clips out, on real images, film and surgery."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.media.frames import sample_frames
from ophora_data.privacy.boxes import ClipDetections
from ophora_data.privacy.detectors import HaarFaceDetector, build_detectors
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry
from ophora_data.stages.base import StageError
from ophora_data.stages.privacy import PrivacyStage
from ophora_data.stages.registry import stage_config_hash
from tests.conftest import make_config
from tests.privacy.helpers import image_sequence_video, outside_mask, psnr, ssim, still_video
from tests.privacy.realfixtures import ASTRONAUT, FIGURE, FILM


def add_cut(run: RunDir, config: Config, clip_id: str, path: Path | None = None) -> None:
    """One ok `cut` row under cut's current hash; the clip is at media/clips/<clip_id>.mp4 unless given."""
    relative = str(run.clip(clip_id).relative_to(run.root)) if path is None else str(path)
    run.table("cut").append([{"clip_id": clip_id, "video_id": clip_id.rsplit("_", 1)[0], "status": "ok",
                              "reason": "", "path": relative, "start": 0.0, "end": 1.0,
                              "config_hash": stage_config_hash(registry.get_stage("cut"), config)}])


def privacy(run: RunDir, config: Config) -> dict[str, dict[str, dict]]:
    """Run the stage through the real executor; rows by clip_id then check."""
    run_stage(PrivacyStage(config, run), RunOptions(progress=False))
    rows = run.table("privacy").current("clip_id", stage_config_hash(PrivacyStage, config))
    out: dict[str, dict[str, dict]] = {}
    for row in rows:
        out.setdefault(row["clip_id"], {})[row.get("check") or "status"] = row
    return out


def test_portrait_face_is_blurred_verified_and_recorded(realdata: Path, run_dir: RunDir) -> None:
    config = make_config()
    clip = still_video(realdata / ASTRONAUT, run_dir.clip("astro_0"))
    add_cut(run_dir, config, "astro_0")
    rows = privacy(run_dir, config)["astro_0"]
    assert set(rows) == {"faces_found", "text_boxes_found", "frames_blurred", "verification"}
    assert rows["faces_found"]["value"] == 1 and rows["faces_found"]["frames_with"] == 2
    assert rows["faces_found"]["model"] == "yunet:libfacedetection"
    assert rows["faces_found"]["model_revision"].startswith("yuface ")
    assert rows["text_boxes_found"]["model"] == "ppocr-det:ch_PP-OCRv4_det_infer"
    assert rows["frames_blurred"]["value"] == 10
    verification = rows["verification"]
    assert verification["passed"] and verification["status"] == "ok" and verification["remaining_faces"] == 0
    assert verification["verified_by"] == "redetection" and verification["frames_checked"] == 2
    for row in rows.values():
        assert row["redacted_path"] == "media/redacted/astro_0.mp4" and row["privacy_strict"] is False
        assert row["face_detector_version"] and row["text_detector_version"]
    redacted = run_dir.root / verification["redacted_path"]
    after = sample_frames(redacted, every_n=1)
    for detector in (build_detectors(config.privacy).face, HaarFaceDetector(config.privacy)):
        assert detector is not None
        assert after.total_frames == 10 and all(detector.detect(f) == [] for f in after.frames)
    # Golden-style: outside the (dilated) boxes the picture is the source's, within encoder noise.
    record = json.loads((run_dir.root / verification["boxes_path"]).read_text())
    boxes = ClipDetections.from_json(record["redacted"])
    before = sample_frames(clip, every_n=1)
    box = boxes.frames[0][0].dilated(config.privacy.box_dilation, boxes.width, boxes.height)
    mask = outside_mask(before.frames[0].shape, [box])
    for a, b in zip(before.frames[::3], after.frames[::3], strict=True):
        assert psnr(a, b, mask) > 38 and ssim(a, b, mask) > 0.98  # one more H.264 generation
        inside = (slice(box.y, box.y + box.h), slice(box.x, box.x + box.w))
        assert psnr(a[inside], b[inside]) < 30


def test_burned_in_timestamps_are_blurred_and_verified(realdata: Path, run_dir: RunDir) -> None:
    config = make_config()
    still_video(realdata / FIGURE, run_dir.clip("fig_0"), seconds=0.5)
    add_cut(run_dir, config, "fig_0")
    rows = privacy(run_dir, config)["fig_0"]
    assert rows["text_boxes_found"]["value"] >= 10
    assert rows["faces_found"]["value"] == 0
    assert rows["verification"]["passed"], rows["verification"]["reason"]
    assert rows["verification"]["privacy_strict"] is False


def test_surgical_clip_is_strict_and_published_unchanged(realdata: Path, run_dir: RunDir,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """No work twice: nothing detected -> linked, not re-encoded, and not verified again."""
    import ophora_data.stages.privacy as stage_module

    def no_second_pass(*args: object, **kwargs: object) -> None:
        raise AssertionError("a clip with no detection was re-encoded or verified")

    monkeypatch.setattr(stage_module, "verify_clip", no_second_pass)
    monkeypatch.setattr(stage_module, "encode_redacted", no_second_pass)
    config = make_config()
    clip = image_sequence_video(realdata / "surgical/cataractsam2_frames", run_dir.clip("eye_0"))
    add_cut(run_dir, config, "eye_0")
    rows = privacy(run_dir, config)["eye_0"]
    assert rows["faces_found"]["value"] == 0 and rows["text_boxes_found"]["value"] == 0
    assert rows["frames_blurred"]["value"] == 0
    assert rows["verification"]["passed"] and all(r["privacy_strict"] is True for r in rows.values())
    assert rows["verification"]["verified_by"] == "unchanged"
    redacted = run_dir.root / rows["verification"]["redacted_path"]
    assert os.stat(redacted).st_ino == os.stat(clip).st_ino  # a link, no re-encode


def test_silent_film_faces_are_blurred_in_every_frame_that_had_one(realdata: Path, run_dir: RunDir) -> None:
    # Faces only (text detection on 241 frames is the slow part) and every 8th frame: fast enough by default.
    config = make_config("privacy.text_detector=none", "privacy.every_n_frames=8", "privacy.crf=20")
    add_cut(run_dir, config, "film_0", realdata / FILM)
    rows = privacy(run_dir, config)["film_0"]
    assert "text_boxes_found" not in rows and rows["verification"]["privacy_strict"] is False
    assert rows["faces_found"]["frames_with"] >= 17  # Haar found faces in 12 of these 31 frames
    assert rows["faces_found"]["value"] == 2  # both people
    assert rows["verification"]["passed"], rows["verification"]["reason"]
    before = sample_frames(realdata / FILM, every_n=8)
    after = sample_frames(run_dir.root / rows["verification"]["redacted_path"], every_n=8)
    assert after.total_frames == before.total_frames
    for detector in (build_detectors(config.privacy).face, HaarFaceDetector(config.privacy)):
        assert detector is not None
        had_face = [i for i, frame in enumerate(before.frames) if detector.detect(frame)]
        assert had_face
        assert [i for i in had_face if detector.detect(after.frames[i])] == []


def test_drop_mode_rejects_a_clip_with_a_detection_and_publishes_nothing(realdata: Path,
                                                                       run_dir: RunDir) -> None:
    config = make_config("privacy.mode=drop", "privacy.text_detector=none")
    still_video(realdata / ASTRONAUT, run_dir.clip("astro_1"))
    image_sequence_video(realdata / "surgical/cataractsam2_frames", run_dir.clip("eye_1"))
    add_cut(run_dir, config, "astro_1")
    add_cut(run_dir, config, "eye_1")
    rows = privacy(run_dir, config)
    face = rows["astro_1"]
    assert face["faces_found"]["status"] == "rejected"
    assert face["faces_found"]["reason"] == "faces_found 1 not <= 0.0"
    assert face["verification"]["passed"] is False and "mode drop" in face["verification"]["reason"]
    assert face["verification"]["redacted_path"] is None and not run_dir.redacted_clip("astro_1").exists()
    # Nothing detected: kept, published unchanged; not strict, since text was not looked for.
    eye = rows["eye_1"]
    assert eye["faces_found"]["passed"] and eye["verification"]["passed"]
    assert eye["verification"]["redacted_path"] == "media/redacted/eye_1.mp4"
    assert eye["verification"]["privacy_strict"] is False


def test_undecodable_clip_is_a_failed_row_not_a_crash(run_dir: RunDir, make_video) -> None:  # noqa: ANN001
    config = make_config("privacy.text_detector=none")
    run_dir.clip("bad_0").parent.mkdir(parents=True, exist_ok=True)
    run_dir.clip("bad_0").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    good = make_video("good.mp4", duration=1.0, audio=False)
    add_cut(run_dir, config, "bad_0")
    add_cut(run_dir, config, "good_0", good)
    rows = privacy(run_dir, config)
    bad = rows["bad_0"]["status"]
    assert bad["status"] == "failed" and bad["reason"].startswith("no decodable frames")
    assert bad["retryable"] is False and bad["redacted_path"] is None and bad["privacy_strict"] is False
    assert rows["good_0"]["verification"]["passed"]


def test_rerun_resumes_without_work_and_missing_tools_stop_the_stage(run_dir: RunDir, make_video,  # noqa: ANN001
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config("privacy.text_detector=none")
    add_cut(run_dir, config, "v_0", make_video("v.mp4", duration=1.0, audio=False))
    first = run_stage(PrivacyStage(config, run_dir), RunOptions(progress=False))
    again = run_stage(PrivacyStage(config, run_dir), RunOptions(progress=False))
    assert first.processed == 1 and again.processed == 0 and again.skipped_done == 1
    with pytest.raises(StageError, match="YuNet ONNX model not found"):
        PrivacyStage(make_config("privacy.yunet_model_path=/nonexistent/yunet.onnx"), run_dir).setup()


@pytest.mark.parametrize("breakage", ["weak_blur", "box_left_out"])
def test_a_redaction_that_leaves_the_face_fails_verification_and_is_rejected(
        realdata: Path, run_dir: RunDir, monkeypatch: pytest.MonkeyPatch, breakage: str) -> None:
    """The gate itself: a blur too weak, or a box left out, leaves a findable face; every pass up to
    max_passes is tried, then the clip is rejected with the reason (and `build` refuses it:
    tests/builders/test_privacy_refusal.py)."""
    import ophora_data.stages.privacy as stage_module

    overrides = ["privacy.text_detector=none", "privacy.max_passes=2"]
    if breakage == "weak_blur":
        overrides.append("privacy.blur_strength=0.002")  # sigma 1 px: the face stays a face
    else:
        monkeypatch.setattr(stage_module, "boxes_per_frame",
                            lambda detections, hold, dilation: [[] for _ in range(detections.total_frames)])
    encodes: list[Path] = []
    real_encode = stage_module.encode_redacted
    monkeypatch.setattr(stage_module, "encode_redacted",
                        lambda source, dest, per_frame, cfg: encodes.append(dest) or real_encode(
                            source, dest, per_frame, cfg))
    config = make_config(*overrides)
    still_video(realdata / ASTRONAUT, run_dir.clip("astro_2"))
    add_cut(run_dir, config, "astro_2")
    rows = privacy(run_dir, config)["astro_2"]
    verification = rows["verification"]
    assert verification["passed"] is False and verification["status"] == "rejected"
    assert verification["reason"].startswith("after redaction 2 face(s) and 0 text box(es) remain (frames 0, 5")
    assert verification["passes"] == 2 and len(encodes) == 2
    assert verification["remaining_faces"] == 2 and verification["verified_by"] == "redetection"
    record = json.loads((run_dir.root / verification["boxes_path"]).read_text())
    assert ClipDetections.from_json(record["remaining"]).count("face") == 2


def test_detectors_get_frames_in_batches(run_dir: RunDir, make_video, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from ophora_data.privacy.detectors import Detectors

    sizes: list[int] = []
    real = Detectors.detect_batch
    monkeypatch.setattr(Detectors, "detect_batch", lambda self, frames: sizes.append(len(frames)) or real(
        self, frames))
    config = make_config("privacy.every_n_frames=2", "privacy.batch_size=4")
    add_cut(run_dir, config, "gen_0", make_video("gen.mp4", duration=1.0, audio=False))  # 25 frames
    rows = privacy(run_dir, config)["gen_0"]
    assert rows["faces_found"]["frames_sampled"] == 13
    assert sizes[:4] == [4, 4, 4, 1]  # detection: 13 sampled frames
    # Verification (testsrc2's digits are text): again in batches, only the frames with detections.
    verification = rows["verification"]
    assert sum(sizes[4:]) == verification["frames_checked"] * verification["passes"] and max(sizes) <= 4
