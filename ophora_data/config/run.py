from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Section


class RunConfig(Section):
    """How stages are executed (not part of any stage's config hash)."""

    workers: int = Field(1, ge=1, description="parallel worker processes for CPU stages")
    flush_every: int = Field(64, ge=1, description="rows are committed to a part file every N items")
    compact_min_parts: int = Field(
        8, ge=2, description="when a stage finishes with at least this many small part files, they are merged")
    duckdb_memory_limit: str = Field(
        "1GB", description="DuckDB memory limit for table queries (larger sorts spill to cache/duckdb)")
    executor: Literal["local", "ray"] = Field("local", description="process pool here, or Ray actors")
    ray_address: str | None = Field(None, description="join this Ray cluster; None starts a local one")
