from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from ophora_data.config.base import Bound, Section

CATARACT_PHASES: tuple[str, ...] = (
    "incision", "viscoelastic", "capsulorhexis", "hydrodissection", "phacoemulsification",
    "irrigation-aspiration", "capsule polishing", "lens implantation", "lens positioning",
    "viscoelastic suction", "anterior chamber flushing", "tonifying and antibiotics",
)


class CaptionConfig(Section):
    """The captioner and its endpoint are part of the run: the first `caption` run resolves `auto` (and
    an unset `base_url`) from OPENAI_BASE_URL and records the result in config.resolved.yaml, so a
    later shell without that variable changes nothing. The stage hash holds the resolved captioner
    and endpoint (`CaptionStage.hash_inputs`), not these raw fields; politeness settings are left out.
    """

    HASH_EXCLUDE: ClassVar[frozenset[str]] = frozenset({
        "captioner", "base_url", "api_key_env", "concurrency", "timeout_s", "retries", "backoff_base_s",
        "max_backoff_s"})

    captioner: Literal["auto", "llm", "rules"] = Field(
        "auto", description="auto: llm when base_url (or OPENAI_BASE_URL) is set, else rules; "
                            "recorded as llm or rules by the first caption run"
    )
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://host:8000/v1 "
                                                   "(OPENAI_BASE_URL when unset; recorded by the first caption run)")
    model: str = "Qwen/Qwen2.5-72B-Instruct"
    api_key_env: str = Field("OPENAI_API_KEY", description="env var holding the key (never the key)")
    structured_output: bool = Field(True, description="send a JSON-schema response_format")
    temperature: float = Field(0.0, ge=0)
    max_tokens: int = Field(512, ge=16, description="completion budget of a reply")
    max_tokens_retry: int = Field(
        2048, ge=16, description="a reply cut off at max_tokens (finish_reason=length) is asked once more with "
                                 "this budget; when it is not larger, the clip fails as truncated at once")
    concurrency: int = Field(8, ge=1, description="requests in flight at once")
    timeout_s: float = Field(120.0, gt=0, description="per request")
    retries: int = Field(5, ge=0, description="on 429, 5xx, timeouts and connection errors")
    backoff_base_s: float = Field(1.0, ge=0, description="backoff base without Retry-After")
    max_backoff_s: float = Field(300.0, ge=0, description="cap on any single wait, Retry-After included")
    procedure: str = Field("ophthalmic (cataract)", description="named in the prompt")
    phases: tuple[str, ...] = Field(
        CATARACT_PHASES, description="surgical_phase vocabulary: a reply naming another phase is rejected "
                                     "(empty: any phase name)")
    other_phase: str | None = Field(
        None, description="an extra phase for steps outside the vocabulary, e.g. 'other' (offered in the prompt)")
    confidence: Bound = Bound(min=0.0)
    require_procedural: bool = Field(True, description="reject clips whose narration is not procedural")
