"""The OpenAI-compatible client against a real local HTTP server with injected faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from annotation_schema import CaptionV1
from ophora_data.config.caption import CaptionConfig
from ophora_data.models.llm import LLMClient, LLMConfigError, parse_json_object, retry_after_s
from ophora_data.models.llm_cache import RequestCache
from ophora_data.text.prompt import build_messages, cache_namespace, repair_messages, response_format
from tests.helpers.fake_llm_server import FakeLLMServer, Fault, default_caption

SECRET = "sk-test-0123456789abcdefSECRET"


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as fake:
        yield fake


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


MakeClient = Callable[..., LLMClient]


@pytest.fixture
def make_client(server: FakeLLMServer, tmp_path: Path) -> MakeClient:
    def make(cache: bool = True, sleep: Callable[[float], None] | None = None, **overrides: Any) -> LLMClient:
        settings = {"base_url": server.base_url, "model": server.model, "timeout_s": 2.0, "retries": 3,
                    "backoff_base_s": 0.01, "concurrency": 2, **overrides}
        return LLMClient(CaptionConfig(**settings), CaptionV1.model_validate, cache_namespace(),
                         response_format(), RequestCache(tmp_path / "cache.sqlite") if cache else None,
                         sleep=sleep if sleep is not None else Sleeps())

    return make


NARRATION = "Now I make a clear corneal incision with the keratome."


def _messages(narration: str = NARRATION) -> list[dict[str, str]]:
    return build_messages(narration, "cataract", ("incision",))


def test_valid_answer_is_validated_counted_and_cached(server: FakeLLMServer, make_client: MakeClient) -> None:
    client = make_client()
    result = client.complete(_messages(), repair_messages)
    assert result.error == ""
    assert result.data == CaptionV1.model_validate(default_caption(NARRATION)).model_dump()
    assert result.usage.as_dict() == {"prompt": 100, "completion": 20, "total": 120}
    assert not result.cache_hit and result.calls == 1
    body = server.chat_requests[0].body
    assert body["response_format"]["type"] == "json_schema" and body["temperature"] == 0.0
    again = make_client().complete(_messages(), repair_messages)  # a new client, the same cache file
    assert again.cache_hit and again.data == result.data and again.usage.total_tokens == 0
    assert len(server.chat_requests) == 1


def test_429_honours_retry_after(server: FakeLLMServer, make_client: MakeClient) -> None:
    sleeps = Sleeps()
    server.faults.extend([Fault.rate_limited("7"), Fault.rate_limited(None)])
    result = make_client(sleep=sleeps).complete(_messages(), repair_messages)
    assert result.data is not None
    assert sleeps == [7.0, 0.02]  # Retry-After first, then exponential backoff (base 0.01 * 2**1)
    assert len(server.chat_requests) == 3


def test_retry_after_is_really_waited(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.append(Fault.rate_limited("1"))
    started = time.monotonic()
    result = make_client(sleep=time.sleep).complete(_messages(), repair_messages)
    assert result.data is not None and time.monotonic() - started >= 1.0


def test_retry_after_forms() -> None:
    assert retry_after_s({"retry-after": "2.5"}) == 2.5
    assert retry_after_s({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert 8 <= retry_after_s({"retry-after": formatdate(time.time() + 10, usegmt=True)}) <= 10
    assert retry_after_s({"retry-after": "soon"}) is None and retry_after_s({}) is None


def test_retry_after_is_capped(server: FakeLLMServer, make_client: MakeClient) -> None:
    sleeps = Sleeps()
    server.faults.append(Fault.rate_limited("3600"))
    assert make_client(sleep=sleeps, max_backoff_s=30).complete(_messages(), repair_messages).data
    assert sleeps == [30.0]


def test_500_then_success(server: FakeLLMServer, make_client: MakeClient) -> None:
    sleeps = Sleeps()
    server.faults.extend([Fault.server_error(500), Fault.server_error(503)])
    result = make_client(sleep=sleeps).complete(_messages(), repair_messages)
    assert result.data is not None and sleeps == [0.01, 0.02]


def test_retries_exhausted_is_a_retryable_failure(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.extend([Fault.server_error()] * 3)
    result = make_client(retries=2).complete(_messages(), repair_messages)
    assert result.data is None and result.retryable
    assert result.error == "server error (HTTP 500) after 3 attempts"


def test_timeout_then_success(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.append(Fault.timeout(delay_s=2.0))
    started = time.monotonic()
    result = make_client(timeout_s=0.3).complete(_messages(), repair_messages)
    assert result.data is not None
    assert time.monotonic() - started < 1.8  # gave up on the slow answer instead of waiting for it
    assert len(server.chat_requests) == 2


def test_timeouts_exhausted(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.extend([Fault.timeout(delay_s=1.0)] * 2)
    result = make_client(timeout_s=0.2, retries=1).complete(_messages(), repair_messages)
    assert result.error == "timed out after 0.2 s (2 attempts)" and result.retryable


def test_invalid_json_then_valid_after_one_repair(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.append(Fault.invalid_json())
    result = make_client().complete(_messages(), repair_messages)
    assert result.data is not None and result.calls == 2 and result.usage.total_tokens == 240
    repair = server.chat_requests[1].body["messages"]
    assert repair[-2]["role"] == "assistant" and repair[-2]["content"].startswith('{"instruction"')
    assert "invalid JSON" in repair[-1]["content"]


def test_schema_violation_twice_is_unparseable(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.extend([Fault.schema_violation(), Fault.schema_violation()])
    client = make_client()
    result = client.complete(_messages(), repair_messages)
    assert result.data is None and not result.retryable
    assert result.error.startswith("unparseable: schema violation")
    assert "confidence: Input should be less than or equal to 1" in result.error
    # A failure is not cached: the next call asks again (and gets a valid answer).
    assert client.complete(_messages(), repair_messages).data is not None


def test_refusal_is_a_permanent_failure(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.append(Fault.refusal())
    result = make_client().complete(_messages(), repair_messages)
    assert result.data is None and not result.retryable and result.error.startswith("refused: ")
    assert len(server.chat_requests) == 1


def test_prose_and_fences_around_json_are_tolerated(server: FakeLLMServer, make_client: MakeClient) -> None:
    import json

    fenced = "Here you go:\n```json\n" + json.dumps(default_caption("make the incision")) + "\n```"
    server.faults.append(Fault.reply(fenced))
    assert make_client().complete(_messages(), repair_messages).calls == 1
    assert parse_json_object('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(ValueError, match="not an object"):
        parse_json_object("[1, 2]")


def test_server_without_json_schema_support_falls_back(server: FakeLLMServer, make_client: MakeClient
                                                       ) -> None:
    server.faults.append(Fault.reject_response_format())
    client = make_client()
    assert client.complete(_messages(), repair_messages).data is not None
    assert not client.structured
    assert "response_format" in server.chat_requests[0].body
    assert "response_format" not in server.chat_requests[1].body


def test_concurrency_limit(tmp_path: Path) -> None:
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow(narration: str) -> dict[str, Any]:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.15)
        with lock:
            in_flight[0] -= 1
        return default_caption(narration)

    with FakeLLMServer(responder=slow) as server:
        client = LLMClient(CaptionConfig(base_url=server.base_url, model=server.model, concurrency=2),
                           CaptionV1.model_validate, cache_namespace(), response_format())
        threads = [threading.Thread(target=client.complete, args=(_messages(f"Step {i}."), repair_messages))
                   for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(server.chat_requests) == 6 and peak[0] == 2


def test_key_comes_from_env_is_sent_and_never_leaks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import traceback

    caplog.set_level(logging.DEBUG)
    bad_key = SECRET[:-3] + "BAD"
    cache = RequestCache(tmp_path / "cache.sqlite")
    monkeypatch.setenv("MY_LLM_KEY", SECRET)
    with FakeLLMServer(api_key=SECRET) as server:
        config = CaptionConfig(base_url=server.base_url, model=server.model, api_key_env="MY_LLM_KEY")
        client = LLMClient(config, CaptionV1.model_validate, cache_namespace(), response_format(), cache)
        client.check()
        assert client.complete(_messages(), repair_messages).data is not None
        assert {r.authorization for r in server.requests} == {f"Bearer {SECRET}"}
        monkeypatch.setenv("MY_LLM_KEY", bad_key)
        bad = LLMClient(config, CaptionV1.model_validate, cache_namespace(), response_format(), cache)
        with pytest.raises(LLMConfigError, match="MY_LLM_KEY") as excinfo:
            bad.check()
        result = bad.complete(_messages("another narration"), repair_messages)
    assert "SECRET" not in str(excinfo.value) and "BAD" not in str(excinfo.value)
    assert result.data is None and "401" in result.error and "BAD" not in result.error
    shown = "".join(traceback.format_exception(excinfo.value)) + result.error + caplog.text
    assert SECRET not in shown and bad_key not in shown  # tracebacks and logs
    assert len(cache) == 1  # the good answer was stored, so the scan below reads what the client wrote
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert written
    for path in written:
        data = path.read_bytes()
        assert SECRET.encode() not in data and bad_key.encode() not in data, path


def test_check_names_unserved_model_and_unreachable_server(server: FakeLLMServer) -> None:
    config = CaptionConfig(base_url=server.base_url, model="not/served")
    with pytest.raises(LLMConfigError, match="fake/caption-model"):
        LLMClient(config, CaptionV1.model_validate, cache_namespace()).check()
    dead = CaptionConfig(base_url="http://127.0.0.1:9/v1", timeout_s=0.5)
    with pytest.raises(LLMConfigError, match="cannot reach"):
        LLMClient(dead, CaptionV1.model_validate, cache_namespace()).check()


def test_no_endpoint_is_a_config_error() -> None:
    with pytest.raises(LLMConfigError, match="OPENAI_BASE_URL"):
        LLMClient(CaptionConfig(), CaptionV1.model_validate, cache_namespace())


def test_openai_base_url_env_is_used(server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    client = LLMClient(CaptionConfig(model=server.model), CaptionV1.model_validate, cache_namespace())
    assert client.base_url == server.base_url
    assert client.complete(_messages(), repair_messages).data is not None
