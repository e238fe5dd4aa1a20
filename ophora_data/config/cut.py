from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Section


class CutConfig(Section):
    crf: int = Field(20, ge=0, le=51, description="libx264 constant rate factor")
    preset: str = Field("veryfast", description="libx264 preset")
    max_height: int = Field(
        1080, ge=16, description="cap on the short side (1080 = 1080p, landscape or portrait); never upscales"
    )
    audio: bool = Field(False, description="keep the narration audio in clips (AAC)")
    audio_bitrate: str = Field("128k", pattern=r"^\d+k$")
    strategy: Literal["auto", "seek", "single_pass"] = Field(
        "auto",
        description="seek: one ffmpeg per clip with input seeking; single_pass: one decode for nearby "
        "windows; auto: merge a window into the current pass when decoding the gap costs less than seeking",
    )
    seek_overhead_frames: int = Field(
        30, ge=0, description="auto: cost of one more ffmpeg process + seek, in decoded frames (measured)"
    )
    max_outputs: int = Field(8, ge=1, le=64, description="most clips one ffmpeg process encodes at once")
    verify: Literal["decode", "packets"] = Field(
        "packets",
        description="packets: count frames from the packet index and decode the first frame (cheap); "
        "decode: decode every output frame before it counts (costs about a quarter of the encode)",
    )
    timeout_s: float = Field(600.0, gt=0, description="per clip")
