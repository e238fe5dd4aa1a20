"""`download`: every ingested source into media/raw/<video_id>.mp4 (yt-dlp for URLs, links for files).

Downloads are I/O-bound and must share one politeness budget, one byte-progress bar and one
archive, so the stage runs in the main process (parallel=False) and fans each batch out to
`download.concurrency` threads instead of the executor's worker processes.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

from tqdm import tqdm

from ophora_data.config import Config
from ophora_data.download.archive import ARCHIVE_NAME, DownloadArchive
from ophora_data.download.errors import Failure
from ophora_data.download.local import link_into
from ophora_data.download.progress import ByteProgress
from ophora_data.download.remote import RemoteContext, download_remote, failed_row
from ophora_data.download.scrub import scrub_text
from ophora_data.run.db import RunDB
from ophora_data.run.ids import file_content_hash
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Row, Stage, StageError

SOURCE_KINDS = ("youtube", "url", "local")


class DownloadStage(Stage):
    name: ClassVar[str] = "download"
    needs: ClassVar[tuple[str, ...]] = ("ingest",)
    config_sections: ClassVar[tuple[str, ...]] = ("download",)
    parallel: ClassVar[bool] = False
    # Items handed to one process_batch call, i.e. the most downloads in flight at once.
    batch_size: ClassVar[int] = 16

    def __init__(self, config: Config, run: RunDir) -> None:
        super().__init__(config, run)
        self._ctx: RemoteContext | None = None
        self.outcomes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def setup(self) -> None:
        cookies = self.config.download.cookies_file
        if cookies and not Path(cookies).expanduser().is_file():
            raise StageError(f"download.cookies_file does not exist: {cookies}")
        self.context()

    def context(self) -> RemoteContext:
        if self._ctx is None:
            self.run.raw_dir.mkdir(parents=True, exist_ok=True)
            self._ctx = RemoteContext(
                self.run, self.config.download, DownloadArchive(self.run.raw_dir / ARCHIVE_NAME),
                ByteProgress(), self.config.probe.timeout_s,
            )  # fmt: skip
        return self._ctx

    def items_sql(self) -> str:
        """The ok sources of `ingest` that can be fetched or linked."""
        kinds = ", ".join(f"'{kind}'" for kind in SOURCE_KINDS)
        columns = ["video_id", "source_kind", "url", "local_path", "sha256"]
        return f"SELECT * FROM ({self.db.ok_first_rows_sql('ingest', columns)}) WHERE source_kind IN ({kinds})"

    def process(self, item: Row) -> list[Row]:
        try:
            row = self._local(item) if item.get("source_kind") == "local" else self._remote(item)
        except Exception as exc:  # noqa: BLE001 - one bad item never stops the others
            message = scrub_text(f"{type(exc).__name__}: {exc}")
            row = failed_row(item["video_id"], Failure("unknown", message[:300]), error_type=type(exc).__name__)
        self.context().progress.video_done()
        with self._lock:
            self.outcomes[_outcome(row)] += 1
        return [row]

    def process_batch(self, items: list[Row]) -> list[list[Row]]:
        ctx = self.context()  # built once here, before threads could race to build it
        threads = min(self.config.download.concurrency, len(items))
        if threads <= 1:
            return [self.process(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="download")
        try:
            return list(pool.map(self.process, items))
        except BaseException:
            ctx.progress.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _remote(self, item: Row) -> Row:
        if not item.get("url"):
            return failed_row(item["video_id"], Failure("permanent", "ingest row has no url"))
        return download_remote(item, self.context())

    def _local(self, item: Row) -> Row:
        video_id, cfg = item["video_id"], self.config.download
        source = Path(item.get("local_path") or "")
        if not source.is_file():
            return failed_row(video_id, Failure("permanent", f"local file is gone: {source.name or '?'}"))
        dest = self.run.raw_video(video_id)
        already = dest.exists() and dest.samefile(source)
        # The id is a content hash: a file edited since ingest would carry a wrong id.
        verify = cfg.verify_local_sha256 and item.get("sha256") and not already
        if verify and file_content_hash(source) != item["sha256"]:
            return failed_row(video_id, Failure("permanent", "local file changed since ingest: re-run ingest"))
        mode = link_into(source, dest, cfg.link_local)
        return {
            "video_id": video_id, "source_kind": "local", "path": str(dest), "title": source.stem,
            "channel": None, "upload_date": None, "duration": None, "license": None, "webpage_url": None,
            "ytdlp_version": None, "subtitles": [], "bytes": dest.stat().st_size, "link_mode": mode,
            "status": "ok", "reason": "",
        }  # fmt: skip

    def finalize(self) -> list[Row]:
        if self._ctx is not None:
            self._ctx.progress.close()
            tqdm.write(self.summary(), file=sys.stderr)
        return []

    def summary(self) -> str:
        """Bytes and videos, then failures by kind (the executor prints the reasons themselves)."""
        ctx = self.context()
        counts = ", ".join(f"{n} {what}" for what, n in sorted(self.outcomes.items())) or "nothing to do"
        moved = f"; {ctx.progress.bytes / 2**20:.1f} MiB transferred" if ctx.progress.bytes else ""
        return f"download: {counts}{moved}"

    def status_figures(self, db: RunDB) -> dict[str, Any]:
        """Bytes and linked local files of ok rows; failures by whether a plain rerun retries them."""
        present = db.stage_columns(self.name)

        def col(name: str, default: str = "NULL") -> str:
            return name if name in present else default

        subtitles = "json_array_length(CAST(subtitles AS JSON))" if "subtitles" in present else "0"
        figures = db.execute(
            f"SELECT coalesce(sum(CAST({col('bytes')} AS BIGINT)) FILTER (WHERE status = 'ok'), 0), "
            f"count(*) FILTER (WHERE status = 'ok' AND {col('source_kind')} = 'local'), "
            f"coalesce(sum({subtitles}) FILTER (WHERE status = 'ok'), 0), "
            f"count(*) FILTER (WHERE status = 'failed' AND {col('retryable')} = false), "
            f"count(*) FILTER (WHERE status = 'failed' AND {col('retryable')} IS DISTINCT FROM false) "
            f"FROM download").fetchall()[0]
        names = ("bytes", "linked_local", "subtitle_files", "failed_permanent", "failed_retryable")
        return {name: int(value or 0) for name, value in zip(names, figures, strict=True)}


def _outcome(row: Row) -> str:
    if row["status"] == "ok":
        if row.get("source_kind") == "local":
            return "linked"
        return "reused from archive" if row.get("reused") else "downloaded"
    if row["status"] == "rejected":
        return "rejected"
    return "failed (retried next run)" if row.get("retryable") else "failed (permanent)"
