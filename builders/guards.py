"""Refusals: `build` never publishes a kept clip that is not provably redacted and de-identified."""

from __future__ import annotations

from collections.abc import Callable

from builders.collect import Candidate

IdentifierFinder = Callable[[str], dict[str, int]]
MAX_LISTED = 50


class ReleaseRefused(RuntimeError):
    """The run holds clips that must not be published; the message names them."""


def load_identifier_finder() -> IdentifierFinder:
    """The text de-identification matcher; refusing is safer than publishing unchecked text."""
    try:
        from ophora_data.text.deid import find_identifiers
    except ModuleNotFoundError as exc:
        raise ReleaseRefused(
            "text de-identification (ophora_data.text.deid) is not installed: instructions cannot be checked"
        ) from exc
    return find_identifiers


def identifier_summary(text: str, find: IdentifierFinder) -> str | None:
    """`names: 1, dates: 2` when the text still matches de-identification patterns, else None."""
    hits = {kind: count for kind, count in (find(text) or {}).items() if count}
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(hits.items())) or None


def clip_problems(clip: Candidate, find: IdentifierFinder) -> list[str]:
    problems = []
    if clip.media_path is None:
        problems.append("no redacted clip in the privacy table")
    elif not clip.media_path.is_file():
        problems.append(f"redacted clip missing on disk ({clip.media_path.name})")
    if not clip.privacy_verified:
        problems.append("privacy verification did not pass")
    if not (clip.instruction or "").strip():
        problems.append("no instruction")
    else:
        hits = identifier_summary(clip.instruction or "", find)
        if hits:
            problems.append(f"instruction matches de-identification patterns ({hits})")
    return problems


def check_kept_clips(kept: list[Candidate], find: IdentifierFinder) -> None:
    """Raise ReleaseRefused naming every kept clip that cannot be published, with why."""
    bad = [(c.clip_id, problems) for c in kept if (problems := clip_problems(c, find))]
    if not bad:
        return
    lines = [f"  {clip_id}: {'; '.join(problems)}" for clip_id, problems in bad[:MAX_LISTED]]
    if len(bad) > MAX_LISTED:
        lines.append(f"  ... and {len(bad) - MAX_LISTED} more")
    raise ReleaseRefused(
        f"refusing to build: {len(bad)} kept clip(s) cannot be published:\n" + "\n".join(lines)
        + "\nfix the privacy/caption rows (or re-run decide so these clips are rejected), then build again"
    )


def withheld_instructions(candidates: list[Candidate], find: IdentifierFinder) -> dict[str, str]:
    """Audit rows whose instruction still matches identifier patterns: their text is not published."""
    withheld = {}
    for clip in candidates:
        if clip.instruction and (hits := identifier_summary(clip.instruction, find)):
            withheld[clip.clip_id] = f"matched de-identification patterns ({hits})"
    return withheld
