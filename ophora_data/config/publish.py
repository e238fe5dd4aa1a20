from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Section


class PublishConfig(Section):
    repo_id: str | None = Field(None, description="ORG/NAME of the dataset repo; --repo overrides")
    private: bool = Field(True, description="visibility when the repo is created (--public opens it)")
    gated: Literal["auto", "manual"] | None = Field("manual", description="None, 'auto' or 'manual'")
    token_env: str = Field("HF_TOKEN", description="env var holding the token (never the token itself)")
    files_per_commit: int = Field(8, ge=1, description="one commit per batch: an interruption loses one batch")
    commit_max_mb: float = Field(8192.0, gt=0, description="also close a batch once it holds this much")
    tag: bool = Field(True, description="tag the uploaded revision with the decision-set id")
