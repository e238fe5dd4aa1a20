"""`reproduce`: rebuild a published release from its manifest and verify every clip."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ophora_data.config.base import Bound, Section


class ReproduceConfig(Section):
    # Bounds are named like the check rows they judge (`reproduce.<check>`), so a new threshold
    # re-judges stored values (`status`, the release) without re-cutting anything.
    luma_difference: Bound = Field(
        Bound(max=3.0),
        description="largest mean-luma difference (0-255) of any 4x4 cell of any frame between the "
                    "re-made clip and its fingerprint; re-encodes measured <= 1.0, a 1 s shift >= 5.4")
    hash_distance: Bound = Field(
        Bound(max=10.0),
        description="most differing bits (of 64) of the perceptual hash of any hashed frame; re-encodes "
                    "measured <= 6, a 1 s shift >= 14")
    max_shift_s: float = Field(
        5.0, ge=0, description="a clip that does not match is searched for this far before and after its "
                               "window, to tell a shifted (trimmed or padded) source from changed content")
    timeout_s: float = Field(600.0, gt=0, description="limit for one ffmpeg call (cut, redaction, decode)")
    HASH_EXCLUDE: ClassVar[tuple[str, ...]] = ("timeout_s",)
