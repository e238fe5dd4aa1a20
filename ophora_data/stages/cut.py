"""`cut`: extract every kept window into `media/clips/<clip_id>.mp4`, exact to the frame.

Key and item are the clip (`clip_id`), so resume is exact per clip: a clip with an ok
row is never re-cut, a failed one is retried alone. To decode a source as little as
possible the stage takes clips in batches (`batch_size`) ordered by source and start, and
plans each source's clips of a batch together (`media/cutplan.py`): nearby or overlapping
windows share one decode, sparse ones are cut with input seeking. Batches of different
sources run in parallel in the executor's process pool (`--workers`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from ophora_data.media.cutplan import ClipWindow, decoded_frames, frame_window, output_size, plan_passes
from ophora_data.media.cutter import CutJob, CutOutcome, run_pass
from ophora_data.media.ffmpeg import EncoderSettings, size_filter
from ophora_data.media.probe import probe_file
from ophora_data.media.runner import MediaError, tool_version
from ophora_data.media.timeline import Timeline, read_timeline
from ophora_data.run.tables import group_by
from ophora_data.stages.base import Row, Stage

# Source columns a cut item carries from `probe`.
_PROBE_COLUMNS = ("path", "has_audio", "width", "height", "fps", "rotation", "duration_s")


class CutStage(Stage):
    name: ClassVar[str] = "cut"
    needs: ClassVar[tuple[str, ...]] = ("segment", "probe")
    key: ClassVar[str] = "clip_id"
    config_sections: ClassVar[tuple[str, ...]] = ("cut",)
    # Clips of one source in one batch are planned (and possibly decoded) together.
    batch_size: ClassVar[int] = 16

    def items_sql(self) -> str:
        """The ok windows of `segment` whose video has an ok `probe`, ordered by source and time,
        with the probe's facts as `source_<column>`."""
        db = self.db
        segment = db.ok_first_rows_sql("segment", ["clip_id", "video_id", "start", "end"])
        probe = db.ok_first_rows_sql("probe", ["video_id", *_PROBE_COLUMNS])
        sources = ", ".join(f'p."{c}" AS "source_{c}"' for c in _PROBE_COLUMNS)
        return (f'SELECT s.clip_id, s.video_id, CAST(s.start AS DOUBLE) AS start, CAST(s."end" AS DOUBLE) AS "end", '
                f"{sources} FROM ({segment}) s JOIN ({probe}) p ON p.video_id = s.video_id "
                f'WHERE s.start IS NOT NULL AND s."end" IS NOT NULL ORDER BY s.video_id, start, s.clip_id')

    def work_keys_sql(self) -> str:
        """The items' clip ids without the probe's rows: ok windows whose video's probe is ok."""
        db = self.db
        segment = db.ok_first_rows_sql("segment", ["clip_id", "video_id", "start", "end"], ordered=False)
        return (f'SELECT clip_id FROM ({segment}) WHERE start IS NOT NULL AND "end" IS NOT NULL '
                f'AND video_id IN ({db.ok_key_column_sql("probe")})')

    def process(self, item: Row) -> list[Row]:
        return self.process_batch([item])[0]

    def process_batch(self, items: list[Row]) -> list[list[Row]]:
        rows: dict[str, Row] = {}
        for source_items in group_by(items, "video_id").values():
            rows.update(self.cut_source(source_items))
        return [[rows[item["clip_id"]]] for item in items]

    # One source ---------------------------------------------------------------------------
    def settings(self) -> EncoderSettings:
        cfg = self.config.cut
        return EncoderSettings(
            crf=cfg.crf, preset=cfg.preset, audio=cfg.audio, audio_bitrate=cfg.audio_bitrate
        )

    def cut_source(self, items: list[Row]) -> dict[str, Row]:
        """Rows for the given windows of one source, keyed by clip id."""
        source = Path(items[0]["source_path"] or "")
        try:
            timeline = read_timeline(source, timeout_s=self.config.cut.timeout_s)
            with_audio = self.config.cut.audio and self._has_audio(source, items[0])
        except MediaError as exc:
            # The same bytes fail the same way: retried only with --retry-failed.
            return {
                item["clip_id"]: self._row(item, "failed", f"source unreadable: {exc}", retryable=False)
                for item in items
            }
        rows: dict[str, Row] = {}
        windows: list[ClipWindow] = []
        for item in items:
            window = frame_window(timeline, item["clip_id"], item["start"], item["end"])
            problem = window_problem(window, timeline)
            truncated = truncation(timeline, item.get("source_duration_s"))
            if problem and truncated and window.end > timeline.end_of(timeline.total_frames):
                # Not the window's fault: the file lost frames its header promised.
                rows[item["clip_id"]] = self._row(item, "failed", truncated, retryable=False)
            elif problem:
                rows[item["clip_id"]] = self._row(item, "rejected", problem, retryable=False)
            else:
                windows.append(window)
        if windows:
            rows.update(self._cut(source, timeline, windows, with_audio, {i["clip_id"]: i for i in items}))
        return rows

    def _has_audio(self, source: Path, item: Row) -> bool:
        known = item.get("source_has_audio")
        return bool(known) if known is not None else bool(probe_file(source)["has_audio"])

    def _cut(
        self,
        source: Path,
        timeline: Timeline,
        windows: list[ClipWindow],
        with_audio: bool,
        items: dict[str, Row],
    ) -> dict[str, Row]:
        cfg = self.config.cut
        display_w, display_h = timeline.display_size
        size = output_size(display_w, display_h, cfg.max_height)
        job = CutJob(
            source=source,
            timeline=timeline,
            size=size,
            size_filter=size_filter(display_w, display_h, *size),
            settings=self.settings(),
            with_audio=with_audio,
            verify=cfg.verify,
            timeout_s=cfg.timeout_s,
        )
        passes = plan_passes(
            windows, timeline.keyframes, cfg.strategy, cfg.seek_overhead_frames, cfg.max_outputs
        )
        finals = {w.clip_id: self.run.clip(w.clip_id) for w in windows}
        rows = {}
        for dpass in passes:
            context = {
                "cut_mode": dpass.mode,
                "pass_clips": len(dpass.windows),
                "pass_decoded_frames": decoded_frames([dpass], timeline.keyframes),
            }
            for outcome in run_pass(job, dpass, finals):
                rows[outcome.window.clip_id] = self._outcome_row(
                    items[outcome.window.clip_id], outcome, timeline, job, context
                )
        return rows

    # Rows ---------------------------------------------------------------------------------
    def _row(self, item: Row, status: str, reason: str, **extra: Any) -> Row:
        return {
            "clip_id": item["clip_id"],
            "video_id": item["video_id"],
            "status": status,
            "reason": reason,
            "start": item["start"],
            "end": item["end"],
            "source_path": item.get("source_path"),
            **extra,
        }

    def _outcome_row(
        self, item: Row, outcome: CutOutcome, timeline: Timeline, job: CutJob, context: dict[str, Any]
    ) -> Row:
        window = outcome.window
        recorded = {
            **context,
            **job.settings.as_row(),
            "audio": job.with_audio,
            "ffmpeg_version": tool_version("ffmpeg"),
            "seek_s": round(outcome.seek_s, 6),
            "source_first_frame": window.first,
            "source_last_frame": window.stop - 1,
            "clip_start_s": timeline.times[window.first],
            "clip_end_s": timeline.end_of(window.stop),
            "rotation": timeline.rotation,
        }
        if outcome.error or outcome.facts is None:
            return self._row(item, "failed", outcome.error or "no output", **recorded)
        facts = outcome.facts
        return self._row(
            item,
            "ok",
            "",
            path=self.run.relative(outcome.path),
            duration_s=round(facts.duration_s, 6),
            width=facts.width,
            height=facts.height,
            fps=facts.fps,
            frames=facts.frames,
            size_bytes=facts.size_bytes,
            **recorded,
        )



def window_problem(window: ClipWindow, timeline: Timeline) -> str:
    """Why a window cannot become a clip (empty when it can)."""
    video_end = timeline.end_of(timeline.total_frames)
    if window.end <= window.start:
        return f"empty window [{window.start:.3f}, {window.end:.3f}] s"
    if window.frames == 0:
        span = f"[{window.start:.3f}, {window.end:.3f}]"
        return f"window {span} s holds no video frame (video is {video_end:.3f} s)"
    if window.end > video_end + timeline.frame_interval:
        return f"window ends at {window.end:.3f} s, past the end of the video ({video_end:.3f} s)"
    return ""


def truncation(timeline: Timeline, probed_duration: float | None) -> str:
    """A reason when the readable frames stop over a second before the probed duration (a cut-short file)."""
    readable = timeline.end_of(timeline.total_frames)
    if probed_duration is None or float(probed_duration) <= readable + 1.0:
        return ""
    return f"source truncated: frames end at {readable:.3f} s, its header says {float(probed_duration):.3f} s"
