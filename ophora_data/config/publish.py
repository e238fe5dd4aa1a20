from __future__ import annotations

from pydantic import Field

from ophora_data.config.base import Section


class PublishConfig(Section):
    private: bool = True
    gated: str | None = Field("manual", description="None, 'auto' or 'manual'")
    token_env: str = "HF_TOKEN"
