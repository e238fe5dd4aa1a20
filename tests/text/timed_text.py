"""Word timings for real narration text that has none (deterministic, speech-like).

About 2.7 words per second, words as long as their letters, short gaps between words,
longer ones after sentences and, every `long_pause_every` sentences, a silence long
enough to end a window.
"""

from __future__ import annotations

import re
from typing import Any


def timed_transcript(text: str, start: float = 0.4, long_pause_every: int = 5, long_pause_s: float = 2.0,
                     ) -> dict[str, Any]:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]
    segments, cursor = [], start
    for index, sentence in enumerate(sentences):
        words, seg_start = [], cursor
        for word in sentence.split():
            length = 0.12 + 0.045 * len(word)
            words.append({"word": word, "start": round(cursor, 3), "end": round(cursor + length, 3),
                          "score": 0.9})
            cursor += length + 0.06 + (0.12 if word.endswith(",") else 0.0)
        segments.append({"start": round(seg_start, 3), "end": words[-1]["end"], "text": sentence,
                         "words": words})
        cursor += long_pause_s if (index + 1) % long_pause_every == 0 else 0.45
    return {"language": "en", "segments": segments}
