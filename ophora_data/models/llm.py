"""An OpenAI-compatible chat client for structured captions: vLLM, OpenAI, or anything alike.

What it adds over the bare `openai` client:
- structured output (JSON-schema `response_format`) when the server accepts it, else the
  prompt alone, with every answer parsed (`llm_reply.py`) and validated; one repair turn on
  invalid output;
- `finish_reason` read on every reply: a reply cut off at `max_tokens` is never parsed or
  "repaired" but asked once more with `max_tokens_retry`, else reported as truncated; a refusal
  (or content filter) is reported as such, not retried;
- retries with exponential backoff on 429/5xx/timeouts/connection errors, honouring
  `Retry-After` (seconds or HTTP date; `retry-after-ms` too);
- a concurrency limit shared by all threads using the client;
- a persistent request cache and token counts per call.
The key is read from the environment variable named in config and never written anywhere;
every error message is redacted before it leaves this module.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from ophora_data.config.caption import CaptionConfig
from ophora_data.models.llm_cache import RequestCache, request_key
from ophora_data.models.llm_reply import parse_json_object
from ophora_data.run.secrets import redact

__all__ = ["LLMClient", "LLMConfigError", "LLMResult", "Usage", "parse_json_object", "resolve_base_url",
           "retry_after_s"]

Message = dict[str, str]
Validator = Callable[[dict[str, Any]], BaseModel]


class LLMConfigError(RuntimeError):
    """The endpoint cannot be used at all (no openai package, bad key, unknown model, unreachable)."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage: Any) -> None:
        if usage is not None:
            self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)

    def as_dict(self) -> dict[str, int]:
        return {"prompt": self.prompt_tokens, "completion": self.completion_tokens,
                "total": self.total_tokens}


@dataclass(frozen=True)
class LLMResult:
    """One `complete` call. `outcome`: ok | refusal | truncated | invalid (bad JSON or schema, also after
    the repair turn) | unavailable (retries exhausted on 429/5xx/timeouts) | error (other HTTP errors)."""

    data: dict[str, Any] | None  # the validated answer, None on failure
    error: str = ""
    retryable: bool = False
    usage: Usage = field(default_factory=Usage)  # tokens paid by this call (0 on a cache hit)
    cache_hit: bool = False
    calls: int = 0
    outcome: str = "ok"


class _GaveUp(Exception):
    """Retries exhausted on a transient error."""


def resolve_base_url(config: CaptionConfig) -> str | None:
    return config.base_url or os.environ.get("OPENAI_BASE_URL") or None


def retry_after_s(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` / `Retry-After` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _validation_summary(exc: ValidationError) -> str:
    """`field: what is wrong` for each error (at most 8), short enough for a row's reason."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'object'}: {e['msg'].removeprefix('Value error, ')[:120]}"
             for e in exc.errors()[:8]]
    return "; ".join(parts)


def _describe(exc: Exception, attempts: int, timeout_s: float) -> str:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return f"timed out after {timeout_s:g} s ({attempts} attempts)"
    if isinstance(exc, openai.APIConnectionError):
        return f"connection failed ({attempts} attempts)"
    status = getattr(exc, "status_code", "?")
    kind = "rate limited" if status == 429 else "server error"
    return f"{kind} (HTTP {status}) after {attempts} attempts"


class LLMClient:
    """Chat completions that must come back as one validated JSON object."""

    def __init__(
        self,
        config: CaptionConfig,
        validator: Validator,
        namespace: str,
        response_format: dict[str, Any] | None = None,
        cache: RequestCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - openai is part of the llm extra
            raise LLMConfigError("openai is not installed: pip install 'ophora-data[llm]'") from exc
        base_url = resolve_base_url(config)
        if not base_url:
            raise LLMConfigError("no LLM endpoint: set caption.base_url or OPENAI_BASE_URL")
        self.config, self.base_url, self.namespace = config, base_url, namespace
        self._validator, self._cache, self._sleep = validator, cache, sleep
        self._openai = openai
        self._key = os.environ.get(config.api_key_env, "")
        # Local vLLM servers accept any key; the client library insists on one.
        self._client = openai.OpenAI(base_url=base_url, api_key=self._key or "EMPTY",
                                     timeout=config.timeout_s, max_retries=0)
        self._limit = threading.BoundedSemaphore(config.concurrency)
        self._response_format = response_format if config.structured_output else None

    @property
    def structured(self) -> bool:
        return self._response_format is not None

    def redact(self, text: str) -> str:
        text = redact(text)
        return text.replace(self._key, "***") if len(self._key) >= 4 else text

    def check(self) -> None:
        """Fail early and clearly on a bad key, an unreachable server or an unserved model."""
        openai = self._openai
        try:
            served = [model.id for model in self._client.models.list()]
        except openai.AuthenticationError as exc:
            raise LLMConfigError(f"authentication failed at {self.base_url}: set {self.config.api_key_env} "
                                 "to a valid key") from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise LLMConfigError(f"cannot reach the LLM endpoint {self.base_url}") from exc
        except openai.APIStatusError:
            return  # some compatible servers have no /models; the first request will tell
        if served and self.config.model not in served:
            raise LLMConfigError(f"model {self.config.model!r} is not served at {self.base_url}; "
                                 f"it serves: {', '.join(served[:10])}")

    def complete(self, messages: list[Message], repair: Callable[[list[Message], str, str], list[Message]]
                 ) -> LLMResult:
        """One validated JSON answer (from the cache when possible), or an error that says why not."""
        key = request_key(self.config.model, self.namespace, messages)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            return LLMResult(hit[0], cache_hit=True)
        usage, calls = Usage(), 0
        conversation, error, max_tokens, repaired = messages, "", self.config.max_tokens, False
        try:
            while True:
                response = self._create(conversation, max_tokens)
                calls += 1
                usage.add(getattr(response, "usage", None))
                choice = response.choices[0] if response.choices else None
                finish = getattr(choice, "finish_reason", None)
                refusal = getattr(getattr(choice, "message", None), "refusal", None)
                if refusal or finish == "content_filter":
                    reason = self.redact(f"refusal: {refusal or 'content filter'}")[:300]
                    return LLMResult(None, reason, False, usage, calls=calls, outcome="refusal")
                if finish == "length":
                    if max_tokens < self.config.max_tokens_retry:  # once, with the larger budget
                        max_tokens = self.config.max_tokens_retry
                        continue
                    return LLMResult(None, f"truncated at {max_tokens} tokens (finish_reason=length)", False,
                                     usage, calls=calls, outcome="truncated")
                content = (choice.message.content or "") if choice is not None else ""
                try:
                    if choice is None:
                        raise ValueError("the response has no choices")
                    data = self._validator(parse_json_object(content)).model_dump(mode="json")
                except ValidationError as exc:
                    error = f"schema violation: {_validation_summary(exc)}"
                except ValueError as exc:
                    error = str(exc)
                else:
                    if self._cache is not None:
                        self._cache.put(key, self.config.model, self.namespace, data, usage.as_dict())
                    return LLMResult(data, usage=usage, calls=calls)
                if repaired:
                    break
                repaired, conversation = True, repair(messages, content, error)
        except _GaveUp as exc:
            return LLMResult(None, self.redact(str(exc)), True, usage, calls=calls, outcome="unavailable")
        except self._openai.APIStatusError as exc:
            status = exc.status_code
            message = self.redact(f"HTTP {status} from the LLM endpoint: {exc.message}")[:300]
            return LLMResult(None, message, status not in (400, 422), usage, calls=calls, outcome="error")
        return LLMResult(None, self.redact(f"invalid reply: {error}")[:500], False, usage, calls=calls,
                         outcome="invalid")

    def _request(self, messages: list[Message], max_tokens: int) -> dict[str, Any]:
        config = self.config
        request: dict[str, Any] = {"model": config.model, "messages": messages,
                                   "temperature": config.temperature, "max_tokens": max_tokens}
        if self._response_format is not None:
            request["response_format"] = self._response_format
        return request

    def _create(self, messages: list[Message], max_tokens: int) -> Any:
        openai = self._openai
        transient = (openai.RateLimitError, openai.InternalServerError, openai.APITimeoutError,
                     openai.APIConnectionError)
        attempt = 0
        while True:
            try:
                with self._limit:
                    return self._client.chat.completions.create(**self._request(messages, max_tokens))
            except openai.BadRequestError:
                if self._response_format is None:
                    raise
                # The server refuses JSON-schema output: continue with prompt + validation only.
                self._response_format = None
            except transient as exc:
                if attempt >= self.config.retries:
                    raise _GaveUp(_describe(exc, attempt + 1, self.config.timeout_s)) from None
                self._sleep(self._delay(exc, attempt))
                attempt += 1

    def _delay(self, exc: Exception, attempt: int) -> float:
        response = getattr(exc, "response", None)
        wait = retry_after_s(getattr(response, "headers", None))
        if wait is None:
            wait = self.config.backoff_base_s * (2**attempt)
        return min(wait, self.config.max_backoff_s)
