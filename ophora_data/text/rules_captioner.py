"""The embedded, deterministic captioner used when no LLM endpoint is configured.

It keeps the most procedural clause of the narration, drops fillers and first-person
framing, rewrites it in the imperative mood where a rule fits, and fills the caption
schema from a vocabulary. Its confidence is a transparent heuristic (vocabulary hits and
whether the imperative rewrite applied), not a calibrated probability.
"""

from __future__ import annotations

import re

from annotation_schema import CaptionV1
from ophora_data.text.imperative import imperative, main_action, strip_fillers, to_base
from ophora_data.text.vocabulary import (
    ANATOMY,
    CHITCHAT,
    INSTRUMENTS,
    MEDICATIONS,
    PHASE_KEYWORDS,
    PROCEDURE_TERMS,
    find_terms,
)

RULES_VERSION = "rules-v1"
MAX_CHARS = 300
_CLAUSE_SPLIT = re.compile(r"(?<=[.!?;])\s+")
# Trailing explanations that are not the instruction itself: ", providing access ...", ", which ...".
_TRAILING = re.compile(
    r",\s+(?:which|so that|because|while|whereas|thereby|this"
    r"|and\s+(?:sometimes|often|usually|optionally)\b"
    r"|[a-z]+ing\b(?!\s+(?:the|a|an)\s+\w+\s+(?:and|to)))"
    r".*$",
    re.I,
)
_PROCEDURAL_LISTS = (INSTRUMENTS, ANATOMY, MEDICATIONS, PROCEDURE_TERMS)


def _procedural_hits(text: str) -> int:
    words = re.findall(r"[A-Za-z']+", text)
    verbs = {base for word in words if (base := to_base(word)) and base not in ("use", "do", "get", "go")}
    return sum(len(find_terms(text, terms)) for terms in _PROCEDURAL_LISTS) + len(verbs)


def _best_clause(narration: str) -> str:
    clauses = [c for c in (strip_fillers(c) for c in _CLAUSE_SPLIT.split(narration)) if c]
    if not clauses:
        return narration.strip()
    # Most procedural vocabulary wins; ties go to the earliest clause.
    return max(enumerate(clauses), key=lambda ic: (_procedural_hits(ic[1]), -ic[0]))[1]


def _finish(text: str) -> str:
    text = " ".join(text.split()).strip(" ,;:")
    if len(text) > MAX_CHARS:
        text = text[: MAX_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _shorten(clause: str) -> str:
    match = _TRAILING.search(clause)
    if match and len(clause[: match.start()].split()) >= 4:
        return clause[: match.start()]
    return clause


def _phase(narration: str, phases: tuple[str, ...]) -> str | None:
    allowed = {p.lower() for p in phases}
    scores = [(len(find_terms(narration, keywords, prefix=True)), -rank, phase)
              for rank, (phase, keywords) in enumerate(PHASE_KEYWORDS) if not allowed or phase in allowed]
    best = max(scores, default=(0, 0, None))
    return best[2] if best[0] > 0 else None


def caption_rules(narration: str, phases: tuple[str, ...] = ()) -> CaptionV1:
    """One caption for a window's (already de-identified) narration."""
    text = " ".join((narration or "").split())
    clause = _best_clause(text)
    rewritten, is_imperative = imperative(clause)
    instruction = _finish(_shorten(rewritten) or text or "No narration.")
    hits = _procedural_hits(clause)
    chatter = len(find_terms(text, CHITCHAT))
    is_procedural = hits > 0 and chatter < hits
    anatomy = find_terms(clause, ANATOMY) or find_terms(text, ANATOMY)
    if is_procedural:
        confidence = min(0.95, 0.35 + 0.1 * hits + (0.15 if is_imperative else 0.0))
    else:
        confidence = 0.8 if chatter else 0.5
    return CaptionV1(
        instruction=instruction,
        surgical_phase=_phase(text, phases) if is_procedural else None,
        instruments=find_terms(text, INSTRUMENTS),
        action=main_action(instruction) if is_imperative and is_procedural else None,
        anatomy=anatomy[0] if anatomy else None,
        medications=find_terms(text, MEDICATIONS),
        is_procedural=is_procedural,
        confidence=round(confidence, 3),
    )
