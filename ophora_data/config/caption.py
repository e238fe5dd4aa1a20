from __future__ import annotations

from typing import Literal

from pydantic import Field

from ophora_data.config.base import Bound, Section

CATARACT_PHASES: tuple[str, ...] = (
    "incision", "viscoelastic", "capsulorhexis", "hydrodissection", "phacoemulsification",
    "irrigation-aspiration", "capsule polishing", "lens implantation", "lens positioning",
    "viscoelastic suction", "anterior chamber flushing", "tonifying and antibiotics",
)


class CaptionConfig(Section):
    captioner: Literal["auto", "llm", "rules"] = Field(
        "auto", description="auto: llm when base_url (or OPENAI_BASE_URL) is set, else rules"
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://host:8000/v1")
    model: str = "Qwen/Qwen2.5-72B-Instruct"
    api_key_env: str = Field("OPENAI_API_KEY", description="env var holding the key (never the key)")
    structured_output: bool = Field(True, description="send a JSON-schema response_format")
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(512, ge=16)
    concurrency: int = Field(8, ge=1, description="requests in flight at once")
    timeout_s: float = Field(120.0, gt=0, description="per request")
    retries: int = Field(5, ge=0, description="on 429, 5xx, timeouts and connection errors")
    backoff_base_s: float = Field(1.0, ge=0, description="backoff base without Retry-After")
    max_backoff_s: float = Field(300.0, ge=0, description="cap on any single wait, Retry-After included")
    procedure: str = Field("ophthalmic (cataract)", description="named in the prompt")
    phases: tuple[str, ...] = Field(CATARACT_PHASES, description="surgical_phase vocabulary")
    confidence: Bound = Bound(min=0.0)
    require_procedural: bool = Field(True, description="reject clips whose narration is not procedural")
