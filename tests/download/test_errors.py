from __future__ import annotations

import io

import pytest
from yt_dlp.networking.common import Response
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError

from ophora_data.download.errors import DownloadFailure, Failure, classify, parse_retry_after, short_message


def http_error(status: int, headers: dict[str, str] | None = None) -> HTTPError:
    response = Response(io.BytesIO(b""), "http://127.0.0.1/x.mp4", headers or {}, status=status)
    return HTTPError(response)


def wrapped(inner: BaseException, message: str = "") -> DownloadError:
    """What YoutubeDL raises: DownloadError(exc_info) around ExtractorError(cause)."""
    try:
        raise ExtractorError(message or f"Unable to download webpage: {inner}", cause=inner)
    except ExtractorError as extractor_error:
        return DownloadError(
            f"ERROR: [generic] x: {extractor_error}", exc_info=(type(extractor_error), extractor_error, None)
        )


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [
        (404, "permanent", "not found (HTTP 404)"),
        (410, "permanent", "gone (HTTP 410)"),
        (403, "permanent", "forbidden (HTTP 403)"),
        (429, "transient", "rate limited (HTTP 429)"),
        (500, "transient", "server error (HTTP 500)"),
        (503, "transient", "server error (HTTP 503)"),
        (408, "transient", "server error (HTTP 408)"),
    ],
)
def test_http_statuses(status: int, kind: str, reason: str) -> None:
    failure = classify(wrapped(http_error(status)))
    assert (failure.kind, failure.reason, failure.status) == (kind, reason, status)
    assert failure.retryable is (kind != "permanent")


def test_retry_after_is_read_from_the_wrapped_response() -> None:
    failure = classify(wrapped(http_error(429, {"Retry-After": "7"})))
    assert failure.retry_after_s == 7.0


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Private video. Sign in if you've been granted access to this video", "private video"),
        ("Sign in to confirm your age. This video may be inappropriate for some users.", "age-gated"),
        ("The uploader has not made this video available in your country", "geo-blocked"),
        ("Video unavailable. This video has been removed by the uploader", "removed or unavailable"),
        ("This video is no longer available because the YouTube account associated with this video has been "
         "terminated.", "removed or unavailable"),
        ("Join this channel to get access to members-only content like this video", "members-only"),
        ("Premieres in 3 hours", "not yet available"),
        ("Sign in to confirm you’re not a bot. Use --cookies-from-browser or --cookies", "bot check"),
        ("Unsupported URL: http://127.0.0.1/index.html", "unsupported URL"),
        ("Requested format is not available. Use --list-formats for a list of available formats", "no format"),
    ],
)  # fmt: skip
def test_platform_messages_are_permanent(message: str, reason: str) -> None:
    failure = classify(DownloadError(f"ERROR: [youtube] abcdefghijk: {message}"))
    assert failure.kind == "permanent" and reason in failure.reason and not failure.retryable


def test_geo_restricted_error_class() -> None:
    error = GeoRestrictedError("This content is restricted")
    assert classify(DownloadError("ERROR: x", exc_info=(type(error), error, None))).reason == "geo-blocked"


@pytest.mark.parametrize(
    "error",
    [
        TimeoutError("The read operation timed out"),
        TransportError(cause=ConnectionResetError(104, "Connection reset by peer")),
        DownloadError("ERROR: \r[download] Got error: 50000 bytes read, 112925 more expected. Giving up"),
    ],
)
def test_network_errors_are_transient(error: BaseException) -> None:
    failure = classify(error)
    assert failure.kind == "transient" and failure.reason.startswith("network error")


def test_unknown_errors_keep_a_short_scrubbed_message() -> None:
    error = DownloadError("ERROR: [generic] x: something odd at https://cdn.example/v.mp4?sig=abcdef&id=3\nmore")
    failure = classify(error)
    assert failure.kind == "unknown" and failure.retryable
    assert failure.reason == "something odd at https://cdn.example/v.mp4?sig=***&id=3 more"


def test_own_failures_pass_through() -> None:
    failure = Failure("permanent", "cookies missing")
    assert classify(DownloadFailure(failure)) is failure


def test_short_message_strips_prefixes() -> None:
    assert short_message(DownloadError("ERROR: [generic] missing: Unable to download webpage")) == (
        "Unable to download webpage"
    )
