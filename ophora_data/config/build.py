from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class BuildConfig(Section):
    shard_size_mb: float = Field(1024.0, gt=0, description="target size of one WebDataset tar shard")
    shard_multiple: int = Field(
        8, ge=1, description="round the shard count to a multiple of this (GPUs per node) when clips allow"
    )
    pretty_name: str = "Ophora: ophthalmic surgery video-instruction pairs"
    license: str = "cc-by-nc-4.0"
    gated: bool = Field(True, description="render the gated-access fields (affiliation, no re-identification)")
    strict_config: bool = Field(True, description="publish the privacy subset as its own config `strict`")
    phase_attribute: str = Field("surgical_phase", description="caption attribute counted per value in the card")
    card_template: str | None = Field(None, description="card template path; None = DATASET_CARD.md")
    verify: bool = Field(True, description="load the release with datasets before declaring it valid")
    verify_full_load_max_mb: float = Field(
        2048.0, ge=0, description="above this size verification streams only (a full load copies every byte)"
    )
