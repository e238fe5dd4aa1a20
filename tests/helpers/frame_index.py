"""Sources whose every frame carries its own index, and the reader that gets it back after a cut.

The same scheme as `../shared/fieldcases/12-nonzero-start-and-editlist/frame_ids.py`: the top
10% of each frame is a strip whose left half has luma 20 + 13 * (n % 16) and right half
20 + 13 * (n // 16), n being the frame's index in the source (0..255). It survives lossy
re-encoding and scaling, so a test can say exactly which source frames a clip holds.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers.media import ffmpeg

# (file name, ffmpeg arguments that turn the H.264/AAC source into it): each is a way real
# files break frame-exact cutting (see tests/stages/test_cut.py).
CONTAINERS: dict[str, list[str]] = {
    "offset.ts": ["-c", "copy", "-output_ts_offset", "10"],  # starts at 11.4 s; seeking bisects
    "program.mpg": ["-c:v", "mpeg2video", "-q:v", "6", "-g", "30", "-c:a", "mp2"],  # packets without pts
    "coarse.avi": ["-c:v", "mpeg4", "-q:v", "6", "-g", "30", "-c:a", "pcm_s16le"],  # 1 tick per frame
    # DivX-style packed B-frames: packets without pts, one packet may hold two frames.
    "packed.avi": ["-c:v", "mpeg4", "-bf", "2", "-q:v", "6", "-g", "30", "-c:a", "pcm_s16le"],
    "bframes.flv": ["-c", "copy"],  # B-frames: the first keyframe's pts > its dts
    "recorder.mkv": ["-c", "copy"],
    "camera.mxf": ["-c:v", "mpeg2video", "-bf", "2", "-q:v", "6", "-g", "30", "-c:a", "pcm_s16le", "-ar",
                   "48000"],
    "legacy.wmv": ["-c:v", "wmv2", "-q:v", "6", "-g", "30", "-c:a", "wmav2"],
    "phone.3gp": ["-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-c:a", "aac", "-ar", "16000"],
}


def make_index_video(out: Path, duration: float = 4.0, fps: int = 30, size: str = "320x180",
                     gop: int = 30) -> Path:
    """H.264 (with B-frames) + AAC, a keyframe every `gop` frames, the index strip on every frame."""
    width, height = (int(v) for v in size.split("x"))
    strip = max(2, height // 10)
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}:duration={duration}",
        "-f", "lavfi", "-i",
        f"color=c=black:size={width}x{strip}:rate={fps}:duration={duration},format=yuv420p,"
        r"geq=lum='20+13*if(lt(X\,W/2)\,mod(N\,16)\,floor(N/16))':cb=128:cr=128",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration}",
        "-filter_complex", "[0:v][1:v]overlay=0:0:shortest=1,format=yuv420p[v]", "-map", "[v]", "-map", "2:a",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", str(gop), "-keyint_min", str(gop),
        "-sc_threshold", "0", "-c:a", "aac", "-b:a", "48k", str(out),
    )  # fmt: skip
    return out


def remux(source: Path, out: Path, args: list[str]) -> Path:
    ffmpeg("-i", str(source), *args, str(out))
    return out


def frame_ids(path: Path) -> list[int]:
    """The source index of every frame of `path`, in presentation order, as stored (no duplication)."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-fps_mode", "passthrough", "-vf",
         "crop=iw:ih*0.1:0:0,scale=2:1:flags=area,format=yuv420p", "-f", "rawvideo", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip

    def level(value: int) -> int:
        return max(0, min(15, round((value - 20) / 13)))

    # A 2x1 yuv420p frame is 2 luma bytes, then one Cb and one Cr byte.
    return [level(raw[i]) + 16 * level(raw[i + 1]) for i in range(0, len(raw) - 3, 4)]


def shown_at(path: Path) -> list[tuple[float, int]]:
    """(playback time, source index) of every frame of `path`, decoded without seeking: the ground truth.

    Playback time is seconds from the container's start time, the origin transcripts use.
    """
    import json

    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "frame=best_effort_timestamp_time:format=start_time", "-of", "json", str(path)],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    info = json.loads(probe)
    origin = float(info["format"].get("start_time") or 0.0)
    times: list[float] = []
    for frame in info["frames"]:  # a flushed last B-frame may come without a timestamp
        stamp = frame.get("best_effort_timestamp_time")
        times.append(float(stamp) - origin if stamp is not None else times[-1] + (times[-1] - times[-2]))
    ids = frame_ids(path)
    assert len(times) == len(ids), (path, len(times), len(ids))
    return list(zip(times, ids, strict=True))


def expected_ids(truth: list[tuple[float, int]], start: float, end: float) -> list[int]:
    """Source indices shown in [start, end) of playback time (a microsecond of slack for printed times)."""
    return [index for t, index in truth if start - 1e-6 <= t < end - 1e-6]
