"""`segment`: split each video's word-timed narration into clip windows.

The work item is a video (`item_key = video_id`) while rows are clips (`key = clip_id`):
clip ids are only known after segmenting, so resume is decided per video. All rows of one
video are written together, so a video is either fully segmented or pending.

Video-level outcomes (no transcript, no timed words) are one row with clip id `<video_id>_0`:
a retry that does produce windows always writes `_0` again, so the old row is superseded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from ophora_data.run.ids import clip_id
from ophora_data.run.tables import empty_sql
from ophora_data.stages.base import Row, Stage, StageError
from ophora_data.text.deid import DeidError, DeidResult, deidentify_words, load_ner, merge_counts
from ophora_data.text.sentences import SentencizerError, load_sentencizer, sentence_word_ranges
from ophora_data.text.windowing import Window, plan_windows
from ophora_data.text.words import TranscriptError, Word, load_words

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")


class SegmentStage(Stage):
    name: ClassVar[str] = "segment"
    needs: ClassVar[tuple[str, ...]] = ("transcribe",)
    key: ClassVar[str] = "clip_id"
    item_key: ClassVar[str | None] = "video_id"
    config_sections: ClassVar[tuple[str, ...]] = ("segment", "deid")
    version: ClassVar[str] = "2"  # 2: spoken order (no re-sort by time), non-speech removed, atomic segments

    def setup(self) -> None:
        try:
            load_sentencizer(self.config.segment.spacy_model)
            if self.config.deid.spacy_model:
                load_ner(self.config.deid.spacy_model)
        except (SentencizerError, DeidError) as exc:
            raise StageError(str(exc)) from exc

    def items_sql(self) -> str:
        """One per video with an ok transcript (its guard rows re-judged under today's bounds),
        in transcribe's row order; the probed duration clamps windows when known."""
        db = self.db
        if not db.has_rows("transcribe") or "transcript_path" not in db.stage_columns("transcribe"):
            return empty_sql({"video_id": "VARCHAR", "transcript_path": "VARCHAR", "duration_s": "DOUBLE"})
        probe = (f"SELECT video_id, nullif(CAST(duration_s AS DOUBLE), 0) AS duration_s "
                 f"FROM ({db.ok_first_rows_sql('probe', ['video_id', 'duration_s'])})"
                 if db.registered("probe") and db.has_rows("probe")
                 else empty_sql({"video_id": "VARCHAR", "duration_s": "DOUBLE"}))
        return (
            f"SELECT t.video_id, t.transcript_path, p.duration_s FROM (SELECT video_id, "
            f"first(transcript_path ORDER BY _part, _row) AS transcript_path, min(_part) AS p0, min(_row) AS r0 "
            f"FROM transcribe WHERE transcript_path IS NOT NULL "
            f"AND video_id IN (SELECT _key FROM ({db.ok_keys_sql('transcribe', 'video_id')})) GROUP BY video_id) t "
            f"LEFT JOIN ({probe}) p USING (video_id) ORDER BY t.p0, t.r0, t.video_id")

    def process(self, item: Row) -> list[Row]:
        video_id = item["video_id"]
        try:
            words = load_words(Path(item["transcript_path"]))
        except TranscriptError as exc:
            return [self._video_row(video_id, "failed", str(exc))]
        if not words:
            return [self._video_row(video_id, "rejected", "transcript has no timed words")]
        sentences = sentence_word_ranges(words, self.config.segment.spacy_model)
        windows = plan_windows(words, sentences, self.config.segment, item.get("duration_s"))
        # De-identified over the whole transcript: an identifier may straddle two windows.
        clean = deidentify_words([w.text for w in words], self.config.deid)
        return [self._clip_row(video_id, index, window, words, clean) for index, window in enumerate(windows)]

    def _video_row(self, video_id: str, status: str, reason: str) -> Row:
        # Permanent for this transcript: only --retry-failed (or a new transcript) re-runs it.
        return {"clip_id": clip_id(video_id, 0), "video_id": video_id, "status": status, "reason": reason,
                "retryable": False}

    def _clip_row(self, video_id: str, index: int, window: Window, words: list[Word],
                  clean: list[DeidResult]) -> Row:
        spoken = words[window.first : window.stop]
        texts = [c.text for c in clean[window.first : window.stop] if c.text]
        # Punctuation left after a placeholder ("[NAME] ,") goes back onto the word before it.
        narration = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(texts))
        counts = merge_counts(*(c.counts for c in clean[window.first : window.stop]))
        speech_s = max(spoken[-1].end - spoken[0].start, 1e-3)
        return {
            "clip_id": clip_id(video_id, index),
            "video_id": video_id,
            "status": "rejected" if window.reason else "ok",
            "reason": window.reason,
            "start": window.start,
            "end": window.end,
            "duration_s": round(window.duration, 3),
            "narration": narration,
            "word_count": len(spoken),
            "speech_rate": round(len(spoken) / speech_s, 3),
            "interpolated_words": sum(w.interpolated for w in spoken),
            "deid_counts": counts,
        }
