"""The one JSON object in a chat reply, read strictly enough that nothing partial or decoy gets through.

What OpenAI-compatible servers really send around the answer, and what is done with it:
- a ```` ```json ```` fence (gpt-4o-mini, Claude, local models even in JSON mode): unwrapped;
- a `<think>…</think>` block first (Qwen3, DeepSeek-R1 without a reasoning parser), which may hold
  a *draft* JSON object: the block is removed before anything is parsed, so the draft never counts;
- trailing commas (`["keratome",]`, `…,}`): removed outside strings only, so text inside a string
  is never touched;
- prose around one object: the object is taken; two or more top-level objects are ambiguous and
  rejected, as is an object cut short (never "completed").

Types are not coerced here: the caller validates the object against a strict schema. We keep
this small parser rather than `json5` or `json_repair`: JSON5 silently accepts much more (comments,
single quotes, NaN) and `json_repair` completes truncated objects, which is exactly what must not
happen to a caption.
"""

from __future__ import annotations

import json
import re
from typing import Any

_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.S | re.I)
_UNCLOSED_REASONING = re.compile(r"<(think|thinking|reasoning)>", re.I)
_CLOSER = re.compile(r"\s*[}\]]")
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.S)


def strip_reasoning(text: str) -> str:
    """The reply without reasoning blocks; everything after an unclosed opening tag is reasoning too."""
    text = _REASONING.sub("", text)
    unclosed = _UNCLOSED_REASONING.search(text)
    return text[: unclosed.start()] if unclosed else text


def remove_trailing_commas(text: str) -> str:
    """Drop each comma that is followed (after whitespace) by `}` or `]`, outside JSON strings."""
    out: list[str] = []
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "," and _CLOSER.match(text, index + 1):
            continue
        out.append(char)
    return "".join(out)


def _objects(text: str) -> list[Any]:
    """Every top-level JSON value that starts with `{` in `text`, left to right."""
    decoder, found, index = json.JSONDecoder(), [], text.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError:
            index = text.find("{", index + 1)
            continue
        found.append(value)
        index = text.find("{", end)
    return found


def parse_json_object(content: str | None) -> dict[str, Any]:
    """The single JSON object of a reply. Raises ValueError saying what is wrong with the reply."""
    text = strip_reasoning(content or "").strip()
    fences = _FENCE.findall(text)
    if len(fences) == 1:
        text = fences[0].strip()
    text = remove_trailing_commas(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as first:
        candidates = _objects(text)
        if len(candidates) > 1:
            raise ValueError(f"{len(candidates)} JSON objects in the reply, expected one") from None
        if not candidates:
            if "{" not in text:
                raise ValueError("no JSON object in the reply") from None
            raise ValueError(f"invalid JSON ({first.msg} at character {first.pos})") from None
        value = candidates[0]
    if not isinstance(value, dict):
        raise ValueError("the reply is JSON but not an object")
    return value
