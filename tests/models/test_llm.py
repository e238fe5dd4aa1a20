"""The OpenAI-compatible client against a real local HTTP server with injected faults."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from annotation_schema import CaptionV1
from ophora_data.config.caption import CATARACT_PHASES, CaptionConfig
from ophora_data.models.llm import LLMClient, LLMConfigError, parse_json_object, retry_after_s
from ophora_data.models.llm_cache import RequestCache
from ophora_data.text.prompt import build_messages, cache_namespace, repair_messages, response_format
from tests.helpers.fake_llm_server import FakeLLMServer, Fault, default_caption
from tests.helpers.fieldcases import CASE_16, case_dir

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


def test_schema_violation_twice_is_an_invalid_reply(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.extend([Fault.schema_violation(), Fault.schema_violation()])
    client = make_client()
    result = client.complete(_messages(), repair_messages)
    assert result.data is None and not result.retryable and result.outcome == "invalid"
    assert result.error.startswith("invalid reply: schema violation")
    assert "confidence: Input should be less than or equal to 1" in result.error
    # A failure is not cached: the next call asks again (and gets a valid answer).
    assert client.complete(_messages(), repair_messages).data is not None


def test_refusal_is_reported_not_retried(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.append(Fault.refusal())
    result = make_client().complete(_messages(), repair_messages)
    assert result.data is None and not result.retryable and result.outcome == "refusal"
    assert result.error == "refusal: I'm sorry, I can't help with that."
    assert len(server.chat_requests) == 1


def test_prose_and_fences_around_json_are_tolerated(server: FakeLLMServer, make_client: MakeClient) -> None:
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


# finish_reason, truncation and lax replies (field case 16 and the same kinds generated here) --------


def phase_client(make_client: MakeClient, **overrides: Any) -> LLMClient:
    """A client validating as the caption stage does: strict types and the cataract phase vocabulary."""
    client = make_client(**overrides)
    client._validator = lambda data: CaptionV1.model_validate(data, context={"phases": CATARACT_PHASES})
    return client


def max_tokens_sent(server: FakeLLMServer) -> list[int]:
    return [r.body["max_tokens"] for r in server.chat_requests]


def test_a_truncated_reply_is_asked_once_more_with_the_larger_budget(server: FakeLLMServer,
                                                                     make_client: MakeClient) -> None:
    server.faults.append(Fault.truncated())
    result = make_client(max_tokens=512, max_tokens_retry=1536).complete(_messages(), repair_messages)
    assert result.data is not None and result.calls == 2
    assert max_tokens_sent(server) == [512, 1536]
    assert server.chat_requests[1].body["messages"] == server.chat_requests[0].body["messages"]  # no repair turn


@pytest.mark.parametrize("content", ['{"instruction": "Make a clear corneal incision", "instruments": ["', None])
def test_truncated_twice_fails_with_the_token_limit_and_is_never_completed(
    server: FakeLLMServer, make_client: MakeClient, content: str | None
) -> None:
    server.faults.extend([Fault.truncated(content), Fault.truncated(content)])
    client = make_client(max_tokens=512, max_tokens_retry=2048)
    result = client.complete(_messages(), repair_messages)
    assert result.data is None and result.outcome == "truncated" and not result.retryable
    assert result.error == "truncated at 2048 tokens (finish_reason=length)"
    assert max_tokens_sent(server) == [512, 2048]
    assert client.complete(_messages(), repair_messages).data is not None  # nothing cached from the fragment


def test_no_retry_when_the_retry_budget_is_not_larger(server: FakeLLMServer, make_client: MakeClient) -> None:
    server.faults.append(Fault.truncated())
    result = make_client(max_tokens=1024, max_tokens_retry=1024).complete(_messages(), repair_messages)
    assert result.error == "truncated at 1024 tokens (finish_reason=length)" and len(server.chat_requests) == 1


FIELD_CAPTION = {"instruction": "Make a clear corneal incision with the keratome.", "surgical_phase": "incision",
                 "instruments": ["keratome"], "action": "incise", "anatomy": "cornea", "medications": [],
                 "is_procedural": True, "confidence": 0.86}
# scenario -> (outcome, requests made, reason prefix); the mock replays the same scenario on every request.
FIELD_OUTCOMES = {
    "01_valid": ("ok", 1, ""),
    "02_fenced": ("ok", 1, ""),
    "03_think_prefix": ("ok", 1, ""),
    "04_refusal": ("refusal", 1, "refusal: I'm sorry, but I can't help with that request."),
    "05_truncated_length": ("truncated", 2, "truncated at 2048 tokens (finish_reason=length)"),
    "06_length_null_content": ("truncated", 2, "truncated at 2048 tokens (finish_reason=length)"),
    "07_trailing_comma": ("ok", 1, ""),
    "08_schema_mismatch": ("invalid", 2, "invalid reply: schema violation: surgical_phase:"),
}


@pytest.mark.parametrize("scenario", sorted(FIELD_OUTCOMES))
def test_case16_recorded_replies(server: FakeLLMServer, make_client: MakeClient, scenario: str) -> None:
    whole = json.loads((case_dir(CASE_16) / "responses" / f"{scenario}.json").read_text())
    server.faults.extend([Fault.completion(whole)] * 3)
    result = phase_client(make_client, max_tokens=512, max_tokens_retry=2048).complete(_messages(), repair_messages)
    outcome, requests, reason = FIELD_OUTCOMES[scenario]
    assert (result.outcome, len(server.chat_requests)) == (outcome, requests), result.error
    assert result.error.startswith(reason)
    if outcome == "ok":
        assert result.data == FIELD_CAPTION  # never the fence, the decoy draft or a partial object
    else:
        assert result.data is None
    if scenario == "08_schema_mismatch":  # every bad field is named, nothing coerced
        for name in ("surgical_phase", "instruments", "medications", "is_procedural", "confidence", "notes"):
            assert f"{name}:" in result.error


@pytest.mark.parametrize(
    ("field", "value"),
    [("is_procedural", "yes"), ("is_procedural", "true"), ("is_procedural", 1), ("confidence", "0.9"),
     ("confidence", "high"), ("confidence", True), ("instruments", "keratome"), ("medications", None),
     ("instruction", 5), ("surgical_phase", "Phaco"), ("surgical_phase", "Incision (phase 1)")],
)
def test_lax_types_and_unknown_phases_are_rejected_naming_the_field(
    server: FakeLLMServer, make_client: MakeClient, field: str, value: Any
) -> None:
    lax = json.dumps({**FIELD_CAPTION, field: value})
    server.faults.extend([Fault.reply(lax), Fault.reply(lax)])
    result = phase_client(make_client).complete(_messages(), repair_messages)
    assert result.outcome == "invalid" and f"{field}:" in result.error
    assert "repair" not in server.chat_requests[0].body["messages"][-1]["content"]
    assert field in server.chat_requests[1].body["messages"][-1]["content"]  # the repair turn says what was wrong


def test_a_phase_in_another_case_is_stored_in_the_configured_spelling(server: FakeLLMServer,
                                                                      make_client: MakeClient) -> None:
    server.faults.append(Fault.reply(json.dumps({**FIELD_CAPTION, "surgical_phase": " Lens  Implantation"})))
    result = phase_client(make_client).complete(_messages(), repair_messages)
    assert result.data is not None and result.data["surgical_phase"] == "lens implantation"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('<think>draft {"instruction": "Cut with scissors."}</think>\n{"a": 1}', {"a": 1}),
        ('<thinking>\n{"a": 0}\n</thinking>```json\n{"a": [1, 2,],}\n```', {"a": [1, 2]}),
        ('Here it is: {"a": "keep ,] and ,} in strings",} Hope this helps.', {"a": "keep ,] and ,} in strings"}),
        ('{"a": "an escaped quote \\" then ,]", "b": "a backslash \\\\",}',
         {"a": 'an escaped quote " then ,]', "b": "a backslash \\"}),
    ],
)
def test_reply_parsing_drops_reasoning_fences_and_trailing_commas(reply: str, expected: dict) -> None:
    assert parse_json_object(reply) == expected


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ('<think>{"instruction": "Cut with scissors."} and then', "no JSON object"),  # only a draft, unclosed
        ('{"instruction": "Make", "instruments": ["keratome", "', "invalid JSON"),  # never completed
        ('{"a": 1}\n{"a": 2}', "2 JSON objects"),
        (None, "no JSON object"),
    ],
)
def test_reply_parsing_refuses_drafts_fragments_and_ambiguity(reply: str | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_json_object(reply)
