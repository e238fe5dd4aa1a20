"""`caption`: one imperative instruction + structured attributes per clip window.

An LLM behind any OpenAI-compatible endpoint when one is configured, else the embedded
rules captioner; every row says which (`captioner`, `model`, `endpoint`, `prompt_version`), and
the choice is recorded in the run's config the first time (`models/captioner.py`), so the
shell's environment never changes a run's captions. Narration is de-identified again before it
leaves the machine, and the instruction before it is stored. Rows: one caption row per clip
(first), then a `confidence` check row whose bound (`caption.confidence`) decide/refilter can
re-evaluate. A reply that is no usable caption is a row too: `rejected` for a refusal or a reply
that is not valid JSON / breaks the strict schema (also after one repair turn), `failed` for a
reply cut off at the token limit (after one retry with `caption.max_tokens_retry`) and for an
unreachable endpoint (retried on the next run).
"""

from __future__ import annotations

import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tqdm import tqdm

from annotation_schema import CAPTION_SCHEMA_VERSION, CaptionV1
from ophora_data.config import Config
from ophora_data.config.caption import CaptionConfig
from ophora_data.models import captioner as captioners
from ophora_data.models.llm import LLMClient, LLMConfigError
from ophora_data.models.llm_cache import RequestCache
from ophora_data.run.db import RunDB
from ophora_data.run.workdir import RunDir
from ophora_data.stages.base import Row, Stage, StageError, check_row
from ophora_data.text.deid import deidentify, merge_counts
from ophora_data.text.prompt import (
    build_messages,
    cache_namespace,
    phase_vocabulary,
    repair_messages,
    response_format,
)
from ophora_data.text.rules_captioner import caption_rules

NOT_PROCEDURAL = "not procedural narration"
CACHE_FILE = "llm_requests.sqlite"
# LLMResult.outcome -> the row's status: the model's own answer that is no caption is an audit
# record (rejected); a cut-off reply or an unusable endpoint is a failure.
_STATUS = {"refusal": "rejected", "invalid": "rejected", "truncated": "failed", "unavailable": "failed",
           "error": "failed"}


def resolve_captioner(config: CaptionConfig) -> str:
    """`auto` means the LLM when an endpoint is configured (config or OPENAI_BASE_URL), else rules."""
    return captioners.resolve(config)[0]


@dataclass(frozen=True)
class _Outcome:
    caption: CaptionV1 | None
    maker: captioners.Captioner
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0, "total": 0})
    cache_hit: bool = False
    error: str = ""
    retryable: bool = False
    status: str = "failed"  # of a reply that gave no caption


class CaptionStage(Stage):
    name: ClassVar[str] = "caption"
    needs: ClassVar[tuple[str, ...]] = ("segment",)
    key: ClassVar[str] = "clip_id"
    config_sections: ClassVar[tuple[str, ...]] = ("caption", "deid")
    # Batches feed the thread pool that keeps `caption.concurrency` requests in flight.
    batch_size: ClassVar[int] = 32
    parallel: ClassVar[bool] = False

    def __init__(self, config: Config, run: RunDir) -> None:
        super().__init__(config, run)
        self.captioner: str | None = None
        self._maker: captioners.Captioner | None = None
        self._llm: LLMClient | None = None
        self._noted_environment = False

    @classmethod
    def hash_inputs(cls, config: Config) -> dict[str, Any]:
        """Which captioner runs and its prompt version (the raw `captioner`/`base_url` fields are left
        out of the section hash): once the run's config records them, this no longer depends on the shell,
        and a recorded config hashes as the `auto` config that it was resolved from."""
        maker = captioners.identity(config.caption)
        return {"captioner": maker.kind, "prompt_version": maker.prompt_version}

    def setup(self) -> None:
        """Record the captioner in the run's config (first run), say what gets replaced, connect the LLM."""
        cfg = self.config.caption
        try:
            made = captioners.existing(self.run)
            if mismatch := captioners.shell_mismatch(cfg, made):
                raise StageError(f"caption: {mismatch}")
            if not captioners.is_recorded(cfg):
                self.config = captioners.record(self.run, self.config)
            captioners.check_endpoint(self.config.caption.base_url)
        except captioners.CaptionerError as exc:
            raise StageError(f"caption: {exc}") from exc
        cfg = self.config.caption
        if notice := captioners.replacement_notice(cfg, made):
            tqdm.write(notice, file=sys.stderr)
        self._maker = captioners.identity(cfg)
        self.captioner = self._maker.kind
        if self.captioner != "llm":
            return
        vocabulary = phase_vocabulary(cfg.phases, cfg.other_phase)

        def validate(data: dict[str, Any]) -> CaptionV1:
            return CaptionV1.model_validate(data, context={"phases": vocabulary})

        try:
            self._llm = LLMClient(cfg, validate, cache_namespace(), response_format(cfg.phases, cfg.other_phase),
                                  RequestCache(self.run.cache_dir / CACHE_FILE))
            self._llm.check()
        except LLMConfigError as exc:
            raise StageError(str(exc)) from exc

    def items_sql(self) -> str:
        """The ok windows of `segment` with their (de-identified) narration."""
        self._note_environment()
        return ("SELECT clip_id, video_id, coalesce(CAST(narration AS VARCHAR), '') AS narration FROM "
                f"({self.db.ok_first_rows_sql('segment', ['clip_id', 'video_id', 'narration'])})")

    def work_keys_sql(self) -> str:
        """The ok clip ids of `segment` (the items' keys, without their narration)."""
        self._note_environment()
        return self.db.ok_key_column_sql("segment")

    def _note_environment(self) -> None:
        # Said with the items, not in setup(): also when nothing is pending (and in `status`), a
        # shell whose OPENAI_BASE_URL the run's recorded captioner overrides learns which setting decides.
        if not self._noted_environment and (note := captioners.environment_notice(self.config.caption)):
            tqdm.write(note, file=sys.stderr)
        self._noted_environment = True

    def process(self, item: Row) -> list[Row]:
        return self.process_batch([item])[0]

    def process_batch(self, items: list[Row]) -> list[list[Row]]:
        if self.captioner is None:
            self.setup()
        if self._llm is None or len(items) <= 1:
            return [self._rows(item, self._caption(item)) for item in items]
        workers = min(self.config.caption.concurrency, len(items))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="caption") as pool:
            outcomes = list(pool.map(self._caption, items))
        return [self._rows(item, outcome) for item, outcome in zip(items, outcomes, strict=True)]

    def _caption(self, item: Row) -> _Outcome:
        narration = deidentify(item["narration"], self.config.deid).text
        cfg = self.config.caption
        assert self._maker is not None  # set by setup()
        if self._llm is None:
            return _Outcome(caption_rules(narration, cfg.phases), self._maker)
        messages = build_messages(narration, cfg.procedure, cfg.phases, cfg.other_phase)
        result = self._llm.complete(messages, repair_messages)
        caption = CaptionV1.model_validate(result.data) if result.data is not None else None
        return _Outcome(caption, self._maker, result.usage.as_dict(), result.cache_hit, result.error,
                        result.retryable, _STATUS.get(result.outcome, "failed"))

    def _rows(self, item: Row, outcome: _Outcome) -> list[Row]:
        row: Row = {"clip_id": item["clip_id"], "video_id": item.get("video_id"),
                    **captioners.row_identity(outcome.maker), "schema_version": CAPTION_SCHEMA_VERSION,
                    "tokens": outcome.tokens, "cache_hit": outcome.cache_hit}
        if outcome.caption is None:
            return [{**row, "status": outcome.status, "reason": outcome.error, "retryable": outcome.retryable}]
        instruction, attributes, counts = self._deidentified(outcome.caption)
        procedural = outcome.caption.is_procedural or not self.config.caption.require_procedural
        row.update(status="ok" if procedural else "rejected", reason="" if procedural else NOT_PROCEDURAL,
                   instruction=instruction, attributes=attributes, deid_counts=counts)
        check = check_row("clip_id", item["clip_id"], "confidence", outcome.caption.confidence,
                          self.config.caption.confidence, model=outcome.maker.model,
                          model_revision=outcome.maker.prompt_version, video_id=item.get("video_id"))
        return [row, check]

    def _deidentified(self, caption: CaptionV1) -> tuple[str, dict[str, Any], dict[str, int]]:
        """The instruction and every text attribute pass de-identification before they are stored."""
        counts: list[dict[str, int]] = []

        def clean(text: str) -> str:
            result = deidentify(text, self.config.deid)
            counts.append(result.counts)
            return result.text

        instruction = clean(caption.instruction)
        attributes = caption.attributes()
        for name, value in attributes.items():
            if isinstance(value, str):
                attributes[name] = clean(value)
            elif isinstance(value, list):
                attributes[name] = [clean(v) for v in value]
        return instruction, attributes, merge_counts(*counts)

    def status_figures(self, db: RunDB) -> dict[str, Any]:
        """Captioners used (kind, and who exactly: model, endpoint, prompt), LLM requests paid, cache
        hits and token usage of the current rows (summed by DuckDB per captioner)."""
        present = db.stage_columns(self.name)
        if "captioner" not in present:
            return {"captioner": {}, "captioned_by": {}, "llm_requests": 0, "cache_hits": 0,
                    "tokens": {"prompt": 0, "completion": 0, "total": 0}}

        def col(name: str) -> str:
            return f"CAST({name} AS VARCHAR)" if name in present else "NULL::VARCHAR"

        hit = "coalesce(CAST(cache_hit AS BOOLEAN), false)" if "cache_hit" in present else "false"
        tokens = (", ".join(f"coalesce(sum(CAST(json_extract_string(tokens, '{k}') AS BIGINT)), 0)"
                            for k in ("prompt", "completion", "total"))
                  if "tokens" in present else "0, 0, 0")
        groups = db.execute(
            f"SELECT {col('captioner')}, {col('model')}, {col('endpoint')}, {col('prompt_version')}, count(*), "
            f"count(*) FILTER (WHERE NOT {hit}), count(*) FILTER (WHERE {hit}), {tokens} FROM caption "
            f"WHERE captioner IS NOT NULL AND CAST(captioner AS VARCHAR) <> '' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        ).fetchall()
        kinds: Counter[str] = Counter()
        makers: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        requests = hits = 0
        for kind, model, endpoint, prompt, n, paid, cached, *spent in groups:
            kinds[kind] += n
            makers[captioners.Captioner(kind, str(model), endpoint, str(prompt)).describe()] += n
            if kind == "llm":
                requests, hits = requests + paid, hits + cached
            totals.update(dict(zip(("prompt", "completion", "total"), spent, strict=True)))
        return {"captioner": dict(kinds), "captioned_by": dict(makers), "llm_requests": requests,
                "cache_hits": hits, "tokens": {k: int(totals.get(k, 0)) for k in ("prompt", "completion", "total")}}
