"""Sort download failures into transient (retry with backoff) and permanent (record and move on).

yt-dlp wraps the real cause (an HTTP error, a timeout, an extractor's message) in one or two
layers of DownloadError/ExtractorError; we walk that chain and read statuses, Retry-After
headers and the well-known platform messages, so each failed row gets a short, stable reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from ophora_data.download.scrub import scrub_text

FailureKind = Literal["transient", "permanent", "unknown"]


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    reason: str
    status: int | None = None
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        """Permanent failures wait for --retry-failed; the others are retried on the next run."""
        return self.kind != "permanent"


class DownloadFailure(Exception):
    """A failure our own code already classified (e.g. 'no file produced')."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class LimitExceeded(Exception):
    """The video breaks a configured limit (duration, size, no audio): a rejected row, not an error."""


# (needle in the lower-cased message, reason): platform messages that no retry will change.
_PERMANENT_MESSAGES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("private video", "video is private"), "private video"),
    (("confirm your age", "age-restricted", "age restricted", "inappropriate for some users"),
     "age-gated (needs download.cookies_file)"),
    (("available in your country", "geo restrict", "geo-restrict", "blocked it in your country",
      "not available from your location"), "geo-blocked"),
    (("members-only", "members only", "join this channel"), "members-only video"),
    (("premieres in", "live event will begin", "this live event", "is upcoming"),
     "not yet available (upcoming premiere or live stream)"),
    (("copyright",), "removed (copyright claim)"),
    (("account associated with this video has been terminated", "has been removed", "video unavailable",
      "video is unavailable", "no longer available", "removed by the uploader", "does not exist"),
     "removed or unavailable"),
    (("not a bot",), "sign-in required by a bot check (set download.cookies_file)"),
    (("sign in", "login required", "log in to", "requires authentication", "use --cookies"),
     "sign-in required (set download.cookies_file)"),
    (("drm protected", "drm-protected", "this video is drm"), "DRM-protected"),
    (("unsupported url",), "unsupported URL"),
    (("requested format is not available", "no video formats found"),
     "no format matches (download.format / minimum resolution / audio)"),
)  # fmt: skip
_TRANSIENT_MESSAGES = (
    "timed out", "timeout", "connection reset", "connection refused", "connection aborted",
    "remote end closed", "temporarily unavailable", "temporary failure", "incompleteread",
    "content too short", "did not get any data blocks", "too many requests", "bad gateway",
    "service unavailable", "unable to connect", "network is unreachable", "broken pipe",
    "more expected", "unable to download video data",
)  # fmt: skip
_TRANSIENT_TYPES = {
    "TimeoutError",
    "timeout",
    "ConnectionError",
    "ConnectionResetError",
    "IncompleteRead",
    "TransportError",
    "ContentTooShortError",
    "ReadTimeoutError",
    "ConnectTimeoutError",
}
_HTTP_IN_TEXT = re.compile(r"HTTP Error (\d{3})")


def exception_chain(exc: BaseException, limit: int = 12) -> list[Any]:
    """exc and the causes yt-dlp hides in exc_info, cause, __cause__ and __context__."""
    seen: list[Any] = []
    todo: list[Any] = [exc]
    while todo and len(seen) < limit:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        exc_info = getattr(current, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            todo.append(exc_info[1])
        todo += [getattr(current, "cause", None), current.__cause__, current.__context__]
    return seen


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from datetime import UTC, datetime

        when = parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


def _http_error(chain: list[Any]) -> tuple[int | None, float | None]:
    for item in chain:
        if type(item).__name__ != "HTTPError":
            continue
        status = getattr(item, "status", None) or getattr(item, "code", None)
        if isinstance(status, int):
            response = getattr(item, "response", None) or item
            headers = getattr(response, "headers", None) or {}
            return status, parse_retry_after(headers.get("Retry-After") if hasattr(headers, "get") else None)
    for item in chain:
        match = _HTTP_IN_TEXT.search(str(item))
        if match:
            return int(match.group(1)), None
    return None, None


def _by_status(status: int, retry_after: float | None) -> Failure:
    if status == 429:
        return Failure("transient", "rate limited (HTTP 429)", status, retry_after)
    if status == 408 or status >= 500:
        return Failure("transient", f"server error (HTTP {status})", status, retry_after)
    names = {404: "not found", 410: "gone", 401: "unauthorized", 403: "forbidden",
             451: "unavailable for legal reasons"}  # fmt: skip
    return Failure("permanent", f"{names.get(status, 'client error')} (HTTP {status})", status)


def short_message(exc: BaseException) -> str:
    """yt-dlp's message without 'ERROR: [extractor] id: ' prefixes, scrubbed, one line."""
    lines = [line.strip() for line in str(exc).replace("\r", "\n").splitlines() if line.strip()]
    text = " ".join(lines[:3])
    text = re.sub(r"^(ERROR:\s*)?(\[[\w:]+\]\s*)?([\w-]+:\s+(?=\S))?", "", text)
    return scrub_text(text)[:200] or type(exc).__name__


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, DownloadFailure):
        return exc.failure
    chain = exception_chain(exc)
    text = " | ".join(str(item) for item in chain).lower()
    for needles, reason in _PERMANENT_MESSAGES:
        if any(needle in text for needle in needles):
            return Failure("permanent", reason)
    if any(type(item).__name__ == "GeoRestrictedError" for item in chain):
        return Failure("permanent", "geo-blocked")
    status, retry_after = _http_error(chain)
    if status is not None:
        return _by_status(status, retry_after)
    if any(type(item).__name__ in _TRANSIENT_TYPES for item in chain) or any(
        needle in text for needle in _TRANSIENT_MESSAGES
    ):
        return Failure("transient", f"network error: {short_message(exc)}")
    return Failure("unknown", short_message(exc))
