"""A local HTTP file server for tests, with fault injection and a request log.

    with FileServer() as server:
        url = server.add("/v.mp4", path_or_bytes)
        server.fail("/v.mp4", 429, times=1, headers={"Retry-After": "1"})   # then success
        server.truncate("/v.mp4", 1000)       # serves the first 1000 bytes, honest Content-Length
        server.drop_after("/v.mp4", 1000)     # announces the full length, closes after 1000 bytes
        server.throttle("/v.mp4", 50_000)     # slow body (bytes/s), for kill tests
        server.count("/v.mp4")                # requests seen

Binds 127.0.0.1 on a free port; single byte ranges (`Range: bytes=N-[M]`) are honoured so
clients can resume; GET and HEAD.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


@dataclass
class Resource:
    body: bytes
    content_type: str = "video/mp4"
    # Queued error responses, served before the body: (status, headers).
    errors: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    truncate_to: int | None = None
    drop_after: int | None = None
    bytes_per_s: float | None = None


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int
    time: float


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-body (kills, drops, yt-dlp closing a probe request) are expected."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FileServer:
    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.requests: list[LoggedRequest] = []
        self.bytes_sent: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # Lifecycle -----------------------------------------------------------------------
    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.stop()

    # Content and faults ----------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes | Path, content_type: str = "video/mp4") -> str:
        data = body.read_bytes() if isinstance(body, Path) else body
        self.resources[path] = Resource(data, content_type)
        return self.url(path)

    def fail(self, path: str, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """The next `times` requests for `path` get `status` (then the body again)."""
        resource = self.resources.setdefault(path, Resource(b"", "text/plain"))
        resource.errors.extend([(status, dict(headers or {}))] * times)

    def truncate(self, path: str, nbytes: int) -> None:
        self.resources[path].truncate_to = nbytes

    def drop_after(self, path: str, nbytes: int | None) -> None:
        self.resources[path].drop_after = nbytes

    def throttle(self, path: str, bytes_per_s: float | None) -> None:
        self.resources[path].bytes_per_s = bytes_per_s

    # Observations --------------------------------------------------------------------
    def count(self, path: str | None = None, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for r in self.requests if (path is None or r.path == path)
                       and (method is None or r.method == method))  # fmt: skip

    def log(self, path: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def _record(self, request: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _sent(self, path: str, count: int) -> None:
        with self._lock:
            self.bytes_sent[path] = self.bytes_sent.get(path, 0) + count


def _handler_for(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
            pass

        def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
            self._serve(send_body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._serve(send_body=True)

        def _serve(self, send_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            resource = server.resources.get(path)
            status, headers, body = self._plan(resource)
            server._record(LoggedRequest(self.command, path, dict(self.headers.items()), status, time.time()))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            if send_body and resource is not None and status in (200, 206):
                self._write(path, body, resource)
            elif send_body:
                self.wfile.write(body)

        def _plan(self, resource: Resource | None) -> tuple[int, dict[str, str], bytes]:
            if resource is None:
                return 404, {"Content-Type": "text/plain", "Content-Length": "9"}, b"not found"
            with server._lock:
                error = resource.errors.pop(0) if resource.errors else None
            if error is not None:
                text = f"HTTP {error[0]}".encode()
                return error[0], {"Content-Type": "text/plain", "Content-Length": str(len(text)), **error[1]}, text
            body = resource.body[: resource.truncate_to] if resource.truncate_to is not None else resource.body
            headers = {"Content-Type": resource.content_type, "Accept-Ranges": "bytes"}
            match = _RANGE.match(self.headers.get("Range", "").strip())
            if match and int(match.group(1)) < len(body):
                start = int(match.group(1))
                end = min(int(match.group(2)) if match.group(2) else len(body) - 1, len(body) - 1)
                headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
                headers["Content-Length"] = str(end - start + 1)
                return 206, headers, body[start : end + 1]
            headers["Content-Length"] = str(len(body))
            return 200, headers, body

        def _write(self, path: str, body: bytes, resource: Resource) -> None:
            limit = resource.drop_after if resource.drop_after is not None else len(body)
            chunk = 16 * 1024 if resource.bytes_per_s is None else max(1024, int(resource.bytes_per_s / 20))
            sent = 0
            try:
                while sent < min(limit, len(body)):
                    piece = body[sent : min(sent + chunk, limit)]
                    self.wfile.write(piece)
                    self.wfile.flush()
                    sent += len(piece)
                    server._sent(path, len(piece))
                    if resource.bytes_per_s:
                        time.sleep(len(piece) / resource.bytes_per_s)
            except (BrokenPipeError, ConnectionResetError):
                return
            if limit < len(body):
                # Announced more than we send: close the connection mid-body.
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", ""}


def _is_loopback(host: Any) -> bool:
    text = str(host)
    return text in _LOOPBACK_NAMES or text.startswith("127.")


@contextlib.contextmanager
def loopback_only() -> Iterator[list[str]]:
    """Refuse (and record) every DNS lookup or connection that is not to 127.0.0.1.

    Yields the list of refused attempts, so a test can assert that a library made none.
    """
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(what: str) -> OSError:
        attempts.append(what)
        return OSError(f"network guard: {what} refused (tests use 127.0.0.1 only)")

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise refuse(f"connect {address[0]}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise refuse(f"connect {address[0]}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_loopback(host.decode() if isinstance(host, bytes) else host):
            raise refuse(f"resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo
