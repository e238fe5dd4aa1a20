"""De-identify narration and instructions: typed placeholders, counts per type, never the removed text.

`deidentify` runs before narration is sent to any LLM endpoint and before narration or
instructions are stored for release. `find_identifiers` is the matching check the release
builder uses to refuse text that still looks identifying.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ophora_data.config.deid import DeidConfig
from ophora_data.text.deid_patterns import PLACEHOLDERS, RULE_PATTERNS, name_pattern

_DEFAULT = DeidConfig()
_PRIORITY = {kind: rank for rank, kind in enumerate(PLACEHOLDERS)}


class DeidError(RuntimeError):
    """The configured NER model cannot be loaded."""


@dataclass(frozen=True)
class DeidResult:
    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, order=True)
class _Span:
    start: int
    end: int
    kind: str


@lru_cache(maxsize=4)
def load_ner(model: str) -> Any:
    """A spaCy pipeline with an `ner` (or entity_ruler) component; loaded once per process."""
    try:
        import spacy
    except ImportError as exc:  # pragma: no cover - spacy is part of the llm extra
        raise DeidError("spaCy is not installed: pip install 'ophora-data[llm]'") from exc
    try:
        return spacy.load(model)
    except OSError as exc:
        raise DeidError(
            f"spaCy model {model!r} is not installed (deid.spacy_model); install it or set it to null"
        ) from exc


def _rule_spans(text: str, config: DeidConfig) -> list[_Span]:
    patterns = dict(RULE_PATTERNS)
    if config.extra_name_titles:
        patterns["NAME"] = name_pattern(config.extra_name_titles)
    spans = []
    for kind, pattern in patterns.items():
        for match in pattern.finditer(text):
            group = "value" if "value" in pattern.groupindex and match.group("value") is not None else 0
            start, end = match.span(group)
            if end > start:
                spans.append(_Span(start, end, kind))
    return spans


def _ner_spans(text: str, config: DeidConfig) -> list[_Span]:
    if not config.spacy_model:
        return []
    keep = {term.lower() for term in config.keep_terms}
    doc = load_ner(config.spacy_model)(text)
    spans = []
    for ent in doc.ents:
        if ent.label_ not in config.ner_labels:
            continue
        # "Descemet's membrane" or "Sinskey hook": an eponym, not a person.
        if any(token.text.lower().rstrip("'’s") in keep or token.text.lower() in keep for token in ent):
            continue
        spans.append(_Span(ent.start_char, ent.end_char, "NAME"))
    return spans


def _resolve(spans: list[_Span]) -> list[_Span]:
    """Non-overlapping spans: higher-priority type first, then the longer match."""
    ranked = sorted(spans, key=lambda s: (_PRIORITY[s.kind], -(s.end - s.start), s.start))
    chosen: list[_Span] = []
    for span in ranked:
        if all(span.end <= other.start or span.start >= other.end for other in chosen):
            chosen.append(span)
    return sorted(chosen)


def _detect(text: str, config: DeidConfig) -> list[_Span]:
    return _resolve(_rule_spans(text, config) + _ner_spans(text, config))


def deidentify(text: str, config: DeidConfig | None = None) -> DeidResult:
    """Replace every identifier with its typed placeholder; counts per type (never the removed text)."""
    if not text:
        return DeidResult(text or "", {})
    spans = _detect(text, config or _DEFAULT)
    pieces: list[str] = []
    cursor = 0
    for span in spans:
        pieces.append(text[cursor : span.start])
        pieces.append(PLACEHOLDERS[span.kind])
        cursor = span.end
    pieces.append(text[cursor:])
    counts = Counter(span.kind for span in spans)
    return DeidResult("".join(pieces), dict(sorted(counts.items())))


def deidentify_words(texts: list[str], config: DeidConfig | None = None) -> list[DeidResult]:
    """De-identify a word sequence as one text, so an identifier split across clip windows is still
    found ("Dr." closing one window, "Jane Doe" opening the next); returns one result per word.

    The placeholder goes to the word where the identifier starts, the other words it covers become
    empty, and the word's own counts record it: summing a window's words gives the window's counts.
    """
    joined = " ".join(texts)
    spans = _detect(joined, config or _DEFAULT)
    results, offset, index, emitted = [], 0, 0, -1
    for text in texts:
        begin, end = offset, offset + len(text)
        pieces, counts, cursor = [], Counter[str](), begin
        while index < len(spans) and spans[index].start < end:
            span = spans[index]
            if index > emitted:  # the first word the identifier touches carries its placeholder
                pieces.append(joined[cursor : max(span.start, begin)] + PLACEHOLDERS[span.kind])
                counts[span.kind] += 1
                emitted = index
            cursor = max(cursor, min(span.end, end))
            if span.end > end:
                break  # the identifier continues into the next word
            index += 1
        pieces.append(joined[cursor:end])
        results.append(DeidResult("".join(pieces), dict(sorted(counts.items()))))
        offset = end + 1
    return results


def find_identifiers(text: str, config: DeidConfig | None = None) -> dict[str, int]:
    """Counts per type of what `deidentify` would replace; {} means the text passes."""
    if not text:
        return {}
    return dict(sorted(Counter(span.kind for span in _detect(text, config or _DEFAULT)).items()))


def merge_counts(*counts: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for item in counts:
        total.update(item)
    return dict(sorted(total.items()))
