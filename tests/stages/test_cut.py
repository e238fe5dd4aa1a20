from __future__ import annotations

import subprocess
from bisect import bisect_left
from pathlib import Path

import numpy as np
import pytest

from ophora_data.config import Config
from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.run.tables import group_by
from ophora_data.run.workdir import RunDir
from ophora_data.stages.cut import CutStage
from tests.conftest import make_config
from tests.helpers.frame_index import CONTAINERS, expected_ids, frame_ids, make_index_video, remux, shown_at
from tests.helpers.media import (
    closest_frame,
    decode_all,
    frame_times,
    make_cut_video,
    make_vfr_video,
    probe_json,
    rotate_tag,
    seed_cut_inputs,
)

QUIET = RunOptions(progress=False)


def run_cut(
    run: RunDir,
    config: Config,
    sources: dict[str, Path],
    windows: list[tuple[str, str, float, float]],
    options: RunOptions = QUIET,
) -> dict[str, dict]:
    seed_cut_inputs(run, config, sources, windows)
    run_stage(CutStage(config, run), options)
    return {row["clip_id"]: row for row in CutStage(config, run).upstream_rows("cut")}


def expected_frames(source: Path, start: float, end: float) -> tuple[int, int]:
    """Ground truth, computed independently: source frames whose time t has start <= t < end."""
    times = frame_times(source)
    return bisect_left(times, start - 1e-6), bisect_left(times, end - 1e-6)


def assert_frame_exact(run: RunDir, row: dict, source_frames: np.ndarray, first: int, stop: int) -> None:
    clip = decode_all(run.root / row["path"])
    assert len(clip) == stop - first == row["frames"]
    # First, middle and last clip frames are the source frames at the window's timestamps.
    for k in (0, len(clip) // 2, len(clip) - 1):
        assert closest_frame(clip[k], source_frames) == first + k, (row["clip_id"], k)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 8 s, 25 fps, hard cut at 4 s, GOP of 2 s so seeks land between keyframes.
    return make_cut_video(tmp_path_factory.mktemp("cut") / "src.mp4", duration=8.0, cut_at=4.0)


@pytest.fixture(scope="module")
def source_frames(source: Path) -> np.ndarray:
    return decode_all(source)


WINDOWS = [("v_0", "v", 0.0, 2.5), ("v_1", "v", 1.3, 3.37), ("v_2", "v", 3.02, 5.5), ("v_3", "v", 5.98, 7.99)]


@pytest.mark.parametrize("strategy", ["seek", "single_pass"])
def test_every_clip_is_frame_exact(
    run_dir: RunDir, source: Path, source_frames: np.ndarray, strategy: str
) -> None:
    config = make_config(f"cut.strategy={strategy}")
    rows = run_cut(run_dir, config, {"v": source}, WINDOWS)
    assert {r["status"] for r in rows.values()} == {"ok"}
    for clip_id, _, start, end in WINDOWS:
        row = rows[clip_id]
        first, stop = expected_frames(source, start, end)
        assert (row["source_first_frame"], row["source_last_frame"]) == (first, stop - 1)
        assert_frame_exact(run_dir, row, source_frames, first, stop)
        assert abs(row["duration_s"] - (end - start)) <= 1 / 25 + 1e-6
        assert row["path"] == f"media/clips/{clip_id}.mp4"
    modes = {r["cut_mode"] for r in rows.values()}
    assert modes == ({"seek"} if strategy == "seek" else {"single_pass"})


def test_rows_record_encoder_and_output_is_h264_faststart(run_dir: RunDir, source: Path) -> None:
    config = make_config("cut.crf=30", "cut.preset=ultrafast", "cut.audio=true")
    row = run_cut(run_dir, config, {"v": source}, WINDOWS[:1])["v_0"]
    assert (
        row["encoder_codec"] == "libx264"
        and row["encoder_crf"] == 30
        and row["encoder_preset"] == "ultrafast"
    )
    assert row["pix_fmt"] == "yuv420p" and row["audio"] is True
    assert row["ffmpeg_version"].startswith("ffmpeg version")
    assert (row["width"], row["height"], row["fps"]) == (320, 240, 25.0)
    clip = run_dir.root / row["path"]
    info = probe_json(clip, "-show_streams", "-show_format")
    codecs = {s["codec_type"]: s for s in info["streams"]}
    assert codecs["video"]["codec_name"] == "h264" and codecs["video"]["pix_fmt"] == "yuv420p"
    assert codecs["audio"]["codec_name"] == "aac"
    assert float(codecs["audio"]["duration"]) == pytest.approx(2.52, abs=0.03)  # follows the video frames
    head = clip.read_bytes()[:4096]
    assert head.find(b"moov") != -1 and head.find(b"moov") < max(head.find(b"mdat"), 4096)  # +faststart
    assert "title" not in (info["format"].get("tags") or {})  # no source metadata copied
    assert not list(run_dir.clips_dir.glob(".*"))  # no temp files left


def test_audio_dropped_by_default(run_dir: RunDir, source: Path) -> None:
    row = run_cut(run_dir, make_config(), {"v": source}, WINDOWS[:1])["v_0"]
    streams = probe_json(run_dir.root / row["path"], "-show_streams")["streams"]
    assert [s["codec_type"] for s in streams] == ["video"]


def test_auto_merges_overlapping_windows_and_seeks_to_distant_ones(run_dir: RunDir, tmp_path: Path) -> None:
    # 20 s with a keyframe every 2 s: windows at 1-3 s and 2-4 s overlap; 16-18 s is far away.
    long_source = make_cut_video(tmp_path / "long.mp4", duration=20.0, cut_at=None, audio=False)
    windows = [("l_0", "l", 1.0, 3.0), ("l_1", "l", 2.0, 4.0), ("l_2", "l", 16.0, 18.0)]
    rows = run_cut(run_dir, make_config(), {"l": long_source}, windows)
    assert [rows[c]["cut_mode"] for c in ("l_0", "l_1", "l_2")] == ["single_pass", "single_pass", "seek"]
    assert rows["l_0"]["pass_clips"] == 2 and rows["l_2"]["pass_clips"] == 1
    assert {r["status"] for r in rows.values()} == {"ok"}


def test_odd_dimensions_are_cropped_to_even(run_dir: RunDir, tmp_path: Path) -> None:
    odd = make_cut_video(tmp_path / "odd.mp4", duration=3.0, cut_at=None, size="321x241", audio=False)
    row = run_cut(run_dir, make_config(), {"o": odd}, [("o_0", "o", 0.5, 2.5)])["o_0"]
    assert row["status"] == "ok" and (row["width"], row["height"]) == (320, 240)


def test_tall_sources_are_capped_on_the_short_side(run_dir: RunDir, tmp_path: Path) -> None:
    big = make_cut_video(tmp_path / "big.mp4", duration=3.0, cut_at=None, size="640x360", audio=False)
    row = run_cut(run_dir, make_config("cut.max_height=240"), {"b": big}, [("b_0", "b", 0.0, 2.0)])["b_0"]
    assert (row["width"], row["height"]) == (426, 240)


def test_rotation_is_applied(run_dir: RunDir, tmp_path: Path) -> None:
    plain = make_cut_video(tmp_path / "plain.mp4", duration=3.0, cut_at=None, audio=False)
    rotated = rotate_tag(plain, tmp_path / "rotated.mp4", 90)
    truth = decode_all(rotated)  # ffmpeg's display orientation
    row = run_cut(run_dir, make_config(), {"r": rotated}, [("r_0", "r", 0.4, 2.4)])["r_0"]
    assert (
        row["status"] == "ok" and (row["width"], row["height"]) == (240, 320) and row["rotation"] in (90, 270)
    )
    first, stop = expected_frames(rotated, 0.4, 2.4)
    assert_frame_exact(run_dir, row, truth, first, stop)
    streams = probe_json(run_dir.root / row["path"], "-show_streams")["streams"]
    assert not streams[0].get("side_data_list")  # pixels are rotated, no rotation flag left


def test_variable_frame_rate_cuts_on_real_timestamps(run_dir: RunDir, tmp_path: Path) -> None:
    vfr = make_vfr_video(tmp_path / "vfr.mp4")  # 10 fps for 2 s, then 30 fps
    truth = decode_all(vfr)
    windows = [("f_0", "f", 0.25, 1.55), ("f_1", "f", 1.5, 2.5), ("f_2", "f", 2.51, 3.99)]
    rows = run_cut(run_dir, make_config(), {"f": vfr}, windows)
    for clip_id, _, start, end in windows:
        first, stop = expected_frames(vfr, start, end)
        assert rows[clip_id]["status"] == "ok", rows[clip_id]["reason"]
        assert_frame_exact(run_dir, rows[clip_id], truth, first, stop)
    assert rows["f_1"]["frames"] == 5 + 15  # 1.5-2.0 s at 10 fps, 2.0-2.5 s at 30 fps


def test_corrupt_and_missing_sources_give_failed_rows(run_dir: RunDir, source: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00garbage" * 1000)
    sources = {"t": truncated, "g": garbage, "m": tmp_path / "missing.mp4", "v": source}
    windows = [("t_0", "t", 0.0, 2.0), ("g_0", "g", 0.0, 2.0), ("m_0", "m", 0.0, 2.0), ("v_0", "v", 0.0, 2.0)]
    rows = run_cut(run_dir, make_config(), sources, windows)
    assert rows["v_0"]["status"] == "ok"
    for clip_id in ("t_0", "g_0", "m_0"):
        assert rows[clip_id]["status"] == "failed" and rows[clip_id]["reason"], clip_id
        assert not run_dir.clip(clip_id).exists()
    assert "not found" in rows["m_0"]["reason"]


def test_windows_outside_the_video_are_rejected(run_dir: RunDir, source: Path) -> None:
    windows = [("v_8", "v", 7.0, 9.5), ("v_9", "v", 9.0, 11.0), ("v_0", "v", 0.0, 2.0)]
    rows = run_cut(run_dir, make_config(), {"v": source}, windows)
    assert rows["v_0"]["status"] == "ok"
    assert rows["v_8"]["status"] == "rejected" and "past the end" in rows["v_8"]["reason"]
    assert rows["v_9"]["status"] == "rejected" and "no video frame" in rows["v_9"]["reason"]


def test_failed_verification_never_leaves_a_clip(
    run_dir: RunDir, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ophora_data.media.cutter as cutter

    monkeypatch.setattr(cutter, "problems", lambda facts, expected: ["3 frames, expected 4"])
    rows = run_cut(run_dir, make_config(), {"v": source}, WINDOWS[:2])
    for clip_id in ("v_0", "v_1"):
        assert rows[clip_id]["status"] == "failed" and "verification failed" in rows[clip_id]["reason"]
        assert rows[clip_id]["retryable"] is True
    assert not list(run_dir.clips_dir.iterdir())


def test_resume_cuts_only_missing_or_failed_clips(
    run_dir: RunDir, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config()
    seed_cut_inputs(run_dir, config, {"v": source}, WINDOWS)
    first = run_stage(CutStage(config, run_dir), RunOptions(progress=False, limit=2))
    assert first.processed == 2
    # A clip whose row says failed is retried alone; ok clips are not cut again.
    stage = CutStage(config, run_dir)
    ok_row = next(r for r in stage.upstream_rows("cut") if r["clip_id"] == "v_1")
    run_dir.table("cut").append(
        [{**ok_row, "status": "failed", "reason": "simulated", "retryable": True, "_part": None}]
    )
    cut_ids: list[str] = []
    real = CutStage.cut_source

    def spy(self: CutStage, items: list[dict]) -> dict:
        cut_ids.extend(i["clip_id"] for i in items)
        return real(self, items)

    monkeypatch.setattr(CutStage, "cut_source", spy)
    second = run_stage(CutStage(config, run_dir), QUIET)
    assert sorted(cut_ids) == ["v_1", "v_2", "v_3"] and second.skipped_done == 1
    rows = group_by(CutStage(config, run_dir).upstream_rows("cut"), "clip_id")
    assert sorted(rows) == ["v_0", "v_1", "v_2", "v_3"]
    assert all(r[0]["status"] == "ok" for r in rows.values())
    again = run_stage(CutStage(config, run_dir), QUIET)
    assert again.processed == 0 and again.skipped_done == 4


def test_parallel_workers_cut_sources_in_parallel(run_dir: RunDir, source: Path, tmp_path: Path) -> None:
    other = make_cut_video(tmp_path / "other.mp4", duration=4.0, cut_at=None, audio=False)
    windows = [*WINDOWS, ("o_0", "o", 0.0, 2.0), ("o_1", "o", 2.0, 3.96)]
    rows = run_cut(
        run_dir, make_config(), {"v": source, "o": other}, windows, RunOptions(progress=False, workers=2)
    )
    assert len(rows) == 6 and {r["status"] for r in rows.values()} == {"ok"}


def test_real_cataract_clip_is_cut(run_dir: RunDir, realdata: Path) -> None:
    real = realdata / "surgical" / "cataract1k_case4687_capsulorhexis_52.50-57.50s_224px.mp4"
    truth = decode_all(real)
    rows = run_cut(run_dir, make_config(), {"c": real}, [("c_0", "c", 1.0, 3.5)])
    row = rows["c_0"]
    assert row["status"] == "ok" and (row["width"], row["height"]) == (224, 224)
    first, stop = expected_frames(real, 1.0, 3.5)
    assert_frame_exact(run_dir, row, truth, first, stop)


def test_full_decode_verification(run_dir: RunDir, source: Path) -> None:
    rows = run_cut(run_dir, make_config("cut.verify=decode"), {"v": source}, WINDOWS[1:2])
    assert rows["v_1"]["status"] == "ok" and rows["v_1"]["frames"] == 52  # 1.32 s .. 3.36 s at 25 fps


def test_source_truncated_after_its_index_fails_verification(run_dir: RunDir, tmp_path: Path) -> None:
    # moov up front, then the media data cut short: the index promises frames the file lacks.
    whole = make_cut_video(tmp_path / "whole.mp4", duration=6.0, cut_at=None, audio=False)
    faststart = tmp_path / "faststart.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(whole),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
            str(faststart),
        ],
        check=True,
    )
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(faststart.read_bytes()[: faststart.stat().st_size * 2 // 3])
    rows = run_cut(run_dir, make_config(), {"b": broken}, [("b_0", "b", 0.5, 2.0), ("b_1", "b", 4.0, 5.9)])
    assert rows["b_0"]["status"] == "ok"  # intact part
    assert rows["b_1"]["status"] == "failed" and "source truncated" in rows["b_1"]["reason"]
    assert not run_dir.clip("b_1").exists()


# Sources whose first frame is not at container time 0, coarse time bases, packets without pts --------
# (field case 12 and the same kind in other containers). The ground truth is each frame's burned-in
# source index read back from the clip (tests/helpers/frame_index.py).


def assert_clip_ids(run: RunDir, row: dict, first: int, last: int, tolerance: int = 0) -> list[int]:
    assert row["status"] == "ok", (row["clip_id"], row["reason"])
    ids = frame_ids(run.root / row["path"])
    assert ids == sorted(ids), row["clip_id"]
    assert abs(ids[0] - first) <= tolerance and abs(ids[-1] - last) <= tolerance, (row["clip_id"], ids)
    return ids


def test_case12_start_offset_ts_and_editlist_mp4_are_cut_frame_exact(run_dir: RunDir, media12: Path) -> None:
    media = media12
    sources = {"ts": media / "start_offset.ts", "el": media / "editlist_preroll.mp4"}
    # The windows of the case's transcripts (playback time), as CASE.md tabulates them.
    windows = [("ts_0", "ts", 2.0, 4.0), ("ts_1", "ts", 5.0, 7.5), ("el_0", "el", 0.5, 2.5), ("el_1", "el", 2.9, 4.9)]
    rows = run_cut(run_dir, make_config("cut.audio=true", "cut.preset=ultrafast"), sources, windows)
    # TS: id = floor(30 * (t - 0.0213)); the first frame whose pts >= s (60, 150) is accepted too.
    assert_clip_ids(run_dir, rows["ts_0"], 60, 119, tolerance=1)
    assert_clip_ids(run_dir, rows["ts_1"], 150, 224, tolerance=1)
    # Edit list: id = 45 + floor(30 * t); ids 15-29 would mean the hidden pre-roll was counted.
    assert_clip_ids(run_dir, rows["el_0"], 60, 119, tolerance=1)
    assert_clip_ids(run_dir, rows["el_1"], 132, 191, tolerance=1)
    for row in rows.values():
        streams = {s["codec_type"]: s for s in probe_json(run_dir.root / row["path"], "-show_streams")["streams"]}
        video_s, audio_s = float(streams["video"]["duration"]), float(streams["audio"]["duration"])
        assert abs(audio_s - video_s) <= 1 / 30 + 0.01, row["clip_id"]  # the audio of the same interval


@pytest.fixture(scope="module")
def index_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_index_video(tmp_path_factory.mktemp("index") / "index.mp4")


CONTAINER_WINDOWS = [("x_0", "x", 0.0, 1.3), ("x_1", "x", 0.95, 2.2), ("x_2", "x", 2.53, 3.9)]
# One per fault in the default run (seek landing, no pts, coarse time base, B-frame start); the
# rest, and every container in one decode pass, with --slow.
FAST_CASES = {("offset.ts", "seek"), ("offset.ts", "single_pass"), ("program.mpg", "seek"),
              ("packed.avi", "seek"), ("bframes.flv", "seek")}


@pytest.mark.parametrize(
    ("name", "strategy"),
    [pytest.param(name, strategy, marks=[] if (name, strategy) in FAST_CASES else [pytest.mark.slow])
     for name in CONTAINERS for strategy in ("seek", "single_pass")],
)
def test_containers_are_cut_frame_exact(
    run_dir: RunDir, index_source: Path, tmp_path: Path, name: str, strategy: str
) -> None:
    source = remux(index_source, tmp_path / name, CONTAINERS[name])
    truth = shown_at(source)
    assert [index for _, index in truth] == list(range(120))  # the strip reads back: the truth is sound
    rows = run_cut(run_dir, make_config(f"cut.strategy={strategy}", "cut.preset=ultrafast"), {"x": source},
                   CONTAINER_WINDOWS)
    for clip_id, _, start, end in CONTAINER_WINDOWS:
        expected = expected_ids(truth, start, end)
        assert rows[clip_id]["status"] == "ok", (name, rows[clip_id]["reason"])
        assert frame_ids(run_dir.root / rows[clip_id]["path"]) == expected, (name, clip_id)


def test_case14_browser_webm_without_duration_cuts_windows_to_the_frame(run_dir: RunDir, media14: Path) -> None:
    webm = media14 / "browser_recording_no_duration.webm"
    times = [t for t, _ in shown_at_times(webm)]
    frames = decode_all(webm)
    windows = [("w_0", "w", 0.5, 2.8), ("w_1", "w", 3.2, 5.6)]
    rows = run_cut(run_dir, make_config("cut.preset=ultrafast"), {"w": webm}, windows)
    for clip_id, _, start, end in windows:
        row = rows[clip_id]
        assert row["status"] == "ok", row["reason"]
        assert abs(row["duration_s"] - (end - start)) <= 1 / 30 + 1e-6
        # The audio's -0.007 s start shifts nothing: the clip opens on the frame shown at `start`.
        first = bisect_left(times, start - 1e-6)
        clip = decode_all(run_dir.root / row["path"])
        assert closest_frame(clip[0], frames) == first and len(clip) == bisect_left(times, end - 1e-6) - first


def test_case14_window_after_the_video_stream_ends_is_rejected(run_dir: RunDir, media14: Path) -> None:
    source = media14 / "audio_longer_than_video.mp4"  # 4 s of video, 7 s of audio
    windows = [("a_0", "a", 0.5, 3.5), ("a_1", "a", 4.3, 6.7)]
    rows = run_cut(run_dir, make_config("cut.preset=ultrafast"), {"a": source}, windows)
    assert rows["a_0"]["status"] == "ok" and rows["a_0"]["frames"] == 90
    assert rows["a_1"]["status"] == "rejected" and "no video frame" in rows["a_1"]["reason"]
    assert not run_dir.clip("a_1").exists()


def shown_at_times(path: Path) -> list[tuple[float, int]]:
    """(playback time, decode index) of every frame: ffprobe's frame times minus the container start."""
    info = probe_json(path, "-select_streams", "v:0", "-show_entries", "frame=best_effort_timestamp_time:"
                      "format=start_time")
    origin = float(info["format"].get("start_time") or 0.0)
    return [(float(f["best_effort_timestamp_time"]) - origin, i) for i, f in enumerate(info["frames"])]
