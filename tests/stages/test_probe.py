from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ophora_data.executors.local import RunOptions, run_stage
from ophora_data.media.duration import VideoEnd, seconds, video_end
from ophora_data.media.probe import probe_file
from ophora_data.media.runner import MediaError
from ophora_data.run.ids import file_content_hash
from ophora_data.run.workdir import RunDir
from ophora_data.stages.ingest import IngestStage
from ophora_data.stages.probe import ProbeStage
from tests.conftest import MakeVideo, make_config


def corrupt_files(folder: Path, make_video: MakeVideo) -> dict[str, Path]:
    good = make_video("good.mp4", duration=2.0)
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    text = folder / "text.mp4"
    text.write_text("this is not a video\n" * 20)
    audio = folder / "audio_only.mp4"
    subprocess.run(
        ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac", str(audio)],
        check=True,
    )
    return {"truncated": truncated, "empty": empty, "text": text, "audio": audio, "good": good}


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("truncated", "truncated"), ("empty", "empty file"), ("text", "not a media file"), ("audio", "audio-only")],
)
def test_corrupt_files_give_readable_reasons(tmp_path: Path, make_video: MakeVideo, kind: str, reason: str) -> None:
    files = corrupt_files(tmp_path, make_video)
    with pytest.raises(MediaError, match=reason):
        probe_file(files[kind])


def test_probe_metadata(make_video: MakeVideo) -> None:
    meta = probe_file(make_video("v.mp4", duration=2.0, size="320x240", fps=25))
    assert (meta["width"], meta["height"], meta["fps"], meta["has_audio"]) == (320, 240, 25.0, True)
    assert abs(meta["duration_s"] - 2.0) < 0.1 and meta["codec"] == "h264" and meta["rotation"] == 0


def test_rotation_metadata(make_video: MakeVideo, tmp_path: Path) -> None:
    source = make_video("v.mp4", duration=1.0, audio=False)
    rotated = tmp_path / "rotated.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(source),
            "-metadata:s:v:0",
            "rotate=90",
            "-c",
            "copy",
            str(rotated),
        ],
        check=True,
    )
    assert probe_file(rotated)["rotation"] in (90, 270)


def test_stage_writes_failed_rows_and_keeps_going(run_dir: RunDir, tmp_path: Path, make_video: MakeVideo) -> None:
    files = corrupt_files(tmp_path, make_video)
    config = make_config()
    run_stage(IngestStage(config, run_dir, [str(p) for p in files.values()]), RunOptions(progress=False))
    result = run_stage(ProbeStage(config, run_dir), RunOptions(progress=False, workers=2))
    assert result.status_counts == {"ok": 1, "failed": 4}
    rows = {Path(r["path"]).name: r for r in run_dir.table("probe").all_rows()}
    assert rows["good.mp4"]["sha256"] == file_content_hash(files["good"]) and rows["good.mp4"]["width"] == 320
    assert "audio-only" in rows["audio_only.mp4"]["reason"]
    assert rows["empty.mp4"]["retryable"] is False


# Duration: the video stream's end in playback time, from the best source the file offers ------------


def test_case14_webm_without_duration_is_measured_from_its_packets(media14: Path) -> None:
    meta = probe_file(media14 / "browser_recording_no_duration.webm")
    assert 5.9 <= meta["duration_s"] <= 6.1 and meta["duration_source"] == "packets"
    assert meta["container_duration_s"] is None  # the header really has none
    assert abs(meta["video_start_s"] - 0.014) < 1e-3  # video 0.007 after a container start of -0.007


def test_case14_audio_longer_than_video_is_bounded_by_the_video(media14: Path) -> None:
    meta = probe_file(media14 / "audio_longer_than_video.mp4")
    assert meta["duration_s"] == pytest.approx(4.0, abs=0.01) and meta["duration_source"] == "video_stream"
    assert meta["container_duration_s"] == pytest.approx(7.0, abs=0.01)


def test_case12_start_offset_and_edit_list_durations(media12: Path) -> None:
    ts = probe_file(media12 / "start_offset.ts")
    assert 7.95 <= ts["duration_s"] <= 8.05 and abs(ts["video_start_s"] - 0.0213) < 1e-3  # not 19.4 s
    edit_list = probe_file(media12 / "editlist_preroll.mp4")
    assert 5.06 <= edit_list["duration_s"] <= 5.11  # 152 shown frames, not 197 / 30 = 6.57 s


def test_case14_stage_rows_are_ok_with_the_source_of_the_duration(run_dir: RunDir, media14: Path) -> None:
    config = make_config()
    run_stage(IngestStage(config, run_dir, [str(media14)]), RunOptions(progress=False))
    result = run_stage(ProbeStage(config, run_dir), RunOptions(progress=False))
    assert result.status_counts == {"ok": 2}
    rows = {Path(r["path"]).suffix: r for r in run_dir.table("probe").all_rows()}
    assert (rows[".webm"]["duration_source"], rows[".mp4"]["duration_source"]) == ("packets", "video_stream")


def _remux(source: Path, out: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-i", str(source), *args, str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def longer_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of video, 3.5 s of audio (no -shortest): the container lasts as long as the audio."""
    out = tmp_path_factory.mktemp("longer") / "longer.mp4"
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=160x120:rate=25:duration=2", "-f", "lavfi", "-i", "sine=duration=3.5",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(out)],
                   check=True)
    return out


@pytest.mark.parametrize(
    ("name", "args", "source"),
    [
        ("tagged.mkv", ["-c", "copy"], "video_stream_tag"),  # stream durations N/A, a DURATION tag each
        ("streamed.mkv", ["-c", "copy", "-f", "matroska", "pipe:1"], "packets"),  # no Duration, no tags
        ("flash.flv", ["-c", "copy"], "packets"),  # only a container duration, which is the audio's
        ("offset.ts", ["-c", "copy", "-output_ts_offset", "30"], "video_stream"),
        ("silent.flv", ["-c", "copy", "-an"], "container"),  # no audio: the container's duration is the video's
    ],
)
def test_duration_is_the_video_streams_end_in_every_container(
    longer_audio: Path, tmp_path: Path, name: str, args: list[str], source: str
) -> None:
    out = tmp_path / name
    if args[-1] == "pipe:1":  # written to a pipe, as streaming recorders do: the header has no Duration
        with open(out, "wb") as handle:
            subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(longer_audio), *args], check=True, stdout=handle)
    else:
        _remux(longer_audio, out, *args)
    meta = probe_file(out)
    assert meta["duration_source"] == source
    assert meta["duration_s"] == pytest.approx(2.0, abs=0.05), meta  # the picture, never the 3.5 s of audio


def test_video_end_prefers_the_stream_and_never_floats_na() -> None:
    streams = [{"codec_type": "video", "start_time": "1.400000", "duration": "N/A", "tags": {"DURATION": "N/A"}},
               {"codec_type": "audio", "start_time": "1.400000", "duration": "9.0"}]
    info = {"format": {"start_time": "1.400000", "duration": "9.000000"}, "streams": streams}

    def end(video: dict) -> VideoEnd:
        return video_end(Path("unused"), {**info, "streams": [video, streams[1]]}, video)

    assert end({**streams[0], "duration": "8.0"}) == VideoEnd(8.0, 0.0, "video_stream")
    late = end({**streams[0], "start_time": "1.421333", "duration": "8.0"})  # video after the audio (MPEG-TS)
    assert (late.start_s, late.end_s) == (pytest.approx(0.021333), pytest.approx(8.021333))
    tagged = end({**streams[0], "tags": {"DURATION": "00:00:09.400000000"}})
    assert tagged.source == "video_stream_tag" and tagged.end_s == pytest.approx(8.0)
    # With an audio stream, the container's 9 s may be the audio's: not used (the packets are read,
    # and this file does not exist).
    with pytest.raises(MediaError, match="unused"):
        end(streams[0])
    alone = video_end(Path("unused"), {**info, "streams": [streams[0]]}, streams[0])
    assert alone == VideoEnd(9.0, 0.0, "container")
    assert seconds("N/A") is None and seconds(None) is None and seconds("nan") is None
    assert seconds("01:00:01.5") == 3601.5
