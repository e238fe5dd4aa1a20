"""Rewrite a narrated clause into the imperative mood with a few transparent rules.

"I'm going to make an incision" -> "Make an incision"; "the nucleus is removed with the
phaco tip" -> "Remove the nucleus with the phaco tip"; "A keratome is used to create a
tunnel" -> "Use a keratome to create a tunnel". A clause no rule fits is returned as is
(and the captioner lowers its confidence).
"""

from __future__ import annotations

import re

from ophora_data.text.vocabulary import ACTIONS, EXTRA_BASE, IRREGULAR

_KNOWN = ACTIONS | EXTRA_BASE
_ADVERBS = r"(?:then|now|next|first|also|carefully|gently|slowly|just|again|finally|simply|quickly|further)"
_FILLER_START = re.compile(
    r"^(?:(?:um+|uh+|erm|er|ah+|okay|ok|alright|all right|so|now|then|next|and|well|right|here|there|first"
    r"|firstly|secondly|finally|again|also|basically|actually|just|you know|as you can see|you can see that"
    r"|at this point|at this stage|in this step|after that|after this|following this|following that"
    r"|afterwards"
    r"|once that is done|once this is done)"
    r"\b[,.]?\s+)+",
    re.I,
)
_FILLER_ANY = re.compile(r",?\s*\b(?:um+|uh+|erm|you know)\b,?", re.I)
_SUBJECT = r"(?:i|we|you|the surgeon|the assistant|surgeons?)"
_FRAMING = re.compile(
    rf"^{_SUBJECT}(?:'m|'re|'ll|'d| am| are| will| would| can| could| should| must| shall)?"
    rf"(?:\s+{_ADVERBS})*"
    r"(?:\s+(?:going to|gonna|trying to|about to|like to|want to|need to|have to|prefer to|try to|be|now))*"
    rf"(?:\s+{_ADVERBS})*\s+",
    re.I,
)
_LETS = re.compile(r"^(?:let's|let us|let me|please)\s+", re.I)
_PASSIVE = re.compile(
    r"^(?P<np>.+?)\s+(?:is|are|was|were|gets|get|will be|can be|may be|should be|must be|is being|are being"
    r"|has been|have been|is then|are then)(?:\s+" + _ADVERBS + r")*\s+(?P<verb>[a-z]+)\b(?P<rest>.*)$",
    re.I,
)
_LEADING_PARTICIPLE = re.compile(
    r"^(?P<lead>(?:using|with|after|once|while)\b[^,]{2,80}),\s+(?P<main>.+)$", re.I
)


def to_base(word: str) -> str | None:
    """The base form of a surgical verb ("injected", "makes", "using" -> "use"); None if unknown."""
    lower = word.lower()
    if lower in _KNOWN:
        return lower
    if lower in IRREGULAR:
        return IRREGULAR[lower]
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"),
                         ("d", ""), ("es", ""), ("s", ""), ("en", ""), ("en", "e")):
        if lower.endswith(suffix) and len(lower) > len(suffix) + 1:
            stem = lower[: -len(suffix)] + repl
            if stem in _KNOWN:
                return stem
            if not repl and len(stem) > 2 and stem[-1] == stem[-2] and stem[:-1] in _KNOWN:
                return stem[:-1]  # chopped -> chop, cutting -> cut
    return None


def strip_fillers(text: str) -> str:
    text = _FILLER_ANY.sub("", text)
    return _FILLER_START.sub("", text.strip()).strip()


def _lower_first(np: str) -> str:
    """The subject moves mid-sentence: 'The lens' -> 'the lens', 'BSS' and 'IOL' stay."""
    first, _, rest = np.partition(" ")
    if first[:1].isupper() and (first[1:].islower() or len(first) == 1) and first != "I":
        return f"{first.lower()} {rest}".strip()
    return np


def _coordinate(rest: str) -> str:
    """'... and inserted through the incision' -> '... and insert through the incision'."""
    def swap(match: re.Match[str]) -> str:
        word = match.group(2)
        base = to_base(word)
        return f"{match.group(1)}{base}" if base and word.lower().endswith(("ed", "en")) else match.group(0)

    return re.sub(r"(\b(?:and|then|or)\s+)([a-z]+)\b", swap, rest)


def _from_passive(clause: str) -> str | None:
    match = _PASSIVE.match(clause)
    if not match or len(match.group("np").split()) > 12:
        return None
    base = to_base(match.group("verb"))
    if base is None or not match.group("verb").lower().endswith(("ed", "en", "t", "n")):
        return None
    rest = _coordinate(match.group("rest"))
    return f"{base} {_lower_first(match.group('np'))}{rest}"


def _from_active(clause: str) -> str | None:
    framed = _FRAMING.sub("", clause, count=1)
    framed = _LETS.sub("", framed, count=1)
    verb, _, rest = framed.partition(" ")
    base = to_base(verb.strip(",."))
    if base is None:
        return None
    return f"{base} {_coordinate(rest)}".strip()


def main_action(instruction: str) -> str | None:
    """The base verb an imperative instruction is about ("Use the tip to sculpt ..." -> sculpt)."""
    lead = _LEADING_PARTICIPLE.match(instruction)
    body = lead.group("main") if lead else instruction
    first = to_base(body.split(" ", 1)[0].strip(",."))
    if first == "use":
        after = re.search(r"\bto\s+(?:[a-z]+ly\s+)?([a-z]+)", body)
        return (to_base(after.group(1)) if after else None) or "use"
    return first


def imperative(clause: str) -> tuple[str, bool]:
    """(rewritten clause, whether a rule applied)."""
    clause = strip_fillers(clause)
    lead = _LEADING_PARTICIPLE.match(clause)
    if lead:
        main, changed = imperative(lead.group("main"))
        if not changed:
            return clause, False
        return f"{lead.group('lead')}, {main[:1].lower()}{main[1:]}", True
    for rule in (_from_passive, _from_active):
        rewritten = rule(clause)
        if rewritten:
            return rewritten[:1].upper() + rewritten[1:], True
    return clause, False
