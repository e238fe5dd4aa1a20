"""`transcribe`: a word-timed transcript per video, imported or from WhisperX, plus guard checks.

Sources are tried in `transcribe.precedence` order: `import` (a `--transcripts DIR` file, a
sidecar next to a local source, subtitles saved by `download`) and `asr` (WhisperX). The result
is written in WhisperX's format to `transcripts/<video_id>.json`, also when a guard rejects it
(kept for audit). Local faults are repaired or dropped per segment before the guards run (see
`transcripts/normalise.py`, `transcripts/repair.py`); the video is rejected only by a guard.
Rows are check rows, each carrying transcript_path, transcript_source, language, n_words and the
segment counts (`segments`, `segments_dropped`, `segments_repaired`, by kind in `segment_drops` /
`segment_repairs`); the `narration_kept` row also lists every issue (`segment_issues`: which
narration was dropped or repaired, where, and why). `has_audio` gates ASR only: an imported
transcript of a silent video is used.

The ASR model loads once per worker: in `setup()` when ASR comes first in the precedence (a
missing model is then exit code 1), else on the first video that needs it, so a run whose
videos all have transcripts to import never pays for loading Whisper. `parallel = False`: one
model per process, on the GPU when there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ophora_data.config import Config
from ophora_data.media.audio import load_audio
from ophora_data.media.runner import MediaError
from ophora_data.models.whisperx_asr import ASR_EXTRA_HINT, AsrUnavailable, WhisperXAsr, missing_asr_modules
from ophora_data.run.atomic import atomic_write_json
from ophora_data.run.db import RunDB
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Row, Stage, StageError, check_row, flag_row
from ophora_data.stages.registry import stage_names
from ophora_data.transcripts import Transcript, TranscriptFormatError, load_transcript, transcript_candidates
from ophora_data.transcripts.guards import GuardResult, evaluate_guards, time_overrun
from ophora_data.transcripts.issues import DROPPED, REPAIRED, counts_by_kind, segments_with
from ophora_data.transcripts.repair import RepairRules, repair_transcript


class TranscribeStage(Stage):
    name: ClassVar[str] = "transcribe"
    needs: ClassVar[tuple[str, ...]] = ("probe",)
    config_sections: ClassVar[tuple[str, ...]] = ("transcribe",)
    parallel: ClassVar[bool] = False
    version: ClassVar[str] = "2"  # 2: per-segment repairs, non-speech removal, has_audio gates ASR only

    def __init__(self, config: Config, run: RunDir) -> None:
        super().__init__(config, run)
        self._asr: WhisperXAsr | None = None
        self._asr_error: str | None = None
        self._detected: dict[str, str | None] = {}  # video_id -> language the ASR model detected

    # Setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg = self.config.transcribe
        if "asr" not in cfg.precedence:
            return
        missing = missing_asr_modules()
        if missing:
            self._asr_error = f"no transcript to import and ASR is not installed: {ASR_EXTRA_HINT}"
            if "import" not in cfg.precedence:
                raise StageError(f"transcribe: ASR needs {', '.join(missing)}: {ASR_EXTRA_HINT}")
            return
        self._asr = WhisperXAsr(cfg, self.run.cache_dir)
        if cfg.precedence[0] == "asr":
            try:
                self._asr.load()
            except AsrUnavailable as exc:
                raise StageError(f"transcribe: {exc}") from exc

    # Items ------------------------------------------------------------------------------
    def items(self) -> list[Row]:
        ingest = {r["video_id"]: r for r in self.upstream_ok("ingest", ["video_id", "local_path"])}
        subtitles = self._download_subtitles()
        items = []
        for row in self.upstream_ok("probe", ["video_id", "path", "duration_s", "container_duration_s", "has_audio"]):
            video_id = row["video_id"]
            items.append({
                "video_id": video_id, "path": row.get("path"), "duration_s": media_end_s(row),
                "has_audio": bool(row.get("has_audio")),
                "local_path": (ingest.get(video_id) or {}).get("local_path"),
                "subtitles": subtitles.get(video_id, []),
            })
        return items

    def work_keys_sql(self) -> str:
        """The items' video ids without building them: every ok key of `probe`."""
        return self.db.ok_key_column_sql("probe")

    def _download_subtitles(self) -> dict[str, list[str]]:
        """Subtitle files per video from the `download` table, read defensively.

        Any hash's newest row counts (a download config change must not hide files that are
        on disk), and a missing or odd table simply means no subtitles.
        """
        db = self.db
        if "download" not in stage_names() or not db.has_rows("download"):
            return {}
        if not {"video_id", "subtitles", "status"} <= set(db.columns_of_all("download")):
            return {}
        try:
            rows = db.rows("SELECT video_id, subtitles FROM download_all QUALIFY _part = max(_part) OVER "
                           "(PARTITION BY video_id) AND status = 'ok' AND subtitles IS NOT NULL")
        except Exception:  # noqa: BLE001 - a table being written by another version of `download`
            return {}
        found: dict[str, list[str]] = {}
        for row in rows:
            paths = row.get("subtitles")
            if isinstance(paths, list):
                found.setdefault(row.get("video_id"), []).extend(str(p) for p in paths if isinstance(p, str))
        return found

    # Process ----------------------------------------------------------------------------
    def process(self, item: Row) -> list[Row]:
        video_id = item["video_id"]
        transcript, tried = None, []
        for source in self.config.transcribe.precedence:
            transcript = self._import(item, tried) if source == "import" else self._transcribe(item, tried)
            if transcript is not None:
                break
        # No audio only matters where ASR needed it: an imported transcript of a silent video is used.
        needed_audio = transcript is None or transcript.source == "asr"
        audio_row = flag_row("video_id", video_id, "has_audio", item["has_audio"] or not needed_audio,
                             "no audio stream")
        audio_row["value"] = 1.0 if item["has_audio"] else 0.0  # the fact; `passed` says whether it mattered
        if transcript is None:
            return self._no_transcript(video_id, audio_row, tried)
        return self._finish(item, transcript, audio_row)

    def _import(self, item: Row, tried: list[str]) -> Transcript | None:
        cfg = self.config.transcribe
        subtitle_langs = getattr(self.config.download, "subtitle_langs", ())  # owned by `download`
        languages = tuple(x for x in (cfg.language, *subtitle_langs) if x)
        candidates = transcript_candidates(
            item["video_id"], transcripts_dir=cfg.transcripts_dir, local_path=item.get("local_path"),
            subtitles=item.get("subtitles") or [], formats=cfg.import_formats,
            languages=tuple(dict.fromkeys(lang.split("-")[0].lower() for lang in languages)),
        )
        for path in candidates:
            try:
                return load_transcript(path)
            except TranscriptFormatError as exc:
                tried.append(f"import {exc}")
        if not candidates:
            tried.append("import: no sidecar, --transcripts file or downloaded subtitles")
        return None

    def _transcribe(self, item: Row, tried: list[str]) -> Transcript | None:
        if not item["has_audio"]:
            tried.append("asr: no audio stream")
            return None
        asr = self._loaded_asr()
        try:
            audio = load_audio(Path(item["path"]), expected_duration_s=item.get("duration_s"))
        except MediaError as exc:
            tried.append(f"asr: audio could not be decoded: {exc}")
            return None
        output = asr.transcribe(audio)  # an error here becomes a failed, retryable row
        self._detected[item["video_id"]] = output.detected_language
        return output.transcript

    def _loaded_asr(self) -> WhisperXAsr:
        """The worker's ASR, loaded on first use; a load failure is remembered, not retried per video."""
        if self._asr is None and self._asr_error is None:
            self.setup()  # a caller that skipped setup (a plain loop in a test)
        if self._asr is not None and not self._asr.loaded and self._asr_error is None:
            try:
                self._asr.load()
            except AsrUnavailable as exc:
                self._asr_error = str(exc)
        if self._asr is None or self._asr_error is not None:
            # Failed and retryable: installing the extra or fixing the model makes a rerun work.
            raise AsrUnavailable(self._asr_error or f"ASR unavailable: {ASR_EXTRA_HINT}")
        return self._asr

    def _no_transcript(self, video_id: str, audio_row: Row, tried: list[str]) -> list[Row]:
        reason = "no transcript: " + "; ".join(tried)
        row = flag_row("video_id", video_id, "transcript_available", False, reason[:500])
        common = {"transcript_path": None, "transcript_source": None, "language": None, "n_words": 0,
                  "retryable": False}
        return [{**audio_row, **common}, {**row, **common}]

    def _finish(self, item: Row, transcript: Transcript, audio_row: Row) -> list[Row]:
        video_id = item["video_id"]
        duration = item.get("duration_s")
        cfg = self.config.transcribe
        overrun = time_overrun(transcript, duration)
        rules = RepairRules(cfg.max_segment_words_per_s, cfg.loop_min_repeats, cfg.loop_max_ngram)
        transcript = repair_transcript(transcript, duration, rules)
        path = self.run.transcripts_dir / f"{video_id}.json"
        atomic_write_json(path, transcript.to_whisperx())
        model = self._asr.model_name if transcript.source == "asr" and self._asr else None
        revision = self._asr.model_revision if transcript.source == "asr" and self._asr else None
        common = {"transcript_path": str(path), "transcript_source": transcript.source,
                  "language": transcript.language or self.config.transcribe.language,
                  "n_words": len(transcript.words), "retryable": False, **segment_counts(transcript)}
        observed = self._detected.pop(video_id, None) or transcript.language
        guards = evaluate_guards(transcript, overrun, cfg.language, observed, cfg.loop_max_ngram)
        checks = [self._check_row(video_id, guard, model, revision) for guard in guards]
        for row in checks:
            if row["check"] == "narration_kept":  # the audit trail: what was lost or changed, and why
                row["segment_issues"] = [issue.to_dict() for issue in transcript.issues]
        return [{**row, **common} for row in (audio_row, *checks)]

    def _check_row(self, video_id: str, guard: GuardResult, model: str | None, revision: str | None) -> Row:
        if guard.flag is not None:
            return flag_row("video_id", video_id, guard.check, guard.flag, guard.label, model=model,
                            model_revision=revision)
        row = check_row("video_id", video_id, guard.check, guard.value, getattr(self.config.transcribe, guard.check),
                        model=model, model_revision=revision)
        if row["status"] != "ok":
            row["reason"] = f"{guard.label}: {row['reason']}"
        return row

    def status_figures(self, db: RunDB) -> dict[str, Any]:
        """Transcript sources, words, and dropped / repaired segments by kind, summed by DuckDB over
        each video's summary row (the one with a `transcript_source`)."""
        present = db.stage_columns(self.name)
        if "transcript_source" not in present:
            return {"sources": {}, "words": 0, "segments_dropped": {}, "segments_repaired": {}}

        def last(column: str) -> str:
            return f"last({column} ORDER BY _part, _row)" if column in present else "NULL"

        videos = (f"SELECT video_id, {last('transcript_source')} AS src, {last('n_words')} AS n, "
                  f"{last('segment_drops')} AS drops, {last('segment_repairs')} AS repairs FROM transcribe "
                  f"WHERE transcript_source IS NOT NULL GROUP BY video_id")
        figures: dict[str, Any] = {
            "sources": dict(db.execute(f"SELECT CAST(src AS VARCHAR), count(*) FROM ({videos}) GROUP BY 1 "
                                       f"ORDER BY 2 DESC, 1").fetchall()),
            "words": int(db.scalar(f"SELECT CAST(coalesce(sum(TRY_CAST(n AS BIGINT)), 0) AS BIGINT) "
                                   f"FROM ({videos})") or 0)}
        for column, name in (("drops", "segments_dropped"), ("repairs", "segments_repaired")):
            counts = db.execute(  # segments by kind, the most frequent kind first
                f"SELECT j.key, CAST(sum(TRY_CAST(j.value AS BIGINT)) AS BIGINT) AS n FROM ({videos}) v, "
                f"json_each(CAST(v.{column} AS JSON)) j WHERE TRY_CAST(j.value AS BIGINT) IS NOT NULL "
                f"GROUP BY j.key ORDER BY n DESC, j.key").fetchall()
            figures[name] = {str(kind): int(n) for kind, n in counts}
        return figures


def media_end_s(probe_row: Row) -> float | None:
    """Where the narration can end, in seconds: the longer of the video stream and the container
    (audio may outlast the picture). Narration is clamped here; windows are bounded later by the
    video stream's end (`segment` uses probe's `duration_s`), so speech over no picture is kept in
    the transcript and gives no clip."""
    ends = [float(v) for v in (probe_row.get("duration_s"), probe_row.get("container_duration_s"))
            if isinstance(v, int | float) and v > 0]
    return max(ends) if ends else None


def segment_counts(transcript: Transcript) -> dict[str, Any]:
    """Row columns: segments kept, segments dropped / repaired, and both by kind."""
    return {"segments": len(transcript.segments),
            "segments_dropped": segments_with(transcript.issues, DROPPED),
            "segments_repaired": segments_with(transcript.issues, REPAIRED),
            "segment_drops": counts_by_kind(transcript.issues, DROPPED),
            "segment_repairs": counts_by_kind(transcript.issues, REPAIRED)}
