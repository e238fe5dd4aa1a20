"""ffmpeg argv builders for cutting clips and for the black/frozen-frame detectors.

Builders only build lists of arguments; `media/runner.py` runs them. Cutting is exact to
the frame because every boundary is a time halfway between two frames (see
`media/cutplan.py`): input seeking (`-ss` before `-i`) only decides where decoding starts,
and `trim` keeps exactly the frames between two boundaries, which are absolute pts because
ffmpeg keeps the source's timestamps (`-copyts`; see `media/cutter.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EncoderSettings:
    """What every clip is encoded with; recorded on each cut row."""

    crf: int = 20
    preset: str = "veryfast"
    codec: str = "libx264"
    pix_fmt: str = "yuv420p"
    audio: bool = False
    audio_codec: str = "aac"
    audio_bitrate: str = "128k"

    def as_row(self) -> dict[str, Any]:
        return {f"encoder_{k}" if k in ("codec", "preset", "crf") else k: v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class ClipOutput:
    """One clip of a decode pass: times are the source's own timestamps (seconds; may be < 0)."""

    path: Path
    trim_start: float  # drop frames before this (a midpoint between frames)
    trim_end: float  # drop frames from this on (a midpoint between frames)
    audio_start: float  # audio follows the video frames exactly: first frame time ...
    audio_end: float  # ... to the end of the last frame


def _num(value: float) -> str:
    return f"{max(value, 0.0):.6f}"


def pts_text(value: float) -> str:
    """A timestamp for a filter option: seconds with six decimals, negative allowed (e.g. WebM audio)."""
    return f"{value:.6f}"


def size_filter(display_w: int, display_h: int, out_w: int, out_h: int) -> str:
    """Crop one odd pixel off (no resampling) or scale down to even dimensions."""
    if (out_w, out_h) == (display_w, display_h):
        return "null"
    if out_w <= display_w and out_h <= display_h and display_w - out_w <= 1 and display_h - out_h <= 1:
        return f"crop={out_w}:{out_h}:0:0"
    return f"scale={out_w}:{out_h}:flags=bicubic"


def _encode_args(settings: EncoderSettings, with_audio: bool) -> list[str]:
    video = [
        "-c:v",
        settings.codec,
        "-preset",
        settings.preset,
        "-crf",
        str(settings.crf),
        "-pix_fmt",
        settings.pix_fmt,
        "-fps_mode",
        "passthrough",
    ]
    audio = ["-c:a", settings.audio_codec, "-b:a", settings.audio_bitrate] if with_audio else ["-an"]
    # No source metadata (titles, GPS, uploader tags) travels into a clip; moov up front for streaming.
    return [
        *video,
        *audio,
        "-sn",
        "-dn",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
    ]


def cut_argv(
    source: Path,
    seek: float | None,
    read_s: float,
    outputs: Sequence[ClipOutput],
    size: str,
    settings: EncoderSettings,
    with_audio: bool,
) -> list[str]:
    """One ffmpeg process: seek once to `seek`, decode `read_s` seconds, write every output.

    One output is the classic per-clip input-seeking cut; several share one decode
    (`split` + `trim` per clip), so overlapping or nearby windows are decoded once. `seek` and
    `read_s` are seconds from the file's start (`seek` None: decode from the start); the
    outputs' trims are absolute pts.
    """
    count = len(outputs)
    graph: list[str] = [f"[0:v]split={count}" + "".join(f"[vs{i}]" for i in range(count))]
    if with_audio:
        graph.append(f"[0:a]asplit={count}" + "".join(f"[as{i}]" for i in range(count)))
    for i, out in enumerate(outputs):
        graph.append(
            f"[vs{i}]trim=start={pts_text(out.trim_start)}:end={pts_text(out.trim_end)},"
            f"setpts=PTS-STARTPTS,{size},format={settings.pix_fmt}[v{i}]"
        )
        if with_audio:
            graph.append(
                f"[as{i}]atrim=start={pts_text(out.audio_start)}:end={pts_text(out.audio_end)},"
                f"asetpts=PTS-STARTPTS[a{i}]"
            )
    argv = [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-copyts",
        *(["-ss", _num(seek)] if seek is not None else []),
        "-t",
        _num(read_s),
        "-i",
        str(source),
        "-filter_complex",
        ";".join(graph),
    ]
    for i, out in enumerate(outputs):
        argv += [
            "-map",
            f"[v{i}]",
            *(["-map", f"[a{i}]"] if with_audio else []),
            *_encode_args(settings, with_audio),
            str(out.path),
        ]
    return argv


def detect_argv(
    path: Path, pixel_black: float, picture_black: float, freeze_noise_db: float, freeze_min_s: float
) -> list[str]:
    """Black and frozen spans in one decode, printed as frame metadata on stdout.

    blackdetect marks every black run (d=0; the fraction is computed from them) and
    freezedetect every still span of at least `freeze_min_s`.
    """
    vf = (
        f"blackdetect=d=0:pix_th={pixel_black}:pic_th={picture_black},"
        f"freezedetect=n={freeze_noise_db}dB:d={freeze_min_s},"
        r"metadata=mode=print:file=pipe\\:1"
    )  # escaped once for the graph, once for the option
    return [
        "ffmpeg",
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-vf",
        vf,
        "-an",
        "-f",
        "null",
        "-",
    ]
