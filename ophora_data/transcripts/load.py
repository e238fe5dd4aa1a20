"""Read any supported transcript file (by extension) and find the candidates for one video."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from ophora_data.transcripts.errors import TranscriptFormatError
from ophora_data.transcripts.json_formats import normalise_language, parse_json_transcript
from ophora_data.transcripts.model import Transcript
from ophora_data.transcripts.subtitles import parse_srt, parse_vtt

SUFFIXES = (".json", ".vtt", ".srt")
MAX_TRANSCRIPT_BYTES = 64 * 1024 * 1024  # a narration transcript is KBs; refuse to load a stray huge file
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*$")


def language_from_name(path: Path) -> str | None:
    """yt-dlp names subtitles `<id>.<lang>.vtt` (`en`, `en-US`, `en-orig`): that tag, else None."""
    suffixes = path.suffixes
    if len(suffixes) >= 2 and _LANGUAGE_TAG.match(suffixes[-2][1:]):
        return normalise_language(suffixes[-2][1:])
    return None


def load_transcript(path: Path) -> Transcript:
    """Parse a .json (WhisperX / whisper-timestamped), .vtt or .srt transcript."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise TranscriptFormatError(f"{path.name}: unsupported transcript type (use .json, .vtt or .srt)")
    try:
        if path.stat().st_size > MAX_TRANSCRIPT_BYTES:
            raise TranscriptFormatError(f"{path.name}: larger than {MAX_TRANSCRIPT_BYTES >> 20} MiB")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptFormatError(f"{path.name}: cannot be read ({type(exc).__name__})") from exc
    try:
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise TranscriptFormatError(f"invalid JSON (line {exc.lineno}: {exc.msg})") from exc
            transcript = parse_json_transcript(data, str(path))
        elif suffix == ".vtt":
            transcript = parse_vtt(text, str(path), language_from_name(path))
        else:
            transcript = parse_srt(text, str(path), language_from_name(path))
    except TranscriptFormatError as exc:
        raise TranscriptFormatError(f"{path.name}: {exc}") from exc
    return transcript


def _by_suffix(paths: Iterable[Path], formats: tuple[str, ...]) -> list[Path]:
    """Existing files in format preference order (word-timed JSON before cue-timed subtitles)."""
    order = {f".{fmt}": rank for rank, fmt in enumerate(formats)}
    found = [p for p in paths if p.suffix.lower() in order and p.is_file()]
    return sorted(found, key=lambda p: order[p.suffix.lower()])


def _by_language(paths: Iterable[Path | str], languages: tuple[str, ...]) -> list[Path]:
    """Subtitle files, those in a preferred language first (unknown language last)."""
    def rank(path: Path) -> int:
        language = language_from_name(path)
        return languages.index(language) if language in languages else len(languages)

    return sorted((Path(p) for p in paths), key=rank)


def _tagged(folder: Path, stem: str, languages: tuple[str, ...]) -> list[Path]:
    """`<stem>.<lang>.<ext>` files (not `<stem>.info.json` and the like)."""
    found = [p for p in folder.glob(f"{glob_escape(stem)}.*.*") if language_from_name(p) is not None]
    return _by_language(sorted(found), languages)


def transcript_candidates(video_id: str, *, transcripts_dir: str | None, local_path: str | None,
                          subtitles: list[str], formats: tuple[str, ...],
                          languages: tuple[str, ...]) -> list[Path]:
    """Where an existing transcript may be, most trusted first.

    1. `--transcripts DIR`: `<video_id>.json/.vtt/.srt` (the user named this folder explicitly);
    2. a sidecar next to a local source: same stem (`case.mp4` -> `case.json`, `case.en.vtt`);
    3. subtitles saved by `download`.
    """
    candidates: list[Path] = []
    if transcripts_dir:
        folder = Path(transcripts_dir).expanduser()
        candidates += _by_suffix([folder / f"{video_id}{s}" for s in SUFFIXES], formats)
        candidates += _by_suffix(_tagged(folder, video_id, languages), formats)
    if local_path:
        source = Path(local_path).expanduser()
        candidates += _by_suffix([source.with_suffix(s) for s in SUFFIXES], formats)
        candidates += _by_suffix(_tagged(source.parent, source.stem, languages), formats)
    candidates += _by_suffix(_by_language(subtitles, languages), formats)
    unique: dict[Path, None] = {}
    for path in candidates:
        unique.setdefault(path.resolve(), None)
    return list(unique)


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)
