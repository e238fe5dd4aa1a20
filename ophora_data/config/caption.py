from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Bound, Section


class CaptionConfig(Section):
    captioner: Literal["auto", "llm", "rules"] = Field(
        "auto", description="auto: llm when base_url (or OPENAI_BASE_URL) is set, else rules"
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://host:8000/v1")
    model: str = "Qwen/Qwen2.5-72B-Instruct"
    api_key_env: str = Field("OPENAI_API_KEY", description="name of the env var holding the key (never the key)")
    structured_output: bool = True
    temperature: float = 0.0
    max_tokens: int = 512
    concurrency: int = Field(8, ge=1)
    timeout_s: float = Field(120.0, gt=0)
    retries: int = Field(5, ge=0)
    backoff_base_s: float = Field(1.0, ge=0)
    confidence: Bound = Bound(min=0.0)
    require_procedural: bool = True
