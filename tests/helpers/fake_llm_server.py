"""A real HTTP server on 127.0.0.1 speaking OpenAI's /v1/chat/completions, with injectable faults.

Faults are consumed one per chat request, in order; when none is queued the server answers
with `responder(narration)` (a valid caption by default). Every request body and its
Authorization header are recorded so tests can check what left the machine (and with which
`max_tokens`). Besides transport faults (429, 5xx, timeouts) it sends the lax replies real
servers send: a reply cut off at the token limit (`finish_reason: "length"`, possibly with no
content at all), fenced or `<think>`-prefixed JSON, wrong types, refusals, and any whole
`chat.completion` object (`Fault.completion`, e.g. the field cases' recorded replies).

    with FakeLLMServer() as server:
        server.faults.extend([Fault.rate_limited(retry_after="1"), Fault.server_error()])
        client = OpenAI(base_url=server.base_url, api_key="k")
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[str], dict[str, Any]]


def default_caption(narration: str) -> dict[str, Any]:
    """A deterministic, schema-valid caption: chit-chat is non-procedural."""
    chatter = re.search(r"subscribe|thanks for watching|channel", narration, re.I) is not None
    words = re.findall(r"[A-Za-z]+", narration)[:6]
    return {
        "instruction": "Perform the step: " + " ".join(words).lower() + ".",
        "surgical_phase": None if chatter else "incision",
        "instruments": [] if chatter else ["keratome"],
        "action": None if chatter else "incise",
        "anatomy": None if chatter else "cornea",
        "medications": [],
        "is_procedural": not chatter,
        "confidence": 0.9,
    }


@dataclass(frozen=True)
class Fault:
    # rate_limited | server_error | timeout | invalid_json | schema_violation | refusal | content | completion
    kind: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    content: str | None = None
    finish_reason: str = "stop"
    message: dict[str, Any] = field(default_factory=dict)  # extra message fields (reasoning_content, ...)
    completion_tokens: int = 20
    whole: dict[str, Any] | None = None  # a complete chat.completion object to send as it is

    @classmethod
    def rate_limited(cls, retry_after: str | None = "1") -> Fault:
        return cls("rate_limited", 429, {"Retry-After": retry_after} if retry_after is not None else {})

    @classmethod
    def server_error(cls, status: int = 500) -> Fault:
        return cls("server_error", status)

    @classmethod
    def timeout(cls, delay_s: float = 2.0) -> Fault:
        return cls("timeout", delay_s=delay_s)

    @classmethod
    def invalid_json(cls) -> Fault:
        return cls("invalid_json", content='{"instruction": "Make an incision", "confidence": ')

    @classmethod
    def schema_violation(cls) -> Fault:
        return cls("schema_violation", content=json.dumps({"instruction": "", "confidence": 7, "extra": 1}))

    @classmethod
    def refusal(cls) -> Fault:
        return cls("refusal", content=None)

    @classmethod
    def reject_response_format(cls) -> Fault:
        """A 400 like servers that do not support JSON-schema output send."""
        return cls("reject_response_format", 400)

    @classmethod
    def reply(cls, content: str, finish_reason: str = "stop", **message: Any) -> Fault:
        return cls("content", content=content, finish_reason=finish_reason, message=message)

    @classmethod
    def truncated(cls, content: str | None = '{"instruction": "Make a clear corneal incision", "instruments": ["',
                  completion_tokens: int = 512) -> Fault:
        """Cut off at max_tokens: a JSON fragment (or, as reasoning models do, no content at all)."""
        extra = {} if content is not None else {"reasoning_content": "Let me think about which phase this is"}
        return cls("content", content=content, finish_reason="length", message=extra,
                   completion_tokens=completion_tokens)

    @classmethod
    def completion(cls, whole: dict[str, Any]) -> Fault:
        """Send this chat.completion object (its model and created fields follow the request)."""
        return cls("completion", whole=whole)


@dataclass
class Recorded:
    body: dict[str, Any]
    authorization: str | None


class FakeLLMServer:
    def __init__(self, model: str = "fake/caption-model", responder: Responder = default_caption,
                 api_key: str | None = None) -> None:
        self.model, self.responder, self.api_key = model, responder, api_key
        self.faults: deque[Fault] = deque()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if "messages" in r.body]

    def __enter__(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
                      ) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)  # the client may have given up already (timeout test)

            def _authorised(self) -> bool:
                if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                    return True
                self._send(401, {"error": {"message": "Incorrect API key provided",
                                           "type": "invalid_request_error", "code": "invalid_api_key"}})
                return False

            def do_GET(self) -> None:
                server.requests.append(Recorded({"path": self.path}, self.headers.get("Authorization")))
                if not self._authorised():
                    return
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with server._lock:
                    server.requests.append(Recorded(body, self.headers.get("Authorization")))
                if not self._authorised():
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                self._answer(body, server._next_fault())

            def _answer(self, body: dict[str, Any], fault: Fault | None) -> None:
                if fault is not None and fault.delay_s:
                    time.sleep(fault.delay_s)
                if fault is not None and fault.status >= 400:
                    if fault.kind == "reject_response_format" and "response_format" not in body:
                        fault = None  # the retry without a schema succeeds
                    else:
                        message = {"rate_limited": "Rate limit reached", "server_error": "Internal error",
                                   "reject_response_format": "response_format json_schema is not supported"}
                        self._send(fault.status, {"error": {"message": message.get(fault.kind, fault.kind),
                                                            "type": fault.kind}}, fault.headers)
                        return
                if fault is not None and fault.whole is not None:
                    self._send(200, {**fault.whole, "model": body.get("model", server.model), "created": 0})
                    return
                message: dict[str, Any] = {"role": "assistant", "content": None}
                if fault is not None and fault.kind == "refusal":
                    message["refusal"] = "I'm sorry, I can't help with that."
                elif fault is not None and (fault.content is not None or fault.finish_reason == "length"):
                    message["content"] = fault.content
                else:
                    message["content"] = json.dumps(server.responder(_narration(body)))
                message.update(fault.message if fault is not None else {})
                finish = fault.finish_reason if fault is not None else "stop"
                completion = fault.completion_tokens if fault is not None else 20
                self._send(200, {
                    "id": f"chatcmpl-{len(server.requests)}", "object": "chat.completion", "created": 0,
                    "model": body.get("model", server.model),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": completion,
                              "total_tokens": 100 + completion},
                })

        return Handler


def _narration(body: dict[str, Any]) -> str:
    """The narration JSON string inside the first user message (the prompt passes it as data)."""
    for message in body.get("messages", []):
        if message.get("role") == "user":
            content = str(message.get("content") or "")
            start = content.find('"')
            if start >= 0:
                try:
                    return str(json.loads(content[start:]))
                except json.JSONDecodeError:
                    return content
            return content
    return ""
