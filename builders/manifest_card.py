"""Card sections about media, the `manifest` config and `reproduce` (rendered into DATASET_CARD.md)."""

from __future__ import annotations

from builders.layout import ConfigLayout
from ophora_data.config import Config
from ophora_data.media.fingerprint import GRID, HASH_FRAMES, METHOD, SIZE


def has_media(layouts: list[ConfigLayout]) -> bool:
    return any(lay.media for lay in layouts if lay.name == "default")


def records_note(layouts: list[ConfigLayout]) -> str:
    """What a `default`/`strict` record holds, with or without video."""
    common = ("`txt` (the instruction) and `json` (metadata: video id, source URL, window start/end, "
              "duration, fps, resolution, caption attributes, scores, privacy flags, decision-set id). "
              "`__key__` is the clip id (`<video_id>_<n>`).")
    if has_media(layouts):
        return ("Each record of `default` and `strict` has `mp4` (the redacted clip, decoded by "
                "`datasets.Video` through torchcodec), " + common)
    return ("**This release contains no video.** The source videos may not be redistributed, so each "
            "record of `default` and `strict` has only " + common + " `load_dataset` therefore yields "
            "no `mp4` column; make the clips yourself with `ophora-data reproduce` (below), which "
            "builds a release of the same structure with the video included.")


def reproduce_section(repo: str, layouts: list[ConfigLayout], config: Config) -> str:
    """How to rebuild the clips from their sources and how each clip is verified."""
    cfg = config.reproduce
    lines = [
        "The `manifest` config has one record per kept clip: its source (`video_id`, URL, and the "
        "probe facts duration, fps, size, codec and sha256 where known), the exact window the cut "
        "used (`start`/`end` in seconds and the source frame indices), the clip's encoding, the "
        "instruction and attributes, the redaction boxes per run of frames (so the same pixels are "
        "blurred again) and a fingerprint of the published clip.",
        "",
        "```bash",
        f"ophora-data reproduce {repo} -w my-run              # or a local release folder, or a manifest file",
        f"ophora-data reproduce {repo} -w my-run --sources sources.csv   # video_id,url|path for local sources",
        "```",
        "",
        "`reproduce` downloads each source, cuts the recorded window frame-exactly, re-applies the "
        "recorded redaction, fingerprints the result and builds a release with the same configs. A "
        "clip whose source vanished, was trimmed or shifted, or whose content changed is never "
        "included silently: it is a row with the reason (`ophora-data status`, the `audit` config).",
        "",
        f"**Fingerprint method `{METHOD}`.** Every frame is decoded by ffmpeg and scaled to {SIZE}x{SIZE} "
        f"luma (area averaging). Per frame the mean luma of each cell of a {GRID}x{GRID} grid is "
        f"stored (`fingerprint.cells`, zlib + base64); the 64-bit DCT perceptual hash (`imagehash.phash`) "
        f"of {HASH_FRAMES} frames (the middle frame of each of {HASH_FRAMES} equal spans) is stored in "
        "`fingerprint.phash`, and the frame count in `fingerprint.frames`. A re-made clip matches when "
        "its frame count is equal, no cell of any frame differs by more than "
        f"{cfg.luma_difference.max} luma levels (`reproduce.luma_difference`) and no hashed frame by "
        f"more than {cfg.hash_distance.max:g} bits (`reproduce.hash_distance`). Re-encodes at another "
        "resolution and quality match; trimmed, shifted or edited sources do not.",
    ]
    return "\n".join(lines)
