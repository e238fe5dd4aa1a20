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
from ophora_data.privacy.smoothing import boxes_per_frame
from ophora_data.run.workdir import RunDir
from ophora_data.stages import registry
from ophora_data.stages.base import StageError
from ophora_data.stages.privacy import PrivacyStage
from ophora_data.stages.registry import stage_config_hash
from tests.conftest import make_config
from tests.privacy.helpers import captioned_video, image_sequence_video, outside_mask, psnr, ssim, still_video
from tests.privacy.realfixtures import ASTRONAUT, FIGURE, FILM, SURGICAL_FRAME


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
    # Golden-style: outside the blurred boxes (the face, and the name patch where PP-OCR scores it
    # above 0.5) the picture is the source's, within encoder noise; the face itself is destroyed.
    record = json.loads((run_dir.root / verification["boxes_path"]).read_text())
    boxes = ClipDetections.from_json(record["redacted"])
    per_frame = boxes_per_frame(boxes, record["hold_frames"], record["box_dilation"])
    before = sample_frames(clip, every_n=1)
    face = boxes.frames[0][0].dilated(config.privacy.box_dilation, boxes.width, boxes.height)
    assert face.kind == "face" and all(face in blurred for blurred in per_frame)
    for i in range(0, 10, 3):
        a, b = before.frames[i], after.frames[i]
        mask = outside_mask(a.shape, per_frame[i])
        assert psnr(a, b, mask) > 38 and ssim(a, b, mask) > 0.98  # one more H.264 generation
        inside = (slice(face.y, face.y + face.h), slice(face.x, face.x + face.w))
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
    assert bad["status"] == "failed" and bad["reason"].startswith("undecodable clip: ")
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
                        lambda source, dest, per_frame, cfg, *decoded: encodes.append(dest) or real_encode(
                            source, dest, per_frame, cfg, *decoded))
    config = make_config(*overrides)
    still_video(realdata / ASTRONAUT, run_dir.clip("astro_2"))
    add_cut(run_dir, config, "astro_2")
    rows = privacy(run_dir, config)["astro_2"]
    verification = rows["verification"]
    assert verification["passed"] is False and verification["status"] == "rejected"
    assert verification["reason"].startswith("after redaction 2 face(s) and 0 text box(es) remain (frames 0, 8)")
    assert verification["passes"] == 2 and len(encodes) == 2
    assert verification["remaining_faces"] == 2 and verification["verified_by"] == "redetection"
    record = json.loads((run_dir.root / verification["boxes_path"]).read_text())
    assert ClipDetections.from_json(record["remaining"]).count("face") == 2


def test_detectors_get_frames_in_batches(run_dir: RunDir, make_video, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from ophora_data.privacy.detectors import Detectors

    calls: list[tuple[str, int]] = []
    real = Detectors.detect_batch
    monkeypatch.setattr(Detectors, "detect_batch", lambda self, frames: calls.append(
        ("+".join(d.kind for d in self.active), len(frames))) or real(self, frames))
    config = make_config("privacy.every_n_frames=2", "privacy.batch_size=4")
    add_cut(run_dir, config, "gen_0", make_video("gen.mp4", duration=1.0, audio=False))  # 25 frames, 25 fps
    rows = privacy(run_dir, config)["gen_0"]
    # Faces on every 2nd frame (13), text coarse every 0.48 s (frames 0, 12, 24): batches of at most 4.
    assert [n for kind, n in calls if kind == "face"] == [4, 4, 4, 1]
    assert [n for kind, n in calls if kind == "text"][:1] == [3]
    assert rows["faces_found"]["frames_sampled"] >= 13 and max(n for _, n in calls) <= 4


def caption_blurred(run: RunDir, rows: dict[str, dict], frames: range) -> list[int]:
    """Frames of `frames` whose blurred boxes (as recorded, read the way builders/manifest.py reads
    them) cover the caption at the bottom left (x 20..260, y 306..340)."""
    from builders.manifest import redaction_boxes

    per_frame = redaction_boxes(run.root / rows["verification"]["boxes_path"])
    return [i for i in frames if per_frame and any(b.x <= 20 and b.x + b.w >= 260 and b.y <= 306
                                                   and b.y + b.h >= 340 for b in per_frame[i])]


def test_a_caption_between_coarse_samples_in_a_still_picture_is_found(realdata: Path, run_dir: RunDir) -> None:
    """Text is looked for every 0.64 s here (25 fps: 16 frames, the multiple of every_n_frames 8 within
    5/6 s); a caption on frames 4-9 (0.24 s) falls between the samples at 0 and 16. It switches on and
    off in a still surgical picture: two abrupt changes, so PP-OCR looks at the frames between, finds
    it, and every frame it is on is blurred."""
    config = make_config("privacy.face_detector=none")
    captioned_video(realdata / SURGICAL_FRAME, run_dir.clip("cap_0"), 4, 9)
    add_cut(run_dir, config, "cap_0")
    rows = privacy(run_dir, config)["cap_0"]
    record = json.loads((run_dir.root / rows["verification"]["boxes_path"]).read_text())
    assert record["coarse_step"] == 16 and [0, 16, "frames", "2 abrupt changes"] in record["refined"]
    assert rows["text_boxes_found"]["value"] == 1 and rows["verification"]["passed"]
    assert caption_blurred(run_dir, rows, range(4, 10)) == list(range(4, 10))
    assert caption_blurred(run_dir, rows, range(25, 50)) == []  # not long after


def test_a_caption_between_coarse_samples_in_moving_footage_needs_dense_text_sampling(
        realdata: Path, run_dir: RunDir) -> None:
    """The documented limit (docs/privacy.md): the same 0.24 s caption over the moving silent film is
    not seen between two coarse samples (film grain and motion hide its switching on); with
    privacy.coarse_every_s=0 PP-OCR looks at every 8th frame and it is blurred wherever it is on."""
    default, dense = make_config("privacy.face_detector=none"), make_config("privacy.face_detector=none",
                                                                            "privacy.coarse_every_s=0")
    captioned_video(realdata / FILM, run_dir.clip("capf_0"), 4, 9, seconds=1.2, still=False)
    add_cut(run_dir, default, "capf_0")
    assert caption_blurred(run_dir, privacy(run_dir, default)["capf_0"], range(4, 10)) == []
    add_cut(run_dir, dense, "capf_0")
    rows = privacy(run_dir, dense)["capf_0"]
    assert caption_blurred(run_dir, rows, range(4, 10)) == list(range(4, 10))


def test_a_static_watermark_is_looked_for_only_at_coarse_samples(run_dir: RunDir,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Found at the same place at every coarse sample: the frames between get its box without PP-OCR
    looking at them; the boxes file gives every frame its box (as builders/manifest.py reads it)."""
    import subprocess

    from ophora_data.privacy.detectors import PPOCRTextDetector

    looked: list[int] = []
    real = PPOCRTextDetector.detect_batch
    monkeypatch.setattr(PPOCRTextDetector, "detect_batch", lambda self, frames: looked.append(len(frames)) or real(
        self, frames))
    clip = run_dir.clip("wm_0")
    clip.parent.mkdir(parents=True, exist_ok=True)
    # A moving background (seeded: every coarse sample differs by far more than static_change), a
    # watermark that stays.
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "gradients=s=640x360:r=30:d=2:speed=0.05:seed=1",
                    "-vf", "drawtext=text='ST MARY HOSPITAL':x=380:y=20:fontsize=24:fontcolor=white:borderw=2",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)], check=True)
    config = make_config("privacy.face_detector=none")
    add_cut(run_dir, config, "wm_0")
    rows = privacy(run_dir, config)["wm_0"]
    record = json.loads((run_dir.root / rows["verification"]["boxes_path"]).read_text())
    assert record["coarse_step"] == 24 and record["refined"] == []
    assert sum(looked) == 4  # frames 0, 24, 48 and the last (59), not every 8th
    assert rows["frames_blurred"]["value"] == 60 and rows["verification"]["passed"]
    from builders.manifest import redaction_boxes

    per_frame = redaction_boxes(run_dir.root / rows["verification"]["boxes_path"])
    assert len(per_frame) == 60 and all(any(b.kind == "text" and b.x <= 380 for b in boxes) for boxes in per_frame)


def test_a_still_picture_is_looked_at_once(realdata: Path, run_dir: RunDir, monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames showing the same picture as the last one a detector looked at (a title card, a slide)
    get its boxes without a look; the caption that then appears changes the picture and is looked at."""
    from ophora_data.privacy.detectors import PPOCRTextDetector, YuNetFaceDetector

    looked: dict[str, int] = {"text": 0, "face": 0}
    for cls, kind in ((PPOCRTextDetector, "text"), (YuNetFaceDetector, "face")):
        real = cls.detect_batch
        monkeypatch.setattr(cls, "detect_batch", lambda self, frames, real=real, kind=kind: looked.__setitem__(
            kind, looked[kind] + len(frames)) or real(self, frames))
    config = make_config()
    captioned_video(realdata / SURGICAL_FRAME, run_dir.clip("card_0"), 30, 49)  # 2 s, caption from 1.2 s
    add_cut(run_dir, config, "card_0")
    rows = privacy(run_dir, config)["card_0"]
    record = json.loads((run_dir.root / rows["verification"]["boxes_path"]).read_text())
    # Text at 0 and 32 (the caption, on from 30) of the coarse 0, 16, 32, 48; faces at 0 and 32 of the
    # grid 0, 8, ..., 48: the other 2 + 5 looks reuse the boxes of the same picture. (The caption
    # came between 16 and 32: PP-OCR looks for it in its band there, `detect_regions`.)
    assert looked == {"text": 2, "face": 2} and record["looks_reused"] == 2 + 5
    assert [16, 32, "bands", "text came"] in record["refined"]
    assert caption_blurred(run_dir, rows, range(30, 50)) == list(range(30, 50))
    # It came between the samples 16 and 32, so it is held over that whole interval, not before it.
    assert caption_blurred(run_dir, rows, range(0, 16)) == []


def test_a_redacted_clip_is_decoded_once_when_its_frames_fit_in_memory(realdata: Path, run_dir: RunDir,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan keeps the frames of a clip within privacy.frame_memory_mb and the redaction encodes
    from them: the source is decoded once, not twice (frame_memory_mb=0), and the published clip is
    the same either way (the verification decodes the redacted file, not the source)."""
    from ophora_data.privacy.yuv import YuvReader

    decoded: list[str] = []
    real_argv = YuvReader.argv
    monkeypatch.setattr(YuvReader, "argv", lambda self: decoded.append(self.path.resolve()) or real_argv(self))
    published = {}
    for clip_id, memory in (("kept_0", "512"), ("again_0", "0")):
        config = make_config("privacy.face_detector=none", f"privacy.frame_memory_mb={memory}")
        captioned_video(realdata / SURGICAL_FRAME, run_dir.clip(clip_id), 0, 49)
        add_cut(run_dir, config, clip_id)
        rows = privacy(run_dir, config)[clip_id]
        assert rows["verification"]["passed"] and rows["frames_blurred"]["value"] == 50
        published[clip_id] = sample_frames(run_dir.root / rows["verification"]["redacted_path"], count=5).frames
    sources = [run_dir.clip(clip_id).resolve() for clip_id in ("kept_0", "again_0")]
    assert [decoded.count(source) for source in sources] == [1, 2]
    assert all((a == b).all() for a, b in zip(published["kept_0"], published["again_0"], strict=True))
    # The memory setting cannot change a clip, so it does not redo the clips already done.
    assert stage_config_hash(PrivacyStage, make_config("privacy.frame_memory_mb=0")) == stage_config_hash(
        PrivacyStage, make_config())
