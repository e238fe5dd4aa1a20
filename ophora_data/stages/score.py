"""`score`: OphCLIP-style check rows per clip: clip-text similarity, surgical content, near-duplicates.

Items are the ok clips of `cut` that have an ok `caption` (the instruction), in a fixed order
(video, start time, clip id) that defines "earlier" for near-duplicates. Per clip, K frames
are sampled, decoded and preprocessed by CPU threads (a bounded prefetch queue) while the
model encodes the clips before them; frame and instruction embeddings are cached under
`cache/score/`, so a rerun (other execution settings, other prompts, a resumed run) encodes
no frame twice. Thresholds are not hashed: `decide`/`refilter` re-evaluate the stored values.

Near-duplicates need every earlier clip, and a stage's rows must all land in one part file
(a key's newest part is its current rows), so there is no finalize pass: each clip is
compared, as it is processed, with every earlier clip. The executor runs this stage in one
process in item order; on resume the clips earlier runs scored come back from this stage's
own table and their embeddings from the cache (re-encoded if the cache was deleted), so an
interrupted run ends with the same rows as an uninterrupted one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from ophora_data.config import Config, stable_hash
from ophora_data.run.db import RunDB
from ophora_data.run.tables import decode_arrow
from ophora_data.run.workdir import RunDir
from ophora_data.scoring.cache import CachedClip, EmbeddingCache, file_fingerprint, text_fingerprint
from ophora_data.scoring.encoder import ClipEncoder
from ophora_data.scoring.near_duplicates import NearDuplicateIndex
from ophora_data.scoring.prefetch import prefetch
from ophora_data.scoring.similarity import clip_embedding, positive_probability, text_similarity
from ophora_data.stages.base import Row, Stage, StageError, check_row

log = logging.getLogger(__name__)

CHECKS = ("clip_text_similarity", "surgical_content", "near_duplicate")
SAMPLER = "media.frames.sample_frames(count)"  # part of the cache namespace: a new sampler re-encodes


@dataclass(frozen=True)
class Embedded:
    frames: np.ndarray  # (K, D) frame embeddings
    text: np.ndarray | None  # (D,) instruction embedding


class ScoreStage(Stage):
    name: ClassVar[str] = "score"
    needs: ClassVar[tuple[str, ...]] = ("cut", "caption")
    key: ClassVar[str] = "clip_id"
    config_sections: ClassVar[tuple[str, ...]] = ("score",)
    # Clips per process_batch: the prefetch queue runs within a batch, so larger batches mean
    # fewer decode refills; smaller ones mean more frequent commits.
    batch_size: ClassVar[int] = 32
    parallel: ClassVar[bool] = False  # one model, and near-duplicates need the clips in order

    def __init__(self, config: Config, run: RunDir, encoder: ClipEncoder | None = None) -> None:
        super().__init__(config, run)
        self.encoder = encoder
        self._injected = encoder is not None
        self.cache: EmbeddingCache | None = None
        self.prompts: np.ndarray | None = None
        self.index = NearDuplicateIndex()
        self.ranks: dict[str, int] = {}
        self.encoded = {"clips": 0, "frames": 0, "texts": 0}  # what this instance actually encoded

    # Items ------------------------------------------------------------------------------
    def items_sql(self) -> str:
        """Ok clips of `cut` with an ok instruction row in `caption`, in near-duplicate order
        (video, start, clip id); `path` as stored (relative to the run directory).

        Caption's own check rows (e.g. a low confidence) do not exclude a clip: their thresholds
        can be changed by `refilter`, and the clip must have its scores when that happens.
        """
        cut = self.db.ok_first_rows_sql("cut", ["clip_id", "video_id", "path", "start"])
        captioned = self._captioned_where()
        if captioned is None:
            return (f"SELECT clip_id, video_id, path, CAST(start AS DOUBLE) AS start, '' AS instruction "
                    f"FROM ({cut}) WHERE false")
        return (f"SELECT c.clip_id, c.video_id, c.path, coalesce(CAST(c.start AS DOUBLE), 0.0) AS start, "
                f"coalesce(cap.instruction, '') AS instruction FROM ({cut}) c JOIN (SELECT clip_id, "
                f"last(instruction ORDER BY _part, _row) AS instruction FROM caption WHERE {captioned} "
                f"GROUP BY clip_id) cap USING (clip_id) ORDER BY c.video_id, start, c.clip_id")

    def work_keys_sql(self) -> str:
        """The items' clip ids without their rows: ok keys of `cut` with an ok instruction."""
        cut, captioned = self.db.ok_key_column_sql("cut"), self._captioned_where()
        if captioned is None:
            return f"SELECT clip_id FROM ({cut}) WHERE false"
        return f"SELECT clip_id FROM ({cut}) WHERE clip_id IN (SELECT clip_id FROM caption WHERE {captioned})"

    def _captioned_where(self) -> str | None:
        """The SQL condition on `caption`'s current rows of an ok instruction (its summary row, not
        a check row); None when `caption` has no instructions yet."""
        db = self.db
        present = db.stage_columns("caption")
        if not db.has_rows("caption") or "instruction" not in present:
            return None
        summary = "NOT coalesce(\"check\" <> '', false)" if "check" in present else "true"
        return f"{summary} AND status = 'ok'"

    # Setup ------------------------------------------------------------------------------
    def skip_reason(self) -> str | None:
        """Why this run records skipped rows instead of scores (never random-weight scores)."""
        from ophora_data.models.open_clip_adapter import weights_configured

        cfg = self.config.score
        if not cfg.enabled:
            return "skipped: score.enabled is false"
        if not self._injected and not weights_configured(cfg.model, cfg.pretrained):
            return "skipped: no model weights configured (score.pretrained)"
        return None

    def setup(self) -> None:
        if self.skip_reason() is not None:
            return
        cfg = self.config.score
        if self.encoder is None:
            from ophora_data.models.open_clip_adapter import ModelUnavailable, OpenClipEncoder

            try:
                self.encoder = OpenClipEncoder.load(cfg.model, cfg.pretrained, cfg.device, cfg.batch_size)
            except ModelUnavailable as exc:
                raise StageError(str(exc)) from None
        self.cache = EmbeddingCache(self.run.cache_dir, {**self.encoder.cache_key, "frames": cfg.frames,
                                                         "sampler": SAMPLER})
        self.prompts = self._prompt_embeddings()
        items = decode_arrow(self.items())
        self.ranks = {item["clip_id"]: rank for rank, item in enumerate(items)}
        self._restore_index(items)

    def _prompt_embeddings(self) -> np.ndarray:
        assert self.encoder is not None and self.cache is not None
        prompts = [*self.config.score.positive_prompts, *self.config.score.negative_prompts]
        key = stable_hash(prompts, 16)
        cached = self.cache.load_prompts(key)
        if cached is not None and len(cached) == len(prompts):
            return cached
        embeddings = self.encoder.encode_texts(prompts)
        self.encoded["texts"] += len(prompts)
        self.cache.save_prompts(key, embeddings)
        return embeddings

    def _restore_index(self, items: list[Row]) -> None:
        """Index the clips earlier runs scored (their embeddings come from the cache)."""
        from ophora_data.stages.registry import stage_config_hash

        rows = self.run.table(self.name).current(self.key, stage_config_hash(type(self), self.config))
        scored = {r["clip_id"] for r in rows if r.get("check") == "near_duplicate" and not r.get("skipped")}
        todo = [item for item in items if item["clip_id"] in scored]
        if not todo:
            return
        embedded = self._embed(todo, need_text=False)
        for item in todo:
            result = embedded[item["clip_id"]]
            if isinstance(result, Embedded):
                self._index(item, result)
            else:
                log.warning("score: scored clip %s could not be re-embedded: %s", item["clip_id"], result)

    def _index(self, item: Row, embedded: Embedded) -> None:
        self.index.add(item["clip_id"], item.get("video_id"), self.ranks.get(item["clip_id"], -1),
                       clip_embedding(embedded.frames))

    # Processing -------------------------------------------------------------------------
    def process(self, item: Row) -> list[Row]:
        return self.process_batch([item])[0]

    def process_batch(self, items: list[Row]) -> list[list[Row]]:
        reason = self.skip_reason()
        if reason is not None:
            return [self._skipped_rows(item, reason) for item in items]
        if self.cache is None:  # called without the executor (a plain loop): load once
            self.setup()
        embedded = self._embed(items, need_text=True)
        # In item order: a clip's twin search sees every earlier clip of this batch.
        return [self._rows(item, embedded[item["clip_id"]]) for item in items]

    def _rows(self, item: Row, result: Embedded | Exception) -> list[Row]:
        if isinstance(result, Exception):
            # The same clip bytes fail the same way: retried only with --retry-failed.
            return [{"clip_id": item["clip_id"], "video_id": item.get("video_id"), "status": "failed",
                     "reason": f"{type(result).__name__}: {result}"[:500], "error_type": type(result).__name__,
                     "retryable": False}]
        assert self.encoder is not None and self.prompts is not None
        cfg = self.config.score
        common = {"model": self.encoder.name, "model_revision": self.encoder.revision,
                  "video_id": item.get("video_id"), "frames": int(len(result.frames))}
        rows = [self._similarity_row(item, result, common)]
        n_positive = len(cfg.positive_prompts)
        probability = positive_probability(result.frames, self.prompts, n_positive, self.encoder.logit_scale)
        rows.append(check_row("clip_id", item["clip_id"], "surgical_content", float(probability.mean()),
                              cfg.surgical_content, min_frame_value=float(probability.min()),
                              logit_scale=self.encoder.logit_scale,
                              prompts_hash=stable_hash([*cfg.positive_prompts, *cfg.negative_prompts]), **common))
        rows.append(self._near_duplicate_row(item, result, common))
        return rows

    def _similarity_row(self, item: Row, result: Embedded, common: dict[str, Any]) -> Row:
        bound = self.config.score.clip_text_similarity
        if result.text is None:
            row = check_row("clip_id", item["clip_id"], "clip_text_similarity", None, bound, **common)
            row["reason"] = "clip_text_similarity: empty instruction"
            return row
        similarity = text_similarity(result.frames, result.text)
        return check_row("clip_id", item["clip_id"], "clip_text_similarity", similarity.mean, bound,
                         max_value=similarity.max, **common)

    def _near_duplicate_row(self, item: Row, result: Embedded, common: dict[str, Any]) -> Row:
        rank = self.ranks.setdefault(item["clip_id"], len(self.ranks))
        embedding = clip_embedding(result.frames)
        twin = self.index.nearest_earlier(embedding, rank)
        row = check_row("clip_id", item["clip_id"], "near_duplicate", twin.cosine, self.config.score.near_duplicate,
                        twin_clip_id=twin.clip_id, twin_video_id=twin.video_id,
                        same_video=twin.clip_id is not None and twin.video_id == item.get("video_id"),
                        candidates=twin.candidates, **common)
        # Every clip is a candidate for the later ones, duplicate or not: the stored cosine then
        # never depends on a threshold, and refilter re-evaluates it exactly.
        self.index.add(item["clip_id"], item.get("video_id"), rank, embedding)
        if not row["passed"]:
            where = "same video" if row["same_video"] else f"video {twin.video_id}"
            row["reason"] = f"{row['reason']} (twin {twin.clip_id}, {where})"
        return row

    def _skipped_rows(self, item: Row, reason: str) -> list[Row]:
        return [{"clip_id": item["clip_id"], "video_id": item.get("video_id"), "status": "ok", "reason": reason,
                 "skipped": True, "check": check, "value": None, "threshold": None, "threshold_max": None,
                 "op": None, "passed": None, "model": self.config.score.model, "model_revision": None}
                for check in CHECKS]

    # Embedding with cache + prefetch ----------------------------------------------------
    def _embed(self, items: list[Row], need_text: bool) -> dict[str, Embedded | Exception]:
        """Frame (and instruction) embeddings per clip: from the cache, else decoded and encoded."""
        assert self.cache is not None
        out: dict[str, Embedded | Exception] = {}
        entries: dict[str, CachedClip] = {}
        dirty: set[str] = set()  # entries to write back to the cache
        for item in items:
            try:
                entries[item["clip_id"]] = self._lookup(item)
            except OSError as exc:
                out[item["clip_id"]] = exc
        to_decode = [item for item in items if item["clip_id"] in entries and entries[item["clip_id"]].frames is None]
        for item, frames in self._encode_frames(to_decode):
            if isinstance(frames, Exception):
                out[item["clip_id"]] = frames
            else:
                entries[item["clip_id"]] = replace(entries[item["clip_id"]], frames=frames)
                dirty.add(item["clip_id"])
        if need_text:
            dirty |= self._encode_texts([item for item in items if item["clip_id"] not in out], entries)
        for item in items:
            clip_id = item["clip_id"]
            if clip_id in out:
                continue
            entry = entries[clip_id]
            assert entry.frames is not None
            if clip_id in dirty:
                self.cache.save(clip_id, entry)
            out[clip_id] = Embedded(entry.frames, entry.text if item["instruction"].strip() else None)
        return out

    def _lookup(self, item: Row) -> CachedClip:
        """The cached entry with its stale parts (other clip bytes, other instruction) dropped."""
        assert self.cache is not None
        path = self.run.clip_of(item)
        if not path.is_file():
            raise FileNotFoundError(f"clip file missing: {path.name}")
        content_hash = file_fingerprint(path)
        text_hash = text_fingerprint(item["instruction"])
        cached = self.cache.load(item["clip_id"])
        frames = cached.frames if cached and cached.content_hash == content_hash else None
        text = cached.text if cached and cached.text_hash == text_hash else None
        return CachedClip(frames, content_hash, text, text_hash)

    def _load_frames(self, item: Row) -> Any:
        """Decode + preprocess one clip (runs in a prefetch worker thread)."""
        from ophora_data.media.frames import sample_frames

        assert self.encoder is not None
        sampled = sample_frames(self.run.clip_of(item), count=self.config.score.frames)
        if len(sampled.frames) == 0:
            raise ValueError("no frames decoded")
        return self.encoder.preprocess(sampled.frames)

    def _encode_frames(self, items: list[Row]) -> list[tuple[Row, np.ndarray | Exception]]:
        """Decode ahead in threads; encode whenever a model batch of frames is ready."""
        assert self.encoder is not None
        cfg = self.config.score
        results: list[tuple[Row, np.ndarray | Exception]] = []
        group: list[tuple[Row, Any]] = []

        def flush() -> None:
            if not group:
                return
            embeddings = self.encoder.encode_images([pixels for _, pixels in group])
            self.encoded["clips"] += len(group)
            self.encoded["frames"] += sum(len(e) for e in embeddings)
            results.extend((item, emb) for (item, _), emb in zip(group, embeddings, strict=True))
            group.clear()

        for item, pixels in prefetch(items, self._load_frames, cfg.decode_workers, cfg.prefetch):
            if isinstance(pixels, Exception):
                results.append((item, pixels))
                continue
            group.append((item, pixels))
            if sum(len(p) for _, p in group) >= cfg.batch_size:
                flush()
        flush()
        return results

    def _encode_texts(self, items: list[Row], entries: dict[str, CachedClip]) -> set[str]:
        """Encode the instructions the cache lacks; returns the clip ids whose entry changed."""
        assert self.encoder is not None
        todo = [item for item in items if entries[item["clip_id"]].text is None and item["instruction"].strip()]
        if not todo:
            return set()
        embeddings = self.encoder.encode_texts([item["instruction"] for item in todo])
        self.encoded["texts"] += len(todo)
        for item, embedding in zip(todo, embeddings, strict=True):
            entries[item["clip_id"]] = replace(entries[item["clip_id"]], text=embedding)
        return {item["clip_id"] for item in todo}

    # Status -----------------------------------------------------------------------------
    def status_figures(self, db: RunDB) -> dict[str, Any]:
        present = db.stage_columns(self.name)
        if not {"check", "clip_id"} <= set(present):
            return {"models": [], "skipped_clips": 0, "near_duplicates": 0}
        skipped = "coalesce(skipped::BOOLEAN, false)" if "skipped" in present else "false"
        model = "model" if "model" in present else "NULL::VARCHAR"
        models, skipped_clips, duplicates = db.execute(
            f"SELECT list(DISTINCT {model}::VARCHAR ORDER BY {model}::VARCHAR) FILTER (WHERE {model} IS NOT NULL "
            f"AND {model}::VARCHAR <> '' AND NOT {skipped}), count(DISTINCT clip_id) FILTER (WHERE {skipped}), "
            f"count(*) FILTER (WHERE \"check\" = 'near_duplicate' AND passed = false) FROM score").fetchall()[0]
        return {"models": list(models or []), "skipped_clips": skipped_clips, "near_duplicates": duplicates}
