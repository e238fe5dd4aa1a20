"""`reproduce`: re-make every clip of a release manifest from its source and verify its fingerprint.

Key and work item: the clip (`clip_id`), so resume is exact per clip. Items are the manifest's
records; each batch groups its clips by source, cuts the recorded windows at the recorded size
and encoding (`reproduce/remake.py`, one decode pass for nearby windows), re-applies the
recorded redaction boxes, fingerprints the result and compares (`reproduce/judge.py`).

Rows: per made clip the check rows `frame_count`, `luma_difference`, `hash_distance` with a
`verdict` (verified, shifted, changed, frame_count) and the reason on failing rows; a clip that
could not be made is one row: `failed` when its source is unavailable or unreadable (the reason
says which stage lost it), `rejected` when its window is not in the source any more.

Not in the registry's PIPELINE (it is not a step of a normal run), so the executor's process pool
cannot rebuild it in workers: it runs in the main process (`parallel = False`) and spreads each
batch over `workers` threads (the work is ffmpeg processes, which run outside the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from ophora_data.config import Config
from ophora_data.media.cutplan import ClipWindow, frame_window
from ophora_data.media.cutter import CutOutcome
from ophora_data.media.fingerprint import Fingerprint, compare, fingerprint_clip
from ophora_data.media.runner import MediaError
from ophora_data.media.timeline import Timeline, read_timeline
from ophora_data.reproduce.judge import VERIFIED, check_rows, find_shift, is_match, mismatch_reason
from ophora_data.reproduce.locate import saved_records
from ophora_data.reproduce.manifest import PROBLEM, Record
from ophora_data.reproduce.remake import cut_group, cut_key, redact
from ophora_data.run.db import RunDB
from ophora_data.run.tables import group_by
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Row, Stage
from ophora_data.stages.cut import window_problem


class ReproduceStage(Stage):
    name: ClassVar[str] = "reproduce"
    needs: ClassVar[tuple[str, ...]] = ("download", "probe")
    key: ClassVar[str] = "clip_id"
    config_sections: ClassVar[tuple[str, ...]] = ("reproduce",)
    batch_size: ClassVar[int] = 16
    parallel: ClassVar[bool] = False

    def __init__(self, config: Config, run: RunDir, workers: int | None = None,
                 records: list[Record] | None = None) -> None:
        super().__init__(config, run)
        self.workers = max(1, workers or config.run.workers)
        self.records = records if records is not None else saved_records(run)

    # Work items -------------------------------------------------------------------------------
    def items(self) -> list[Row]:
        """Every manifest record, with its source's probe row or why there is none."""
        probed = {row["video_id"]: row for row in self.upstream_ok("probe")}
        history = {name: group_by(self.upstream_rows(name), "video_id") for name in ("ingest", "download", "probe")}
        items = []
        for record in self.records:
            video_id = record.get("video_id")
            item: Row = {"clip_id": record["clip_id"], "video_id": video_id, "record": record,
                         "source": probed.get(video_id), "missing": None, "retryable": False}
            if record.get(PROBLEM):
                item["missing"] = str(record[PROBLEM])
            elif item["source"] is None:
                item["missing"], item["retryable"] = missing_source(history, video_id)
            items.append(item)
        return sorted(items, key=lambda i: (str(i["video_id"]), _start(i["record"]), i["clip_id"]))

    def process(self, item: Row) -> list[Row]:
        return self.process_batch([item])[0]

    def process_batch(self, items: list[Row]) -> list[list[Row]]:
        rows: dict[str, list[Row]] = {}
        ready = []
        for item in items:
            if item["missing"]:
                # Cheap to re-check, and a rerun may bring the source (--sources, --retry-failed): retryable.
                rows[item["clip_id"]] = [self._row(item, "failed", item["missing"], retryable=True)]
            else:
                ready.append(item)
        groups = list(group_by(ready, lambda i: (i["video_id"], cut_key(i["record"], self.config))).values())
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="reproduce") as pool:
            finishing = []
            for made in pool.map(self._cut_source, groups):
                for clip_id, result in made.items():
                    if isinstance(result, list):
                        rows[clip_id] = result
                    else:
                        finishing.append(result)
            for clip_id, result_rows in pool.map(lambda job: self._finish(*job), finishing):
                rows[clip_id] = result_rows
        return [rows[item["clip_id"]] for item in items]

    # One source -------------------------------------------------------------------------------
    def _cut_source(self, items: list[Row]) -> dict[str, Any]:
        """Cut the group's windows; per clip either its final rows or a job for `_finish`."""
        source = Path(str(items[0]["source"].get("path") or ""))
        try:
            timeline = read_timeline(source, timeout_s=self.config.reproduce.timeout_s)
        except MediaError as exc:
            return {i["clip_id"]: [self._row(i, "failed", f"source unreadable: {exc}")] for i in items}
        out: dict[str, Any] = {}
        windows: list[ClipWindow] = []
        by_id = {i["clip_id"]: i for i in items}
        for item in items:
            window = frame_window(timeline, item["clip_id"], *_times(item["record"]))
            problem = window_problem(window, timeline)
            if problem:
                out[item["clip_id"]] = self._no_window(item, source, timeline, window, problem)
            else:
                windows.append(window)
        if windows:
            finals = {w.clip_id: self.run.clip(w.clip_id) for w in windows}
            outcomes = cut_group(source, timeline, windows, {w.clip_id: by_id[w.clip_id]["record"] for w in windows},
                                 finals, bool(items[0]["source"].get("has_audio")), self.config)
            for outcome in outcomes:
                out[outcome.window.clip_id] = (by_id[outcome.window.clip_id], outcome, source, timeline)
        return out

    def _no_window(self, item: Row, source: Path, timeline: Timeline, window: ClipWindow, problem: str) -> list[Row]:
        """The window is not in the source any more: shifted (found elsewhere) or gone."""
        record = item["record"]
        try:
            shift = find_shift(Fingerprint.from_json(record["fingerprint"]), record, source, timeline,
                               window.first, self.config)
        except MediaError as exc:
            return [self._row(item, "failed", f"source unreadable: {exc}")]
        if shift is not None:
            return [self._row(item, "rejected", shift.reason(), retryable=False, verdict="shifted",
                              shift_frames=shift.frames, shift_s=round(shift.seconds, 6))]
        recorded = (record.get("source") or {}).get("duration_s")
        was = f"; the release's source lasted {float(recorded):.3f} s" if recorded else ""
        return [self._row(item, "rejected", f"{problem}{was}", retryable=False, verdict="window")]

    def _finish(self, item: Row, outcome: CutOutcome, source: Path, timeline: Timeline) -> tuple[str, list[Row]]:
        """Redact, fingerprint and judge one cut clip."""
        clip_id, record = item["clip_id"], item["record"]
        if outcome.error or outcome.facts is None:
            return clip_id, [self._row(item, "failed", outcome.error or "cut produced no clip")]
        dest = self.run.redacted_clip(clip_id)
        try:
            blurred = redact(outcome.path, dest, record, outcome.facts.frames, self.config)
            actual = fingerprint_clip(dest, timeout_s=self.config.reproduce.timeout_s)
            expected = Fingerprint.from_json(record["fingerprint"])
            comparison = compare(expected, actual, self.config.reproduce.luma_difference.max or 0.0)
            verdict, reason, shift = VERIFIED, "", None
            if not is_match(comparison, self.config):
                shift = find_shift(expected, record, source, timeline, outcome.window.first, self.config)
                verdict, reason = mismatch_reason(comparison, shift, timeline.frame_interval, self.config,
                                                  item["source"].get("fps"), (record.get("source") or {}).get("fps"))
        except MediaError as exc:
            return clip_id, [self._row(item, "failed", f"re-made clip unusable: {exc}")]
        common = self._common(item) | {
            "redacted_path": self.run.relative(dest), "frames": actual.frames, "width": outcome.facts.width,
            "height": outcome.facts.height, "blurred_frames": blurred, "source_first_frame": outcome.window.first,
            "shift_frames": shift.frames if shift else None, "shift_s": round(shift.seconds, 6) if shift else None,
        }
        return clip_id, check_rows(clip_id, comparison, verdict, reason, self.config, common)

    # Rows -------------------------------------------------------------------------------------
    def _common(self, item: Row) -> Row:
        record, source = item["record"], item.get("source") or {}
        recorded = (record.get("source") or {}).get("sha256")
        start, end = _times(record) if not record.get(PROBLEM) else (None, None)
        return {"video_id": item.get("video_id"), "start": start, "end": end,
                "source_sha256_equal": (recorded == source.get("sha256")) if recorded and source.get("sha256")
                else None}

    def _row(self, item: Row, status: str, reason: str, **extra: Any) -> Row:
        verdict = extra.pop("verdict", "missing" if status == "failed" else "rejected")
        return {"clip_id": item["clip_id"], **self._common(item), "status": status, "reason": reason,
                "verdict": verdict, **extra}

    def status_figures(self, db: RunDB) -> dict[str, Any]:
        """Clips per verdict (a clip's verdict is on each of its rows; its last row counts)."""
        if not {"verdict", "clip_id"} <= set(db.stage_columns(self.name)):
            return {}
        rows = db.execute("SELECT CAST(v AS VARCHAR), count(*) FROM (SELECT clip_id, "
                          "last(verdict ORDER BY _part, _row) AS v FROM reproduce GROUP BY clip_id) "
                          "GROUP BY 1 ORDER BY 1").fetchall()
        return dict(rows)


def _times(record: Record) -> tuple[float, float]:
    window = record["window"]
    return float(window["start"]), float(window["end"])


def _start(record: Record) -> float:
    return float((record.get("window") or {}).get("start") or 0.0)


def missing_source(history: dict[str, dict[Any, list[Row]]], video_id: Any) -> tuple[str, bool]:
    """Why a video has no ok probe row, from the first stage that lost it; and whether a rerun may help."""
    for stage in ("ingest", "download", "probe"):
        rows = history[stage].get(video_id) or []
        bad = next((r for r in rows if r.get("status") != "ok"), None)
        if bad is not None:
            what = {"ingest": "source unavailable", "download": "source unavailable: download failed",
                    "probe": "source unreadable"}[stage]
            retry = bool(bad.get("retryable")) and bad.get("status") == "failed"
            return f"{what}: {bad.get('reason') or bad.get('status')}", retry
    return "source not downloaded yet (run reproduce again)", True
